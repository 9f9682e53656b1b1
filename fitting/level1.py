"""Level-1 fitting: single-neuron models against recordings or synthetic targets.

:func:`optimise` drives any optimiser of :mod:`fitting.algorithms` with an :class:`Evaluator`,
checkpointing atomically after every generation (resume continues exactly). :func:`fit_neuron`
is the Python API: target + model -> fitted parameter set, with optional train/test sweep split,
two-stage fitting (passive first, Gouwens et al. 2018), the state-mutating operator (Menon et al.
2009) and a run folder with report figures and a ParameterSet YAML.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from celegans.io import to_jsonable, write_json
from celegans.parameters import Parameter, ParameterSet
from fitting.algorithms import (
    ALGORITHMS,
    DRIVER_ALGORITHMS,
    AlgorithmError,
    PymooOptimizer,
    make_optimizer,
)
from fitting.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    History,
    load_checkpoint,
    save_checkpoint,
)
from fitting.evaluator import Evaluator
from fitting.executors import Executor, make_executor
from fitting.objectives import PASSIVE_GROUPS, ObjectiveConfig, ObjectiveSet
from fitting.operators import FeatureGuidedMutation, finite_difference_sensitivity
from fitting.simulator import SimSpec
from fitting.space import ParamSpace
from fitting.targets import Recording, TargetError, load_recording

#: Parameter names treated as passive in two-stage fits (when present and fitted).
PASSIVE_NAMES = ("C", "g_L", "E_L", "cm", "Ra", "g_pas", "e_pas", "area")


class FitError(ValueError):
    """Bad fit configuration; the message names the option."""


@dataclass(frozen=True)
class FitConfig:
    """Optimiser settings.

    Attributes:
        algorithm: name from :data:`fitting.algorithms.ALGORITHMS` or ``"module:Class"``.
        pop_size: evaluations per generation (batch size).
        max_evals: evaluation budget (a generation that would exceed it is not started).
        seed: RNG seed (same seed -> same result).
        state_mutation: use the Menon et al. (2009) feature-guided mutation (GA-type only).
        fd_every: with ``state_mutation``, refresh a finite-difference sensitivity at the best
            point every this many generations (0: history regression only). FD evaluations
            count against the budget.
        options: extra keyword arguments for the algorithm.
        progress: show a progress bar.
    """

    algorithm: str = "nsga2"
    pop_size: int = 32
    max_evals: int = 640
    seed: int = 0
    state_mutation: bool = False
    fd_every: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    progress: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.algorithm, str) or (self.algorithm.lower() not in ALGORITHMS
                                                   and ":" not in self.algorithm):
            raise FitError(f"algorithm: unknown {self.algorithm!r}; expected one of "
                           f"{', '.join(ALGORITHMS)} or 'module:Class'")
        if self.pop_size < 1:
            raise FitError(f"pop_size: must be >= 1, got {self.pop_size}")
        if self.max_evals < 1:
            raise FitError(f"max_evals: must be >= 1, got {self.max_evals}")


@dataclass
class OptimResult:
    """Outcome of one optimisation."""

    names: tuple[str, ...]
    X: np.ndarray                 # all evaluated points (unit cube)
    F: np.ndarray
    failed: np.ndarray
    values: np.ndarray            # all evaluated points (parameter values)
    best_index: int
    pareto_index: np.ndarray
    n_evals: int
    n_generations: int
    wall_s: float
    objective_names: tuple[str, ...] = ()

    @property
    def best_x(self) -> np.ndarray:
        return self.X[self.best_index]

    @property
    def best_F(self) -> np.ndarray:
        return self.F[self.best_index]

    @property
    def best_values(self) -> dict[str, float]:
        return dict(zip(self.names, map(float, self.values[self.best_index]), strict=True))

    def best_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(evaluations, best summed objective so far) for error-vs-evaluations plots."""
        f = np.where(self.failed, np.inf, self.F.sum(axis=1))
        return np.arange(1, f.size + 1), np.minimum.accumulate(f)


