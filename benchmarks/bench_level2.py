"""Level-2 benchmarks: behaviour error over evaluations, and Dask scaling 1 -> 2 workers.

(1) ``fit`` (default): Level 2 from the unfitted connectome (every class-pair multiplier 1,
default organism otherwise) to the target gait on agar and in water (Fang-Yen et al. 2010
frequencies and wavelengths, assumed speeds; ``fitting.level2.behaviour.DEFAULT_GAIT_TARGETS``).
Fitted: chemical, gap and neuromuscular class-pair multipliers among the forward motor circuit
(AVB, VB, DB, VD, DD), the glutamate sign and the gap-junction conductance per contact. Prints the
best summed error (SD units) after each generation and writes ``error_vs_evaluations.png``.

(2) ``--scaling``: the same closed-loop evaluations of one fixed batch through the Dask executor
with 1 and with 2 local workers; prints wall times and the speed-up (goal >= 1.7x). Needs at
least 2 free cores to mean anything.

Run::

    python benchmarks/bench_level2.py --max-evals 160 --pop 16 --workers 8
    python benchmarks/bench_level2.py --scaling --batch 8 --water-s 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

MOTOR = ["AVB", "VB", "DB", "VD", "DD"]


def level2_config(args: argparse.Namespace) -> dict:
    conds = []
    if args.agar_s > 0:
        conds.append({"name": "agar", "medium": "agar", "duration_s": args.agar_s,
                      "discard_s": min(2.0, args.agar_s / 3)})
    if args.water_s > 0:
        conds.append({"name": "water", "medium": "water", "duration_s": args.water_s,
                      "discard_s": min(1.0, args.water_s / 3)})
    return {"parameters": {
        "multipliers": {"kinds": ["chemical", "gap", "nmj"], "classes": MOTOR,
                        "bounds": [0.2, 5.0], "transform": "log"},
        "names": {"network.glutamate_sign": {"bounds": [-1.0, 1.0]},
                  "network.g_gap_contact": {"bounds": [0.02, 0.5]}}},
        "conditions": conds, "algorithm": args.algorithm, "pop_size": args.pop,
        "max_evals": args.max_evals, "seed": args.seed, "executor": args.executor,
        "workers": args.workers, "timeout_s": args.timeout, "backend": args.backend}


def run_fit(args: argparse.Namespace) -> None:
    from fitting.level2.fit import fit_level2

    out = Path(args.out)
    t0 = time.perf_counter()
    res = fit_level2(level2_config(args), out / "fit", resume=args.resume, progress=True)
    wall = time.perf_counter() - t0
    s = np.where(res.optim.failed, np.inf, res.optim.F.sum(1))
    best = np.minimum.accumulate(s)
    print(f"parameters fitted: {len(res.best)}; evaluations: {s.size}; failed: "
          f"{int(res.optim.failed.sum())}; wall {wall:.0f} s")
    print(f"start (all multipliers 1): summed error {res.start_error:.3f} SD")
    for g in range(args.pop, s.size + 1, args.pop):
        print(f"  after {g:4d} evaluations: best {best[g - 1]:.3f}")
    print(f"best: {res.best_error:.3f} SD (objectives {res.summary['objective_names']} = "
          f"{np.round(res.summary['best_F'], 3).tolist()})")
    print(f"figures and network_fitted.yaml in {out / 'fit'}")


def run_scaling(args: argparse.Namespace) -> None:
    from fitting.executors import DaskExecutor
    from fitting.level2.evaluator import Level2Evaluator
    from fitting.level2.fit import build_protocol, level2_config_from_dict
    from fitting.level2.space import level2_parameters
    from fitting.space import ParamSpace

    cfg = level2_config_from_dict(level2_config(args))
    proto, target = build_protocol(cfg)
    space = ParamSpace.from_parameters(level2_parameters(cfg.parameters))
    rng = np.random.default_rng(args.seed)
    X = np.clip(0.5 + 0.1 * rng.standard_normal((args.batch, space.d)), 0, 1)
    times = {}
    for n in (1, 2):
        with DaskExecutor(n_workers=n, timeout_s=args.timeout) as ex:
            ev = Level2Evaluator(space, proto, target, ex)
            ev.evaluate(X[:2 * n])        # warm-up: imports and NEURON mechanisms per worker
            t = time.perf_counter()
            r = ev.evaluate(X)
            times[n] = time.perf_counter() - t
        print(f"dask workers={n}: {args.batch} closed-loop evaluations in {times[n]:.1f} s "
              f"(failed {int(r.failed.sum())})")
    print(f"speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x (goal >= 1.7x)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "scaling.json").write_text(json.dumps(
        {"batch": args.batch, "wall_s": times, "speedup": times[1] / times[2]}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scaling", action="store_true", help="Dask 1 -> 2 worker scaling")
    ap.add_argument("--max-evals", type=int, default=160)
    ap.add_argument("--pop", type=int, default=16)
    ap.add_argument("--algorithm", default="nsga2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--executor", default="process", choices=("serial", "process", "dask"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--backend", default="neuron", choices=("neuron", "torch"))
    ap.add_argument("--agar-s", type=float, default=8.0, help="agar run length (0: skip)")
    ap.add_argument("--water-s", type=float, default=4.0, help="water run length (0: skip)")
    ap.add_argument("--batch", type=int, default=8, help="scaling: evaluations per batch")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", default="benchmarks/out/level2")
    args = ap.parse_args()
    run_scaling(args) if args.scaling else run_fit(args)


if __name__ == "__main__":
    main()
