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
``celegans.organism``, NEURON network and PyBullet body, water for ``--water-s`` seconds; 3
parameters: muscle gain, the AVB-VB gap multiplier, the forward command current; water gait
targets of Fang-Yen et al. 2010) through a process pool of ``--workers``; small budgets
(e.g. ``--base-evals 96 --pop 8 --sa-evals 24``), each evaluation takes seconds to tens of
seconds, so one seed takes many minutes.

``--inverse``: the amortised inverse estimator instead. Channel densities (g_Ca, g_K, g_L, nS)
of a graded Morris-Lecar neuron "without recordings" are estimated from current-clamp features
(``fitting.features``) of batched torch simulations: ``--n-train`` prior draws (Sobol) train an
ensemble + split-conformal estimator; ``--n-test`` fresh held-out simulations check it. Prints
the coverage of the nominal 90 % intervals (required 0.8-0.98), their mean width and the RMSE
(both as fractions of the prior range).

Run: ``python benchmarks/bench_surrogate.py --seeds 0 1 2 [--base-evals 600] [--sa-evals 120]``
     ``python benchmarks/bench_surrogate.py --problem closed-loop --seeds 0 --base-evals 96 \
--pop 8 --sa-evals 24 --water-s 2``
     ``python benchmarks/bench_surrogate.py --inverse [--n-train 2000] [--n-test 500]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

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


