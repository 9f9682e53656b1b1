"""The hierarchical pipeline: Level 1 (cells) -> Level 2 (network, behaviour) -> estimation.

``run_pipeline(config)`` runs, in one run folder:

1. ``level1`` — for each listed neuron class, a single-neuron fit (:func:`fitting.level1.
   fit_neuron`) to a recording or to a synthetic target simulated from a published model;
   writes ``level1/<name>/fitted.yaml`` (cell parameter file) and an organism file
   ``level1/organism.yaml`` whose model assignment gives each fitted class its fitted model.
2. ``level2`` — connectome weights against closed-loop behaviour (:func:`fitting.level2.fit.
   fit_level2`) starting from the Level-1 organism; writes ``level2/network_fitted.yaml`` (an
   organism parameter file: ``celegans.organism.load_config(path)``).
3. ``estimate`` — amortised inverse estimation (:class:`fitting.surrogate.inverse.
   InverseEstimator`) of hard-to-measure parameters with conformal 90 % intervals, trained on
   simulations (``kind: cell``: batched torch single-neuron simulations; ``kind: level2``: the
   Level-2 evaluation history); writes ``estimate/<name>.yaml`` and its held-out coverage.

Every output parameter carries its provenance (stage, data, seed, version) in ``source`` and in
the file's ``meta.provenance``. Each stage is resumable: a stage whose outputs exist is skipped,
an interrupted one resumes from its checkpoint. ``status.json`` in the run folder says where
the run stands (stage states, outputs, errors) and ``figures/`` collects the figures (Pareto
fronts, behaviour vs target, surrogate accuracy).
"""

from __future__ import annotations

import copy
import os
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import read_yaml, to_jsonable, write_json
from celegans.parameters import Parameter, ParameterSet

PIPELINE_VERSION = "pipeline-1"
STAGES = ("level1", "level2", "estimate")


class PipelineError(ValueError):
    """Bad pipeline config; the message names the key."""


