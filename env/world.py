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
from body.sensors import BodySensors
from celegans.io import atomic_path
from env.arena import Arena
from env.errors import EnvInputError
from env.fields import Field, FoodPatch
from env.medium import Medium

CONTACT_SENSORS: tuple[str, ...] = ("contact", "touch_anterior", "touch_posterior")
_BASE_SENSORS = BODY_SENSORS + CONTACT_SENSORS


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


class Observation(BodySensors):
    """What :meth:`World.observe` returns, a read-only mapping: the body sensors
    (:class:`body.sensors.BodySensors`) and contact/touch sensors, computed on first read from
    the state when it was taken, and field/food readings (read at once)."""

    __slots__ = ("_contact", "_anterior", "_posterior")

    def __init__(self, worm: Worm, names: tuple[str, ...], contact: np.ndarray,
                 anterior: np.ndarray, posterior: np.ndarray | None,
                 values: dict[str, np.ndarray] | None = None) -> None:
        super().__init__(worm, names, values)
        self._contact = contact  # the world replaces (never mutates) its contact array
        self._anterior, self._posterior = anterior, posterior  # posterior None: no contacts

    def _compute(self, name: str) -> np.ndarray:
        if name == "contact":
            return self._contact.copy()
        if name in ("touch_anterior", "touch_posterior"):
            c, values = self._contact, self._values
            if self._posterior is None:  # no arena: no contact, ever (= 0 @ weights)
                values["touch_anterior"], values["touch_posterior"] = np.zeros(1), np.zeros(1)
            else:
                values["touch_anterior"] = np.array([c @ self._anterior])
                values["touch_posterior"] = np.array([c @ self._posterior])
            return values[name]
        return super()._compute(name)


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
        n = self.worm.n_segments
        self._probe_segments = np.tile(np.arange(n), 3)
        half = 0.5 * self.worm.lengths
        self._probe_offsets = np.concatenate((np.zeros(n), -half, half))
        self._probe_radii = self.worm.radii[self._probe_segments]
        self._set_drag()
        self._has_arena = not self.arena.empty
        self._anterior = self.worm.anterior_segments().astype(float)
        self._posterior = 1.0 - self._anterior
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
        self._set_drag()

    def _set_drag(self) -> None:
        # constant parts of Medium.drag_matrix: row weights and the rotational drag term
        self._weights = self.medium.drag_weights(self.worm.lengths)
        self._rot_drag = self._weights[1] * self.worm.rotation_metric

    @property
    def sensor_names(self) -> tuple[str, ...]:
        """Names of the sensors returned by :meth:`observe`, in order."""
        extra = tuple(self.fields) + (("food",) if self.food else ())
        return _BASE_SENSORS + extra

    @property
    def time(self) -> float:
        """Simulated time (s)."""
        return self.worm.time

    def reset(self, position: Sequence[float] | None = None, heading: float | None = None,
              ) -> Observation:
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
        # = self.medium.drag_matrix(kin, self._weights), with the constant rotational term
        # precomputed (same operations, same result)
        J = kin.J
        A = (J.T * self._weights[0]) @ J
        A += self._rot_drag
        force = None
        if self._has_arena:
            # contact probes: each segment's centre and both ends, with the segment's radius
            n = worm.n_segments
            seg3, off3 = self._probe_segments, self._probe_offsets
            idx, nrm, depth = self.arena.contacts(kin.points(seg3, off3), self._probe_radii)
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

    def advance(self, until_s: float, activations: object | None = None) -> Observation:
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

    def observe(self) -> Observation:
        """Named sensors (order :attr:`sensor_names`): body sensors (see ``body.SENSOR_NAMES``),
        contact force per segment and summed over the anterior/posterior touch fields (nN),
        field values at the nose, food density at the nose.

        A read-only mapping taken now (later steps do not change it); body and contact sensors
        are computed when first read, fields and food are read at once (they may evolve)."""
        values = {}
        if self.fields or self.food:
            nose = self.worm.q[:2].copy()
            for name, f in self.fields.items():
                values[name] = np.array([f.value(nose)], dtype=float)
            if self.food:
                values["food"] = np.array([sum(p.value(nose) for p in self.food)], dtype=float)
        names = self.sensor_names if values else _BASE_SENSORS
        return Observation(self.worm, names, self._contact, self._anterior,
                           self._posterior if self._has_arena else None, values)

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
