"""Run outputs: an HDF5 time-series file written incrementally, figures and an animation.

The HDF5 file is written to a hidden temporary name beside the target, appended in blocks and
flushed after each block, and renamed onto ``run.h5`` when the run ends (normally or after a
numerical blow-up), so ``run.h5`` is always complete and valid. Figures and the GIF are written
through :func:`celegans.io.atomic_path`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import atomic_path

#: recorded series: name -> (unit, description)
SERIES: dict[str, tuple[str, str]] = {
    "time": ("s", "simulated time"),
    "voltage": ("mV", "membrane potential of every connectome neuron (NaN = ablated)"),
    "input_current": ("pA", "injected current per neuron (proprioception, command, senses)"),
    "muscle_activation": ("1", "network muscle activation, named muscle order"),
    "body_activation": ("1", "filtered activation acting on the body, named muscle order"),
    "centreline": ("mm", "centreline points, nose first (x, y)"),
}


class HDF5Recorder:
    """Append snapshots (dicts from :meth:`Organism.snapshot`) to an HDF5 file in blocks."""

    def __init__(self, path: str | os.PathLike, neurons: Sequence[str],
                 muscles: Sequence[str], attrs: dict[str, Any] | None = None,
                 block: int = 100) -> None:
        import h5py

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".partial",
                                   dir=self.path.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        self._tmp = Path(tmp)
        self._h5 = h5py.File(self._tmp, "w")
        self._h5.attrs["neurons"] = np.array(list(neurons), dtype="S")
        self._h5.attrs["muscles"] = np.array(list(muscles), dtype="S")
        for k, v in (attrs or {}).items():
            self._h5.attrs[k] = v
        self._buf: dict[str, list[np.ndarray]] = {}
        self._block = int(block)
        self.n = 0
        self._closed = False

    def __call__(self, snap: dict[str, Any]) -> None:
        for k, v in snap.items():
            self._buf.setdefault(k, []).append(np.asarray(v, dtype=float))
        if len(self._buf.get("time", ())) >= self._block:
            self.flush()

    def flush(self) -> None:
        """Append the buffered snapshots and flush the file to disk."""
        if not self._buf:
            return
        h5 = self._h5
        for k, rows in self._buf.items():
            arr = np.stack(rows)
            if k not in h5:
                ds = h5.create_dataset(k, data=arr, maxshape=(None,) + arr.shape[1:],
                                       chunks=(min(256, max(1, len(arr))),) + arr.shape[1:],
                                       compression="gzip", compression_opts=4)
                unit, desc = SERIES.get(k, ("", "world sensor"))
                if k.startswith("sensor_"):
                    unit = {"sensor_curvature": "1/mm", "sensor_touch_anterior": "nN",
                            "sensor_touch_posterior": "nN"}.get(k, "")
                    desc = "body/world sensor per muscle row or value at the nose"
                ds.attrs["unit"] = unit
                ds.attrs["description"] = desc
            else:
                ds = h5[k]
                n0 = ds.shape[0]
                ds.resize(n0 + len(arr), axis=0)
                ds[n0:] = arr
        self.n += len(self._buf.get("time", ()))
        self._buf = {}
        h5.flush()

    def close(self, attrs: dict[str, Any] | None = None) -> Path:
        """Flush, close and rename onto the target path; returns it."""
        if self._closed:
            return self.path
        try:
            self.flush()
            for k, v in (attrs or {}).items():
                self._h5.attrs[k] = v
        finally:
            self._h5.close()
            self._closed = True
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file (nothing was worth keeping)."""
        if not self._closed:
            self._h5.close()
            self._closed = True
        if self._tmp.exists():
            self._tmp.unlink()


def _savefig(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), dpi=110, bbox_inches="tight")
    return path


