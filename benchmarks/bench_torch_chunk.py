"""Per-call cost of the compiled torch single-cell path: ahead-of-time (AOTInductor) chunks vs
``torch.compile`` chunks (``celegans.torchsim.integrator``).

For each path: the first-call (compile or cache load) time, then for each batch size B the best
of ``--repeats`` runs of one ``--duration`` ms current step (HH1952 by default, float64,
conductances scaled by U(0.8, 1.2)): parameter sets per second and microseconds per compiled
call (run time / number of calls; at B = 2 this is nearly all fixed per-call cost), from
wall-clock and from process CPU time (steadier on a shared machine). The
simulation calls are those of ``simulate_cell_torch`` (setup included), as in
``bench_single_cell.py``. Both paths' traces are compared (max |dV|).

Example::

    python benchmarks/bench_torch_chunk.py --batches 2 64 256 1024 4096 --threads 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cell", default="HH1952")
    ap.add_argument("--batches", nargs="+", type=int, default=[2, 64, 256, 1024, 4096])
    ap.add_argument("--dt", type=float, default=0.025)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--chunk", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--paths", nargs="+", default=["aot", "dynamo"], choices=["aot", "dynamo"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    import celegans.torchsim.integrator as integ
    from celegans.cells import load_cell
    from celegans.protocols import CurrentClamp
    from celegans.torchsim.cell import simulate_cell_torch

    torch.set_num_threads(args.threads)
    cell = load_cell(args.cell)
    rng = np.random.default_rng(0)
    bmax = max(args.batches)
    allp = {k: v * rng.uniform(0.8, 1.2, bmax) for k, v in cell.values.items()
            if k.startswith("g_") and v > 0}
    amp = 100.0 if args.cell == "HH1952" else 5.0
    d = args.duration
    pr = CurrentClamp((amp,), 0.1 * d, 0.9 * d, d)
    n_calls = int(round(d / args.dt)) // args.chunk
    # the compiled torch chunks themselves (not the native kernel of hh cells on CPU)
    kw = dict(cell=args.cell, device=args.device, compile=True, chunk=args.chunk, native=False)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"torch {torch.__version__}, {args.threads} thread(s); {args.cell}, dt {args.dt} ms, "
          f"{d:.0f} ms, chunk {args.chunk} ({n_calls} calls)", flush=True)
    traces = {}
    for path in args.paths:
        integ.AOT_ENABLED = path == "aot"
        warm = CurrentClamp((amp,), 0.0, args.chunk * args.dt, 2 * args.chunk * args.dt)
        t0 = time.perf_counter()
        simulate_cell_torch("hh", {k: v[:2] for k, v in allp.items()}, warm, args.dt, **kw)
        print(f"{path:6s} first call (compile or cache load): {time.perf_counter() - t0:.1f} s",
              flush=True)
        for B in args.batches:
            params = {k: v[:B] for k, v in allp.items()}
            best, best_cpu = float("inf"), float("inf")
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                r = simulate_cell_torch("hh", params, pr, args.dt, **kw)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            traces[(path, B)] = r.v
            print(f"{path:6s} B={B:5d}  {B / best * d / 1000.0:8.1f} sets/s (1 s equivalent)  "
                  f"run {best:.3f} s  {best / n_calls * 1e6:7.1f} us/call | CPU time: "
                  f"{B / best_cpu * d / 1000.0:8.1f} sets/s  {best_cpu / n_calls * 1e6:7.1f} "
                  f"us/call", flush=True)
    if len(args.paths) == 2:
        diff = max(float(np.max(np.abs(traces[("aot", B)] - traces[("dynamo", B)])))
                   for B in args.batches)
        print(f"max |V_aot - V_dynamo| over all B: {diff:.3g} mV")
    load = os.getloadavg()
    print(f"load at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
