"""Single-cell throughput: torch backend vs NEURON, BluePyOpt/eFEL and Jaxley (CPU).

Problem: one-compartment cells (classic HH1952 patch of 1000 um2, and C. elegans ``hh`` cells
such as RMD), one 1-s current-step protocol, B parameter sets (maximal conductances scaled by
U(0.8, 1.2)), float64. The torch backend runs at every step of ``--dt`` (default 0.025 ms;
larger steps trade accuracy for speed), the NEURON reference at ``--ref-dt`` (0.025 ms) and the
peers at ``--peer-dt`` (default ``--ref-dt``). Figures printed per method, dt and B:

* parameter sets per second (simulation only; compile/JIT time reported apart),
* voltage RMSE (mV) against the NEURON reference (celegans NEURON backend at ``--ref-dt``, read
  at the method's sample times by linear interpolation) on the first ``--n-ref`` parameter sets.

Peers run in their own virtual environments, created on first use under ``--cache-dir``
(``python -m venv`` + ``pip install jaxley`` / ``bluepyopt efel``; the BluePyOpt venv reuses the
system NEURON). ``--no-peers`` skips them.

Examples::

    python benchmarks/bench_single_cell.py --batches 64 256 1024 4096 --threads 1
    python benchmarks/bench_single_cell.py --cells RMD --batches 256 1024 4096 --dt 0.1 0.025 \
        --nrn-dts 0.1 --no-peers
    python benchmarks/bench_single_cell.py --cells HH1952 --dt 0.025 0.05 0.1 --no-peers
    python benchmarks/bench_single_cell.py --cells HH1952 --dtype float32 --no-peers
    python benchmarks/bench_single_cell.py --cells HH1952 --paths native aot --no-peers

``--paths`` picks the torch paths timed: ``native`` (default; hh cells on CPU without
gradients run the whole-run C kernel of ``celegans.torchsim.native_hh``, built once with the
system compiler in about a second), ``aot``/``dynamo`` (compiled torch chunks: the first call of
a (cell, dt, chunk) compiles one fused kernel of ``--chunk`` steps, the model's default 40 for
HH1952 and 2 for the many-channel C. elegans cells, tens of seconds to minutes on a busy 2-core
machine, cached on disk), ``eager``. The figure printed as "warm-up/compile" is the first
call's cost, apart from the sets/s. ``--nrn-dts`` also times
NEURON at larger steps with their error, for the comparison at equal accuracy (BluePyOpt runs
NEURON one set at a time, so NEURON sequential bounds its speed from above).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PEERS = Path(__file__).resolve().parent / "peers"
PEER_PKGS = {"jaxley": (["jaxley"], False), "bluepyopt": (["bluepyopt", "efel"], True)}


def peer_python(name: str, cache: Path) -> Path:
    """The venv interpreter of a peer, created (and its packages installed) on first use."""
    env = cache / name
    py = env / "bin" / "python"
    stamp = env / ".installed"
    if not stamp.exists():
        pkgs, system = PEER_PKGS[name]
        print(f"[setup] creating venv {env} and installing {pkgs} ...", flush=True)
        cmd = [sys.executable, "-m", "venv", str(env)]
        if system:
            cmd.insert(3, "--system-site-packages")
        subprocess.run(cmd, check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *pkgs], check=True)
        stamp.write_text("ok\n")
    return py


def conductance_sets(cell, B: int, seed: int) -> dict[str, np.ndarray]:
    """B parameter sets: every nonzero ``g_<channel>`` of the cell scaled by U(0.8, 1.2)."""
    rng = np.random.default_rng(seed)
    out = {}
    for k, v in cell.values.items():
        if k.startswith("g_") and v > 0:
            out[k] = v * rng.uniform(0.8, 1.2, B)
    return out


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def on_grid(t_ref: np.ndarray, v_ref: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Reference traces ``v_ref`` (n, len(t_ref)) read at times ``t`` (linear interpolation;
    exact samples where ``t`` lies on the reference grid)."""
    return np.stack([np.interp(t, t_ref, row) for row in np.asarray(v_ref)])