def _best_and_pareto(F: np.ndarray, failed: np.ndarray) -> tuple[int, np.ndarray]:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    s = np.where(failed, np.inf, F.sum(axis=1))
    best = int(np.argmin(s))
    ok = np.flatnonzero(~failed)
    if ok.size == 0:
        return best, np.zeros(0, int)
    front = NonDominatedSorting().do(F[ok], only_non_dominated_front=True)
    return best, ok[np.asarray(front, int)]


def _find_guided(opt: Any) -> FeatureGuidedMutation | None:
    if isinstance(opt, PymooOptimizer):
        mating = getattr(opt.algorithm, "mating", None)
        mut = getattr(mating, "mutation", None)
        if isinstance(mut, FeatureGuidedMutation):
            return mut
    return None


def optimise(evaluator: Evaluator, config: FitConfig, run_dir: str | os.PathLike | None = None,
             *, resume: bool = False,
             callback: Callable[[int, History], None] | None = None) -> OptimResult:
    """Minimise the evaluator's objectives with ``config.algorithm``.

    With ``run_dir`` a checkpoint is written atomically after every generation;
    ``resume=True`` continues from it (and raises :class:`CheckpointError` if it does not
    match this fit). ``callback(generation, history)`` runs after each checkpoint.
    """
    t0 = time.perf_counter()
    ckpt = Path(run_dir) / CHECKPOINT_NAME if run_dir is not None else None
    algo = config.algorithm.lower() if ":" not in config.algorithm else config.algorithm
    if algo in DRIVER_ALGORITHMS:
        return _optimise_driver(evaluator, config, algo, ckpt, resume, t0)
    signature = {"algorithm": config.algorithm, "seed": config.seed, "pop": config.pop_size,
                 "names": evaluator.space.names, "n_obj": evaluator.n_obj}
    if resume and ckpt is not None and ckpt.exists():
        st = load_checkpoint(ckpt)
        if st.get("signature") != signature:
            raise CheckpointError(f"{ckpt}: checkpoint was written by a different fit "
                                  f"({st.get('signature')} vs {signature})")
        opt, hist, gen = st["optimizer"], st["history"], st["generation"]
    else:
        if resume and ckpt is None:
            raise FitError("resume: needs a run_dir holding a checkpoint")
        np.random.seed(config.seed)  # noqa: NPY002 - libraries that use the global RNG
        import random

        random.seed(config.seed)
        mutation = FeatureGuidedMutation() if config.state_mutation else None
        try:
            opt = make_optimizer(algo, evaluator.n_var, evaluator.n_obj, config.pop_size,
                                 config.seed, budget=config.max_evals,
                                 options=dict(config.options), mutation=mutation)
        except AlgorithmError as exc:
            raise FitError(str(exc)) from None
        hist, gen = History(), 0
    guided = _find_guided(opt)
    bar = tqdm(total=config.max_evals, initial=hist.n, desc=f"fit {config.algorithm}",
               disable=not config.progress, leave=False)
    try:
        while hist.n < config.max_evals and not opt.done:
            if guided is not None and config.fd_every and gen % config.fd_every == 0 \
                    and hist.n > 0 and hist.n + 2 * evaluator.n_var < config.max_evals:
                Xa, Fa, fa, _ = hist.arrays()
                xb = Xa[int(np.argmin(np.where(fa, np.inf, Fa.sum(axis=1))))]
                fd_rows: list[Any] = []

                def ev_z(Xq: np.ndarray, rows: list[Any] = fd_rows) -> np.ndarray:
                    r = evaluator.evaluate(Xq)
                    rows.append((Xq, r))
                    return r.z

                guided.set_sensitivity(finite_difference_sensitivity(ev_z, xb))
                for Xq, r in fd_rows:
                    hist.add(Xq, r.F, r.failed, r.z)
                    guided.update(Xq, r.z, r.failed)
                bar.update(2 * evaluator.n_var)
            X = opt.ask()
            if hist.n > 0 and hist.n + len(X) > config.max_evals:
                break
            res = evaluator.evaluate(X)
            if hist.n == 0 and res.failed.all():
                raise FitError("every evaluation of the first generation failed, e.g. "
                               f"{res.reasons[0]!r}; check the model, backend and protocol")
            opt.tell(X, res.F, res.failed, res.z)
            if guided is not None:
                guided.update(X, res.z, res.failed)
            hist.add(X, res.F, res.failed, res.z)
            gen += 1
            bar.update(len(X))
            Fs = np.where(res.failed, np.inf, res.F.sum(axis=1))
            bar.set_postfix(best=f"{np.min(Fs):.3g}", failed=int(res.failed.sum()))
            if ckpt is not None:
                save_checkpoint(ckpt, {"optimizer": opt, "history": hist, "generation": gen,
                                       "signature": signature})
            if callback is not None:
                callback(gen, hist)
    finally:
        bar.close()
    return _result(evaluator, hist, gen, time.perf_counter() - t0)


