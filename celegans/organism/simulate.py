"""``simulate``: run the closed-loop worm and write its results (the Python face of
``celegans simulate``)."""

from __future__ import annotations

import math
import os
import platform
import tempfile
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from celegans.organism.backends import BACKENDS
from celegans.organism.config import OrganismConfig, load_config
from celegans.organism.errors import OrganismError, SimulationBlowUp
from celegans.organism.loop import Organism
from celegans.organism.perturb import Perturbation

#: Fang-Yen et al. 2010 (PNAS 107:20323), Table 1; crawling speed range of the issue.
PUBLISHED = {
    "agar": {"frequency_hz": 0.30, "wavelength_body_lengths": 0.65,
             "speed_mm_s_range": [0.1, 0.3]},
    "water": {"frequency_hz": 1.76, "wavelength_body_lengths": 1.54},
}
MOTOR_CLASSES = ("DB", "VB", "DD", "VD", "DA", "VA", "AS", "VC")


@dataclass
class SimulationResult:
    """A finished run: recorded series (``time`` s, ``voltage`` mV (T, 302), ``centreline``
    mm (T, P, 2), ...), the summary and the files written (empty without ``out``)."""

    series: dict[str, np.ndarray]
    neurons: tuple[str, ...]
    muscles: tuple[str, ...]
    summary: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.summary.get("failed"))

    @property
    def time(self) -> np.ndarray:
        return self.series["time"]

    @property
    def centreline(self) -> np.ndarray:
        return self.series["centreline"]

    def voltage(self, neuron: str) -> np.ndarray:
        """Voltage trace (mV) of one neuron."""
        try:
            return self.series["voltage"][:, self.neurons.index(neuron)]
        except ValueError:
            raise OrganismError(f"unknown neuron {neuron!r}") from None


def _check_out(out: str | os.PathLike) -> Path:
    p = Path(out)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OrganismError(f"out: cannot write to output folder {str(p)!r} "
                            f"({exc.strerror or exc})") from None
    return p


def gait(time: np.ndarray, centreline: np.ndarray, discard_s: float) -> dict[str, Any]:
    """Gait summary (``env.metrics.gait_summary``) with JSON-safe values."""
    from env import metrics

    if len(time) < 20:
        return {"note": "too short to measure a gait"}
    d = metrics.gait_summary(centreline, time, discard_s=min(discard_s, 0.5 * time[-1]))
    out = {}
    for k, v in d.as_dict().items():
        out[k] = None if isinstance(v, float) and not math.isfinite(v) else v
    fwd = out.get("forward_fraction") or 0.0
    moving = (out.get("speed_mm_s") or 0.0) > 0.01
    out["direction"] = ("forward" if moving and fwd >= 0.5 else
                        "backward" if moving else "stationary")
    return out