#: torch paths: label and how they are selected
PATHS = {"native": "torch native kernel", "aot": "torch AOT compiled",
         "dynamo": "torch torch.compile", "eager": "torch eager"}


def run_torch(cell_name, params, protocol, dt, path, chunk, threads, record_every,
              device="cpu", dtype="float64"):
    """One timed torch run on ``path`` (``native``: the whole-run C kernel of native_hh;
    ``aot``/``dynamo``: compiled torch chunks; ``eager``: the torch step in Python)."""
    import torch

    import celegans.torchsim.integrator as integ
    from celegans.torchsim import native_hh
    from celegans.torchsim.cell import simulate_cell_torch

    torch.set_num_threads(threads)
    integ.AOT_ENABLED = path in ("aot", "native")
    # native falls back to the AOT chunks where it does not apply (CUDA, float32)
    kw = dict(cell=cell_name, device=device, dtype=dtype, compile=path != "eager",
              chunk=chunk, record_every=record_every, native=path == "native")
    t0 = time.perf_counter()
    first = {k: v[:2] for k, v in params.items()}
    from celegans.protocols import CurrentClamp

    k = chunk or 40
    warm = CurrentClamp(protocol.amplitudes_pA, 0.0, k * dt, 2 * k * dt)
    simulate_cell_torch("hh", first, warm, dt, **kw)  # compile (cached on disk) / warm-up
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    runs = native_hh.STATS["runs"]
    r = simulate_cell_torch("hh", params, protocol, dt, **kw)
    if str(device) != "cpu" and torch.cuda.is_available():
        torch.cuda.synchronize()
    el = time.perf_counter() - t0
    used = path if path != "native" or native_hh.STATS["runs"] > runs else "aot"
    return r, el, t_compile, used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", nargs="+", default=["HH1952", "RMD"])
    ap.add_argument("--batches", nargs="+", type=int, default=[64, 256, 1024, 4096])
    ap.add_argument("--dt", nargs="+", type=float, default=[0.025],
                    help="torch time step(s), ms")
    ap.add_argument("--ref-dt", type=float, default=0.025, help="NEURON reference step, ms")
    ap.add_argument("--peer-dt", type=float, default=None,
                    help="Jaxley/BluePyOpt step, ms (default: --ref-dt)")
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=None,
                    help="steps per compiled torch call (default: the model's, 40 for HH1952 "
                         "and 2 for the many-channel C. elegans cells)")
    ap.add_argument("--nrn-dts", nargs="+", type=float, default=[],
                    help="also time NEURON sequential at these steps (ms), with their error "
                         "against the reference: the comparison at equal accuracy")
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda or auto")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                    help="torch dtype (the reference and peers stay float64)")
    ap.add_argument("--paths", nargs="+", default=["native"], choices=list(PATHS),
                    help="torch paths to time: native (whole-run C kernel, the default for "
                         "hh cells on CPU), aot (AOTInductor chunks), dynamo (torch.compile "
                         "chunks), eager")
    ap.add_argument("--record-every", type=int, default=1)
    ap.add_argument("--n-ref", type=int, default=4, help="parameter sets run in NEURON")
    ap.add_argument("--bpo-evals", type=int, default=10)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/celegans/bench_peers"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    peer_dt = args.ref_dt if args.peer_dt is None else args.peer_dt

    from celegans.cells import load_cell
    from celegans.io import write_json
    from celegans.protocols import CurrentClamp
    from celegans.simulate import simulate_cell

    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}; torch threads {args.threads}; torch dt {args.dt} ms; reference dt "
          f"{args.ref_dt} ms; peer dt {peer_dt} ms; {args.duration:.0f} ms per set", flush=True)
    results: list[dict] = []
    for cell_name in args.cells:
        cell = load_cell(cell_name)
        amp = 100.0 if cell_name == "HH1952" else 5.0
        t_on, t_off = 0.1 * args.duration, 0.9 * args.duration
        pr = CurrentClamp((amp,), t_on, t_off, args.duration)
        bmax = max(args.batches)
        allp = conductance_sets(cell, bmax, args.seed)
        nref = min(args.n_ref, min(args.batches))
        refp = {k: v[:nref] for k, v in allp.items()}
        t0 = time.perf_counter()
        ref = simulate_cell("hh", refp, pr, backend="neuron", dt_ms=args.ref_dt,
                            cell=cell_name)
        t_nrn = time.perf_counter() - t0
        vref, tref = ref.v[:, 0, 0, :], np.asarray(ref.time_ms)
        row = dict(cell=cell_name, method="NEURON sequential (celegans backend)", B=nref,
                   sets_per_s=nref / t_nrn, rmse_mV=0.0, compile_s=0.0)
        results.append(row)
        print(f"{cell_name:7s} {row['method']:38s} B={nref:5d}  {row['sets_per_s']:9.1f} sets/s",
              flush=True)
        for ndt in args.nrn_dts:
            t0 = time.perf_counter()
            rn = simulate_cell("hh", refp, pr, backend="neuron", dt_ms=ndt, cell=cell_name)
            el = time.perf_counter() - t0
            err = rmse(rn.v[:, 0, 0, :], on_grid(tref, vref, np.asarray(rn.time_ms)))
            row = dict(cell=cell_name, method="NEURON sequential", dt=ndt, B=nref,
                       sets_per_s=nref / el, rmse_mV=err, compile_s=0.0)
            results.append(row)
            print(f"{cell_name:7s} NEURON sequential       dt={ndt:<6g} B={nref:5d}  "
                  f"{nref / el:9.1f} sets/s  RMSE {err:.2e} mV", flush=True)
        for path, dt, B in [(q, dt, B) for q in args.paths for dt in args.dt
                            for B in args.batches]:
            params = {k: v[:B] for k, v in allp.items()}
            r, el, tc, used = run_torch(cell_name, params, pr, dt, path, args.chunk,
                                        args.threads, args.record_every, args.device,
                                        args.dtype)
            vt = r.v[:nref, 0, 0, :]
            err = rmse(vt, on_grid(tref, vref, np.asarray(r.time_ms)))
            tag = "" if args.dtype == "float64" else f" {args.dtype}"
            row = dict(cell=cell_name, method=PATHS[used] + tag, dt=dt, threads=args.threads,
                       B=B, sets_per_s=B / el, rmse_mV=err, compile_s=tc, chunk=args.chunk,
                       device=args.device, dtype=args.dtype, failed=int(np.sum(r.failed)),
                       path=used)
            results.append(row)
            print(f"{cell_name:7s} {row['method']:23s} dt={dt:<6g} B={B:5d}  {B / el:9.1f} "
                  f"sets/s  RMSE {err:.2e} mV  (run {el:.2f} s, warm-up/compile {tc:.1f} s, "
                  f"failed {row['failed']})", flush=True)
            del r
        if args.no_peers:
            continue
        if cell_name != "HH1952":
            # C. elegans cells: Jaxley (one fused Channel with the project's kinetics in
            # jax.numpy) and BluePyOpt+eFEL with the project's compiled mechanisms
            sys.path.insert(0, str(PEERS))
            from run_cell_peers import run_cell_peers

            peer_python("jaxley", cache)
            peer_python("bluepyopt", cache)
            for r in run_cell_peers(cell_name, allp, pr, args.batches, peer_dt, nref,
                                    args.threads, cache, args.bpo_evals,
                                    reference=(tref, vref)):
                r.pop("v", None)
                r.pop("time_ms", None)
                results.append(r)
                err = r.get("rmse_mV", float("nan"))
                note = f" FAILED: {r['error'][-200:]}" if "error" in r else ""
                print(f"{cell_name:7s} {r['method']:38s} B={r['B']:5d}  "
                      f"{r['sets_per_s']:9.2f} sets/s  RMSE {err:.2e} mV  (compile "
                      f"{r.get('compile_s', 0.0) or 0.0:.1f} s){note}", flush=True)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            prob = Path(tmp) / "problem.npz"
            area = cell.values["area_um2"] * 1e-8  # cm2
            np.savez(prob, dt=peer_dt, duration=args.duration, area_um2=cell.values["area_um2"],
                     eNa=cell.values["E_Na"], eK=cell.values["E_K"],
                     eLeak=cell.values["E_leak"], v_init=cell.values["v_init"], t_on=t_on,
                     t_off=t_off, amp_pA=amp,
                     gNa=allp["g_hh_na"] * 1e-9 / area, gK=allp["g_hh_k"] * 1e-9 / area,
                     gLeak=allp["g_leak"] * 1e-9 / area)
            for B in args.batches:
                try:
                    py = peer_python("jaxley", cache)
                    sub = Path(tmp) / f"prob_{B}.npz"
                    d = dict(np.load(prob))
                    for k in ("gNa", "gK", "gLeak"):
                        d[k] = d[k][:B]
                    np.savez(sub, **d)
                    out = Path(tmp) / f"jx_{B}.npz"
                    env = dict(os.environ, XLA_FLAGS=f"--xla_cpu_multi_thread_eigen="
                               f"{'true' if args.threads > 1 else 'false'}")
                    subprocess.run([str(py), str(PEERS / "jaxley_hh.py"), "--problem", str(sub),
                                    "--out", str(out), "--n-keep", str(nref)], check=True,
                                   env=env, capture_output=True, text=True)
                    jx = np.load(out)
                    vj = np.asarray(jx["v"])[:nref]
                    tj = np.arange(vj.shape[1]) * peer_dt
                    keep = tj <= tref[-1] + 1e-9
                    err = rmse(vj[:, keep], on_grid(tref, vref, tj[keep]))
                    row = dict(cell=cell_name, method="Jaxley (jit+vmap, CPU)", dt=peer_dt,
                               threads=args.threads, B=B,
                               sets_per_s=B / float(jx["run_s"]), rmse_mV=err,
                               compile_s=float(jx["compile_s"]))
                    results.append(row)
                    print(f"{cell_name:7s} {row['method']:38s} B={B:5d}  "
                          f"{row['sets_per_s']:9.1f} sets/s  RMSE {err:.2e} mV  (run "
                          f"{float(jx['run_s']):.2f} s, compile {row['compile_s']:.1f} s)",
                          flush=True)
                except (subprocess.CalledProcessError, OSError) as exc:
                    msg = getattr(exc, "stderr", "") or str(exc)
                    print(f"[jaxley] failed for B={B}: {msg[-500:]}", flush=True)
            try:
                py = peer_python("bluepyopt", cache)
                out = Path(tmp) / "bpo.json"
                subprocess.run([str(py), str(PEERS / "bluepyopt_hh.py"), "--problem", str(prob),
                                "--out", str(out), "--n-evals", str(args.bpo_evals)],
                               check=True, capture_output=True, text=True)
                bj = json.loads(out.read_text())
                row = dict(cell=cell_name, method="BluePyOpt+eFEL evaluator (1 process)",
                           B=bj["n_evals"], sets_per_s=bj["evals_per_s"], rmse_mV=float("nan"),
                           compile_s=0.0)
                results.append(row)
                print(f"{cell_name:7s} {row['method']:38s} B={bj['n_evals']:5d}  "
                      f"{row['sets_per_s']:9.2f} sets/s", flush=True)
            except (subprocess.CalledProcessError, OSError) as exc:
                msg = getattr(exc, "stderr", "") or str(exc)
                print(f"[bluepyopt] failed: {msg[-500:]}", flush=True)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.out:
        write_json(args.out, {"args": vars(args), "results": results})


if __name__ == "__main__":
    main()
