"""Fits of the AIY and RIM current-clamp recordings, with held-out sweeps.

Recordings: ``shared/data/ephys/{AIYL,RIML}_current_clamp.npz`` (BAAIWorm export, 5-s steps;
skipped cleanly when absent). Each is resampled to ``--sample-dt`` ms, two sweeps are held out
(one hyperpolarising, one depolarising), and each model in ``--models`` is fitted on the rest on
the torch backend. Prints trace RMSE per sweep (fitting and held-out) and writes each run folder
(traces over targets per sweep, Pareto front, parameter distributions, fitted.yaml).

    python benchmarks/bench_fit_recordings.py --models passive,morris_lecar --max-evals 240
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fitting.level1 import fit_neuron  # noqa: E402
from fitting.targets import load_npz  # noqa: E402

EPHYS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ephys"
HELD_OUT = {"AIYL": [2, 8], "RIML": [2, 6]}
#: morris_lecar parameters fitted (the rest keep their defaults) with wide bounds
ML_FIT = {"C": (0.5, 50.0), "g_Ca": (0.0, 5.0), "g_K": (0.0, 5.0), "g_L": (0.01, 2.0),
          "E_L": (-80.0, -20.0), "V1": (-40.0, 20.0), "V2": (2.0, 40.0), "V3": (-40.0, 30.0),
          "V4": (2.0, 40.0), "tau_w0": (1.0, 500.0)}
PASSIVE_FIT = {"C": (0.5, 200.0), "g_L": (0.01, 5.0), "E_L": (-80.0, -10.0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(EPHYS))
    ap.add_argument("--cells", default="AIYL,RIML")
    ap.add_argument("--models", default="passive,morris_lecar")
    ap.add_argument("--algorithm", default="nsga2")
    ap.add_argument("--max-evals", type=int, default=240)
    ap.add_argument("--pop-size", type=int, default=24)
    ap.add_argument("--sample-dt", type=float, default=2.0, help="resample recordings, ms")
    ap.add_argument("--dt", type=float, default=0.5, help="integration step, ms")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench_out/recordings")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "AIYL_current_clamp.npz").exists():
        print(f"# recordings not found in {data}: skipped")
        return 0
    print(f"# load average {tuple(round(x, 2) for x in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs; budget {args.max_evals} evals, {args.algorithm}, "
          f"sample dt {args.sample_dt} ms, integration dt {args.dt} ms", flush=True)
    table = {}
    for cell in args.cells.split(","):
        rec = load_npz(data / f"{cell}_current_clamp.npz").resample(args.sample_dt)
        for model in args.models.split(","):
            bounds = ML_FIT if model == "morris_lecar" else PASSIVE_FIT
            run = Path(args.out) / f"{cell}_{model}"
            t0 = time.perf_counter()
            res = fit_neuron(rec, model, fit=list(bounds), bounds=bounds, backend="torch",
                             dt_ms=args.dt, algorithm=args.algorithm, pop_size=args.pop_size,
                             max_evals=args.max_evals, seed=args.seed,
                             test_sweeps=HELD_OUT.get(cell, []), run_dir=run, progress=False)
            wall = time.perf_counter() - t0
            s = res.summary
            table[f"{cell}/{model}"] = s
            print(f"\n## {cell} {model}: {s['n_evals']} evals in {wall:.0f} s; mean RMSE "
                  f"fit {s['rmse_train']:.2f} mV, held out {s['rmse_test']:.2f} mV; run {run}")
            print("   sweep  I (pA)  set    RMSE (mV)")
            for p in s["per_sweep"]:
                print(f"   {p['sweep']:5d} {p['amplitude']:7.1f}  {p['set']:5s} {p['rmse']:9.2f}")
            print("   fitted:", {k: round(v, 4) for k, v in res.best.items()}, flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps(table, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
