"""302-neuron network (+ 95 muscles), 1 s of biological time: torch vs the NEURON backend.

Prints wall time per backend and the voltage RMSE of torch (at several time steps) against
NEURON at dt = 0.025 ms. Inputs: 5 pA step into AVAL, 3 pA into PLML.

    python benchmarks/bench_network_torch.py --assign passive --dts 0.025 0.1 0.25 1.0
    python benchmarks/bench_network_torch.py \
        --assign '{"default": "passive", "types": {"motor": "hh:RMD"}}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assign", default="passive", help="model name or JSON assignment")
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--dts", nargs="+", type=float, default=[0.025, 0.1, 0.25, 1.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-neuron", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    import connectome_data as cd
    from celegans.io import write_json
    from celegans.network.spec import NetworkSpec
    from celegans.protocols import CurrentClamp
    from celegans.simulate import simulate_network

    torch.set_num_threads(args.threads)
    asg = json.loads(args.assign) if args.assign.strip().startswith("{") else args.assign
    spec = NetworkSpec.from_connectome(cd.load("cook2019_herm"), assignment=asg)
    dur = args.duration
    inputs = {"AVAL": CurrentClamp((5.0,), 10.0, dur, dur), "PLML": 3.0}
    print(f"network: {spec.model_counts()}, {spec.n_muscles} muscles; {dur:.0f} ms; load "
          f"{os.getloadavg()[0]:.2f}; torch threads {args.threads}", flush=True)
    rows = []
    ref = None
    rdt = 1.0  # compare on a 1-ms grid (every dt here divides it)
    if not args.no_neuron:
        t0 = time.perf_counter()
        ref = simulate_network(spec, dur, backend="neuron", dt_ms=0.025, inputs=inputs,
                               record_dt_ms=rdt)
        el = time.perf_counter() - t0
        rows.append({"backend": "neuron", "dt_ms": 0.025, "wall_s": el, "rmse_mV": 0.0})
        print(f"NEURON  dt 0.025 ms: {el:7.2f} s wall (x{el / (dur / 1000):.2f} real time)",
              flush=True)
    for dt in args.dts:
        t0 = time.perf_counter()
        r = simulate_network(spec, dur, backend="torch", dt_ms=dt, inputs=inputs,
                             record_dt_ms=rdt, device="cpu")
        el = time.perf_counter() - t0
        err = float("nan")
        if ref is not None:
            err = float(np.sqrt(np.nanmean((r.v - ref.v) ** 2, axis=-1)).max())
        rows.append({"backend": "torch", "dt_ms": dt, "wall_s": el, "rmse_mV": err})
        print(f"torch   dt {dt:5.3f} ms: {el:7.2f} s wall (x{el / (dur / 1000):.2f} real time), "
              f"max RMSE over cells vs NEURON {err:.3g} mV", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.out:
        write_json(args.out, {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
