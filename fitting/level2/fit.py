"""Level-2 fitting: connectome weights against closed-loop behaviour (Python API).

:func:`fit_level2` builds the search space (:mod:`fitting.level2.space`), the behaviour protocol
and targets, and the :class:`~fitting.level2.evaluator.Level2Evaluator` on an executor, then
runs a pymoo algorithm by name through :func:`fitting.level1.optimise` (checkpoint after every
generation, exact resume) or, with ``surrogate``, the surrogate-assisted search. The starting
point (the organism's current values: multipliers 1 = unscaled anatomy) is the first member of
the initial population (of the GAs, DE and random search), so the run reports the error it
started from; the other members are uniform in the box, or with ``init_spread > 0`` drawn
around the start (normal, that SD in unit-cube coordinates, clipped): a prior-centred search
for small budgets.

Run folder: ``checkpoint.pkl``, ``network_fitted.yaml`` (the organism parameter file with the
fitted values, loadable by ``celegans.organism.load_config`` / ``celegans simulate``),
``summary.json``, ``history.npz`` and figures (``pareto.png``, ``behaviour_vs_target.png``,
``error_vs_evaluations.png``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import to_jsonable, write_json
from celegans.parameters import ParameterSet
from fitting.level2.behaviour import (
    DEFAULT_GAIT_TARGETS,
    BehaviourError,
    BehaviourProtocol,
    BehaviourTarget,
    Condition,
    apply_values,
)
from fitting.level2.evaluator import BEHAVIOUR_FUNCTION, Level2Evaluator
from fitting.level2.space import level2_parameters
from fitting.space import ParamSpace

VERSION = "level2-1"


@dataclass
class Level2Config:
    """Everything a Level-2 fit needs (see :func:`level2_config_from_dict` for the YAML)."""

    parameters: Mapping[str, Any]
    conditions: Sequence[Mapping[str, Any]] = ({"name": "agar", "medium": "agar"},
                                               {"name": "water", "medium": "water"})
    targets: Mapping[str, Any] | None = None
    features: Sequence[str] | None = None
    organism: str | None = None
    backend: str = "neuron"
    algorithm: str = "nsga2"
    pop_size: int = 8
    max_evals: int = 64
    seed: int = 0
    algorithm_options: Mapping[str, Any] = field(default_factory=dict)
    executor: str = "serial"
    workers: int = 2
    timeout_s: float = 600.0
    scheduler: str | None = None
    surrogate: Mapping[str, Any] | None = None
    eigenworms: str | None = None
    activity_neurons: Sequence[str] = ()
    activity_target: Sequence[float] = ()
    function: str | Any = BEHAVIOUR_FUNCTION
    penalty: float = 100.0
    init_spread: float = 0.0


_KEYS = {f for f in Level2Config.__dataclass_fields__}


def level2_config_from_dict(d: Mapping[str, Any], origin: str = "level2") -> Level2Config:
    """Validate the ``level2`` section of a config (unknown keys are errors)."""
    if not isinstance(d, Mapping):
        raise BehaviourError(f"{origin}: expected a mapping")
    unknown = sorted(set(d) - _KEYS)
    if unknown:
        raise BehaviourError(f"{origin}: unknown keys {unknown} (known: {sorted(_KEYS)})")
    if "parameters" not in d:
        raise BehaviourError(f"{origin}: missing 'parameters' (what to fit)")
    cfg = Level2Config(**dict(d))
    for k in ("pop_size", "max_evals"):
        if int(getattr(cfg, k)) < 1:
            raise BehaviourError(f"{origin}.{k}: must be >= 1, got {getattr(cfg, k)}")
    if not 0.0 <= float(cfg.init_spread) <= 1.0:
        raise BehaviourError(f"{origin}.init_spread: must be in [0, 1] (unit-cube SD around the "
                             f"start; 0: uniform), got {cfg.init_spread}")
    return cfg


def build_protocol(cfg: Level2Config) -> tuple[BehaviourProtocol, BehaviourTarget]:
    """Conditions, features and targets of a config (default targets: Fang-Yen et al. 2010)."""
    conds = []
    for i, c in enumerate(cfg.conditions):
        try:
            conds.append(Condition(**dict(c)))
        except TypeError as exc:
            raise BehaviourError(f"conditions[{i}]: {exc}") from None
    names = [c.name for c in conds]
    raw = dict(cfg.targets) if cfg.targets is not None else {
        k: v for k, v in DEFAULT_GAIT_TARGETS.items() if k in names or k == "source"}
    target = BehaviourTarget.from_dict(raw)
    feats = tuple(cfg.features) if cfg.features else target.features()
    proto = BehaviourProtocol(tuple(conds), feats, eigenworms=cfg.eigenworms,
                              activity_neurons=tuple(cfg.activity_neurons),
                              activity_target=tuple(float(x) for x in cfg.activity_target),
                              organism=cfg.organism, backend=cfg.backend)
    return proto, target


def make_level2_executor(cfg: Level2Config) -> Any:
    """The Level-1 executor named by the config (serial, process, dask)."""
    from fitting.executors import make_executor

    if cfg.executor == "batched":
        raise BehaviourError("executor: 'batched' cannot run closed-loop evaluations; use "
                             "serial, process or dask")
    kw: dict[str, Any] = {"n_workers": cfg.workers, "timeout_s": cfg.timeout_s}
    if cfg.scheduler:
        kw["address"] = cfg.scheduler
    return make_executor(cfg.executor, **kw)


@dataclass
class Level2Result:
    """Outcome of :func:`fit_level2`."""

    parameters: ParameterSet        # the organism parameter set with fitted values
    best: dict[str, float]
    start_error: float
    best_error: float
    optim: Any                      # fitting.level1.OptimResult (or AssistedResult)
    summary: dict[str, Any]
    run_dir: Path | None


def fit_level2(config: Level2Config | Mapping[str, Any], run_dir: str | os.PathLike | None = None,
               *, resume: bool = False, progress: bool = True, executor: Any = None,
               provenance: Mapping[str, Any] | None = None) -> Level2Result:
    """Fit Level-2 parameters to behaviour (see module docstring)."""
    from fitting.level1 import FitConfig, optimise

    cfg = config if isinstance(config, Level2Config) else level2_config_from_dict(config)
    proto, target = build_protocol(cfg)
    ps = level2_parameters(cfg.parameters, cfg.organism)
    space = ParamSpace.from_parameters(ps)
    owned = executor is None
    ex = executor if executor is not None else make_level2_executor(cfg)
    run_path = Path(run_dir) if run_dir is not None else None
    x0 = space.to_unit(np.array([[ps[n].value for n in space.names]]))
    try:
        ev = Level2Evaluator(space, proto, target, ex, penalty=cfg.penalty,
                             function=cfg.function, record_path=run_path / "features.npz"
                             if run_path is not None else None)
        if cfg.surrogate:
            from fitting.surrogate.assisted import AssistConfig, surrogate_assisted_optimise

            ac = AssistConfig(**{"max_evals": cfg.max_evals, "seed": cfg.seed,
                                 "progress": progress, **dict(cfg.surrogate)})
            res = surrogate_assisted_optimise(ev, ac, run_path, resume=resume, initial=x0)
        else:
            opts = dict(cfg.algorithm_options)
            if cfg.algorithm.lower() in ("nsga2", "ga", "spea2", "nsga3", "unsga3", "age",
                                         "sms", "de"):
                opts.setdefault("sampling", initial_population(x0, cfg.pop_size, cfg.seed,
                                                               cfg.init_spread))
            elif cfg.algorithm.lower() == "random":     # the start, then its own uniform draws
                opts.setdefault("sampling", x0)
            fc = FitConfig(algorithm=cfg.algorithm, pop_size=cfg.pop_size,
                           max_evals=cfg.max_evals, seed=cfg.seed, options=opts,
                           progress=progress)
            res = optimise(ev, fc, run_path, resume=resume)
    finally:
        if owned:
            ex.close()
    return _finish(cfg, res, ev, ps, x0, proto, target, run_path, provenance or {})


def initial_population(x0: np.ndarray, pop_size: int, seed: int, init_spread: float = 0.0
                       ) -> np.ndarray:
    """A GA's first population (unit cube): the start ``x0`` (1, d), then ``pop_size - 1``
    points drawn with ``seed``: uniform, or with ``init_spread > 0`` normal around the start
    with that SD, clipped to the cube."""
    rng = np.random.default_rng(seed)
    n_other, d = max(int(pop_size) - 1, 0), x0.shape[1]
    if init_spread > 0:         # prior-centred: around the start (anatomy, defaults)
        others = np.clip(x0 + init_spread * rng.standard_normal((n_other, d)), 0.0, 1.0)
    else:
        others = rng.random((n_other, d))
    return np.vstack([x0, others])


def _start_row(X: np.ndarray, x0: np.ndarray) -> int | None:
    d = np.linalg.norm(X - x0, axis=1)
    i = int(np.argmin(d))
    return i if d[i] < 1e-9 else None


def _finish(cfg: Level2Config, res: Any, ev: Level2Evaluator, ps: ParameterSet, x0: np.ndarray,
            proto: BehaviourProtocol, target: BehaviourTarget, run_path: Path | None,
            provenance: Mapping[str, Any]) -> Level2Result:
    from celegans.organism import load_config

    s = np.where(res.failed, np.inf, res.F.sum(axis=1))
    i0 = _start_row(res.X, x0)
    start_err = float(s[i0]) if i0 is not None else float("nan")
    best = res.best_values
    best_err = float(s[res.best_index])
    run_name = run_path.name if run_path is not None else time.strftime("%Y%m%d-%H%M%S")
    tag = f"level2 {run_name} (seed {cfg.seed}, {VERSION})"
    base = load_config(cfg.organism)
    fitted_cfg = apply_values(base, best, source=tag)
    fps = fitted_cfg.parameters
    new = {}
    for k, p in fps.parameters.items():
        new[k] = replace(p, source=f"fitted by {tag}; targets: {target.source or 'config'}",
                         certainty="fitted") if k in best else p
    prov = {"stage": "level2", "seed": cfg.seed, "version": VERSION, "run": run_name,
            "targets": target.source or "config", "n_evals": int(res.n_evals),
            "algorithm": "surrogate-assisted" if cfg.surrogate else cfg.algorithm,
            "fitted": sorted(best), **dict(provenance)}
    meta = {**dict(fps.meta), "provenance": {**dict(fps.meta.get("provenance", {}) or {}),
                                             "level2": prov}}
    out_ps = ParameterSet(new, name=fps.name or "organism", description=(
        f"{fps.description} Level-2 fitted values: {', '.join(sorted(best))}.").strip(),
        meta=meta)
    # features of the start and the best point (from the history, no re-simulation)
    summary: dict[str, Any] = {
        "start_error": start_err, "best_error": best_err, "improvement":
            (start_err - best_err) if np.isfinite(start_err) else None,
        "n_evals": int(res.n_evals), "n_failed": int(np.sum(res.failed)),
        "objective_names": list(ev.objectives.names), "best": best,
        "start": {n: float(ps[n].value) for n in ps}, "best_F": res.F[res.best_index].tolist(),
        "targets": {"mean": target.mean, "sd": target.sd, "source": target.source},
        "conditions": [c.name for c in proto.conditions], "features": list(proto.features),
        "wall_s": float(res.wall_s), "provenance": prov}
    result = Level2Result(out_ps, best, start_err, best_err, res, summary, run_path)
    if run_path is not None:
        run_path.mkdir(parents=True, exist_ok=True)
        out_ps.save(run_path / "network_fitted.yaml")
        np.savez_compressed(run_path / "history.npz", X=res.X, F=res.F, failed=res.failed,
                            values=res.values, names=np.array(res.names))
        write_json(run_path / "summary.json", to_jsonable(summary))
        try:
            from fitting.level2.report import write_level2_figures

            write_level2_figures(result, ev)
        except Exception as exc:  # noqa: BLE001 - figures are not worth failing a fit for
            summary["figure_error"] = f"{type(exc).__name__}: {exc}"
            write_json(run_path / "summary.json", to_jsonable(summary))
    return result


