"""Run the Jaxley and BluePyOpt peers on a C. elegans ``hh`` cell (e.g. RMD) for
``benchmarks/bench_single_cell.py``.

:func:`run_cell_peers` writes the problem (``cell_problem.write_problem``), runs
``jaxley_cell.py`` once per batch size and ``bluepyopt_cell.py`` once, each in its own venv
(interpreters ``<cache>/jaxley/bin/python`` and ``<cache>/bluepyopt/bin/python``), and returns
rows like the benchmark's own, with the first traces so the caller computes the RMSE against its
NEURON reference (``v`` (n_keep, n_t), ``time_ms`` (n_t,)).

Stand-alone (prints the rows, RMSE against the celegans NEURON backend on the first sets)::

    python benchmarks/peers/run_cell_peers.py --cell RMD --batches 64 256 --dt 0.025
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PEERS = Path(__file__).resolve().parent
sys.path.insert(0, str(PEERS))
from cell_problem import write_problem  # noqa: E402


def _peer_env(threads: int) -> dict[str, str]:
    flag = "true" if threads > 1 else "false"
    return dict(os.environ, XLA_FLAGS=f"--xla_cpu_multi_thread_eigen={flag}",
                OMP_NUM_THREADS=str(max(threads, 1)))


def _python(cache: Path | str, name: str) -> Path:
    py = Path(cache) / name / "bin" / "python"
    if not py.exists():
        raise FileNotFoundError(f"{name} venv interpreter {py} not found (bench_single_cell.py "
                                "creates it on first use)")
    return py


def run_jaxley(problem: Path, batch: int, cache: Path | str, threads: int = 1,
               repeats: int = 1, timeout_s: float | None = None) -> dict[str, Any]:
    """Run the Jaxley peer on the first ``batch`` sets; the peer's ``.npz`` as a dict."""
    py = _python(cache, "jaxley")
    out = problem.parent / f"jaxley_{batch}.npz"
    subprocess.run([str(py), str(PEERS / "jaxley_cell.py"), "--problem", str(problem),
                    "--out", str(out), "--batch", str(batch), "--repeats", str(repeats)],
                   check=True, env=_peer_env(threads), capture_output=True, text=True,
                   timeout=timeout_s)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def run_bluepyopt(problem: Path, n_evals: int, cache: Path | str,
                  timeout_s: float | None = None) -> dict[str, Any]:
    """Run the BluePyOpt peer (``n_evals`` sequential evaluations); its JSON as a dict."""
    py = _python(cache, "bluepyopt")
    out = problem.parent / "bluepyopt.json"
    subprocess.run([str(py), str(PEERS / "bluepyopt_cell.py"), "--problem", str(problem),
                    "--out", str(out), "--n-evals", str(n_evals)], check=True,
                   env=_peer_env(1), capture_output=True, text=True, timeout=timeout_s)
    return json.loads(out.read_text())


def run_cell_peers(cell_name: str, allp: Mapping[str, np.ndarray], protocol: Any,
                   batches: Sequence[int], dt: float, n_keep: int, threads: int,
                   cache: Path | str, bpo_evals: int,
                   reference: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> list[dict[str, Any]]:
    """Jaxley (per batch size) and BluePyOpt rows for cell ``cell_name``.

    Args:
        cell_name: a published ``hh`` cell (``"RMD"``).
        allp: ``{"g_<channel>": array(Bmax)}`` (nS), the benchmark's ``conductance_sets``.
        protocol: one-sweep ``CurrentClamp``.
        batches: Jaxley batch sizes (the first B sets of ``allp``).
        dt: peers' step (ms).
        n_keep: traces returned (first sets), for the RMSE.
        threads: XLA threads for Jaxley.
        cache: folder holding the peer venvs.
        bpo_evals: BluePyOpt evaluations (0: skip).
        reference: optional ``(time_ms (n_t,), v (n, n_t))`` reference traces of the first
            sets; when given, every row gets ``rmse_mV`` (see :func:`trace_rmse`).

    Returns:
        rows ``dict(cell, method, dt, B, sets_per_s, compile_s, run_s, v, time_ms, ...)`` (and
        ``rmse_mV`` with ``reference``); a
        peer that failed gives a row with ``error`` (its stderr tail) and ``sets_per_s`` NaN.
    """
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        prob = write_problem(Path(tmp) / "problem.json", cell_name, allp, protocol, dt,
                             n_keep=n_keep, with_mechanisms=bpo_evals > 0)
        for B in batches:
            row: dict[str, Any] = dict(cell=cell_name, method="Jaxley (jit+vmap, CPU)", dt=dt,
                                       threads=threads, B=int(B))
            try:
                jx = run_jaxley(prob, int(B), cache, threads)
                v = np.asarray(jx["v"])
                row.update(sets_per_s=B / float(jx["run_s"]), run_s=float(jx["run_s"]),
                           compile_s=float(jx["compile_s"]), failed=int(np.sum(jx["failed"])),
                           v=v, time_ms=np.arange(v.shape[1]) * dt)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
                row.update(sets_per_s=float("nan"), error=_err(exc))
            rows.append(row)
        if bpo_evals > 0:
            row = dict(cell=cell_name, method="BluePyOpt+eFEL evaluator (1 process)", dt=dt,
                       threads=1)
            try:
                bj = run_bluepyopt(prob, bpo_evals, cache)
                v = np.asarray(bj["v"], dtype=float)
                row.update(B=bj["n_evals"], sets_per_s=bj["evals_per_s"], compile_s=0.0,
                           run_s=bj["seconds"], features=bj.get("features"), v=v,
                           time_ms=np.asarray(bj["time_ms"], dtype=float))
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError,
                    KeyError) as exc:
                row.update(B=bpo_evals, sets_per_s=float("nan"), error=_err(exc))
            rows.append(row)
    if reference is not None:
        for row in rows:
            row["rmse_mV"] = (trace_rmse(row["time_ms"], row["v"], *reference) if "v" in row
                              else float("nan"))
    return rows


