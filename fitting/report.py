"""Run-folder report: Pareto front, best traces over targets per sweep, parameter distributions.

Files (in the run folder): ``pareto.png``, ``traces.png``, ``parameters.png``,
``convergence.png``, ``history.npz`` (all evaluations); ``fitted.yaml`` and ``summary.json``
are written by :func:`fitting.level1.fit_neuron`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from celegans.io import atomic_path

if TYPE_CHECKING:
    from fitting.evaluator import Evaluator
    from fitting.level1 import FitResult
    from fitting.targets import Recording


def _savefig(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def write_report(result: FitResult, full_ev: Evaluator, rec: Recording) -> list[Path]:
    """Write the report figures and ``history.npz`` into ``result.run_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = result.run_dir
    assert out is not None
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    r = result.optim

    # history
    with atomic_path(out / "history.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, X=r.X, F=r.F, failed=r.failed, values=r.values,
                     names=np.array(r.names), objectives=np.array(r.objective_names))
    written.append(out / "history.npz")

    # Pareto front (pairs of the first objectives) with the chosen best marked
    ok = ~r.failed
    m = r.F.shape[1]
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)][:3] or [(0, 0)]
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.6), squeeze=False)
    for ax, (i, j) in zip(axes[0], pairs, strict=False):
        ax.scatter(r.F[ok, i], r.F[ok, j], s=6, c="0.7", label="evaluated")
        P = r.F[r.pareto_index]
        ax.scatter(P[:, i], P[:, j], s=14, c="C0", label="Pareto front")
        ax.scatter([r.best_F[i]], [r.best_F[j]], s=60, marker="*", c="C3", label="chosen")
        ax.set_xscale("symlog", linthresh=1e-2)
        ax.set_yscale("symlog", linthresh=1e-2)
        names = r.objective_names or tuple(f"f{k}" for k in range(m))
        ax.set_xlabel(names[i])
        ax.set_ylabel(names[j])
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Pareto front ({r.n_evals} evaluations)")
    _savefig(fig, out / "pareto.png")
    plt.close(fig)
    written.append(out / "pareto.png")

    # best traces over target traces, per sweep
    x = full_ev.space.to_unit(np.array([[result.best[n] for n in full_ev.space.names]]))
    Y, failed, _ = full_ev.simulate(x)
    S = rec.n_sweeps
    ncol = min(S, 4)
    nrow = int(np.ceil(S / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.4 * nrow), squeeze=False,
                             sharex=True)
    unit = "mV" if rec.kind == "cc" else "pA"
    per = {d["sweep"]: d for d in result.summary.get("per_sweep", [])}
    for s in range(nrow * ncol):
        ax = axes[s // ncol][s % ncol]
        if s >= S:
            ax.axis("off")
            continue
        ax.plot(rec.time_ms, rec.data[s], c="k", lw=0.7, label="target")
        if not failed[0]:
            ax.plot(rec.time_ms, Y[0, s], c="C3", lw=0.9, label="fit")
        tag = "held out" if s in result.test_sweeps else "fit"
        rm = per.get(s, {}).get("rmse", float("nan"))
        ax.set_title(f"{rec.amplitudes[s]:g} {'pA' if rec.kind == 'cc' else 'mV'} ({tag}) "
                     f"RMSE {rm:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
        if s % ncol == 0:
            ax.set_ylabel(unit)
    axes[0][0].legend(fontsize=7)
    fig.supxlabel("time (ms)")
    _savefig(fig, out / "traces.png")
    plt.close(fig)
    written.append(out / "traces.png")

    # parameter distributions: all evaluated vs the best 10 %
    d = len(r.names)
    fig, axes = plt.subplots(1, d, figsize=(2.8 * d, 2.6), squeeze=False)
    s_tot = np.where(r.failed, np.inf, r.F.sum(axis=1))
    top = np.argsort(s_tot)[: max(1, len(s_tot) // 10)]
    for k, ax in enumerate(axes[0]):
        ax.hist(r.values[ok, k], bins=30, color="0.75", label="all")
        ax.hist(r.values[top, k], bins=30, color="C0", alpha=0.8, label="best 10%")
        ax.axvline(r.best_values[r.names[k]], c="C3")
        ax.set_title(f"{r.names[k]} ({full_ev.space.units.get(r.names[k], '')})", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7)
    _savefig(fig, out / "parameters.png")
    plt.close(fig)
    written.append(out / "parameters.png")

    ev_n, best = r.best_curve()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.semilogy(ev_n, np.where(np.isfinite(best), best, np.nan))
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best summed objective")
    _savefig(fig, out / "convergence.png")
    plt.close(fig)
    written.append(out / "convergence.png")
    return written
