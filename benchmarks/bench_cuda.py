"""Torch backend on a GPU: same results as on the CPU and as NEURON, and throughput.

Run where a CUDA device is present (NEURON need not be installed there)::

    python benchmarks/bench_cuda.py --make-ref benchmarks/out/cuda_ref.npz   # here, NEURON
    python benchmarks/bench_cuda.py --ref benchmarks/out/cuda_ref.npz --out cuda.json

Parts (each prints its figures as it goes):

1. check: for HH1952 and RMD, ``--n-check`` conductance sets (U(0.8, 1.2) scaling, the sets of
   ``bench_single_cell.py``), ``--check-ms`` of a current step at dt 0.025 ms: max |V_cuda -
   V_cpu| (both torch, float64) and the RMSE of the CUDA trace against NEURON (from ``--ref``,
   written by ``--make-ref`` on a machine with NEURON, or computed when NEURON is importable).
   The 302-neuron network (passive; and 116 ``hh:RMD`` motor neurons) likewise: max |dV|
   CUDA vs CPU and max RMSE vs NEURON over all cells.
2. cells: parameter sets per second for 1-s simulations (the protocol of
   ``bench_single_cell.py``), eager and ``torch.compile`` (``--compile``), for ``--batches``
   and ``--dts``; samples kept every ``--record-every`` steps (1 ms), which bounds memory at
   large B.
3. network: wall seconds per simulated second of the 302-neuron network at batch 1 (as the
   organism loop runs it) and batch ``--net-batch`` (independent copies, per copy).

``--device cpu --quick`` runs every part small on the CPU (to test the script).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

CELLS = ("HH1952", "RMD")
NET_ASSIGN = {"passive": "passive",
              "hh_motor": {"default": "passive", "types": {"motor": "hh:RMD"}}}


def _protocol(cell: str, duration: float):
    from celegans.protocols import CurrentClamp

    amp = 100.0 if cell == "HH1952" else 5.0
    return CurrentClamp((amp,), 0.1 * duration, 0.9 * duration, duration)


def _check_sets(cell_name: str, n: int) -> dict[str, np.ndarray]:
    from bench_single_cell import conductance_sets

    from celegans.cells import load_cell

    return conductance_sets(load_cell(cell_name), n, 0)


def _net_inputs(duration: float) -> dict:
    from celegans.protocols import CurrentClamp

    return {"AVAL": CurrentClamp((5.0,), min(10.0, duration), duration, duration), "PLML": 3.0}


def _net_spec(kind: str):
    import connectome_data as cd
    from celegans.network.spec import NetworkSpec

    return NetworkSpec.from_connectome(cd.load("cook2019_herm"), assignment=NET_ASSIGN[kind])


def make_ref(path: Path, n_check: int, check_ms: float) -> None:
    """NEURON traces of the check problems (needs NEURON)."""
    from celegans.io import atomic_path
    from celegans.simulate import simulate_cell, simulate_network

    out = {}
    for cell in CELLS:
        r = simulate_cell("hh", _check_sets(cell, n_check), _protocol(cell, check_ms),
                          backend="neuron", dt_ms=0.025, cell=cell)
        out[f"{cell}_v"] = r.v[:, 0, 0, :]
        out[f"{cell}_t"] = np.asarray(r.time_ms)
    for kind in NET_ASSIGN:
        r = simulate_network(_net_spec(kind), check_ms, backend="neuron", dt_ms=0.025,
                             inputs=_net_inputs(check_ms), record_dt_ms=1.0)
        out[f"net_{kind}_v"] = r.v[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: no ".npz" added
        np.savez(fh, n_check=n_check, check_ms=check_ms, **out)
    print(f"wrote {path}")


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def check(args, ref, rows) -> None:
    from celegans.simulate import simulate_cell
    from celegans.torchsim.cell import simulate_cell_torch
    from celegans.torchsim.network import simulate_network_torch

    for cell in CELLS:
        sets = _check_sets(cell, args.n_check)
        pr = _protocol(cell, args.check_ms)
        v = {}
        for dev in (args.device, "cpu"):
            v[dev] = simulate_cell_torch("hh", sets, pr, 0.025, cell=cell,
                                         device=dev).v[:, 0, 0, :]
        if ref is not None:
            vref = ref[f"{cell}_v"]
        else:
            vref = simulate_cell("hh", sets, pr, backend="neuron", dt_ms=0.025, cell=cell
                                 ).v[:, 0, 0, :]
        d = float(np.abs(v[args.device] - v["cpu"]).max())
        e = float(np.sqrt(np.mean((v[args.device] - vref) ** 2, axis=-1)).max())
        rows.append(dict(part="check", what=cell, max_abs_diff_vs_cpu_mV=d, rmse_vs_neuron_mV=e))
        print(f"check {cell:7s}: max|V_{args.device} - V_cpu| {d:.2e} mV; RMSE vs NEURON "
              f"{e:.2e} mV", flush=True)
    for kind in NET_ASSIGN:
        spec = _net_spec(kind)
        v = {}
        for dev in (args.device, "cpu"):
            v[dev] = simulate_network_torch(spec, args.check_ms, dt_ms=0.025,
                                            inputs=_net_inputs(args.check_ms),
                                            record_dt_ms=1.0, device=dev).v[0]
        d = float(np.abs(v[args.device] - v["cpu"]).max())
        e = float("nan")
        if ref is not None and f"net_{kind}_v" in ref:
            e = float(np.sqrt(np.mean((v[args.device] - ref[f"net_{kind}_v"]) ** 2,
                                      axis=-1)).max())
        rows.append(dict(part="check", what=f"network {kind}", max_abs_diff_vs_cpu_mV=d,
                         rmse_vs_neuron_mV=e))
        print(f"check network {kind}: max|V_{args.device} - V_cpu| {d:.2e} mV; max RMSE vs "
              f"NEURON {e:.2e} mV", flush=True)


def cells(args, rows) -> None:
    from bench_single_cell import conductance_sets

    from celegans.cells import load_cell
    from celegans.torchsim.cell import simulate_cell_torch

    for cell in args.cells:
        allp = conductance_sets(load_cell(cell), max(args.batches), 0)
        pr = _protocol(cell, args.duration)
        modes = ([] if args.no_eager else [False]) + ([True] if args.compile else [])
        for compile_ in modes:
            for dt in args.dts:
                every = max(1, int(round(1.0 / dt)))
                kw = dict(cell=cell, device=args.device, compile=compile_, chunk=args.chunk,
                          record_every=every)
                t0 = time.perf_counter()
                warm = {k: x[:2] for k, x in allp.items()}
                simulate_cell_torch("hh", warm, _protocol(cell, 80 * dt * every), dt, **kw)
                _sync(args.device)
                tc = time.perf_counter() - t0
                for B in args.batches:
                    if time.perf_counter() - START > args.budget_s:
                        print("time budget spent: stopping the cell throughput part")
                        return
                    p = {k: x[:B] for k, x in allp.items()}
                    t0 = time.perf_counter()
                    r = simulate_cell_torch("hh", p, pr, dt, **kw)
                    _sync(args.device)
                    el = time.perf_counter() - t0
                    tag = "compiled" if compile_ else "eager"
                    rows.append(dict(part="cells", cell=cell, mode=tag, dt=dt, B=B,
                                     sets_per_s=B / el, run_s=el, warmup_s=tc,
                                     failed=int(np.sum(r.failed))))
                    print(f"{cell:7s} {tag:8s} dt {dt:<6g} B {B:6d}: {B / el:10.1f} sets/s "
                          f"(run {el:.2f} s, warm-up/compile {tc:.1f} s, failed "
                          f"{int(np.sum(r.failed))})", flush=True)
                    del r


def network(args, rows) -> None:
    import torch

    from celegans.torchsim.network import TorchNetwork, simulate_network_torch

    dur = args.net_ms
    for kind in NET_ASSIGN:
        spec = _net_spec(kind)
        for dt in args.net_dts:
            net = TorchNetwork(spec, dt, device=args.device)
            simulate_network_torch(spec, 2.0, dt_ms=dt, inputs=_net_inputs(2.0),
                                   record_dt_ms=1.0, network=net)  # warm-up
            t0 = time.perf_counter()
            simulate_network_torch(spec, dur, dt_ms=dt, inputs=_net_inputs(dur),
                                   record_dt_ms=1.0, network=net)
            _sync(args.device)
            el = time.perf_counter() - t0
            rows.append(dict(part="network", kind=kind, dt=dt, batch=1,
                             wall_per_sim_s=el / (dur / 1000)))
            print(f"network {kind:8s} dt {dt:<6g} batch 1: {el / (dur / 1000):8.2f} s per "
                  f"simulated s", flush=True)
            B = args.net_batch
            net = TorchNetwork(spec, dt, batch=B, device=args.device)
            drive = torch.zeros((B, spec.n_neurons), device=net.device, dtype=net.dtype)
            drive[:, 0] = 5.0
            net.set_inputs(drive.cpu().numpy())
            net.advance(1.0)  # warm-up
            _sync(args.device)
            t0 = time.perf_counter()
            net.advance(1.0 + dur)
            _sync(args.device)
            el = time.perf_counter() - t0
            rows.append(dict(part="network", kind=kind, dt=dt, batch=B,
                             wall_per_sim_s_per_copy=el / (dur / 1000) / B))
            print(f"network {kind:8s} dt {dt:<6g} batch {B}: {el / (dur / 1000):8.2f} s per "
                  f"simulated s for all, {el / (dur / 1000) / B:.4f} per copy", flush=True)
            if time.perf_counter() - START > args.budget_s:
                print("time budget spent: stopping the network part")
                return


START = time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--make-ref", type=Path, default=None)
    ap.add_argument("--ref", type=Path, default=None)
    ap.add_argument("--n-check", type=int, default=4)
    ap.add_argument("--check-ms", type=float, default=200.0)
    ap.add_argument("--cells", nargs="+", default=list(CELLS))
    ap.add_argument("--batches", nargs="+", type=int, default=[1024, 4096, 16384, 65536])
    ap.add_argument("--dts", nargs="+", type=float, default=[0.025, 0.1])
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--compile", action="store_true", help="also time the compiled path")
    ap.add_argument("--no-eager", action="store_true", help="skip the eager path")
    ap.add_argument("--chunk", type=int, default=None,
                    help="steps per compiled call (default: the model's)")
    ap.add_argument("--net-ms", type=float, default=200.0)
    ap.add_argument("--net-dts", nargs="+", type=float, default=[0.025])
    ap.add_argument("--net-batch", type=int, default=256)
    ap.add_argument("--parts", nargs="+", default=["check", "cells", "network"])
    ap.add_argument("--budget-s", type=float, default=420.0,
                    help="stop starting new runs after this many seconds")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (to test the script)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.make_ref is not None:
        make_ref(args.make_ref, args.n_check, args.check_ms)
        return
    import torch

    if args.quick:
        args.batches, args.duration, args.check_ms, args.net_ms = [8], 20.0, 10.0, 10.0
        args.net_batch = 2
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("bench_cuda: no CUDA device (use --device cpu --quick to test the script)")
    info = dict(torch=torch.__version__, device=args.device,
                gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                cpus=os.cpu_count())
    print(json.dumps(info), flush=True)
    ref = None
    if args.ref is not None and args.ref.exists():
        ref = dict(np.load(args.ref))
        if int(ref["n_check"]) != args.n_check or float(ref["check_ms"]) != args.check_ms:
            sys.exit(f"--ref {args.ref}: made for n_check {int(ref['n_check'])}, check_ms "
                     f"{float(ref['check_ms'])}; pass the same values")
    rows: list[dict] = []
    try:
        if "check" in args.parts:
            check(args, ref, rows)
        if "cells" in args.parts:
            cells(args, rows)
        if "network" in args.parts:
            network(args, rows)
    finally:
        if args.out:
            from celegans.io import write_json

            write_json(args.out, {"info": info, "args": {k: str(v) for k, v in
                                                          vars(args).items()}, "rows": rows})


if __name__ == "__main__":
    main()
