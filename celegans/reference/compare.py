"""Print the RMSE between NEURON and the scipy reference for every shipped cell.

Usage: ``python -m celegans.reference.compare [--dt 0.025] [--cells RMD,AIY] [--amps -10,20]
[--duration 300] [--plot traces.png]``. The current step runs from 50 ms to ``duration - 100``
ms. ``--plot`` writes a figure overlaying NEURON (solid) and reference (dashed) traces.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from celegans.cells import list_cells, load_cell
from celegans.nrn.hh_cell import simulate_hh_current_clamp
from celegans.protocols import CurrentClamp
from celegans.reference import simulate_current_clamp_reference


def compare(name: str, amps: tuple[float, ...], duration: float, dt: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(rmse_mV per sweep, time_ms, V_neuron, V_reference)`` for one cell."""
    cell = load_cell(name)
    protocol = CurrentClamp(amps, 50.0, duration - 100.0, duration)
    v_nrn = simulate_hh_current_clamp(cell, protocol, dt_ms=dt).v[:, 0, :]
    method = "LSODA" if name == "HH1952" else "BDF"
    _, v_ref = simulate_current_clamp_reference(cell, protocol, dt_ms=dt, method=method)
    t = np.arange(v_ref.shape[1]) * dt
    return np.sqrt(np.mean((v_nrn - v_ref) ** 2, axis=1)), t, v_nrn, v_ref


def _plot(results: dict[str, tuple], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from celegans.io import atomic_path

    n = len(results)
    fig, axes = plt.subplots(n, 1, figsize=(7, 2.2 * n), squeeze=False, sharex=True)
    for ax, (name, (rmse, t, v_nrn, v_ref)) in zip(axes[:, 0], results.items(), strict=True):
        for k in range(v_nrn.shape[0]):
            line, = ax.plot(t, v_nrn[k], lw=1)
            ax.plot(t, v_ref[k], ls="--", lw=1, color=line.get_color())
        ax.set_ylabel("V (mV)")
        ax.set_title(f"{name}: NEURON (solid) vs reference (dashed), RMSE max "
                     f"{rmse.max():.2g} mV", fontsize=9)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.rsplit(".", 1)[-1] if "." in path else "png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dt", type=float, default=0.025)
    ap.add_argument("--cells", default=",".join(list_cells()))
    ap.add_argument("--amps", default="-10,20", help="pA (HH1952 uses 0,100 unless given)")
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--plot", default=None, help="write a figure of the traces to this path")
    args = ap.parse_args(argv)
    results = {}
    for name in args.cells.split(","):
        amps = tuple(float(a) for a in args.amps.split(","))
        if name == "HH1952" and args.amps == "-10,20":
            amps = (0.0, 100.0)
        t0 = time.perf_counter()
        results[name] = compare(name, amps, args.duration, args.dt)
        rmse = results[name][0]
        print(f"{name:8s} dt={args.dt} ms steps={amps} pA  RMSE(mV)="
              f"{np.array2string(rmse, precision=4)}  ({time.perf_counter() - t0:.1f} s)")
    if args.plot:
        _plot(results, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
