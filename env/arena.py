"""Arenas: a circular dish or rectangular box with walls, and circular obstacles (posts).

Contacts are soft: a segment (a disc of its radius at its centre) overlapping a wall or an
obstacle by ``depth`` gets a normal force ``stiffness * depth`` (nN), integrated linearly
implicitly by the body, so stiff contacts stay stable. Touch sensors read these forces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from env.errors import InvalidArenaError


@dataclass(frozen=True)
class Obstacle:
    """A circular post at ``centre`` (mm) with ``radius`` (mm)."""

    centre: tuple[float, float]
    radius: float

    def __post_init__(self) -> None:
        c = np.asarray(self.centre, dtype=float)
        if c.shape != (2,) or not np.all(np.isfinite(c)):
            raise InvalidArenaError(f"obstacle centre: expected 2 finite numbers (mm), "
                                    f"got {self.centre!r}")
        if not (math.isfinite(self.radius) and self.radius > 0):
            raise InvalidArenaError(f"obstacle radius: expected > 0 mm, got {self.radius!r}")
        object.__setattr__(self, "centre", (float(c[0]), float(c[1])))


class Arena:
    """Walls (``radius`` of a dish centred at ``centre``, or a ``box`` = (xmin, xmax, ymin, ymax))
    and obstacles. ``stiffness`` in nN/mm. An ``Arena()`` with nothing is an open plane."""

    def __init__(self, radius: float | None = None, centre: Sequence[float] = (0.0, 0.0),
                 box: Sequence[float] | None = None,
                 obstacles: Sequence[Obstacle | tuple[Sequence[float], float]] = (),
                 stiffness: float = 1.0e5) -> None:
        if radius is not None and box is not None:
            raise InvalidArenaError("arena: give either radius (dish) or box, not both")
        if radius is not None and not (math.isfinite(radius) and radius > 0):
            raise InvalidArenaError(f"radius: expected a dish radius > 0 mm, got {radius!r}")
        self.radius = None if radius is None else float(radius)
        c = np.asarray(centre, dtype=float)
        if c.shape != (2,) or not np.all(np.isfinite(c)):
            raise InvalidArenaError(f"centre: expected 2 finite numbers (mm), got {centre!r}")
        self.centre = c
        if box is not None:
            b = np.asarray(box, dtype=float)
            if b.shape != (4,) or not np.all(np.isfinite(b)) or b[1] <= b[0] or b[3] <= b[2]:
                raise InvalidArenaError(f"box: expected (xmin, xmax, ymin, ymax) with min < max,"
                                        f" got {box!r}")
            self.box = b
        else:
            self.box = None
        obs = [o if isinstance(o, Obstacle) else Obstacle(tuple(o[0]), float(o[1]))
               for o in obstacles]
        self.obstacles = tuple(obs)
        self._obs_c = np.array([o.centre for o in obs], dtype=float).reshape(-1, 2)
        self._obs_r = np.array([o.radius for o in obs], dtype=float)
        if not (math.isfinite(stiffness) and stiffness > 0):
            raise InvalidArenaError(f"stiffness: expected > 0 nN/mm, got {stiffness!r}")
        self.stiffness = float(stiffness)

    @property
    def empty(self) -> bool:
        """True when there is nothing to touch."""
        return self.radius is None and self.box is None and not self.obstacles

    def inside(self, xy: np.ndarray) -> np.ndarray:
        """Whether points ``(k, 2)`` are inside the walls and outside every obstacle."""
        pts = np.atleast_2d(np.asarray(xy, dtype=float))
        ok = np.ones(len(pts), dtype=bool)
        if self.radius is not None:
            ok &= np.linalg.norm(pts - self.centre, axis=1) <= self.radius
        if self.box is not None:
            b = self.box
            ok &= (pts[:, 0] >= b[0]) & (pts[:, 0] <= b[1]) & (pts[:, 1] >= b[2]) & \
                  (pts[:, 1] <= b[3])
        if len(self._obs_r):
            d = np.linalg.norm(pts[:, None] - self._obs_c[None], axis=2)
            ok &= np.all(d >= self._obs_r[None], axis=1)
        return ok

    def contacts(self, centres: np.ndarray, radii: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Overlaps of discs (segment centres, radii) with walls/obstacles.

        Returns ``(segment index (k,), unit normal pushing the segment free (k, 2),
        depth (k,) mm)``; empty arrays when nothing touches.
        """
        idx, nrm, dep = [], [], []
        if self.radius is not None:
            rel = centres - self.centre
            r = np.linalg.norm(rel, axis=1)
            depth = r + radii - self.radius
            hit = np.flatnonzero(depth > 0)
            if hit.size:
                idx.append(hit)
                nrm.append(-rel[hit] / np.maximum(r[hit], 1e-12)[:, None])
                dep.append(depth[hit])
        if self.box is not None:
            b = self.box
            for axis, lo, hi in ((0, b[0], b[1]), (1, b[2], b[3])):
                for bound, sign in ((lo, 1.0), (hi, -1.0)):
                    depth = sign * (bound - centres[:, axis]) + radii
                    hit = np.flatnonzero(depth > 0)
                    if hit.size:
                        n = np.zeros((hit.size, 2))
                        n[:, axis] = sign
                        idx.append(hit)
                        nrm.append(n)
                        dep.append(depth[hit])
        if len(self._obs_r):
            rel = centres[:, None, :] - self._obs_c[None]
            d = np.linalg.norm(rel, axis=2)
            depth = self._obs_r[None] + radii[:, None] - d
            seg, ob = np.nonzero(depth > 0)
            if seg.size:
                idx.append(seg)
                nrm.append(rel[seg, ob] / np.maximum(d[seg, ob], 1e-12)[:, None])
                dep.append(depth[seg, ob])
        if not idx:
            return np.zeros(0, dtype=int), np.zeros((0, 2)), np.zeros(0)
        return np.concatenate(idx), np.concatenate(nrm), np.concatenate(dep)
