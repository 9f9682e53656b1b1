"""Benchmark: true simulations needed with and without the surrogate (goal >= 5x fewer).

Problem (default): a Level-1 fit of the Morris-Lecar neuron (torch backend, batched) to a
synthetic target from its published parameters (``--problem spiking``: 3 steps of -10, 20,
60 pA that make it spike; ``--problem graded``: 4 steps of -3 .. 3 pA with graded responses
only), fitting g_Ca, g_K, g_L and V3 in their boxes with the Level-1 evaluator (objectives:
passive, active, spikes (spiking only), RMSE). Baseline: NSGA-II (``fitting.level1.optimise``,
population ``--pop`` 20, ``--base-evals`` 600, its default operators: the baseline is not tuned
for this comparison); surrogate-assisted search (``fitting.surrogate.assisted``, its defaults:
``--model gp``, batch 4, initial design 10) with ``--sa-evals`` 120; the same seeds for both.
The error is the summed objectives of the best point so far. For thresholds equal to the
baseline's best error after 50 %, 75 % and 100 % of its budget, it prints the evaluations each
method needed per seed and the median ratio over seeds (0 when the assisted search never got
there), and writes a figure of error vs true simulations.

``--problem closed-loop``: the same comparison on the real closed loop (Level-2 evaluator:
``celegans.organism``, the network on ``--backend`` (``torch`` by default: the native CPU
kernel, about twice as fast per evaluation as ``neuron`` here, same features to 3-4 digits) and
the PyBullet body, ``--medium`` water (default) or agar for ``--run-s`` seconds (default 4 in
water, 8 on agar) of which the first ``--discard-s`` (default half the run, at most 3 s) are not
measured; 3 parameters: muscle gain, the AVB-VB gap multiplier, the forward command current;
gait targets of Fang-Yen et al. 2010 for that medium) through a process pool of ``--workers``.
The assisted search models the signed feature deviations (``--outputs z``, the default here;
``objectives`` models the objective itself); ``--candidates offspring``, ``--split-saturated
1`` and ``--global-candidates N`` select the options of ``fitting.surrogate.assisted``.
Measured over a short window (2 s run, 0.67 s discarded) the gait features are the start-up
transient and jump with 3 % parameter changes; with the first 2 s of a 4 s run discarded they
are the steady gait (an 8 s run, 4 s discarded, gives the same features to ~1 %). The steady
gait still changes mode abruptly in places (wavelength 2.8 -> 3.2 body lengths and speed 0.098
-> 0.070 mm/s for a 1 % step of the command current): the landscape is piecewise smooth. A
strong command current paralyses the worm (straight body); its frequency and wavelength are
then undefined (``env.metrics.MIN_UNDULATION_KAPPA_L``), not read from rounding noise. The
best water gaits lie in a band of command currents just short of paralysis, with mode switches
inside it; on agar the features vary smoothly but the best gaits again lie at the paralysis
edge. NSGA-II's recombination finds these edges; the GP searches (every option above) mostly
did not within their 40 evaluations: see the README for the figures. Each evaluation takes
about 1.5 s in water, 3 s on agar (torch) or twice that (NEURON) per worker. Runs are cached under
``OUT/baseline/`` keyed by the problem, budget, seed, backend, undulation threshold, the
assisted settings and the hashes of the organism and network files (``--stage baseline`` /
``--stage assisted`` run one side, e.g. in parallel; ``--stage both`` compares, reading cached
runs); evaluations read a snapshot of the organism file taken at the start, and the run warns
when the network file changed meanwhile (the working tree is shared: a point scores
differently under another version of the organism).

``--space motor``: the real Level-2 setting instead of 3 parameters: the 31 of
``bench_level2.py`` (chemical, gap and neuromuscular class-pair multipliers of the forward motor
circuit AVB, VB, DB, VD, DD, log scale 0.1-20; the glutamate sign; the gap conductance per
contact), from the unfitted connectome. Every search evaluates that start first: NSGA-II's
initial population is the start plus uniform points (as ``fit_level2`` starts it), random
search's first batch holds it, the assisted search's initial design includes it.
``--target synthetic``: the gait of a hidden parameter point (``--target-seed``; see
:func:`synthetic_target`) replaces the published targets, with their SDs, so the error can reach
0 as in the Level-1 problems; against the published water gait every search stops at a floor
(speed and frequency too low) that NSGA-II reaches early (its best after 80 of 160 evaluations
after a median 47), which leaves no room for a 5x saving at its thresholds.
``--assist-option NAME=VALUE`` sets any other field of ``AssistConfig`` (e.g. ``fail_tol=3``).

``--inverse``: the amortised inverse estimator instead. Channel densities (g_Ca, g_K, g_L, nS)
of a graded Morris-Lecar neuron "without recordings" are estimated from current-clamp features
(``fitting.features``) of batched torch simulations: ``--n-train`` prior draws (Sobol) train an
ensemble + split-conformal estimator; ``--n-test`` fresh held-out simulations check it. Prints
the coverage of the nominal 90 % intervals (required 0.8-0.98), their mean width and the RMSE
(both as fractions of the prior range).

``--random-baseline``: random search (uniform points in the box, NSGA-II's population per batch
and budget, same seeds) as a second reference: how much of the saving a model-free design gets.

Run: ``python benchmarks/bench_surrogate.py --seeds 0 1 2 [--base-evals 600] [--sa-evals 120]``
     ``python benchmarks/bench_surrogate.py --problem closed-loop --seeds 0 1 2 3 4 5 --pop 12 \
--base-evals 120 --sa-evals 40 --n-init 8 --batch 2 --random-baseline [--medium agar] \
--out benchmarks/out/surrogate_cl2``
     ``python benchmarks/bench_surrogate.py --problem closed-loop --space motor [--target \
synthetic] --seeds 0 1 2 3 4 5 --pop 16 --base-evals 160 --sa-evals 40 --n-init 8 --batch 2 \
--random-baseline --out benchmarks/out/surrogate_motor``
     ``python benchmarks/bench_surrogate.py --inverse [--n-train 2000] [--n-test 500]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROBLEMS = {"spiking": (-10.0, 20.0, 60.0), "graded": (-3.0, -1.5, 1.5, 3.0)}


def build_evaluator(dt_ms: float = 0.2, problem: str = "spiking"):
    """The benchmark's Level-1 evaluator (Morris-Lecar, 4 parameters); ``problem`` picks the
    step amplitudes: ``spiking`` (-10, 20, 60 pA: spikes at the larger steps) or ``graded``
    (-3 .. 3 pA: graded responses only, like most C. elegans neurons)."""
    from celegans.protocols import CurrentClamp
    from fitting.evaluator import Evaluator
    from fitting.objectives import ObjectiveSet
    from fitting.simulator import SimSpec
    from fitting.space import ParamSpace
    from fitting.targets import synthetic_recording

    prot = CurrentClamp(PROBLEMS[problem], 50.0, 250.0, 300.0)
    spec = SimSpec("morris_lecar", dt_ms=dt_ms)
    rec = synthetic_recording(spec, {}, prot, sample_dt_ms=1.0)
    space = ParamSpace.from_bounds({"g_Ca": (0.1, 1.0), "g_K": (0.2, 2.0), "g_L": (0.05, 0.5),
                                    "V3": (-10.0, 20.0)})
    return Evaluator(space, spec, ObjectiveSet(rec))


CLOSED_LOOP_PARAMS = {"muscle_gain": (0.5, 5.0), "network.mult.gap.AVB.VB": (0.2, 5.0),
                      "command_forward_pA": (100.0, 5000.0)}
CLOSED_LOOP_SPACES = ("command", "motor")


def closed_loop_space(args: argparse.Namespace) -> tuple[Any, np.ndarray | None]:
    """``--space``: the fitted parameters and, for ``motor``, the start (unit-cube row: the
    unfitted connectome, the organism's defaults) that every search evaluates first.

    ``command``: ``CLOSED_LOOP_PARAMS`` (3, log scale), no start. ``motor``: the Level-2
    parameters of ``bench_level2.py`` (chemical, gap and neuromuscular class-pair multipliers
    of the forward motor circuit, the glutamate sign, the gap conductance per contact: 31)."""
    from fitting.space import ParamSpace

    if args.space == "command":
        return ParamSpace.from_bounds(CLOSED_LOOP_PARAMS, log=tuple(CLOSED_LOOP_PARAMS)), None
    from bench_level2 import motor_parameters

    from fitting.level2.space import level2_parameters

    ps = level2_parameters(motor_parameters(), args.organism_snapshot)
    space = ParamSpace.from_parameters(ps)
    return space, space.to_unit(np.array([[ps[n].value for n in space.names]]))


def discard_of(args: argparse.Namespace) -> float:
    """Transient discarded before the gait is measured (s): ``--discard-s``, default half the
    run."""
    return float(args.discard_s) if args.discard_s is not None else min(run_s(args) / 2, 3.0)


def run_s(args: argparse.Namespace) -> float:
    """Closed-loop run length (s): ``--run-s``, default 4 in water, 8 on agar (its gait is
    3-5 times slower)."""
    if args.run_s is not None:
        return float(args.run_s)
    return 4.0 if args.medium == "water" else 8.0


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def closed_loop_inputs() -> dict[str, Path]:
    """The data files a closed-loop evaluation reads (hashed into the baseline cache key and
    checked for changes during the run)."""
    from celegans.network.spec import DEFAULT_NETWORK_FILE
    from celegans.organism.config import DEFAULT_ORGANISM_FILE

    return {"organism": Path(DEFAULT_ORGANISM_FILE), "network": Path(DEFAULT_NETWORK_FILE)}


def snapshot_organism(out: Path) -> tuple[Path, dict[str, str]]:
    """Copy the default organism file into ``out`` (evaluations read the copy, so an edit of
    the working tree during a long run cannot change them half-way) and hash the inputs."""
    files = closed_loop_inputs()
    snap = out / "organism_snapshot.yaml"
    text = files["organism"].read_bytes()
    if not snap.exists() or snap.read_bytes() != text:
        from celegans.io import atomic_write

        atomic_write(snap, text.decode())
    return snap, {k: _sha(v) for k, v in files.items()}


def build_closed_loop_evaluator(args: argparse.Namespace):
    """Level-2 evaluator of the real closed loop (``celegans.organism``: network on
    ``--backend``, PyBullet body) in ``--medium`` for ``--run-s`` seconds, the parameters of
    ``--space`` (:func:`closed_loop_space`),
    targets: that medium's gait in ``DEFAULT_GAIT_TARGETS`` (Fang-Yen et al. 2010)."""
    from fitting.executors import make_executor
    from fitting.level2.behaviour import (
        DEFAULT_GAIT_TARGETS,
        BehaviourProtocol,
        BehaviourTarget,
        Condition,
    )
    from fitting.level2.evaluator import Level2Evaluator

    cond = Condition(args.medium, args.medium, duration_s=run_s(args),
                     discard_s=discard_of(args))
    proto = BehaviourProtocol((cond,), ("frequency_hz", "wavelength_body_lengths",
                                        "speed_mm_s"), organism=args.organism_snapshot,
                              backend=args.backend)
    target = BehaviourTarget.from_dict({args.medium: getattr(args, "target_features", None)
                                        or DEFAULT_GAIT_TARGETS[args.medium]})
    space, _ = closed_loop_space(args)
    ex = make_executor(args.executor, n_workers=args.workers, timeout_s=600.0)
    return Level2Evaluator(space, proto, target, ex)


MOVING_SPEED_MM_S = 0.02      # a synthetic target's hidden worm must move at least this fast
MIN_START_ERROR = 1.0         # ... and the start's gait must miss it by this mean |z|


def synthetic_target(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    """``--target synthetic``: the gait of a hidden parameter point as the target, so the
    behaviour error can reach 0 (as Level 1's synthetic recordings), with the published SDs.

    Candidates of the hidden point, drawn with ``--target-seed``: around the start for
    ``--space motor`` (normal, SD 0.25 of each log range: a perturbed connectome), uniform
    in the box for ``command``. The first that undulates, moves at least
    ``MOVING_SPEED_MM_S`` and (with a start) whose gait differs from the start's by a mean
    ``|z|`` of at least ``MIN_START_ERROR`` is taken (the start must not already meet the
    target). Written to / read from ``path`` (JSON: the point, in parameter units and in the
    unit cube, the target and the start's error)."""
    from celegans.io import to_jsonable, write_json
    from fitting.level2.behaviour import DEFAULT_GAIT_TARGETS

    if path.exists():
        return json.loads(path.read_text())
    space, start = closed_loop_space(args)
    rng = np.random.default_rng(args.target_seed)
    n = 11
    U = np.clip(start + 0.25 * rng.standard_normal((n, space.d)), 0.0, 1.0) \
        if start is not None else rng.random((n, space.d))
    ev = build_closed_loop_evaluator(args)
    try:
        feats, failed, _ = ev.simulate(U if start is None else np.vstack([start, U]))
    finally:
        ev.executor.close()
    feats = feats[:, 0, :]
    f0 = feats[0] if start is not None else None
    if start is not None:
        feats, failed = feats[1:], failed[1:]
    names = ev.protocol.features
    sd = np.array([DEFAULT_GAIT_TARGETS[args.medium][k]["sd"] for k in names])
    for u, f, bad in zip(U, feats, failed, strict=True):
        if bad or not np.all(np.isfinite(f)) or f[names.index("speed_mm_s")] < \
                MOVING_SPEED_MM_S or not f[names.index("frequency_hz")] > 0:
            continue
        e0 = float(np.mean(np.abs((f0 - f) / sd))) if f0 is not None else None
        if e0 is not None and e0 < MIN_START_ERROR:     # (NaN: the start has no gait: fine)
            continue
        rec = {"unit": u, "params": space.to_dicts(u[None])[0], "start_error": e0,
               "target": {k: {"mean": float(v), "sd": float(s)}
                          for k, v, s in zip(names, f, sd, strict=True)}}
        write_json(path, to_jsonable(rec))
        return json.loads(path.read_text())
    raise SystemExit(f"--target synthetic: none of {n} candidates (--target-seed "
                     f"{args.target_seed}) moves with a gait the start misses; try another "
                     "seed")


def run_inverse(args: argparse.Namespace) -> None:
    """Coverage and error of the inverse estimator on held-out simulations."""
    from scipy.stats import qmc

    from celegans.protocols import CurrentClamp
    from fitting.pipeline import _cell_features
    from fitting.simulator import SimSpec
    from fitting.space import ParamSpace
    from fitting.surrogate.inverse import InverseEstimator

    space = ParamSpace.from_bounds({"g_Ca": (0.1, 1.0), "g_K": (0.2, 2.0), "g_L": (0.05, 0.5)})
    prot = CurrentClamp((-10.0, 10.0, 30.0, 60.0), 50.0, 350.0, 400.0)
    spec = SimSpec("morris_lecar", dt_ms=0.25)

    def simulate(U: np.ndarray) -> np.ndarray:
        return np.vstack([_cell_features(spec, prot, space.to_batch(U[s:s + 500]))[0]
                          for s in range(0, len(U), 500)])

    t = time.perf_counter()
    U_tr = qmc.Sobol(3, seed=args.seeds[0]).random(args.n_train)
    U_te = np.random.default_rng(args.seeds[0] + 1).random((args.n_test, 3))
    F_tr, F_te = simulate(U_tr), simulate(U_te)
    t_sim = time.perf_counter() - t
    keep = np.mean(np.isfinite(F_tr), axis=0) > 0.9
    F_tr, F_te = F_tr[:, keep], F_te[:, keep]
    t = time.perf_counter()
    est = InverseEstimator(space, alpha=0.1, n_members=5, hidden=(64, 64), epochs=400)
    est.fit(F_tr, space.to_values(U_tr), seed=args.seeds[0])
    t_fit = time.perf_counter() - t
    rep = est.check(F_te, space.to_values(U_te))
    print(f"inverse estimator ({est.model.device}): {args.n_train} training simulations "
          f"({t_sim:.0f} s simulating train+test), {F_tr.shape[1]} features, fit {t_fit:.0f} s")
    print(f"held-out simulations: {rep.n}; nominal coverage 0.90")
    for n, c, w, r in zip(rep.names, rep.coverage, rep.width_unit, rep.rmse_unit, strict=True):
        ok = "ok" if 0.8 <= c <= 0.98 else "OUT OF RANGE"
        print(f"  {n:5s}: coverage {c:.3f} ({ok}), mean 90% width {w:.3f}, RMSE {r:.3f} "
              "(fractions of the prior range)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "inverse.json").write_text(json.dumps(rep.as_dict(), indent=2))


def _run_key(args: argparse.Namespace, hashes: dict[str, str]) -> str:
    import hashlib

    parts = [args.problem, f"pop{args.pop}", f"n{args.base_evals}"]
    if args.problem == "closed-loop":
        from env.metrics import MIN_UNDULATION_KAPPA_L

        parts += [f"w{run_s(args):g}", f"d{discard_of(args):g}", *sorted(hashes.items())]
        if args.medium != "water":          # (water runs keep their earlier keys)
            parts.append(f"medium={args.medium}")
        # runs before these two entered the key were NEURON runs without an undulation
        # threshold; their features differ, so they must not be read as these
        parts += [f"backend={args.backend}", f"min_kappa_L={MIN_UNDULATION_KAPPA_L:g}"]
        if args.space != "command":
            parts.append(f"space={args.space}")
        if args.target != "published":
            parts.append(f"target={args.target}:{args.target_seed}")
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


@dataclass
class _Run:
    """What the comparison needs of one optimiser run (also what the baseline cache holds)."""

    X: np.ndarray
    F: np.ndarray
    failed: np.ndarray
    wall_s: float

    def best_curve(self) -> tuple[np.ndarray, np.ndarray]:
        s = np.where(self.failed, np.inf, self.F.sum(axis=1))
        return np.arange(1, s.size + 1), np.minimum.accumulate(s)


def run_baseline(args: argparse.Namespace, seed: int, make, close, cache: Path | None,
                 algorithm: str = "nsga2") -> _Run:
    """NSGA-II (its default operators; or ``algorithm``, e.g. ``random``: uniform random
    points in the box, as many per batch as NSGA-II's population) with ``--pop`` and
    ``--base-evals``. With a start (``--space motor``) the first batch holds it and
    uniform random points, as ``fit_level2`` starts NSGA-II. With ``cache`` the run is read
    from / written to that ``.npz`` (same problem, budget, seed and input files), so
    assisted-search variants can be compared without rerunning the baseline."""
    from fitting.level1 import FitConfig, optimise
    from fitting.level2.fit import initial_population

    opts = {}
    if getattr(args, "start", None) is not None:    # (random search draws the rest itself)
        opts["sampling"] = args.start if algorithm == "random" else \
            initial_population(args.start, args.pop, seed)

    def run(ev):
        return optimise(ev, FitConfig(algorithm=algorithm, pop_size=args.pop,
                                      max_evals=args.base_evals, seed=seed, options=opts,
                                      progress=args.problem == "closed-loop"))

    label = "NSGA-II" if algorithm == "nsga2" else f"{algorithm} search"
    return _cached_run(f"seed {seed}: {label}", run, make, close, cache)


def _cached_run(label: str, search, make, close, cache: Path | None) -> _Run:
    """``search(evaluator)`` timed on a fresh evaluator, or its result read from ``cache``
    (written there after a run)."""
    if cache is not None and cache.exists():
        print(f"{label} run read from {cache}")
        return _load_run(cache)
    t = time.perf_counter()
    ev = make()
    try:
        r = search(ev)
    finally:
        close(ev)
    run = _Run(r.X, r.F, r.failed, time.perf_counter() - t)
    if cache is not None:
        _save_run(cache, run)
    return run


def _assist_key(base_key: str, assist: Any) -> str:
    import hashlib

    cfg = {k: v for k, v in sorted(assist.__dict__.items()) if k not in ("seed", "progress")}
    return hashlib.sha256(repr((base_key, cfg)).encode()).hexdigest()[:12]


def _save_run(path: Path, run: _Run) -> None:
    from celegans.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, X=run.X, F=run.F, failed=run.failed, wall_s=run.wall_s)


def _load_run(path: Path) -> _Run:
    with np.load(path) as d:
        return _Run(d["X"], d["F"], d["failed"], float(d["wall_s"]))


def run_assisted(config: Any, make, close, cache: Path | None,
                 start: np.ndarray | None = None) -> _Run:
    """The surrogate-assisted search with ``config`` (``start`` evaluated first, in the
    initial design); cached like :func:`run_baseline`."""
    from fitting.surrogate.assisted import surrogate_assisted_optimise

    return _cached_run(f"seed {config.seed}: assisted",
                       lambda ev: surrogate_assisted_optimise(ev, config, initial=start),
                       make, close, cache)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--base-evals", type=int, default=600)
    ap.add_argument("--pop", type=int, default=20)
    ap.add_argument("--sa-evals", type=int, default=120)
    ap.add_argument("--out", default="benchmarks/out/surrogate")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--problem", default="spiking", choices=(*PROBLEMS, "closed-loop"))
    ap.add_argument("--model", default="gp", choices=("gp", "ensemble"),
                    help="surrogate of the assisted search (default gp)")
    ap.add_argument("--outputs", default=None, choices=("objectives", "z"),
                    help="what the GP models: the objectives, or the signed feature "
                         "deviations z with the objective computed from them (default: z for "
                         "closed-loop, objectives otherwise)")
    ap.add_argument("--n-init", type=int, default=None, help="assisted: initial design size")
    ap.add_argument("--batch", type=int, default=None, help="assisted: evaluations per step")
    ap.add_argument("--candidates", default=None, choices=("region", "offspring"),
                    help="assisted, outputs z: trust-region points or pre-screened offspring")
    ap.add_argument("--n-parents", type=int, default=None, help="assisted: offspring parents")
    ap.add_argument("--n-candidates", type=int, default=None,
                    help="assisted: candidates screened per step")
    ap.add_argument("--global-candidates", type=int, default=None,
                    help="assisted, outputs z: whole-cube candidates of the Thompson slots")
    ap.add_argument("--split-saturated", type=int, default=None, choices=(0, 1),
                    help="assisted, outputs z: indicator GPs for capped deviations (default 0)")
    ap.add_argument("--assist-option", action="append", default=[], metavar="NAME=VALUE",
                    help="assisted: any other AssistConfig field (value read as JSON, e.g. "
                         "fail_tol=3); repeatable. With this or any other assisted option "
                         "except --n-init and --batch the results file and figure get a tag "
                         "of the settings")
    ap.add_argument("--medium", default="water", choices=("water", "agar"),
                    help="closed-loop: medium and its gait targets (default water)")
    ap.add_argument("--run-s", "--water-s", dest="run_s", type=float, default=None,
                    help="closed-loop: run length (s; default 4 in water, 8 on agar)")
    ap.add_argument("--discard-s", type=float, default=None,
                    help="closed-loop: transient not measured (s; default half the run)")
    ap.add_argument("--space", default="command", choices=CLOSED_LOOP_SPACES,
                    help="closed-loop: fitted parameters: 'command' (muscle gain, AVB-VB gap, "
                         "command current: 3) or 'motor' (Level-2 class-pair multipliers of the "
                         "forward motor circuit, glutamate sign, gap conductance: 31, from the "
                         "unfitted connectome, evaluated first by every search)")
    ap.add_argument("--target", default="published", choices=("published", "synthetic"),
                    help="closed-loop: gait targets: published (Fang-Yen et al. 2010) or the "
                         "gait of a hidden parameter point (reachable: error 0 is possible)")
    ap.add_argument("--target-seed", type=int, default=0,
                    help="closed-loop, --target synthetic: seed of the hidden point")
    ap.add_argument("--backend", default="torch", choices=("torch", "neuron"),
                    help="closed-loop: network backend of the organism (default torch)")
    ap.add_argument("--executor", default="process", choices=("serial", "process"),
                    help="closed-loop: executor of the true simulations")
    ap.add_argument("--workers", type=int, default=2, help="closed-loop: worker processes")
    ap.add_argument("--random-baseline", action="store_true",
                    help="also run random search with NSGA-II's budget and population (cached "
                         "like the baseline) and report the evaluations it needs")
    ap.add_argument("--stage", default="both",
                    choices=("both", "baseline", "assisted", "random"),
                    help="'baseline' / 'assisted': only run (and cache) those runs; 'both' "
                         "compares them (runs read from the cache when present)")
    ap.add_argument("--no-cache", action="store_true",
                    help="closed-loop: do not read/write the runs under OUT/baseline/")
    ap.add_argument("--inverse", action="store_true", help="inverse-estimator calibration")
    ap.add_argument("--n-train", type=int, default=2000)
    ap.add_argument("--n-test", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.inverse:
        run_inverse(args)
        return
    from fitting.surrogate.assisted import AssistConfig, evaluations_to_reach
    from fitting.surrogate.ensemble import SurrogateError

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves: dict[str, list[np.ndarray]] = {"nsga2": [], "assisted": []}
    runs = []
    closed = args.problem == "closed-loop"
    hashes: dict[str, str] = {}
    args.organism_snapshot, args.start, n_var = None, None, 4
    if closed:
        snap, hashes = snapshot_organism(out)
        args.organism_snapshot = str(snap)
        space, args.start = closed_loop_space(args)
        n_var = space.d
        if args.target == "synthetic":
            tkey = _run_key(args, hashes)
            args.target_features = synthetic_target(
                args, out / "baseline" / f"target_{tkey}.json")["target"]
            print(f"synthetic target (seed {args.target_seed}): {args.target_features}")
    outputs = args.outputs or ("z" if closed else "objectives")
    key = _run_key(args, hashes)
    cache_dir = out / "baseline" if closed and not args.no_cache else None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)

    def make():
        return build_closed_loop_evaluator(args) if closed else \
            build_evaluator(problem=args.problem)

    def close(ev) -> None:
        ex = getattr(ev, "executor", None)
        if closed and ex is not None:
            ex.close()

    extra = {k: v for k, v in (("n_init", args.n_init), ("batch", args.batch),
                               ("global_candidates", args.global_candidates),
                               ("candidates", args.candidates), ("n_parents", args.n_parents),
                               ("n_candidates", args.n_candidates),
                               ("split_saturated", None if args.split_saturated is None
                                else bool(args.split_saturated))) if v is not None}
    for item in args.assist_option:
        name, sep, value = item.partition("=")
        if not sep or name not in AssistConfig.__dataclass_fields__ or name in (
                "max_evals", "seed", "progress"):
            ap.error(f"--assist-option {item!r}: expected NAME=VALUE with NAME a field of "
                     f"AssistConfig other than max_evals, seed, progress")
        try:
            extra[name] = json.loads(value)
        except json.JSONDecodeError:
            extra[name] = value
    try:
        assist = AssistConfig(max_evals=args.sa_evals, seed=0, model=args.model,
                              progress=closed, outputs=outputs, **extra)
    except (SurrogateError, TypeError, ValueError) as exc:     # a bad option value
        ap.error(f"--assist-option: {exc}")
    print(f"problem {args.problem}"
          + (f" ({args.medium} {run_s(args):g} s, first {discard_of(args):g} s not measured, "
             f"{args.backend} network)"
             if closed else "")
          + f"; NSGA-II pop {args.pop}, {args.base_evals} evaluations; "
          f"surrogate-assisted ({args.model}, outputs {outputs}) {args.sa_evals} evaluations, "
          f"initial design {assist.initial_size(n_var)}, batch {assist.batch}; "
          f"seeds {args.seeds}")
    akey = _assist_key(key, assist)

    def acache(seed: int) -> Path | None:
        return cache_dir / f"assisted_{akey}_seed{seed}.npz" if cache_dir is not None else None

    curves["random"] = []
    for seed in args.seeds:
        rr = None
        if args.random_baseline or args.stage == "random":
            rcache = cache_dir / f"random_{key}_seed{seed}.npz" if cache_dir is not None \
                else None
            rr = run_baseline(args, seed, make, close, rcache, algorithm="random")
            if args.stage == "random":
                print(f"seed {seed}: random search best {rr.best_curve()[1][-1]:.4g} after "
                      f"{rr.F.shape[0]} evaluations ({rr.wall_s:.0f} s)")
                continue
        cache = cache_dir / f"nsga2_{key}_seed{seed}.npz" if cache_dir is not None else None
        rb = run_baseline(args, seed, make, close, cache) if args.stage != "assisted" else None
        tb = rb.wall_s if rb is not None else 0.0
        if rb is not None and args.stage == "baseline":
            print(f"seed {seed}: NSGA-II best {rb.best_curve()[1][-1]:.4g} after "
                  f"{rb.F.shape[0]} evaluations ({tb:.0f} s)")
            continue
        ra = run_assisted(AssistConfig(**{**assist.__dict__, "seed": seed}), make, close,
                          acache(seed), args.start)
        ta = ra.wall_s
        if args.stage == "assisted":
            print(f"seed {seed}: assisted best {ra.best_curve()[1][-1]:.4g} after "
                  f"{ra.F.shape[0]} evaluations ({ta:.0f} s)")
            continue
        cb, ca = rb.best_curve()[1], ra.best_curve()[1]
        curves["nsga2"].append(cb)
        curves["assisted"].append(ca)
        n = cb.size
        thr = {f"{q}%": float(cb[max(0, int(q / 100 * n) - 1)]) for q in (50, 75, 100)}
        row = {"seed": seed, "wall_nsga2_s": tb, "wall_assisted_s": ta,
               "final_nsga2": float(cb[-1]), "final_assisted": float(ca[-1]), "thresholds": {}}
        for k, v in thr.items():
            nb = evaluations_to_reach(rb.F, rb.failed, v)
            na = evaluations_to_reach(ra.F, ra.failed, v)
            row["thresholds"][k] = {"error": v, "evals_nsga2": nb, "evals_assisted": na,
                                    "ratio": nb / na if np.isfinite(na) else 0.0}
            if rr is not None:
                # random search that never got there: its whole budget is a lower bound
                nr = evaluations_to_reach(rr.F, rr.failed, v)
                row["thresholds"][k].update(
                    evals_random=nr, random_lower_bound=not np.isfinite(nr),
                    ratio_random=((nr if np.isfinite(nr) else rr.F.shape[0]) / na
                                  if np.isfinite(na) else 0.0))
        # the other direction: NSGA-II evaluations needed to match the assisted search's final
        # error, over the assisted search's evaluations
        na = evaluations_to_reach(ra.F, ra.failed, float(ca[-1]))
        nb = evaluations_to_reach(rb.F, rb.failed, float(ca[-1]))
        # NSGA-II never got there: its whole budget is a lower bound of what it needs
        row["match_assisted_final"] = {"error": float(ca[-1]), "evals_nsga2": nb,
                                       "evals_assisted": na, "lower_bound": not np.isfinite(nb),
                                       "ratio": (nb if np.isfinite(nb) else cb.size) / na}
        if rr is not None:
            nr = evaluations_to_reach(rr.F, rr.failed, float(ca[-1]))
            row["match_assisted_final"].update(
                evals_random=nr, random_lower_bound=not np.isfinite(nr),
                ratio_random=(nr if np.isfinite(nr) else rr.F.shape[0]) / na)
        row["curves"] = {"nsga2": cb.tolist(), "assisted": ca.tolist()}
        if rr is not None:
            cr = rr.best_curve()[1]
            curves["random"].append(cr)
            row["curves"]["random"] = cr.tolist()
            row["final_random"] = float(cr[-1])
        runs.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "curves"}))
    changed = [k for k, v in (closed_loop_inputs().items() if closed else ())
               if _sha(v) != hashes[k]]
    if changed:
        print(f"WARNING: {changed} input file(s) changed in the working tree during this run; "
              "the organism file was read from the snapshot, the network file was not")
    if args.stage != "both" or not runs:
        return
    summary = {}
    for k in ("50%", "75%", "100%"):
        ratios = [r["thresholds"][k]["ratio"] for r in runs]
        summary[k] = {"median_ratio": float(np.median(ratios)), "ratios": ratios}
        if all("ratio_random" in r["thresholds"][k] for r in runs):
            rr_ = [r["thresholds"][k]["ratio_random"] for r in runs]
            summary[k].update(median_ratio_random=float(np.median(rr_)), ratios_random=rr_)
    summary["match_assisted_final"] = {
        "median_ratio": float(np.median([r["match_assisted_final"]["ratio"] for r in runs])),
        "ratios": [r["match_assisted_final"]["ratio"] for r in runs]}
    if all("ratio_random" in r["match_assisted_final"] for r in runs):
        rr_ = [r["match_assisted_final"]["ratio_random"] for r in runs]
        summary["match_assisted_final"].update(median_ratio_random=float(np.median(rr_)),
                                               ratios_random=rr_)
    print("SAVINGS (true simulations, NSGA-II / surrogate-assisted, same seeds):")
    m = summary["match_assisted_final"]
    per = ", ".join((">=" if r["match_assisted_final"]["lower_bound"] else "")
                    + f"{r['match_assisted_final']['ratio']:.2f}" for r in runs)
    print(f"  threshold = assisted search's final error: median {m['median_ratio']:.2f}x "
          f"(per seed {per}; >= : NSGA-II did not reach it within {args.base_evals} evaluations)")
    if "median_ratio_random" in m:
        per = ", ".join((">=" if r["match_assisted_final"]["random_lower_bound"] else "")
                        + f"{r['match_assisted_final']['ratio_random']:.2f}" for r in runs)
        print(f"      random search / assisted: median {m['median_ratio_random']:.2f}x "
              f"(per seed {per})")
    if all("final_random" in r for r in runs):
        print("  best error after the whole budgets (NSGA-II / random / assisted): "
              + "; ".join(f"seed {r['seed']}: {r['final_nsga2']:.3f} / {r['final_random']:.3f} / "
                          f"{r['final_assisted']:.3f}" for r in runs))
    for k, v in summary.items():
        if k == "match_assisted_final":
            continue
        ev = ", ".join(f"{r['thresholds'][k]['evals_nsga2']:.0f}/"
                       f"{r['thresholds'][k]['evals_assisted']:.0f}" for r in runs)
        print(f"  threshold = NSGA-II best after {k} of its budget: "
              f"median {v['median_ratio']:.2f}x "
              f"(per seed {', '.join(f'{r:.2f}' for r in v['ratios'])}; evaluations NSGA-II/"
              f"assisted {ev})")
        if "median_ratio_random" in v:
            ths = [r["thresholds"][k] for r in runs]
            evr = ", ".join(
                (f">={args.base_evals}" if t["random_lower_bound"] else
                 f"{t['evals_random']:.0f}") + f"/{t['evals_assisted']:.0f}" for t in ths)
            print(f"      random search / assisted: median {v['median_ratio_random']:.2f}x "
                  f"(per seed {', '.join(f'{r:.2f}' for r in v['ratios_random'])}; "
                  f"evaluations random/assisted {evr})")
    from celegans.io import to_jsonable, write_json

    # closed loop: one file per surrogate output (and medium other than water)
    tag = ((f"_{args.medium}" if args.medium != "water" else "")
           + (f"_{args.space}" if args.space != "command" else "")
           + (f"_synthetic{args.target_seed}" if args.target == "synthetic" else "")
           + f"_{outputs}") if closed else ""
    variant = [args.candidates, args.split_saturated, args.global_candidates, args.n_parents,
               args.n_candidates, *args.assist_option]
    if any(v is not None for v in variant):     # (must not overwrite the default's results)
        tag += "_opt" + akey[:6]
    write_json(out / f"results{tag}.json", to_jsonable(
               {"problem": args.problem, "base_evals": args.base_evals, "pop": args.pop,
                "sa_evals": args.sa_evals, "medium": args.medium if closed else None,
                "space": args.space if closed else None,
                "target": (args.target_features if args.target == "synthetic" else "published")
                if closed else None,
                "run_s": run_s(args) if closed else None,
                "discard_s": discard_of(args) if closed else None, "input_sha256": hashes,
                "inputs_changed_during_run": changed,
                "assist": {k: v for k, v in assist.__dict__.items() if k != "seed"},
                "runs": runs, "summary": summary}))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, col in (("nsga2", "C0"), ("assisted", "C3"), ("random", "C7")):
        for i, c in enumerate(curves[name]):
            ax.plot(np.arange(1, c.size + 1), c, color=col, alpha=0.7,
                    label=name if i == 0 else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("true simulations")
    ax.set_ylabel("best summed objective")
    ax.legend()
    ax.set_title(f"{args.problem}" + (f", {args.medium}, {n_var} parameters (surrogate "
                                      f"outputs: {outputs})" if closed else ""))
    fig.tight_layout()
    fig.savefig(out / f"surrogate_savings{tag}.png", dpi=120)
    print(f"figure: {out / f'surrogate_savings{tag}.png'}")


if __name__ == "__main__":
    main()
