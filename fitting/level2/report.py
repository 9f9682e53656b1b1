"""Figures of a Level-2 run: Pareto front, behaviour vs target, error vs evaluations."""

from __future__ import annotations

from typing import Any

import numpy as np

from celegans.io import atomic_path


def _save(fig: Any, path: Any) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def write_level2_figures(result: Any, ev: Any) -> list[str]:
    """Write the figures into ``result.run_dir``; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = result.run_dir
    res = result.optim
    names = list(ev.objectives.names)
    out = []
    ok = ~res.failed
    # Pareto front (first two objectives, or objective vs evaluation for one)
    fig, ax = plt.subplots(figsize=(5, 4))
    if len(names) >= 2:
        ax.scatter(res.F[ok, 0], res.F[ok, 1], s=10, c="0.6", label="evaluated")
        P = res.F[res.pareto_index]
        o = np.argsort(P[:, 0])
        ax.plot(P[o, 0], P[o, 1], "o-", c="C3", ms=4, label="Pareto front")
        ax.plot(*res.F[res.best_index, :2], "*", c="k", ms=12, label="best (sum)")
        ax.set_xlabel(f"{names[0]} error (SD)")
        ax.set_ylabel(f"{names[1]} error (SD)")
    else:
        ax.plot(np.flatnonzero(ok) + 1, res.F[ok, 0], ".", c="0.5", label="evaluated")
        ax.set_xlabel("evaluation")
        ax.set_ylabel(f"{names[0]} error (SD)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, run / "pareto.png")
    plt.close(fig)
    out.append("pareto.png")
    # error vs evaluations
    s = np.where(res.failed, np.nan, res.F.sum(axis=1))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, s.size + 1), s, ".", c="0.6", label="evaluation")
    ax.plot(np.arange(1, s.size + 1), np.fmin.accumulate(np.where(np.isnan(s), np.inf, s)),
            c="C0", label="best so far")
    if np.isfinite(result.start_error):
        ax.axhline(result.start_error, ls="--", c="C3", label="start (anatomy prior)")
    ax.set_xlabel("closed-loop evaluations")
    ax.set_ylabel("summed behaviour error (SD)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, run / "error_vs_evaluations.png")
    plt.close(fig)
    out.append("error_vs_evaluations.png")
    # behaviour vs target
    x0 = ev.space.to_unit(np.array([[result.summary["start"][n] for n in ev.space.names]]))[0]
    f_start = ev.features_of(x0)
    f_best = ev.features_of(res.X[res.best_index])
    tgt = ev.objectives.target
    conds = [c.name for c in ev.protocol.conditions if c.name in tgt.mean]
    feats = ev.protocol.features
    fig, axes = plt.subplots(len(conds), 1, figsize=(6, 2.4 * len(conds)), squeeze=False)
    for ax, c in zip(axes[:, 0], conds, strict=True):
        ci = [x.name for x in ev.protocol.conditions].index(c)
        fl = [f for f in feats if f in tgt.mean[c]]
        pos = np.arange(len(fl))
        m = np.array([tgt.mean[c][f] for f in fl])
        sd = np.array([tgt.sd[c][f] for f in fl])
        ax.bar(pos, np.ones_like(m), 0.6, color="0.85", label="target (=1)")
        ax.errorbar(pos, np.ones_like(m), yerr=sd / np.abs(m), fmt="none", c="k")
        for arr, lab, col, dx in ((f_start, "start", "C3", -0.15), (f_best, "best", "C0", 0.15)):
            if arr is not None:
                v = np.array([arr[ci, feats.index(f)] for f in fl]) / m
                ax.plot(pos + dx, v, "o", c=col, label=lab)
        ax.set_xticks(pos, fl, fontsize=7)
        ax.set_ylabel(f"{c}: sim / target")
        ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, run / "behaviour_vs_target.png")
    plt.close(fig)
    out.append("behaviour_vs_target.png")
    return out