def _result(evaluator: Evaluator, hist: History, gen: int, wall: float) -> OptimResult:
    X, F, failed, _ = hist.arrays()
    if X.shape[0] == 0:
        raise FitError("optimisation made no evaluations (budget too small?)")
    best, pareto = _best_and_pareto(F, failed)
    return OptimResult(names=evaluator.space.names, X=X, F=F, failed=failed,
                       values=evaluator.space.to_values(X), best_index=best,
                       pareto_index=pareto, n_evals=int(X.shape[0]), n_generations=gen,
                       wall_s=wall, objective_names=evaluator.objectives.names)


def _optimise_driver(evaluator: Evaluator, config: FitConfig, algo: str, ckpt: Path | None,
                     resume: bool, t0: float) -> OptimResult:
    """scipy local search (Powell, Nelder-Mead) or torch gradient descent.

    These are not ask/tell: the checkpoint stores the history, and a resumed run restarts the
    local search from the best point so far with the remaining budget (not bit-identical to an
    uninterrupted run, unlike the population methods).
    """
    hist = History()
    if resume and ckpt is not None and ckpt.exists():
        hist = load_checkpoint(ckpt)["history"]
    if algo == "gradient":
        return _optimise_gradient(evaluator, config, hist, t0)
    from scipy.optimize import minimize

    rng = np.random.default_rng(config.seed)
    X0, F0, f0, _ = hist.arrays()
    x0 = X0[int(np.argmin(np.where(f0, np.inf, F0.sum(axis=1))))] if X0.size else \
        np.clip(0.5 + 0.1 * rng.standard_normal(evaluator.n_var), 0, 1)
    remaining = config.max_evals - hist.n
    bar = tqdm(total=config.max_evals, initial=hist.n, desc=f"fit {algo}",
               disable=not config.progress, leave=False)

    class _Budget(Exception):
        pass

    def fun(x: np.ndarray) -> float:
        if hist.n >= config.max_evals:
            raise _Budget
        xx = np.clip(x, 0, 1)[None]
        r = evaluator.evaluate(xx)
        hist.add(xx, r.F, r.failed, r.z)
        bar.update(1)
        if ckpt is not None and hist.n % max(config.pop_size, 1) == 0:
            save_checkpoint(ckpt, {"history": hist, "generation": hist.n, "signature": algo})
        return float(r.F.sum())

    method = {"powell": "Powell", "nelder-mead": "Nelder-Mead"}[algo]
    try:
        if remaining > 0:
            tol = {"xtol": 1e-6, "ftol": 1e-9} if algo == "powell" else \
                {"xatol": 1e-6, "fatol": 1e-9}
            minimize(fun, x0, method=method, bounds=[(0.0, 1.0)] * evaluator.n_var,
                     options={"maxfev": remaining, **tol, **dict(config.options)})
    except _Budget:
        pass
    finally:
        bar.close()
    if ckpt is not None:
        save_checkpoint(ckpt, {"history": hist, "generation": hist.n, "signature": algo})
    return _result(evaluator, hist, hist.n, time.perf_counter() - t0)