def plot_trajectory(time: np.ndarray, centreline: np.ndarray, path: Path, title: str = ""
                    ) -> Path:
    """Centroid and nose paths with a few postures (mm)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from env.metrics import centroid

    c = centroid(centreline)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for k in np.linspace(0, len(time) - 1, 6).astype(int):
        ax.plot(centreline[k, :, 0], centreline[k, :, 1], color="0.75", lw=2)
        ax.plot(centreline[k, 0, 0], centreline[k, 0, 1], "o", color="0.5", ms=3)
    ax.plot(centreline[:, 0, 0], centreline[:, 0, 1], lw=0.6, color="tab:orange", label="nose")
    sc = ax.scatter(c[:, 0], c[:, 1], c=time, s=3, cmap="viridis", label="centroid")
    fig.colorbar(sc, ax=ax, label="time (s)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(title or "trajectory")
    ax.legend(loc="best", fontsize=8)
    out = _savefig(fig, path)
    plt.close(fig)
    return out


def plot_kymograph(time: np.ndarray, centreline: np.ndarray, path: Path, title: str = ""
                   ) -> Path:
    """Body curvature (1/mm) over time and body position."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from env.metrics import kymograph

    k, s = kymograph(centreline)
    lim = float(np.nanpercentile(np.abs(k), 99)) or 1.0
    fig, ax = plt.subplots(figsize=(7, 3.5))
    im = ax.imshow(k.T, aspect="auto", origin="upper", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   extent=(time[0], time[-1], 1.0, 0.0))
    fig.colorbar(im, ax=ax, label="curvature (1/mm), + dorsal")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("body position (0 nose, 1 tail)")
    ax.set_title(title or "curvature kymograph")
    out = _savefig(fig, path)
    plt.close(fig)
    return out


def plot_motor_raster(time: np.ndarray, voltage: np.ndarray, neurons: Sequence[str],
                      order: Sequence[str], path: Path, title: str = "") -> Path:
    """Voltages (mV) of the given motor neurons (rows in ``order``) over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idx = [list(neurons).index(n) for n in order]
    data = voltage[:, idx].T
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.07 * len(idx) + 1)))
    finite = data[np.isfinite(data)]
    lo, hi = (np.percentile(finite, [1, 99]) if finite.size else (-80, 20))
    im = ax.imshow(data, aspect="auto", interpolation="nearest", cmap="magma", vmin=lo,
                   vmax=hi, extent=(time[0], time[-1], len(idx) - 0.5, -0.5))
    ax.set_yticks(range(len(idx)))
    ax.set_yticklabels(order, fontsize=4)
    fig.colorbar(im, ax=ax, label="membrane potential (mV)")
    ax.set_xlabel("time (s)")
    ax.set_title(title or "motor neuron voltages (grey = ablated)")
    out = _savefig(fig, path)
    plt.close(fig)
    return out


def write_animation(time: np.ndarray, centreline: np.ndarray, path: Path, fps: int = 10,
                    max_frames: int = 150) -> Path:
    """A GIF of the moving worm (frames every ``1/fps`` simulated s, at most ``max_frames``)."""
    import imageio.v2 as imageio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dt = float(np.median(np.diff(time))) if len(time) > 1 else 1.0
    step = max(1, int(round(1.0 / (fps * dt))))
    frames_idx = np.arange(0, len(time), step)
    if len(frames_idx) > max_frames:
        frames_idx = np.linspace(0, len(time) - 1, max_frames).astype(int)
    pts = centreline.reshape(-1, 2)
    pad = 0.3
    xlo, xhi = pts[:, 0].min() - pad, pts[:, 0].max() + pad
    ylo, yhi = pts[:, 1].min() - pad, pts[:, 1].max() + pad
    fig, ax = plt.subplots(figsize=(4, 4 * (yhi - ylo) / max(xhi - xlo, 1e-6) + 0.5))
    frames = []
    for k in frames_idx:
        ax.clear()
        ax.plot(centreline[:k + 1, 0, 0], centreline[:k + 1, 0, 1], lw=0.5, color="0.7")
        ax.plot(centreline[k, :, 0], centreline[k, :, 1], lw=4, color="tab:brown",
                solid_capstyle="round")
        ax.plot(centreline[k, 0, 0], centreline[k, 0, 1], "o", color="k", ms=3)
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
        ax.set_aspect("equal")
        ax.set_title(f"t = {time[k]:.1f} s", fontsize=9)
        ax.set_xlabel("mm")
        fig.canvas.draw()
        frames.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    with atomic_path(path) as tmp:
        imageio.mimsave(tmp, frames, format="GIF", duration=1.0 / fps, loop=0)
    return path