def trace_rmse(t: np.ndarray, v: np.ndarray, t_ref: np.ndarray, v_ref: np.ndarray) -> float:
    """Voltage RMSE (mV) of traces ``v`` (n, len(t)) against ``v_ref`` read at ``t`` by linear
    interpolation, over the sets both hold and the times within the reference."""
    t, v = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
    t_ref, v_ref = np.asarray(t_ref, dtype=float), np.asarray(v_ref, dtype=float)
    n = min(len(v), len(v_ref))
    keep = t <= t_ref[-1] + 1e-9
    vr = np.stack([np.interp(t[keep], t_ref, row) for row in v_ref[:n]])
    return float(np.sqrt(np.mean((v[:n][:, keep] - vr) ** 2)))


def _err(exc: BaseException) -> str:
    msg = getattr(exc, "stderr", None) or str(exc)
    return msg[-800:] if isinstance(msg, str) else str(exc)


def main() -> None:
    import argparse
    import time

    ap = argparse.ArgumentParser(description="Jaxley/BluePyOpt peers on a C. elegans cell")
    ap.add_argument("--cell", default="RMD")
    ap.add_argument("--batches", nargs="+", type=int, default=[64])
    ap.add_argument("--dt", type=float, default=0.025)
    ap.add_argument("--ref-dt", type=float, default=0.025)
    ap.add_argument("--duration", type=float, default=1000.0)
    ap.add_argument("--amp", type=float, default=5.0)
    ap.add_argument("--n-ref", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bpo-evals", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/celegans/bench_peers"))
    ap.add_argument("--plot", default=None,
                    help="write a PNG of the first set's trace: NEURON reference and peers")
    a = ap.parse_args()
    root = PEERS.parents[1]
    sys.path.insert(0, str(root))
    from celegans.cells import load_cell
    from celegans.protocols import CurrentClamp
    from celegans.simulate import simulate_cell

    cell = load_cell(a.cell)
    rng = np.random.default_rng(a.seed)
    bmax = max(a.batches + [a.bpo_evals, a.n_ref])
    allp = {k: v * rng.uniform(0.8, 1.2, bmax) for k, v in cell.values.items()
            if k.startswith("g_") and v > 0}  # as bench_single_cell.conductance_sets
    pr = CurrentClamp((a.amp,), 0.1 * a.duration, 0.9 * a.duration, a.duration)
    t0 = time.perf_counter()
    ref = simulate_cell("hh", {k: v[: a.n_ref] for k, v in allp.items()}, pr,
                        backend="neuron", dt_ms=a.ref_dt, cell=a.cell)
    print(f"NEURON reference: {a.n_ref / (time.perf_counter() - t0):.2f} sets/s "
          f"(load {os.getloadavg()[0]:.2f})", flush=True)
    vref, tref = ref.v[:, 0, 0, :], np.asarray(ref.time_ms)
    jobs = [([B], 0) for B in a.batches] + ([([], a.bpo_evals)] if a.bpo_evals > 0 else [])
    done = []
    for batches, bpo in jobs:  # one call per row, so figures print as they come
        (r,) = run_cell_peers(a.cell, allp, pr, batches, a.dt, a.n_ref, a.threads,
                              a.cache_dir, bpo, reference=(tref, vref))
        done.append(r)
        err = r["rmse_mV"]
        extra = (f"compile {r['compile_s']:.1f} s, run {r['run_s']:.2f} s"
                 if "run_s" in r else r.get("error", ""))
        print(f"{r['cell']} {r['method']:38s} dt={r['dt']:<6g} B={r['B']:5d} "
              f"{r['sets_per_s']:9.2f} sets/s  RMSE {err:.3g} mV  ({extra}; "
              f"load {os.getloadavg()[0]:.2f})", flush=True)
    if a.plot:
        _plot(a.plot, a.cell, tref, vref[0], [r for r in done if "v" in r])


def _plot(path: str, cell: str, tref: np.ndarray, vref: np.ndarray,
          rows: Sequence[Mapping[str, Any]]) -> None:
    """First set: NEURON reference and each peer's trace (top), peer minus reference (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from celegans.io import atomic_path

    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    ax.plot(tref, vref, "k", lw=2, label="NEURON (celegans backend)")
    seen = set()
    for r in rows:
        if r["method"] in seen:
            continue
        seen.add(r["method"])
        t, v = r["time_ms"], r["v"][0]
        keep = t <= tref[-1] + 1e-9
        ax.plot(t[keep], v[keep], "--", lw=1, label=f"{r['method']} dt {r['dt']:g}")
        ax2.plot(t[keep], v[keep] - np.interp(t[keep], tref, vref), lw=1, label=r["method"])
    ax.set_ylabel("V (mV)")
    ax.set_title(f"{cell}: first parameter set")
    ax.legend(fontsize=8)
    ax2.set_xlabel("t (ms)")
    ax2.set_ylabel("peer - NEURON (mV)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
