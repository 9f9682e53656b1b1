"""The world: a worm body in a medium, with fields, an arena and food, stepped together.

``World.step(activations)`` advances the body by one time step ``dt`` (s) under resistive
drag and contacts; ``World.observe()`` returns the named sensors (:attr:`World.sensor_names`);
``World.run(drive, duration_s)`` records a trajectory for the behaviour metrics.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from body import SENSOR_NAMES as BODY_SENSORS
from body import BodyInstabilityError, Worm, validate_activations
from body.geometry import N_MUSCLES
from celegans.io import atomic_path
from env.arena import Arena
from env.errors import EnvInputError
from env.fields import Field, FoodPatch
from env.medium import Medium

CONTACT_SENSORS: tuple[str, ...] = ("contact", "touch_anterior", "touch_posterior")


def single_threaded_blas():
    """Context limiting BLAS to one thread (the body's matrices are small: threads only add
    overhead, badly so on a busy machine). A no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")

Drive = Callable[[float, "World"], np.ndarray] | np.ndarray | None


@dataclass
class Recording:
    """A recorded run: times (s), centrelines (mm, nose first), row curvature (1/mm), commanded
    activations, nose-field readings and contact forces (nN)."""

    time: np.ndarray
    centreline: np.ndarray
    curvature: np.ndarray
    activation: np.ndarray
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    contact: np.ndarray | None = None
    medium: str = ""
    failed: bool = False
    failure: str = ""

    @property
    def dt(self) -> float:
        """Sampling interval (s)."""
        return float(self.time[1] - self.time[0]) if len(self.time) > 1 else math.nan

    @property
    def body_length(self) -> float:
        """Body length (mm) from the first centreline."""
        return float(np.linalg.norm(np.diff(self.centreline[0], axis=0), axis=1).sum())

    def save(self, path: str | os.PathLike) -> Path:
        """Write a compressed ``.npz`` atomically."""
        arrays = {"time": self.time, "centreline": self.centreline, "curvature": self.curvature,
                  "activation": self.activation, "medium": np.array(self.medium),
                  "failed": np.array(self.failed), "failure": np.array(self.failure)}
        if self.contact is not None:
            arrays["contact"] = self.contact
        for k, v in self.fields.items():
            arrays[f"field_{k}"] = v
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        return Path(path)


