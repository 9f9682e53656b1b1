"""Figures and movies of a recorded run: worm frames (GIF/MP4), trajectory, kymograph.

matplotlib with the Agg backend (headless); files are written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from celegans.io import atomic_path  # noqa: E402
from env import metrics  # noqa: E402


def _save(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=dpi, format=p.suffix.lstrip(".") or "png")
    plt.close(fig)
    return p


def plot_trajectory(recordings: Sequence, labels: Sequence[str] | None = None,
                    path: str | os.PathLike | None = None, arena=None, fields=None,
                    field_name: str | None = None):
    """Centroid and nose paths of one or more recordings (mm); optional arena outline and a
    field drawn as contours. Returns the figure, or the written path when ``path`` is given."""
    fig, ax = plt.subplots(figsize=(5, 5))
    if fields is not None and field_name is not None:
        allpts = np.concatenate([r.centreline.reshape(-1, 2) for r in recordings])
        lo, hi = allpts.min(0) - 1, allpts.max(0) + 1
        X, Y = np.meshgrid(np.linspace(lo[0], hi[0], 80), np.linspace(lo[1], hi[1], 80))
        Z = np.asarray(fields[field_name].value(np.stack((X.ravel(), Y.ravel()), 1)))
        cs = ax.contourf(X, Y, Z.reshape(X.shape), levels=12, cmap="Greens", alpha=0.5)
        fig.colorbar(cs, ax=ax, label=field_name)
    for k, rec in enumerate(recordings):
        lab = labels[k] if labels else (rec.medium or f"run {k}")
        c = metrics.centroid(rec.centreline)
        (ln,) = ax.plot(c[:, 0], c[:, 1], lw=1.5, label=f"{lab}: centroid")
        ax.plot(rec.centreline[:, 0, 0], rec.centreline[:, 0, 1], lw=0.5, alpha=0.6, ls=":",
                color=ln.get_color(), label=f"{lab}: nose")
        ax.plot(*rec.centreline[0].T, color="0.6", lw=3, alpha=0.6)
        ax.plot(*rec.centreline[-1].T, color=ln.get_color(), lw=3, alpha=0.5)
    if arena is not None:
        if arena.radius is not None:
            th = np.linspace(0, 2 * np.pi, 200)
            ax.plot(arena.centre[0] + arena.radius * np.cos(th),
                    arena.centre[1] + arena.radius * np.sin(th), "k-", lw=1)
        for o in arena.obstacles:
            ax.add_patch(plt.Circle(o.centre, o.radius, color="k", alpha=0.5))
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title("trajectory (grey: start posture, thick: final posture)", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path) if path is not None else fig


def plot_kymograph(recording, path: str | os.PathLike | None = None, n_points: int = 48,
                   title: str | None = None):
    """Curvature kymograph (body fraction vs time, colour = curvature x body length)."""
    kymo, s = metrics.kymograph(recording.centreline, n_points)
    L = metrics.body_length(recording.centreline)
    fig, ax = plt.subplots(figsize=(7, 3))
    lim = max(float(np.abs(kymo * L).max()), 1e-6)
    im = ax.imshow((kymo * L).T, aspect="auto", origin="upper", cmap="RdBu_r", vmin=-lim,
                   vmax=lim, extent=(recording.time[0], recording.time[-1], 1.0, 0.0))
    fig.colorbar(im, ax=ax, label="curvature x L (+ dorsal)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("body fraction (0 = nose)")
    ax.set_title(title or f"curvature kymograph ({recording.medium})")
    fig.tight_layout()
    return _save(fig, path) if path is not None else fig


def _frame(ax, cl: np.ndarray, radii: np.ndarray | None, lim: tuple, t: float) -> None:
    ax.clear()
    lw = 4.0 if radii is None else None
    if radii is None:
        ax.plot(cl[:, 0], cl[:, 1], "-", color="peru", lw=lw, solid_capstyle="round")
    else:
        d = np.diff(cl, axis=0)
        n = np.stack((-d[:, 1], d[:, 0]), 1) / np.linalg.norm(d, axis=1)[:, None]
        mid = 0.5 * (cl[1:] + cl[:-1])
        left, right = mid + radii[:, None] * n, mid - radii[:, None] * n
        poly = np.concatenate((cl[:1], left, cl[-1:], right[::-1]))
        ax.fill(poly[:, 0], poly[:, 1], color="peru", ec="saddlebrown")
    ax.plot(cl[0, 0], cl[0, 1], "o", color="darkred", ms=3)
    ax.set_xlim(lim[0], lim[1])
    ax.set_ylim(lim[2], lim[3])
    ax.set_aspect("equal")
    ax.set_title(f"t = {t:.2f} s", fontsize=8)
    ax.set_xlabel("x (mm)", fontsize=8)


def render_frames(recording, radii: np.ndarray | None = None, every: int = 1,
                  size_px: int = 320, follow: bool = False) -> list[np.ndarray]:
    """RGB frames ``(H, W, 3) uint8`` of the worm's body outline (matplotlib)."""
    fig, ax = plt.subplots(figsize=(size_px / 100, size_px / 100), dpi=100)
    pts = recording.centreline.reshape(-1, 2)
    pad = 0.2
    glob = (pts[:, 0].min() - pad, pts[:, 0].max() + pad, pts[:, 1].min() - pad,
            pts[:, 1].max() + pad)
    span = max(glob[1] - glob[0], glob[3] - glob[2])
    cx, cy = 0.5 * (glob[0] + glob[1]), 0.5 * (glob[2] + glob[3])
    frames = []
    for k in range(0, len(recording.time), max(1, int(every))):
        cl = recording.centreline[k]
        if follow:
            c = cl.mean(0)
            lim = (c[0] - 0.8, c[0] + 0.8, c[1] - 0.8, c[1] + 0.8)
        else:
            lim = (cx - span / 2, cx + span / 2, cy - span / 2, cy + span / 2)
        _frame(ax, cl, radii, lim, float(recording.time[k]))
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    return frames


def ffmpeg_available() -> bool:
    """Whether imageio can write MP4 (needs the imageio-ffmpeg plugin)."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_movie(frames: Sequence[np.ndarray], path: str | os.PathLike, fps: float = 20.0
                ) -> Path:
    """Write frames as GIF (``.gif``) or MP4 (``.mp4``, needs imageio-ffmpeg), atomically."""
    import imageio.v2 as imageio

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"path: expected a .gif or .mp4 file, got {p.name!r}")
    if suffix == ".mp4" and not ffmpeg_available():
        raise RuntimeError("MP4 needs the imageio-ffmpeg package; write a .gif instead")
    if suffix == ".gif":
        with atomic_path(p) as tmp:
            imageio.mimsave(tmp, list(frames), format="GIF", duration=1.0 / fps, loop=0)
        return p
    # ffmpeg picks the container from the extension: write a hidden .mp4, then rename
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.stem}.partial.mp4")
    try:
        imageio.mimsave(tmp, list(frames), format="FFMPEG", fps=fps)
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p