# --- status -----------------------------------------------------------------------------------
class Status:
    """``status.json``: per stage ``pending | running | done | failed | skipped``."""

    def __init__(self, run: Path, config_name: str) -> None:
        self.path = run / "status.json"
        self.data: dict[str, Any] = {"pipeline": config_name, "version": PIPELINE_VERSION,
                                     "stages": {s: {"state": "pending"} for s in STAGES}}
        if self.path.exists():
            import json

            try:
                old = json.loads(self.path.read_text())
                self.data["stages"].update(old.get("stages", {}))
            except ValueError:
                pass

    def set(self, stage: str, state: str, **info: Any) -> None:
        entry = {"state": state, "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if state != "failed":
            entry.update({k: v for k, v in self.data["stages"].get(stage, {}).items()
                          if k in ("outputs", "started")})
        if state == "running":
            entry["started"] = entry["updated"]
        entry.update(info)
        self.data["stages"][stage] = entry
        self.data["current"] = stage if state == "running" else None
        write_json(self.path, to_jsonable(self.data))

    def state(self, stage: str) -> str:
        return str(self.data["stages"].get(stage, {}).get("state", "pending"))


# --- config -----------------------------------------------------------------------------------
def load_pipeline_config(config: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """Read and check a pipeline config (YAML path or mapping)."""
    origin = "<dict>"
    if not isinstance(config, Mapping):
        origin = str(config)
        config = read_yaml(config)
        if not isinstance(config, Mapping):
            raise PipelineError(f"{origin}: expected a mapping")
    cfg = dict(copy.deepcopy(config))
    known = {"name", "out", "seed", "organism", "level1", "level2", "estimate"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise PipelineError(f"{origin}: unknown keys {unknown} (known: {sorted(known)})")
    if not any(k in cfg for k in STAGES):
        raise PipelineError(f"{origin}: no stage configured (give level1, level2 and/or "
                            "estimate)")
    cfg.setdefault("name", Path(origin).stem if origin != "<dict>" else "pipeline")
    cfg.setdefault("seed", 0)
    cfg["_origin"] = origin
    return cfg


def _provenance(stage: str, data: str, seed: int, **extra: Any) -> dict[str, Any]:
    return {"stage": stage, "data": data, "seed": int(seed), "version": PIPELINE_VERSION,
            **extra}


# --- level 1 ----------------------------------------------------------------------------------
def _protocol(d: Mapping[str, Any], where: str) -> Any:
    from celegans.protocols import CurrentClamp

    try:
        return CurrentClamp(tuple(d["amplitudes_pA"]), float(d["t_on_ms"]), float(d["t_off_ms"]),
                            float(d["duration_ms"]), float(d.get("holding_pA", 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise PipelineError(f"{where}.protocol: need amplitudes_pA, t_on_ms, t_off_ms, "
                            f"duration_ms ({exc})") from None


def _target(entry: Mapping[str, Any], where: str, seed: int) -> tuple[Any, str]:
    """(Recording, description of the data) of a Level-1 entry."""
    from fitting.simulator import SimSpec
    from fitting.targets import load_recording, synthetic_recording

    tgt = entry.get("target")
    if not isinstance(tgt, Mapping):
        raise PipelineError(f"{where}.target: expected {{recording: path}} or "
                            "{published: {model, cell?, params?}}")
    if "recording" in tgt:
        rec = load_recording(tgt["recording"])
        if tgt.get("resample_ms"):
            rec = rec.resample(float(tgt["resample_ms"]))
        return rec, f"recording {tgt['recording']}"
    if "published" in tgt:
        pub = dict(tgt["published"])
        model = str(pub.get("model", "hh"))
        opts = {"cell": pub["cell"]} if "cell" in pub else {}
        spec = SimSpec(model, backend=str(pub.get("backend", "torch")),
                       dt_ms=float(pub.get("dt_ms", 0.05)), options=opts)
        prot = _protocol(entry.get("protocol", {}), where)
        rec = synthetic_recording(spec, dict(pub.get("params", {}) or {}), prot,
                                  noise_mV=float(pub.get("noise_mV", 0.0)), seed=seed,
                                  name=f"{model}:{pub.get('cell', '')}",
                                  sample_dt_ms=float(pub.get("sample_dt_ms", 0.5)))
        return rec, f"published model {model}{' ' + pub['cell'] if 'cell' in pub else ''}"
    raise PipelineError(f"{where}.target: expected 'recording' or 'published'")


def run_level1(cfg: Mapping[str, Any], run: Path, seed: int, organism: str | None,
               resume: bool, progress: bool) -> dict[str, Any]:
    """Fit each listed neuron; write cell files and the Level-1 organism file."""
    from celegans.organism import load_config
    from fitting.level1 import fit_neuron

    entries = cfg.get("neurons")
    if not isinstance(entries, Sequence) or not entries:
        raise PipelineError("level1.neurons: expected a list of neurons to fit")
    base = load_config(organism)
    meta = copy.deepcopy(dict(base.parameters.meta))
    asg = meta.get("assignment")
    asg = {"default": asg} if isinstance(asg, str) else dict(asg or {"default": "passive"})
    asg.setdefault("classes", {})
    outputs: dict[str, Any] = {}
    figures = []
    for i, entry in enumerate(entries):
        where = f"level1.neurons[{i}]"
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise PipelineError(f"{where}: needs a 'name'")
        name = str(entry["name"])
        out = run / "level1" / name
        s = seed + i
        model = str(entry.get("model", "passive"))
        done = (out / "fitted.yaml").exists() and (out / "summary.json").exists()
        if done:   # resume: this neuron is fitted already
            fitted = ParameterSet.load(out / "fitted.yaml")
            data = str(dict(fitted.meta.get("provenance", {}) or {}).get("data", "unknown"))
        else:
            rec, data = _target(entry, where, s)
            res = fit_neuron(rec, model, fit=entry.get("fit"), backend=str(entry.get(
                "backend", "torch")), dt_ms=float(entry.get("dt_ms", 0.1)),
                sim_options={"cell": entry["cell"]} if "cell" in entry else None,
                algorithm=str(entry.get("algorithm", "nsga2")),
                pop_size=int(entry.get("pop_size", 16)),
                max_evals=int(entry.get("max_evals", 160)), seed=s,
                test_sweeps=entry.get("test_sweeps", ()), run_dir=out,
                resume=resume and (out / "checkpoint.pkl").exists(), progress=progress)
            prov = _provenance("level1", data, s, neuron=name, model=model,
                               n_evals=res.summary["n_evals"],
                               rmse_train_mV=res.summary["rmse_train"])
            fitted = _with_provenance(res.parameters, prov, set(res.best))
            fitted.save(out / "fitted.yaml")
        cls = str(entry.get("class", name))
        asg["classes"][cls] = {"model": model, "params": {
            k: float(v) for k, v in fitted.values().items()}}
        if "cell" in entry:
            asg["classes"][cls]["cell"] = str(entry["cell"])
        outputs[name] = {"parameters": str(out / "fitted.yaml"), "class": cls, "data": data}
        figures += [str(p) for p in sorted(out.glob("*.png"))]
    meta["assignment"] = asg
    prov = dict(meta.get("provenance", {}) or {})
    prov["level1"] = {k: {"class": v["class"], "data": v["data"], "file": v["parameters"]}
                      for k, v in outputs.items()}
    meta["provenance"] = prov
    org_ps = ParameterSet(dict(base.parameters.parameters), name=base.parameters.name,
                          description=base.parameters.description, meta=meta)
    org_path = run / "level1" / "organism.yaml"
    org_ps.save(org_path)
    load_config(org_path)  # validates the written file
    return {"cells": outputs, "organism": str(org_path), "figures": figures}


def _with_provenance(ps: ParameterSet, prov: Mapping[str, Any], fitted: set[str]
                     ) -> ParameterSet:
    from dataclasses import replace

    tag = (f"fitted by {prov['stage']} (data: {prov['data']}; seed {prov['seed']}; "
           f"{prov['version']})")
    new = {k: (replace(p, source=tag, certainty="fitted") if k in fitted else p)
           for k, p in ps.parameters.items()}
    return ParameterSet(new, name=ps.name, description=ps.description,
                        meta={**dict(ps.meta), "provenance": dict(prov)})


# --- level 2 ----------------------------------------------------------------------------------
def run_level2(cfg: Mapping[str, Any], run: Path, seed: int, organism: str | None,
               resume: bool, progress: bool) -> dict[str, Any]:
    """Fit the network to behaviour from the (Level-1) organism."""
    from fitting.level2.fit import fit_level2, level2_config_from_dict

    d = dict(cfg)
    d.setdefault("seed", seed)
    if organism is not None:
        d["organism"] = organism
    l2 = level2_config_from_dict(d, "level2")
    out = run / "level2"
    res = fit_level2(l2, out, resume=resume and (out / "checkpoint.pkl").exists(),
                     progress=progress, provenance={"pipeline_version": PIPELINE_VERSION,
                                                    "organism_in": organism or "default"})
    return {"network": str(out / "network_fitted.yaml"), "start_error": res.start_error,
            "best_error": res.best_error, "n_evals": res.summary["n_evals"],
            "figures": [str(p) for p in sorted(out.glob("*.png"))]}


# --- estimation -------------------------------------------------------------------------------
def _cell_features(spec: Any, protocol: Any, params: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Flattened current-clamp features ``(B, k)`` of a batch and the failed mask."""
    from fitting.features import extract_features

    res = spec(params, protocol)
    y = np.asarray(res.data["v"], float).reshape(-1, protocol.n_sweeps, res.data["v"].shape[-1])
    feats = extract_features(y, np.asarray(res.time_ms, float), protocol)
    F = np.concatenate([np.asarray(v, float).reshape(y.shape[0], -1)
                        for _, v in sorted(feats.items())], axis=1)
    failed = np.asarray(res.failed, bool).reshape(-1) if res.failed is not None else \
        np.zeros(y.shape[0], bool)
    F[failed] = np.nan
    return F, failed


def _estimate_cell(entry: Mapping[str, Any], where: str, seed: int
                   ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]:
    """(space, features, values, observed features, data) for a ``kind: cell`` problem."""
    from fitting.simulator import SimSpec
    from fitting.space import ParamSpace

    bounds = entry.get("parameters")
    if not isinstance(bounds, Mapping) or not bounds:
        raise PipelineError(f"{where}.parameters: expected {{name: [lower, upper]}}")
    space = ParamSpace.from_bounds({k: tuple(v) for k, v in bounds.items()},
                                   log=tuple(entry.get("log", ())))
    prot = _protocol(entry.get("protocol", {}), where)
    spec = SimSpec(str(entry.get("model", "morris_lecar")), backend="torch",
                   dt_ms=float(entry.get("dt_ms", 0.2)),
                   options={"cell": entry["cell"]} if "cell" in entry else {},
                   fixed={k: float(v) for k, v in dict(entry.get("fixed", {}) or {}).items()})
    n = int(entry.get("n_sims", 500))
    from scipy.stats import qmc

    U = qmc.Sobol(space.d, seed=seed).random(n)
    V = space.to_values(U)
    feats, vals = [], []
    for s in range(0, n, 256):
        F, _ = _cell_features(spec, prot, space.to_batch(U[s:s + 256]))
        feats.append(F)
        vals.append(V[s:s + 256])
    obs_cfg = entry.get("observed")
    if not isinstance(obs_cfg, Mapping) or "values" not in obs_cfg:
        raise PipelineError(f"{where}.observed: expected {{values: {{name: value}}}} "
                            "(parameters of the cell whose features are observed)")
    ov = {k: np.array([float(v)]) for k, v in obs_cfg["values"].items()}
    obs, _ = _cell_features(spec, prot, ov)
    return space, np.vstack(feats), np.vstack(vals), obs, str(obs_cfg.get(
        "data", "features of a simulated cell"))


def _estimate_level2(entry: Mapping[str, Any], run: Path, where: str
                     ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, str]:
    """Training set from the Level-2 history (features -> parameters); observed = targets."""
    from fitting.space import ParamSpace

    hist = run / "level2" / "features.npz"
    summ = run / "level2" / "summary.json"
    if not hist.exists() or not summ.exists():
        raise PipelineError(f"{where}: kind level2 needs a finished level2 stage")
    import json

    s = json.loads(summ.read_text())
    with np.load(hist) as d:
        X, feats = d["X"], d["features"]
    with np.load(run / "level2" / "history.npz") as d:
        names = [str(n) for n in d["names"]]
        lo = np.min(d["values"], axis=0)
        hi = np.max(d["values"], axis=0)
    want = list(entry.get("parameters", names))
    bad = [w for w in want if w not in names]
    if bad:
        raise PipelineError(f"{where}.parameters: {bad} were not fitted in level2 ({names})")
    l2 = ParamSpace.from_bounds({n: (a, b if b > a else a + 1e-9)
                                 for n, a, b in zip(names, lo, hi, strict=True)})
    V = l2.to_values(X)
    idx = [names.index(w) for w in want]
    space = ParamSpace.from_bounds({w: (lo[i], hi[i] if hi[i] > lo[i] else lo[i] + 1e-9)
                                    for w, i in zip(want, idx, strict=True)})
    F = feats.reshape(feats.shape[0], -1)
    conds, fl = s["conditions"], s["features"]
    obs = np.array([[s["targets"]["mean"].get(c, {}).get(f, np.nan) for c in conds
                     for f in fl]])
    keep = np.isfinite(obs[0])
    return space, F[:, keep], V[:, idx], obs[:, keep], "behaviour targets of level2"


def run_estimate(entries: Sequence[Mapping[str, Any]], run: Path, seed: int,
                 progress: bool) -> dict[str, Any]:
    """Train, check and apply each inverse estimator; write estimates with intervals."""
    from fitting.surrogate.inverse import InverseEstimator

    if not isinstance(entries, Sequence) or not entries:
        raise PipelineError("estimate: expected a list of estimation problems")
    out_dir = run / "estimate"
    outputs: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        where = f"estimate[{i}]"
        name = str(entry.get("name", f"estimate{i}"))
        kind = str(entry.get("kind", "cell"))
        target_file = out_dir / f"{name}.yaml"
        if target_file.exists() and (out_dir / f"{name}_check.json").exists():
            import json

            outputs[name] = json.loads((out_dir / f"{name}_check.json").read_text())
            continue
        s = seed + 100 + i
        if kind == "cell":
            space, F, V, obs, data = _estimate_cell(entry, where, s)
        elif kind == "level2":
            space, F, V, obs, data = _estimate_level2(entry, run, where)
        else:
            raise PipelineError(f"{where}.kind: expected 'cell' or 'level2', got {kind!r}")
        ok = np.all(np.isfinite(F), axis=1)
        # drop feature columns that are undefined for most simulations or constant
        col = (np.mean(np.isfinite(F), axis=0) > 0.9) & np.isfinite(obs[0])
        F, obs = F[:, col], obs[:, col]
        ok = np.all(np.isfinite(F), axis=1)
        F, V = F[ok], V[ok]
        n = F.shape[0]
        n_test = max(10, int(round(float(entry.get("test_fraction", 0.2)) * n)))
        if n - n_test < 20:
            raise PipelineError(f"{where}: only {n} usable simulations; need >= "
                                f"{n_test + 20} (raise n_sims)")
        perm = np.random.default_rng(s).permutation(n)
        te, tr = perm[:n_test], perm[n_test:]
        ens = dict(entry.get("ensemble", {"n_members": 5, "hidden": (64, 64), "epochs": 400}))
        if "hidden" in ens:
            ens["hidden"] = tuple(ens["hidden"])
        est = InverseEstimator(space, alpha=float(entry.get("alpha", 0.1)), **ens)
        est.fit(F[tr], V[tr], seed=s)
        check = est.check(F[te], V[te]).as_dict()
        e = est.predict(obs)
        out_dir.mkdir(parents=True, exist_ok=True)
        est.save(out_dir / f"{name}_estimator.pkl")
        prov = _provenance("estimate", data, s, kind=kind, n_sims=int(n),
                           coverage_heldout=check["coverage_mean"])
        units = _units(entry, kind, run, space.names)
        ps = ParameterSet(name=name, description=(
            f"Amortised estimates ({int(100 * (1 - est.alpha))} % conformal intervals in "
            "meta.intervals)"), meta={"provenance": prov, "intervals": {}})
        for j, pn in enumerate(space.names):
            lo, hi, val = float(e.lower[0, j]), float(e.upper[0, j]), float(e.value[0, j])
            ps.add(Parameter(pn, val, units.get(pn, ""),
                             (float(space.lower[j]), float(space.upper[j])),
                             source=(f"estimated by {name} (inverse surrogate, {data}; "
                                     f"{int(100 * (1 - est.alpha))} % interval "
                                     f"[{lo:.4g}, {hi:.4g}]; seed {s}; {PIPELINE_VERSION})"),
                             certainty="estimated"))
            ps.meta["intervals"][pn] = {"lower": lo, "upper": hi, "level": 1 - est.alpha}
        ps.save(target_file)
        result = {"file": str(target_file), "check": check, "n_sims": int(n)}
        write_json(out_dir / f"{name}_check.json", to_jsonable(result))
        _coverage_figure(out_dir / f"{name}_accuracy.png", est, F[te], V[te])
        outputs[name] = result
    return outputs


def _units(entry: Mapping[str, Any], kind: str, run: Path, names: Sequence[str]
           ) -> dict[str, str]:
    """Units of estimated parameters: ``entry['units']``, else the model registry (cell) or
    the Level-2 network file (level2)."""
    units = {str(k): str(v) for k, v in dict(entry.get("units", {}) or {}).items()}
    try:
        if kind == "cell":
            from fitting.level1 import default_parameters

            opts = {"cell": entry["cell"]} if "cell" in entry else {}
            ps = default_parameters(str(entry.get("model", "morris_lecar")), **opts)
        else:
            from celegans.organism import load_config

            ps = load_config(run / "level2" / "network_fitted.yaml").parameters
        for n in names:
            if n in ps and n not in units:
                units[n] = ps[n].unit
    except (ValueError, FileNotFoundError):
        pass
    return units


def _coverage_figure(path: Path, est: Any, F: np.ndarray, V: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from celegans.io import atomic_path

    e = est.predict(F)
    k = len(est.names)
    fig, axes = plt.subplots(1, k, figsize=(3.2 * k, 3.2), squeeze=False)
    for j, ax in enumerate(axes[0]):
        inside = (V[:, j] >= e.lower[:, j]) & (V[:, j] <= e.upper[:, j])
        ax.errorbar(V[:, j], e.value[:, j], yerr=[e.value[:, j] - e.lower[:, j],
                                                  e.upper[:, j] - e.value[:, j]],
                    fmt=".", ms=3, alpha=0.5, c="0.5", elinewidth=0.5)
        lo, hi = est.space.lower[j], est.space.upper[j]
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_title(f"{est.names[j]}: coverage {inside.mean():.2f}", fontsize=8)
        ax.set_xlabel("true (held out)")
        ax.set_ylabel("estimate, 90 % interval")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


# --- driver -----------------------------------------------------------------------------------
def run_pipeline(config: Mapping[str, Any] | str | os.PathLike,
                 out: str | os.PathLike | None = None, *, resume: bool = True,
                 stages: Sequence[str] | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the configured stages in order (see module docstring); returns ``status.json``'s
    content. A stage that raises is marked failed (with its error) and the pipeline stops;
    rerunning resumes."""
    cfg = load_pipeline_config(config)
    run = Path(out if out is not None else cfg.get("out", f"runs/{cfg['name']}"))
    run.mkdir(parents=True, exist_ok=True)
    status = Status(run, cfg["name"])
    seed = int(cfg["seed"])
    todo = [s for s in STAGES if s in cfg and (stages is None or s in stages)]
    organism = cfg.get("organism")
    l1_org = run / "level1" / "organism.yaml"
    for stage in STAGES:
        if stage not in todo:
            if stage not in cfg:
                status.set(stage, "skipped", reason="not configured")
            continue
        if resume and status.state(stage) == "done":
            if stage == "level1" and l1_org.exists():
                organism = str(l1_org)
            continue
        status.set(stage, "running")
        t0 = time.perf_counter()
        try:
            if stage == "level1":
                outputs = run_level1(cfg["level1"], run, seed, organism, resume, progress)
                organism = outputs["organism"]
            elif stage == "level2":
                if "level1" in cfg and l1_org.exists():   # built on the config's organism
                    organism = str(l1_org)
                outputs = run_level2(cfg["level2"], run, seed, organism, resume, progress)
            else:
                outputs = run_estimate(cfg["estimate"], run, seed, progress)
        except Exception as exc:  # noqa: BLE001 - recorded in status.json, then re-raised
            status.set(stage, "failed", error=f"{type(exc).__name__}: {exc}",
                       traceback=traceback.format_exc(limit=5))
            raise
        status.set(stage, "done", outputs=outputs, wall_s=time.perf_counter() - t0)
        _collect_figures(run)
    status.data["finished"] = all(status.state(s) in ("done", "skipped") for s in STAGES)
    write_json(status.path, to_jsonable(status.data))
    return status.data


def _collect_figures(run: Path) -> None:
    """Copy every stage figure into ``run/figures`` (prefixed with its stage folder)."""
    import shutil

    dst = run / "figures"
    dst.mkdir(exist_ok=True)
    for p in run.glob("*/**/*.png"):
        if dst in p.parents:
            continue
        rel = p.relative_to(run)
        shutil.copyfile(p, dst / "_".join(rel.parts))