def build_closed_loop_evaluator(args: argparse.Namespace):
    """Level-2 evaluator of the real closed loop (``celegans.organism``: NEURON network, PyBullet
    body) in water for ``--water-s`` seconds, 3 parameters (``CLOSED_LOOP_PARAMS``, log scale),
    targets: the water gait of ``DEFAULT_GAIT_TARGETS`` (Fang-Yen et al. 2010)."""
    from fitting.executors import make_executor
    from fitting.level2.behaviour import (
        DEFAULT_GAIT_TARGETS,
        BehaviourProtocol,
        BehaviourTarget,
        Condition,
    )
    from fitting.level2.evaluator import Level2Evaluator
    from fitting.space import ParamSpace

    cond = Condition("water", "water", duration_s=args.water_s,
                     discard_s=min(1.0, args.water_s / 3))
    proto = BehaviourProtocol((cond,), ("frequency_hz", "wavelength_body_lengths",
                                        "speed_mm_s"))
    target = BehaviourTarget.from_dict({"water": DEFAULT_GAIT_TARGETS["water"]})
    space = ParamSpace.from_bounds(CLOSED_LOOP_PARAMS, log=tuple(CLOSED_LOOP_PARAMS))
    ex = make_executor(args.executor, n_workers=args.workers, timeout_s=600.0)
    return Level2Evaluator(space, proto, target, ex)


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
    ap.add_argument("--water-s", type=float, default=2.0, help="closed-loop: run length (s)")
    ap.add_argument("--executor", default="process", choices=("serial", "process"),
                    help="closed-loop: executor of the true simulations")
    ap.add_argument("--workers", type=int, default=2, help="closed-loop: worker processes")
    ap.add_argument("--inverse", action="store_true", help="inverse-estimator calibration")
    ap.add_argument("--n-train", type=int, default=2000)
    ap.add_argument("--n-test", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.inverse:
        run_inverse(args)
        return
    from fitting.level1 import FitConfig, optimise
    from fitting.surrogate.assisted import (
        AssistConfig,
        evaluations_to_reach,
        surrogate_assisted_optimise,
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves: dict[str, list[np.ndarray]] = {"nsga2": [], "assisted": []}
    runs = []
    closed = args.problem == "closed-loop"

    def make():
        return build_closed_loop_evaluator(args) if closed else \
            build_evaluator(problem=args.problem)

    def close(ev) -> None:
        ex = getattr(ev, "executor", None)
        if closed and ex is not None:
            ex.close()

    assist = AssistConfig(max_evals=args.sa_evals, seed=0, model=args.model, progress=closed)
    print(f"problem {args.problem}; NSGA-II pop {args.pop}, {args.base_evals} evaluations; "
          f"surrogate-assisted ({args.model}) {args.sa_evals} evaluations, batch "
          f"{assist.batch}; seeds {args.seeds}")
    for seed in args.seeds:
        t = time.perf_counter()
        ev = make()
        try:
            rb = optimise(ev, FitConfig(pop_size=args.pop, max_evals=args.base_evals, seed=seed,
                                        progress=closed))
        finally:
            close(ev)
        tb = time.perf_counter() - t
        t = time.perf_counter()
        ev = make()
        try:
            ra = surrogate_assisted_optimise(ev, AssistConfig(**{**assist.__dict__,
                                                                 "seed": seed}))
        finally:
            close(ev)
        ta = time.perf_counter() - t
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
        # the other direction: NSGA-II evaluations needed to match the assisted search's final
        # error, over the assisted search's evaluations
        na = evaluations_to_reach(ra.F, ra.failed, float(ca[-1]))
        nb = evaluations_to_reach(rb.F, rb.failed, float(ca[-1]))
        # NSGA-II never got there: its whole budget is a lower bound of what it needs
        row["match_assisted_final"] = {"error": float(ca[-1]), "evals_nsga2": nb,
                                       "evals_assisted": na, "lower_bound": not np.isfinite(nb),
                                       "ratio": (nb if np.isfinite(nb) else cb.size) / na}
        row["curves"] = {"nsga2": cb.tolist(), "assisted": ca.tolist()}
        runs.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "curves"}))
    summary = {}
    for k in ("50%", "75%", "100%"):
        ratios = [r["thresholds"][k]["ratio"] for r in runs]
        summary[k] = {"median_ratio": float(np.median(ratios)), "ratios": ratios}
    summary["match_assisted_final"] = {
        "median_ratio": float(np.median([r["match_assisted_final"]["ratio"] for r in runs])),
        "ratios": [r["match_assisted_final"]["ratio"] for r in runs]}
    print("SAVINGS (true simulations, NSGA-II / surrogate-assisted, same seeds):")
    m = summary["match_assisted_final"]
    per = ", ".join((">=" if r["match_assisted_final"]["lower_bound"] else "")
                    + f"{r['match_assisted_final']['ratio']:.2f}" for r in runs)
    print(f"  threshold = assisted search's final error: median {m['median_ratio']:.2f}x "
          f"(per seed {per}; >= : NSGA-II did not reach it within {args.base_evals} evaluations)")
    for k, v in summary.items():
        if k == "match_assisted_final":
            continue
        ev = ", ".join(f"{r['thresholds'][k]['evals_nsga2']:.0f}/"
                       f"{r['thresholds'][k]['evals_assisted']:.0f}" for r in runs)
        print(f"  threshold = NSGA-II best after {k} of its budget: "
              f"median {v['median_ratio']:.2f}x "
              f"(per seed {', '.join(f'{r:.2f}' for r in v['ratios'])}; evaluations NSGA-II/"
              f"assisted {ev})")
    (out / "results.json").write_text(json.dumps(
        {"problem": args.problem, "base_evals": args.base_evals, "pop": args.pop,
         "sa_evals": args.sa_evals, "assist": {k: v for k, v in assist.__dict__.items()
                                               if k != "seed"},
         "runs": runs, "summary": summary}, indent=2, default=str))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, col in (("nsga2", "C0"), ("assisted", "C3")):
        for i, c in enumerate(curves[name]):
            ax.plot(np.arange(1, c.size + 1), c, color=col, alpha=0.7,
                    label=name if i == 0 else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("true simulations")
    ax.set_ylabel("best summed objective")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "surrogate_savings.png", dpi=120)
    print(f"figure: {out / 'surrogate_savings.png'}")


if __name__ == "__main__":
    main()
