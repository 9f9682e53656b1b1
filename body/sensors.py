"""Lazily evaluated sensor readings: a read-only mapping that computes each value on first access.

:class:`LazySensors` is the common machinery (names in a fixed order, per-name computation,
caching); :class:`BodySensors` is the body's snapshot (posture and activation copied when it is
taken, so later steps do not change it). The organism loop reads only a few sensors per
exchange (the stretch receptors and touch), so the rest are never computed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from body.worm import Worm


def centreline_points(q: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``(n_seg + 1, 2)`` centreline points (mm), nose tip first, of the posture
    ``q = [X, Y, Theta, phi...]`` with segment ``lengths``."""
    z = np.empty(len(lengths) + 1, dtype=complex)
    z[0] = complex(q[0], q[1])
    np.multiply(np.exp(1j * q[2:].cumsum()), lengths, out=z[1:])
    return z.cumsum().view(np.float64).reshape(-1, 2)


class LazySensors(Mapping):
    """Read-only mapping ``name -> array`` in the order of ``names``; :meth:`_compute` gives a
    value the first time it is asked for, later reads return the same (cached) array."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: dict[str, np.ndarray] | None = None
                 ) -> None:
        self._names = names
        self._values = {} if values is None else values

    def _compute(self, name: str) -> np.ndarray:  # pragma: no cover - abstract
        raise KeyError(name)

    def __getitem__(self, name: str) -> np.ndarray:
        v = self._values.get(name)
        if v is None:
            if name not in self._names:
                raise KeyError(name)
            v = self._values[name] = self._compute(name)
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self._names)})"


class SensorGeometry(NamedTuple):
    """Constant arrays of a worm that its sensors need."""

    lengths: np.ndarray           # (n_seg,) mm
    joint_spacing: np.ndarray     # (n_joints,) mm between segment centres
    row_from_joint: np.ndarray    # (24, n_joints) joint -> muscle-row averaging
    row_radius: np.ndarray        # (24,) body radius at each row, mm
    centroid_weights: np.ndarray  # (n_seg + 1,) centreline points -> centroid


class BodySensors(LazySensors):
    """The body sensors of ``worm`` at the moment this object is made (:data:`SENSOR_NAMES`,
    see :mod:`body.worm`), each computed on first access. Subclasses may add ``names`` (after
    the body's) with stored ``values`` or their own :meth:`_compute`."""

    __slots__ = ("_geometry", "_q", "_activation", "_points")

    def __init__(self, worm: Worm, names: tuple[str, ...] | None = None,
                 values: dict[str, np.ndarray] | None = None) -> None:
        super().__init__(worm.sensor_names if names is None else names, values)
        # the worm's constant arrays (no reference to the worm or its PyBullet client)
        self._geometry = worm._sensor_geometry
        self._q = worm.q.copy()
        self._activation = worm._activation.copy()
        self._points: np.ndarray | None = None

    def _joint_points(self) -> np.ndarray:
        if self._points is None:
            self._points = centreline_points(self._q, self._geometry.lengths)
        return self._points

    def _compute(self, name: str) -> np.ndarray:
        g, q = self._geometry, self._q
        if name in ("curvature", "stretch_dorsal", "stretch_ventral"):
            # the three together (the stretch receptors read both sides every exchange)
            values = self._values
            kappa = values.get("curvature")
            if kappa is None:
                kappa = values["curvature"] = g.row_from_joint @ (q[3:] / g.joint_spacing)
            strain = kappa * g.row_radius
            values["stretch_dorsal"] = -strain
            values["stretch_ventral"] = strain
            return values[name]
        if name == "nose":
            return q[:2].copy()  # = the first centreline point, exactly
        if name == "head_direction":
            th = q[2]
            return np.array([-math.cos(th), -math.sin(th)])
        if name == "head":
            pts = self._joint_points()
            return 0.5 * (pts[0] + pts[1])
        if name == "centroid":
            return g.centroid_weights @ self._joint_points()
        if name == "muscle_activation":
            return self._activation  # already this snapshot's own copy
        raise KeyError(name)