class World:
    """A :class:`body.Worm` in a :class:`env.Medium`, with fields, arena and food.

    ``medium`` may be a :class:`Medium`, a preset name (``"water"``, ``"agar"``) or a viscosity
    in mPa*s. ``fields`` maps sensor names to :class:`env.fields.Field` objects read at the
    nose. ``food`` patches are read at the nose as sensor ``"food"``.
    """

    def __init__(self, worm: Worm | None = None, medium: Medium | str | float = "agar",
                 fields: Mapping[str, Field] | None = None, arena: Arena | None = None,
                 food: FoodPatch | Sequence[FoodPatch] | None = None, dt: float = 1e-3,
                 position: Sequence[float] = (0.0, 0.0), heading: float = 0.0) -> None:
        self.worm = worm if worm is not None else Worm()
        self.medium = Medium.resolve(medium)
        fields = dict(fields or {})
        for name, f in fields.items():
            if not isinstance(f, Field):
                raise EnvInputError(f"fields[{name!r}]: expected an env.fields.Field, got "
                                    f"{type(f).__name__}")
            if name in BODY_SENSORS or name in CONTACT_SENSORS or name == "food":
                raise EnvInputError(f"fields: name {name!r} clashes with a built-in sensor")
        self.fields = fields
        self.arena = arena if arena is not None else Arena()
        if not isinstance(self.arena, Arena):
            raise EnvInputError(f"arena: expected an env.Arena, got {type(arena).__name__}")
        if food is None:
            food = ()
        elif isinstance(food, FoodPatch):
            food = (food,)
        self.food = tuple(food)
        for k, f in enumerate(self.food):
            if not isinstance(f, FoodPatch):
                raise EnvInputError(f"food[{k}]: expected an env.fields.FoodPatch")
        self.dt = self._check_dt(dt)
        self._probe_segments = np.tile(np.arange(self.worm.n_segments), 3)
        self._weights = self.medium.drag_weights(self.worm.lengths)
        self._has_arena = not self.arena.empty
        self._anterior = self.worm.anterior_segments().astype(float)
        self._evolving = [f for f in fields.values() if type(f).step is not Field.step]
        self._start = (tuple(position), float(heading))
        self.reset(position, heading)

    @staticmethod
    def _check_dt(dt: float) -> float:
        try:
            x = float(dt)
        except (TypeError, ValueError):
            raise EnvInputError(f"dt: expected a time step in s, got {dt!r}") from None
        if not (math.isfinite(x) and 0 < x <= 0.01):
            raise EnvInputError(f"dt: expected 0 < dt <= 0.01 s (the overdamped integrator is "
                                f"dt-independent up to ~5 ms), got {dt!r}")
        return x

    # --- API -------------------------------------------------------------------------------------
    def set_medium(self, medium: Medium | str | float) -> None:
        """Change the medium (e.g. a worm moved from water onto agar)."""
        self.medium = Medium.resolve(medium)
        self._weights = self.medium.drag_weights(self.worm.lengths)

    @property
    def sensor_names(self) -> tuple[str, ...]:
        """Names of the sensors returned by :meth:`observe`, in order."""
        extra = tuple(self.fields) + (("food",) if self.food else ())
        return BODY_SENSORS + CONTACT_SENSORS + extra

    @property
    def time(self) -> float:
        """Simulated time (s)."""
        return self.worm.time

    def reset(self, position: Sequence[float] | None = None, heading: float | None = None,
              ) -> dict[str, np.ndarray]:
        """Put the worm back (straight, relaxed) and reset evolving fields; returns sensors."""
        pos = self._start[0] if position is None else position
        hd = self._start[1] if heading is None else heading
        self.worm.reset(position=tuple(pos), heading=hd)
        if not self.arena.empty:
            cen = self.worm.kinematics().centres
            if not np.all(self.arena.inside(cen)):
                raise EnvInputError(f"position: the worm at {tuple(pos)} (heading {hd}) does not"
                                    f" fit inside the arena")
        for f in self.fields.values():
            f.reset()
        self._contact = np.zeros(self.worm.n_segments)
        return self.observe()

    def step(self, activations: object | None = None) -> None:
        """Advance one time step with ``activations`` (95 in [0, 1], named muscle order); ``None``
        keeps the previous command. Raises ``body.BodyInstabilityError`` on a blow-up."""
        worm = self.worm
        if activations is not None:
            worm.set_activation(activations)
        # geometry at the step's predicted midpoint (q + dt/2 qdot_prev): second-order accurate
        # net displacement (swimming in water is a small second-order effect of the shape
        # change) for one solve per step
        kin = worm.kinematics(0.5 * self.dt)
        A = self.medium.drag_matrix(kin, self._weights)
        force = None
        if self._has_arena:
            # contact probes: each segment's centre and both ends, with the segment's radius
            n = worm.n_segments
            half = 0.5 * kin.lengths
            seg3 = self._probe_segments
            off3 = np.concatenate((np.zeros(n), -half, half))
            idx, nrm, depth = self.arena.contacts(kin.points(seg3, off3), kin.radii[seg3])
            contact = np.zeros(n)
            if idx.size:
                k = self.arena.stiffness
                Jx, Jy = kin.point_jacobians(seg3[idx], off3[idx])
                Jc = nrm[:, :1] * Jx + nrm[:, 1:] * Jy
                A = A + (k * self.dt) * (Jc.T @ Jc)
                force = k * (Jc.T @ depth)
                np.add.at(contact, seg3[idx], k * depth)
            self._contact = contact
        worm.step(self.dt, A, force, overwrite=True)
        for f in self._evolving:
            f.step(self.dt)

    def advance(self, until_s: float, activations: object | None = None) -> dict[str, np.ndarray]:
        """Step with ``activations`` held constant until the world time reaches ``until_s``
        (s; the organism loop's coupling interval), then return the sensors."""
        if not math.isfinite(until_s):
            raise EnvInputError(f"until_s: expected a finite time (s), got {until_s!r}")
        if activations is not None:
            self.worm.set_activation(activations)
        n = int(math.floor((until_s - self.worm.time) / self.dt + 1e-6))
        for _ in range(max(n, 0)):
            self.step(None)
        return self.observe()

    def observe(self) -> dict[str, np.ndarray]:
        """Named sensors (order :attr:`sensor_names`): body sensors (see ``body.SENSOR_NAMES``),
        contact force per segment and summed over the anterior/posterior touch fields (nN),
        field values at the nose, food density at the nose."""
        obs = self.worm.sensors()
        ant = self._anterior
        obs["contact"] = self._contact.copy()
        obs["touch_anterior"] = np.array([self._contact @ ant])
        obs["touch_posterior"] = np.array([self._contact @ (1.0 - ant)])
        nose = obs["nose"]
        for name, f in self.fields.items():
            obs[name] = np.array([f.value(nose)], dtype=float)
        if self.food:
            obs["food"] = np.array([sum(p.value(nose) for p in self.food)], dtype=float)
        return obs

    def run(self, drive: Drive, duration_s: float, record_every: int = 1,
            progress: bool = False, raise_on_failure: bool = True) -> Recording:
        """Run for ``duration_s`` seconds from the current state.

        ``drive``: ``f(t_s, world) -> activations``, an array ``(n_steps, 95)``, or ``None``
        (muscles keep their command). Records every ``record_every`` steps (plus the start).
        With ``raise_on_failure=False`` a blow-up ends the run and returns ``failed=True`` with
        the part recorded so far.
        """
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise EnvInputError(f"duration_s: expected > 0 s, got {duration_s!r}")
        if int(record_every) < 1:
            raise EnvInputError(f"record_every: expected an integer >= 1, got {record_every!r}")
        n = int(round(duration_s / self.dt))
        table = None
        if drive is not None and not callable(drive):
            table = np.asarray(drive, dtype=float)
            if table.ndim != 2 or table.shape[1] != N_MUSCLES or table.shape[0] < n:
                raise EnvInputError(f"drive: expected an array ({n}, {N_MUSCLES}) of "
                                    f"activations, got shape {table.shape}")
            for r in (0, n - 1):
                validate_activations(table[r], field=f"drive[{r}]")
        rec_t, rec_cl, rec_k, rec_a, rec_c = [], [], [], [], []
        rec_f: dict[str, list] = {name: [] for name in self.fields}

        def record() -> None:
            w = self.worm
            rec_t.append(w.time)
            rec_cl.append(w.centreline())
            rec_k.append(w.row_curvature())
            rec_a.append(w.command)
            rec_c.append(self._contact.copy())
            nose = w.q[:2]
            for name, f in self.fields.items():
                rec_f[name].append(float(f.value(nose)))

        record()
        with single_threaded_blas():
            failed, failure = self._run_steps(n, table, drive, record, record_every, progress,
                                              raise_on_failure)
        return Recording(np.array(rec_t), np.array(rec_cl), np.array(rec_k), np.array(rec_a),
                         {k: np.array(v) for k, v in rec_f.items()}, np.array(rec_c),
                         self.medium.name, failed, failure)

    def _run_steps(self, n, table, drive, record, record_every, progress, raise_on_failure):
        steps = range(n)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc=f"world {self.medium.name}", unit="step")
        failed, failure = False, ""
        for i in steps:
            if table is not None:
                a = table[i]
            elif drive is not None:
                a = drive(self.worm.time, self)
            else:
                a = None
            try:
                self.step(a)
            except BodyInstabilityError as exc:
                if raise_on_failure:
                    raise
                failed, failure = True, str(exc)
                break
            if (i + 1) % record_every == 0:
                record()
        return failed, failure