def simulate(medium: Any = "agar", duration_s: float = 10.0, *,
             out: str | os.PathLike | None = None, backend: str = "neuron",
             assignment: Any = None, config: OrganismConfig | str | os.PathLike | None = None,
             seed: int = 0, fields: Mapping[str, Any] | None = None, arena: Any = None,
             food: Any = None, ablate: Sequence[str] = (), remove: Sequence[str] = (),
             scale: Sequence[Any] = (), progress: bool = False, figures: bool = True,
             animation: bool = True, discard_s: float = 2.0) -> SimulationResult:
    """Simulate the closed-loop worm for ``duration_s`` seconds.

    Args:
        medium: ``"agar"``, ``"water"``/``"buffer"``, a viscosity (mPa*s) or ``env.Medium``.
        out: output folder (``run.h5``, ``summary.json``, figures, ``worm.gif``); ``None``
            keeps results in memory only.
        backend: ``"neuron"`` or ``"torch"``.
        assignment: neuron-model assignment (mapping, model name or YAML path) replacing the
            default organism's.
        config: an :class:`OrganismConfig` or organism YAML path (default shipped file).
        seed: random initial posture.
        fields, arena, food: see :class:`env.World`.
        ablate: neuron or class names to remove; ``remove``: junction kinds (chemical, gap,
            nmj); ``scale``: ``"kind:PRE[:POST]=factor"`` strings or ``ConnectionScale``.
        discard_s: initial transient left out of the gait metrics.

    A numerical blow-up stops the run; the result (and files) keep everything up to it and
    ``summary["failed"]`` says why.
    """
    if isinstance(duration_s, bool) or not isinstance(duration_s, int | float) or \
            not math.isfinite(duration_s) or duration_s <= 0:
        raise OrganismError(f"duration: expected a number of seconds > 0, got {duration_s!r}")
    if backend not in BACKENDS:
        raise OrganismError(f"backend: unknown {backend!r}; expected one of {BACKENDS}")
    outdir = _check_out(out) if out is not None else None
    if config is None or isinstance(config, str | os.PathLike):
        config = load_config(config)
    pert = Perturbation(tuple(ablate), tuple(remove), tuple(scale))
    t_build = _time.perf_counter()
    org = Organism(config, medium, backend=backend, assignment=assignment, perturbation=pert,
                   fields=fields, arena=arena, food=food, seed=seed)
    build_s = _time.perf_counter() - t_build
    buffers: dict[str, list[np.ndarray]] = {}
    recorder = None
    if outdir is not None:
        from celegans.organism.output import HDF5Recorder

        recorder = HDF5Recorder(outdir / "run.h5", org.all_neurons, org.world.worm.muscle_names,
                                attrs={"medium": org.world.medium.name, "backend": backend,
                                       "seed": seed, "duration_s_requested": duration_s})

    def on_record(snap: dict[str, Any]) -> None:
        for k, v in snap.items():
            buffers.setdefault(k, []).append(np.asarray(v, dtype=float))
        if recorder is not None:
            recorder(snap)

    failure = ""
    t0 = _time.perf_counter()
    try:
        org.run(duration_s, on_record, progress=progress)
    except SimulationBlowUp as exc:
        failure = str(exc)
    except BaseException:
        if recorder is not None:  # keep what was recorded, valid
            recorder.close({"failed": "interrupted"})
        raise
    wall = _time.perf_counter() - t0
    series = {k: np.stack(v) for k, v in buffers.items()}
    sim_s = org.time_ms / 1000.0
    summary: dict[str, Any] = {
        "medium": org.world.medium.name,
        "backend": backend,
        "seed": seed,
        "duration_s_requested": float(duration_s),
        "duration_s_simulated": sim_s,
        "failed": failure,
        "wall_time_s": wall,
        "build_time_s": build_s,
        "realtime_factor": sim_s / wall if wall > 0 else None,
        "neurons_simulated": org.spec.n_neurons,
        "muscles": len(org.world.worm.muscle_names),
        "perturbation": pert.describe(),
        "ablated_neurons": list(org.ablated),
        "model_counts": org.spec.model_counts(),
        "config": str(config.origin),
        "coupling_dt_ms": org.coupling_ms,
        "neural_dt_ms": org.neural_dt_ms,
        "gait_discard_s": discard_s,
        "gait": gait(series["time"], series["centreline"], discard_s),
        "published": PUBLISHED.get("water" if org.world.medium.name in ("water", "buffer")
                                   else org.world.medium.name, {}),
        "platform": platform.platform(),
    }
    files: dict[str, str] = {}
    if outdir is not None:
        from celegans.io import write_json
        from celegans.organism.output import (
            plot_kymograph,
            plot_motor_raster,
            plot_trajectory,
            write_animation,
        )

        files["hdf5"] = str(recorder.close({"failed": failure, "duration_s_simulated": sim_s}))
        t, cl = series["time"], series["centreline"]
        title = f"{summary['medium']}, {backend}" + (" (stopped early)" if failure else "")
        if figures and len(t) > 2:
            files["trajectory"] = str(plot_trajectory(t, cl, outdir / "trajectory.png", title))
            files["kymograph"] = str(plot_kymograph(t, cl, outdir / "kymograph.png", title))
            order = [n for c in MOTOR_CLASSES for n in sorted(
                (n for n in org.all_neurons if org.connectome.neuron(n).cls == c),
                key=lambda n: org.transducer.positions.get(n, 0.0))]
            files["motor_raster"] = str(plot_motor_raster(
                t, series["voltage"], org.all_neurons, order, outdir / "motor_raster.png",
                title))
        if animation and len(t) > 2:
            files["animation"] = str(write_animation(t, cl, outdir / "worm.gif"))
        summary["files"] = {k: os.path.basename(v) for k, v in files.items()}
        files["summary"] = str(write_json(outdir / "summary.json", summary))
    return SimulationResult(series, org.all_neurons, tuple(org.world.worm.muscle_names),
                            summary, files)
