"""302-neuron network (+ 95 muscles), 1 s of biological time: torch vs the NEURON backend.

Prints, per backend and time step, the wall time and the CPU time of the process (one torch
thread; on a shared machine CPU time is the steadier figure), both per simulated second, and
the voltage RMSE (max over cells, on a 1-ms grid) of torch against NEURON at dt = 0.025 ms.
Torch paths (``--paths``): ``native`` (default: networks of hh and passive cells advance in
the native kernel of ``celegans.torchsim.native_network``, all steps of a recorded interval in
one call), ``compiled`` (inductor-compiled chunks of ``--chunk`` steps; compile time printed
separately, the timed run reuses the compiled network) and ``eager`` (one Python step per dt).
Inputs: 5 pA step into AVAL from 10 ms, 3 pA into PLML.

    python benchmarks/bench_network_torch.py --assign passive --dts 0.025 0.1 0.25 1.0 \\
        --paths native compiled
    python benchmarks/bench_network_torch.py --dts 0.025 0.05 0.1 \\
        --assign '{"default": "passive", "types": {"motor": "hh:RMD"}}'
    python benchmarks/bench_network_torch.py --assign hh:AWCon --dts 0.025 0.05
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


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--assign", default="passive", help="model name or JSON assignment")
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--dts", nargs="+", type=float, default=[0.025, 0.1, 0.25, 1.0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--paths", nargs="+", default=["native"],
                    choices=["native", "compiled", "eager"], help="torch paths to time")
    ap.add_argument("--chunk", type=int, default=None,
                    help="steps per compiled call (default: 20, 2 with hh cells)")
    ap.add_argument("--no-neuron", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    import connectome_data as cd
    from celegans.io import write_json
    from celegans.network.spec import NetworkSpec
    from celegans.protocols import CurrentClamp
    from celegans.simulate import simulate_network
    from celegans.torchsim.network import TorchNetwork, simulate_network_torch

    torch.set_num_threads(args.threads)
    asg = json.loads(args.assign) if args.assign.strip().startswith("{") else args.assign
    spec = NetworkSpec.from_connectome(cd.load("cook2019_herm"), assignment=asg)
    dur = args.duration
    sim_s = dur / 1000.0
    t_on = min(10.0, dur)
    inputs = {"AVAL": CurrentClamp((5.0,), t_on, dur, dur), "PLML": 3.0}
    print(f"network: {spec.model_counts()}, {spec.n_muscles} muscles; {dur:.0f} ms; load "
          f"{os.getloadavg()[0]:.2f}; torch threads {args.threads}", flush=True)
    rows = []
    ref = None
    rdt = 1.0  # compare on a 1-ms grid (every dt here divides it)

    def report(label: str, dt: float, wall: float, cpu: float, err: float, extra: str = ""
               ) -> None:
        rows.append({"backend": label, "dt_ms": dt, "wall_s": wall, "cpu_s": cpu,
                     "wall_per_sim_s": wall / sim_s, "cpu_per_sim_s": cpu / sim_s,
                     "rmse_mV": err, "load": os.getloadavg()[0]})
        print(f"{label:14s} dt {dt:5.3f} ms: wall {wall / sim_s:7.2f} s, cpu {cpu / sim_s:7.2f} s"
              f" per simulated s; max RMSE vs NEURON 0.025 {err:8.3g} mV; load "
              f"{os.getloadavg()[0]:.1f}{extra}", flush=True)

    def rmse(r) -> float:
        if ref is None:
            return float("nan")
        return float(np.sqrt(np.nanmean((r.v - ref.v) ** 2, axis=-1)).max())

    if not args.no_neuron:
        ref, wall, cpu = _timed(lambda: simulate_network(
            spec, dur, backend="neuron", dt_ms=0.025, inputs=inputs, record_dt_ms=rdt))
        report("neuron", 0.025, wall, cpu, 0.0)
    for dt in args.dts:
        if "native" in args.paths:
            net = TorchNetwork(spec, dt, device="cpu", threads=args.threads)
            if net._native is None:
                print(f"native: does not apply to this network ({spec.model_counts()})")
            else:
                r, wall, cpu = _timed(lambda dt=dt, net=net: simulate_network_torch(
                    spec, dur, dt_ms=dt, inputs=inputs, record_dt_ms=rdt, network=net))
                report("torch native", dt, wall, cpu, rmse(r))
        if "eager" in args.paths:
            r, wall, cpu = _timed(lambda dt=dt: simulate_network_torch(
                spec, dur, dt_ms=dt, inputs=inputs, record_dt_ms=rdt, device="cpu",
                native=False))
            report("torch eager", dt, wall, cpu, rmse(r))
        if "compiled" in args.paths:
            def build(dt=dt):
                net = TorchNetwork(spec, dt, device="cpu", compile=True, chunk=args.chunk,
                                   threads=args.threads, native=False)
                # compile the chunks the timed run uses (a short run at the same dt)
                simulate_network_torch(spec, 2.0 * rdt, dt_ms=dt, inputs=inputs,
                                       record_dt_ms=rdt, network=net)
                return net

            net, cwall, _ = _timed(build)
            r, wall, cpu = _timed(lambda dt=dt, net=net: simulate_network_torch(
                spec, dur, dt_ms=dt, inputs=inputs, record_dt_ms=rdt, network=net))
            report("torch compiled", dt, wall, cpu, rmse(r),
                   f"; compile {cwall:.1f} s wall (chunk {net._runner.chunk})")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    if args.out:
        write_json(args.out, {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