def _optimise_gradient(evaluator: Evaluator, config: FitConfig, hist: History,
                       t0: float) -> OptimResult:
    """Adam through the differentiable torch simulator (``celegans.torchsim.gradfit``).

    ``pop_size`` starts (capped at 16) run as one batch for ``max_evals // starts - 1`` steps
    on the whole-trace MSE; each step costs one batched simulation with gradients. The final
    points are scored by the evaluator (same objectives as every other algorithm).
    """
    from celegans.protocols import CurrentClamp

    spec = evaluator.spec
    if spec.backend != "torch":
        raise FitError("algorithm 'gradient' needs backend='torch'")
    prot = evaluator.protocol
    if not isinstance(prot, CurrentClamp):
        raise FitError("algorithm 'gradient' supports current-clamp targets only")
    try:
        from celegans.torchsim.gradfit import fit_adam
    except ImportError as exc:
        raise FitError(f"algorithm 'gradient' needs celegans.torchsim.gradfit ({exc})") from None
    from fitting.evaluator import resample_onto

    tgt = evaluator.objectives.target
    n = int(round(prot.duration_ms / spec.dt_ms))
    t_sim = np.arange(n + 1) * spec.dt_ms
    target_v = resample_onto(tgt.time_ms, tgt.data, t_sim)
    starts = max(1, min(config.pop_size, 16))
    steps = max(1, config.max_evals // starts - 1)
    space = evaluator.space
    X0, F0, f0, _ = hist.arrays()
    if X0.size:
        init_x = X0[int(np.argmin(np.where(f0, np.inf, F0.sum(axis=1))))]
    else:
        init_x = np.full(space.d, 0.5)
    init = dict(zip(space.names, map(float, space.to_values(init_x[None])[0]), strict=True))
    fixed = {k: v for k, v in spec.fixed.items() if k not in space.names}
    opts = dict(config.options)
    res = fit_adam(spec.model, prot, target_v, list(space.names), init=init, fixed=fixed,
                   cell=spec.options.get("cell"), dt_ms=spec.dt_ms, steps=steps,
                   lr=float(opts.get("lr", 0.05)), n_starts=starts, seed=config.seed,
                   progress=config.progress)
    V = np.stack([np.asarray(res.all_params[k], float) for k in space.names], axis=1)
    X = space.to_unit(V)
    r = evaluator.evaluate(X)
    hist.add(X, r.F, r.failed, r.z)
    out = _result(evaluator, hist, hist.n, time.perf_counter() - t0)
    out.n_evals = int(starts * (steps + 1) + X.shape[0])  # simulations incl. gradient steps
    return out


# ------------------------------------------------------------------------------------------
# The Python API
# ------------------------------------------------------------------------------------------

@dataclass
class FitResult:
    """What :func:`fit_neuron` returns."""

    parameters: ParameterSet          # full set, fitted values in place (source: fitted by ...)
    best: dict[str, float]            # fitted values
    optim: OptimResult                # last (or only) stage
    stages: list[OptimResult]
    train_sweeps: list[int]
    test_sweeps: list[int]
    summary: dict[str, Any]
    run_dir: Path | None


def default_parameters(model: str, **options: Any) -> ParameterSet:
    """The model's default ParameterSet from the registry (``celegans.models``)."""
    try:
        from celegans.models import get_model
    except ImportError as exc:
        raise FitError(f"model registry unavailable ({exc}); pass parameters=") from None
    try:
        return get_model(model).default_parameters(**options)
    except ValueError as exc:
        raise FitError(f"model {model!r}: {exc}") from None


def _split_sweeps(n: int, test: Sequence[int]) -> tuple[list[int], list[int]]:
    test = sorted({int(i) for i in test})
    bad = [i for i in test if not 0 <= i < n]
    if bad:
        raise FitError(f"test_sweeps: {bad} out of range 0..{n - 1}")
    train = [i for i in range(n) if i not in test]
    if not train:
        raise FitError("test_sweeps: every sweep is held out; nothing left to fit")
    return train, test


def _as_executor(executor: str | Executor, options: Mapping[str, Any] | None) -> tuple[
        Executor, bool]:
    if isinstance(executor, Executor):
        return executor, False
    try:
        return make_executor(executor, **dict(options or {})), True
    except ValueError as exc:
        raise FitError(str(exc)) from None


def fitted_parameter_set(base: ParameterSet, values: Mapping[str, float], run: str) -> \
        ParameterSet:
    """``base`` with fitted values, provenance ``"fitted by level1 <run>"``, certainty fitted."""
    new: dict[str, Parameter] = {}
    for k, p in base.parameters.items():
        if k in values:
            v = float(np.clip(values[k], *p.bounds))
            new[k] = replace(p, value=v, source=f"fitted by level1 {run}", certainty="fitted")
        else:
            new[k] = p
    return ParameterSet(new, name=base.name, description=base.description,
                        meta={**dict(base.meta), "fitted_by": f"level1 {run}"})


def fit_neuron(
    target: Recording | str | os.PathLike,
    model: str = "passive",
    *,
    parameters: ParameterSet | str | os.PathLike | None = None,
    fit: Sequence[str] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    backend: str = "torch",
    dt_ms: float = 0.1,
    sim_options: Mapping[str, Any] | None = None,
    simulate: str | Callable[..., Any] | None = None,
    executor: str | Executor = "batched",
    executor_options: Mapping[str, Any] | None = None,
    algorithm: str = "nsga2",
    pop_size: int = 32,
    max_evals: int = 640,
    seed: int = 0,
    objectives: ObjectiveConfig | None = None,
    test_sweeps: Sequence[int] = (),
    two_stage: bool = False,
    passive_names: Sequence[str] | None = None,
    stage1_fraction: float = 0.3,
    state_mutation: bool = False,
    algorithm_options: Mapping[str, Any] | None = None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    report: bool = True,
    callback: Callable[[int, History], None] | None = None,
) -> FitResult:
    """Fit a single-neuron model to a recording (or synthetic target).

    Args:
        target: a :class:`Recording` or a path (.npz/.csv/.nwb with protocol).
        model: registry name; ``sim_options`` go to the simulator (e.g. ``{"cell": "RMD"}``).
        parameters: ParameterSet (or YAML path) with values/bounds; default: the model's.
        fit: names to fit (default: the free parameters); ``bounds`` override bounds.
        backend, dt_ms: simulation backend and step; ``simulate`` overrides the function
            (``"module:function"`` or a picklable callable with ``simulate_cell``'s signature).
        executor: ``batched`` | ``serial`` | ``process`` | ``dask`` or an Executor instance.
        algorithm, pop_size, max_evals, seed, state_mutation, algorithm_options: optimiser.
        objectives: objective configuration (default groups per clamp kind + RMSE).
        test_sweeps: sweep indices held out of the fit (generalisation is reported).
        two_stage: fit passive parameters on hyperpolarising sweeps first, then the rest with
            passive values fixed (``passive_names``; ``stage1_fraction`` of the budget).
        run_dir: folder for checkpoints, figures, ``fitted.yaml`` and ``summary.json``.
        resume: continue from the checkpoints in ``run_dir``.
    """
    rec = load_recording(target) if not isinstance(target, Recording) else target
    if isinstance(parameters, str | os.PathLike):
        parameters = ParameterSet.load(parameters)
    ps = parameters if parameters is not None else default_parameters(
        model, **({"cell": sim_options["cell"]} if sim_options and "cell" in sim_options
                  else {}))
    base_ps = ps
    cfg_kw = dict(algorithm=algorithm, pop_size=pop_size, max_evals=max_evals, seed=seed,
                  state_mutation=state_mutation, options=dict(algorithm_options or {}),
                  progress=progress)
    config = FitConfig(**cfg_kw)
    if not 0 < stage1_fraction < 1:
        raise FitError(f"stage1_fraction: must be in (0, 1), got {stage1_fraction}")
    space = ParamSpace.from_parameters(ps, fit, bounds)
    train, test = _split_sweeps(rec.n_sweeps, test_sweeps)
    rec_train = rec.select(train)
    spec = SimSpec(model=model, backend=backend, dt_ms=dt_ms, options=dict(sim_options or {}),
                   **({"function": simulate} if simulate is not None else {}))
    ex, owned = _as_executor(executor, executor_options)
    run_path = Path(run_dir) if run_dir is not None else None
    run_name = run_path.name if run_path is not None else time.strftime("%Y%m%d-%H%M%S")
    stages: list[OptimResult] = []
    try:
        if two_stage:
            pnames = [n for n in (passive_names or PASSIVE_NAMES) if n in space.names]
            rest = [n for n in space.names if n not in pnames]
            if not pnames or not rest:
                raise FitError(f"two_stage: need both passive {list(PASSIVE_NAMES)} and other "
                               f"fitted parameters; fitted are {list(space.names)}")
            amps = rec_train.amplitudes
            sub = [i for i, a in enumerate(amps) if a < 0] or \
                [int(np.argmin(np.abs(amps)))]
            rec1 = rec_train.select(sub)
            obj1 = ObjectiveSet(rec1, replace(objectives or ObjectiveConfig(),
                                              groups=PASSIVE_GROUPS))
            sp1 = ParamSpace.from_parameters(ps, pnames, {k: v for k, v in (bounds or {}).items()
                                                          if k in pnames})
            ev1 = Evaluator(sp1, spec.with_fixed(space.fixed), obj1, ex)
            c1 = replace(config, max_evals=max(config.pop_size,
                                               int(stage1_fraction * config.max_evals)))
            r1 = optimise(ev1, c1, run_path / "stage1" if run_path else None, resume=resume,
                          callback=callback)
            stages.append(r1)
            ps = ps.updated(r1.best_values)
            sp2 = ParamSpace.from_parameters(ps, rest, {k: v for k, v in (bounds or {}).items()
                                                        if k in rest})
            ev = Evaluator(sp2, spec, ObjectiveSet(rec_train, objectives), ex)
            c2 = replace(config, max_evals=max(config.pop_size, config.max_evals - r1.n_evals))
            r = optimise(ev, c2, run_path / "stage2" if run_path else None, resume=resume,
                         callback=callback)
            stages.append(r)
            best = {**r1.best_values, **r.best_values}
        else:
            ev = Evaluator(space, spec, ObjectiveSet(rec_train, objectives), ex)
            r = optimise(ev, config, run_path, resume=resume, callback=callback)
            stages.append(r)
            best = r.best_values
        fitted = fitted_parameter_set(base_ps, best, run_name)
        full_space = ParamSpace.from_parameters(
            fitted, list(best), {k: v for k, v in (bounds or {}).items() if k in best})
        full_ev = Evaluator(full_space, spec, ObjectiveSet(rec, objectives), ex)
        summary = generalisation_summary(full_ev, best, train, test)
    finally:
        if owned:
            ex.close()
    summary.update({"model": model, "backend": backend, "algorithm": algorithm,
                    "n_evals": int(sum(s.n_evals for s in stages)),
                    "wall_s": float(sum(s.wall_s for s in stages)),
                    "two_stage": bool(two_stage), "best": best, "seed": seed,
                    "objective_names": list(r.objective_names)})
    result = FitResult(parameters=fitted, best=best, optim=r, stages=stages,
                       train_sweeps=train, test_sweeps=test, summary=summary, run_dir=run_path)
    if run_path is not None:
        fitted.save(run_path / "fitted.yaml")
        write_json(run_path / "summary.json", to_jsonable(summary))
        if report:
            from fitting.report import write_report

            write_report(result, full_ev, rec)
    return result


def generalisation_summary(ev: Evaluator, best: Mapping[str, float], train: Sequence[int],
                           test: Sequence[int]) -> dict[str, Any]:
    """Trace RMSE and objectives of ``best`` on every sweep, split into fitting / held out."""
    x = ev.space.to_unit(np.array([[best[n] for n in ev.space.names]]))
    res = ev.evaluate(x)
    rm = res.rmse[0] if res.rmse is not None else np.full(len(train) + len(test), np.nan)
    rec = ev.objectives.target
    per = [{"sweep": i, "amplitude": float(rec.amplitudes[i]), "set":
            "train" if i in train else "test", "rmse": float(rm[i])} for i in range(rec.n_sweeps)]
    out: dict[str, Any] = {"per_sweep": per, "failed": bool(res.failed[0])}
    out["rmse_train"] = float(np.mean([rm[i] for i in train]))
    out["rmse_test"] = float(np.mean([rm[i] for i in test])) if len(test) else None
    return out




__all__ = ["FitConfig", "FitError", "FitResult", "OptimResult", "TargetError", "fit_neuron",
           "optimise"]
