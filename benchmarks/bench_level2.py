"""Level-2 benchmarks: behaviour error over evaluations, and Dask scaling 1 -> 2 workers.

(1) ``fit`` (default): Level 2 from the unfitted connectome (every class-pair multiplier 1,
default organism otherwise) to the target gait on agar and in water (Fang-Yen et al. 2010
frequencies and wavelengths, assumed speeds; ``fitting.level2.behaviour.DEFAULT_GAIT_TARGETS``).
Fitted: chemical, gap and neuromuscular class-pair multipliers among the forward motor circuit
(AVB, VB, DB, VD, DD), the glutamate sign and the gap-junction conductance per contact. Prints the
best summed error (SD units) after each generation and writes ``error_vs_evaluations.png``.

(2) ``--scaling``: one batch of closed-loop evaluations through the Dask executor with 1 and with
2 local workers (fresh ``LocalCluster`` each, one thread per worker, ``OMP_NUM_THREADS=1`` and
``torch.set_num_threads(1)`` in every worker). Before timing, every worker is warmed with
``Client.run`` (imports, connectome, NEURON mechanisms, a 0.2 s closed loop), so no first-use
cost falls inside the timed batch. By default the batch repeats one parameter point, so every
task does the same work and the ratio measures scaling, not load imbalance; each evaluation is a
multi-second closed loop (tens of seconds of work against milliseconds of scheduling), and only
the small ``SimSpec``/protocol/parameter dict travel per task. Prints the wall times, the
speed-up (goal >= 1.7x), the per-task compute times from the Dask task stream (if they grow
from 1 to 2 workers, the workers compete for CPU or memory: a busy machine, not Dask), the load
average before the run and the machine's own ceiling (the same 1 -> 2 Dask measurement on pure
CPU tasks: about 2 on two idle cores). Needs 2 otherwise idle cores to mean anything.

Run::

    python benchmarks/bench_level2.py --max-evals 160 --pop 16 --workers 8
    python benchmarks/bench_level2.py --scaling --batch 8 --agar-s 4 --water-s 2 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MOTOR = ["AVB", "VB", "DB", "VD", "DD"]


def motor_parameters() -> dict:
    """The fitted parameters (Level-2 config section): chemical, gap and neuromuscular
    class-pair multipliers among the forward motor circuit ``MOTOR`` (29 connected pairs, log
    scale, 0.1-20), the glutamate sign and the gap-junction conductance per contact (31 in
    all; the start is the organism's defaults)."""
    return {"multipliers": {"kinds": ["chemical", "gap", "nmj"], "classes": MOTOR,
                            "bounds": [0.1, 20.0], "transform": "log"},
            "names": {"network.glutamate_sign": {"bounds": [-1.0, 1.0]},
                      "network.g_gap_contact": {"bounds": [0.02, 0.5]}}}


def level2_config(args: argparse.Namespace) -> dict:
    conds = []
    if args.agar_s > 0:
        conds.append({"name": "agar", "medium": "agar", "duration_s": args.agar_s,
                      "discard_s": min(2.0, args.agar_s / 3)})
    if args.water_s > 0:
        conds.append({"name": "water", "medium": "water", "duration_s": args.water_s,
                      "discard_s": min(1.0, args.water_s / 3)})
    return {"parameters": motor_parameters(),
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


def _warm_worker(protocol_args: tuple) -> dict:
    """Runs once on every Dask worker before timing: one torch thread, imports, the connectome,
    NEURON mechanisms and one very short closed loop (so no worker pays first-use costs inside
    the timed batch)."""
    import os

    import torch

    torch.set_num_threads(1)
    from fitting.level2.behaviour import BehaviourProtocol, Condition, simulate_behaviour

    organism, backend = protocol_args
    proto = BehaviourProtocol((Condition("warm", "agar", duration_s=0.2, discard_s=0.0),),
                              organism=organism, backend=backend)
    t = time.perf_counter()
    simulate_behaviour({}, proto)
    return {"pid": os.getpid(), "warm_s": time.perf_counter() - t,
            "torch_threads": torch.get_num_threads(),
            "omp": os.environ.get("OMP_NUM_THREADS")}


def _cpu_work(n: int) -> float:
    """A fixed amount of pure-Python CPU work (the machine's own 1 -> 2 ceiling)."""
    x = 0.0
    for i in range(n):
        x += (i % 7) * 0.5
    return x


def machine_ceiling(n_tasks: int = 8, work: int = 6_000_000) -> float:
    """Speed-up 1 -> 2 Dask workers of identical pure CPU tasks: what the machine allows right
    now (about 2 on two idle cores)."""
    from distributed import Client, LocalCluster

    wall = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cl, Client(cl) as c:
            c.gather(c.map(_cpu_work, [1000] * n, pure=False))       # warm
            t = time.perf_counter()
            c.gather(c.map(_cpu_work, [work] * n_tasks, pure=False))
            wall[n] = time.perf_counter() - t
    return wall[1] / wall[2]


def _timed_batch(n_workers: int, ev_args: tuple, X: np.ndarray, timeout: float) -> dict:
    """Wall time of one batch on a fresh local Dask cluster of ``n_workers`` one-thread workers,
    every worker warmed first; per-task compute times from the Dask task stream."""
    from distributed import get_task_stream

    from fitting.executors import DaskExecutor
    from fitting.level2.evaluator import Level2Evaluator

    space, proto, target = ev_args
    with DaskExecutor(n_workers=n_workers, timeout_s=timeout) as ex:
        warm = ex.client.run(_warm_worker, (proto.organism, proto.backend))
        ev = Level2Evaluator(space, proto, target, ex)
        with get_task_stream(ex.client) as ts:
            t = time.perf_counter()
            r = ev.evaluate(X)
            wall = time.perf_counter() - t
        tasks = [sum(x["stop"] - x["start"] for x in d["startstops"] if x["action"] == "compute")
                 for d in ts.data]
    return {"workers": n_workers, "wall_s": wall, "failed": int(r.failed.sum()),
            "task_s": sorted(tasks), "warm": list(warm.values())}


def run_scaling(args: argparse.Namespace) -> None:
    """Dask 1 -> 2 workers on one batch of identical closed-loop evaluations (see --help)."""
    import os

    from fitting.level2.fit import build_protocol, level2_config_from_dict
    from fitting.level2.space import level2_parameters
    from fitting.space import ParamSpace

    cfg = level2_config_from_dict(level2_config(args))
    proto, target = build_protocol(cfg)
    space = ParamSpace.from_parameters(level2_parameters(cfg.parameters))
    rng = np.random.default_rng(args.seed)
    if args.same_point:   # equal work per task: the ratio measures scaling, not imbalance
        X = np.repeat(np.clip(0.5 + 0.1 * rng.standard_normal((1, space.d)), 0, 1),
                      args.batch, axis=0)
    else:
        X = np.clip(0.5 + 0.1 * rng.standard_normal((args.batch, space.d)), 0, 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores {os.cpu_count()}, load average (1 min) {load:.2f} before the run; "
          f"{args.batch} evaluations of {args.agar_s:g} s agar + {args.water_s:g} s water "
          f"({'one point repeated' if args.same_point else 'different points'}), "
          f"{args.repeats} repeat(s), backend {args.backend}")
    if load > 0.5 * (os.cpu_count() or 1):
        print("warning: the machine is busy; the speed-up will be understated")
    ceiling = machine_ceiling()
    print(f"machine ceiling now (pure CPU tasks, same Dask setup): {ceiling:.2f}x")
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for rep in range(args.repeats):
        order = (1, 2) if rep % 2 == 0 else (2, 1)      # alternate to cancel load drifts
        for n in order:
            r = _timed_batch(n, (space, proto, target), X, args.timeout)
            runs[n].append(r)
            ts = np.array(r["task_s"])
            print(f"  repeat {rep}: dask workers={n}: {args.batch} evaluations in "
                  f"{r['wall_s']:.1f} s (failed {r['failed']}); per task {ts.mean():.1f} s "
                  f"(min {ts.min():.1f}, max {ts.max():.1f}); worker warm-up "
                  f"{[round(w['warm_s'], 1) for w in r['warm']]} s, torch threads "
                  f"{[w['torch_threads'] for w in r['warm']]}", flush=True)
    wall = {n: float(np.median([r["wall_s"] for r in v])) for n, v in runs.items()}
    task = {n: float(np.median([np.mean(r["task_s"]) for r in v])) for n, v in runs.items()}
    speedup = wall[1] / wall[2]
    eff2 = float(np.median([np.sum(r["task_s"]) / (2 * r["wall_s"]) for r in runs[2]]))
    print(f"median wall: 1 worker {wall[1]:.1f} s, 2 workers {wall[2]:.1f} s")
    print(f"speed-up 1 -> 2 workers: {speedup:.2f}x (goal >= 1.7x; the machine allowed "
          f"{ceiling:.2f}x for pure CPU tasks at the start)")
    print(f"per-task compute time: {task[1]:.1f} s with 1 worker, {task[2]:.1f} s with 2 "
          f"(ratio {task[2] / task[1]:.2f}: > 1 means the two workers slow each other down, "
          "i.e. CPU or memory contention, not Dask overhead); busy fraction of the 2 workers "
          f"{eff2:.2f}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "scaling.json").write_text(json.dumps(
        {"batch": args.batch, "agar_s": args.agar_s, "water_s": args.water_s,
         "same_point": args.same_point, "load_before": load, "ceiling": ceiling,
         "median_wall_s": wall,
         "median_task_s": task, "speedup": speedup, "busy_fraction_2": eff2,
         "runs": {str(k): v for k, v in runs.items()}}, indent=2))
    print(f"written {Path(args.out) / 'scaling.json'}")


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
    ap.add_argument("--repeats", type=int, default=1, help="scaling: timed repeats (median)")
    ap.add_argument("--different-points", dest="same_point", action="store_false",
                    help="scaling: different parameter points (default: one point repeated, "
                         "equal work per task)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--out", default="benchmarks/out/level2")
    args = ap.parse_args()
    run_scaling(args) if args.scaling else run_fit(args)


if __name__ == "__main__":
    main()
