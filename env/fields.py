"""Scalar fields over the arena (chemical concentration, temperature) and food patches.

Positions are in mm, arrays of shape ``(k, 2)`` (or ``(2,)`` for one point). Every field has
``value(xy)``, ``gradient(xy)`` and ``step(dt)`` (a no-op unless the field evolves in time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from env.errors import InvalidFieldError


def _points(xy: object, field: str = "xy") -> tuple[np.ndarray, bool]:
    arr = np.asarray(xy, dtype=float)
    single = arr.ndim == 1
    arr = np.atleast_2d(arr)
    if arr.shape[-1] != 2 or arr.ndim != 2:
        raise InvalidFieldError(f"{field}: expected points of shape (k, 2) in mm, got {arr.shape}")
    return arr, single


def _vec2(v: object, field: str) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)):
        raise InvalidFieldError(f"{field}: expected 2 finite numbers, got {v!r}")
    return arr


def _positive(v: float, field: str, allow_zero: bool = False) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InvalidFieldError(f"{field}: expected a number, got {v!r}") from None
    if not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        raise InvalidFieldError(f"{field}: expected a finite number {'>=' if allow_zero else '>'}"
                                f" 0, got {v!r}")
    return x


class Field:
    """Base class: a scalar field ``value(xy)`` with a ``unit``."""

    unit: str = ""

    def value(self, xy: object) -> np.ndarray | float:
        raise NotImplementedError

    def gradient(self, xy: object, h: float = 1e-3) -> np.ndarray:
        """Spatial gradient (unit/mm) by central differences (subclasses may be exact)."""
        pts, single = _points(xy)
        ex = np.array([h, 0.0])
        ey = np.array([0.0, h])
        gx = (np.asarray(self.value(pts + ex)) - np.asarray(self.value(pts - ex))) / (2 * h)
        gy = (np.asarray(self.value(pts + ey)) - np.asarray(self.value(pts - ey))) / (2 * h)
        g = np.stack((gx, gy), axis=-1)
        return g[0] if single else g

    def step(self, dt: float) -> None:
        """Advance the field in time (static fields: nothing)."""

    def reset(self) -> None:
        """Return to the initial state (static fields: nothing)."""


class LinearGradient(Field):
    """``c(x) = value_at_origin + gradient . (x - origin)``, optionally clipped at ``minimum``."""

    def __init__(self, gradient: Sequence[float], value_at_origin: float = 0.0,
                 origin: Sequence[float] = (0.0, 0.0), minimum: float | None = None,
                 unit: str = "mM") -> None:
        self.grad = _vec2(gradient, "gradient")
        self.origin = _vec2(origin, "origin")
        if not math.isfinite(float(value_at_origin)):
            raise InvalidFieldError(f"value_at_origin: expected a finite number, "
                                    f"got {value_at_origin!r}")
        self.c0 = float(value_at_origin)
        self.minimum = minimum
        self.unit = unit

    def value(self, xy: object) -> np.ndarray | float:
        pts, single = _points(xy)
        v = self.c0 + (pts - self.origin) @ self.grad
        if self.minimum is not None:
            v = np.maximum(v, self.minimum)
        return float(v[0]) if single else v


class TemperatureGradient(LinearGradient):
    """A linear temperature field (deg C), e.g. 20 C at the origin rising 0.5 C/mm along x."""

    def __init__(self, gradient: Sequence[float] = (0.5, 0.0), value_at_origin: float = 20.0,
                 origin: Sequence[float] = (0.0, 0.0)) -> None:
        super().__init__(gradient, value_at_origin, origin, unit="degC")


class GaussianSource(Field):
    """Sum of Gaussian peaks ``peak * exp(-|x - c|^2 / (2 sigma^2))`` (static attractant spots)."""

    def __init__(self, centres: Sequence[Sequence[float]] | Sequence[float], peak: float = 1.0,
                 sigma: float = 5.0, unit: str = "mM") -> None:
        c = np.atleast_2d(np.asarray(centres, dtype=float))
        if c.ndim != 2 or c.shape[1] != 2 or not np.all(np.isfinite(c)):
            raise InvalidFieldError(f"centres: expected (k, 2) finite positions in mm, "
                                    f"got {centres!r}")
        self.centres = c
        if not math.isfinite(float(peak)):
            raise InvalidFieldError(f"peak: expected a finite number, got {peak!r}")
        self.peak = float(peak)
        self.sigma = _positive(sigma, "sigma")
        self.unit = unit

    def value(self, xy: object) -> np.ndarray | float:
        pts, single = _points(xy)
        d2 = ((pts[:, None, :] - self.centres[None]) ** 2).sum(-1)
        v = self.peak * np.exp(-d2 / (2 * self.sigma ** 2)).sum(1)
        return float(v[0]) if single else v

    def gradient(self, xy: object, h: float = 1e-3) -> np.ndarray:
        pts, single = _points(xy)
        diff = pts[:, None, :] - self.centres[None]
        w = self.peak * np.exp(-(diff ** 2).sum(-1) / (2 * self.sigma ** 2))
        g = -(w[..., None] * diff).sum(1) / self.sigma ** 2
        return g[0] if single else g


class DiffusingField(Field):
    """A concentration on a grid that diffuses (explicit FTCS, stable sub-steps), with point
    sources (release rate, unit*mm^2/s), first-order decay and zero-flux borders.

    ``bounds = (xmin, xmax, ymin, ymax)`` mm, ``spacing`` mm, ``diffusion`` mm^2/s (NaCl in
    water ~1.5e-3 mm^2/s, i.e. 1.5e-9 m^2/s), ``initial`` a field or value.
    Reading uses bilinear interpolation; points outside the grid read the nearest border value.
    """

    def __init__(self, bounds: Sequence[float], spacing: float, diffusion: float,
                 initial: Field | float = 0.0, sources: Sequence[tuple[Sequence[float], float]]
                 = (), decay: float = 0.0, unit: str = "mM") -> None:
        b = np.asarray(bounds, dtype=float)
        if b.shape != (4,) or not np.all(np.isfinite(b)) or b[1] <= b[0] or b[3] <= b[2]:
            raise InvalidFieldError(f"bounds: expected (xmin, xmax, ymin, ymax) with min < max, "
                                    f"got {bounds!r}")
        self.bounds = b
        self.h = _positive(spacing, "spacing")
        self.D = _positive(diffusion, "diffusion", allow_zero=True)
        self.decay = _positive(decay, "decay", allow_zero=True)
        self.unit = unit
        self.x = np.arange(b[0], b[1] + 0.5 * self.h, self.h)
        self.y = np.arange(b[2], b[3] + 0.5 * self.h, self.h)
        if len(self.x) < 3 or len(self.y) < 3:
            raise InvalidFieldError("spacing: grid needs at least 3 points per axis")
        if len(self.x) * len(self.y) > 4_000_000:
            raise InvalidFieldError("spacing: grid too fine (> 4e6 points)")
        X, Y = np.meshgrid(self.x, self.y, indexing="ij")
        grid_pts = np.stack((X.ravel(), Y.ravel()), axis=1)
        if isinstance(initial, Field):
            c0 = np.asarray(initial.value(grid_pts), dtype=float).reshape(X.shape)
        else:
            c0 = np.full(X.shape, float(initial))
        self._c0 = c0
        self.c = c0.copy()
        self.sources = []
        for k, (pos, rate) in enumerate(sources):
            p = _vec2(pos, f"sources[{k}].position")
            i = int(np.clip(round((p[0] - b[0]) / self.h), 0, len(self.x) - 1))
            j = int(np.clip(round((p[1] - b[2]) / self.h), 0, len(self.y) - 1))
            self.sources.append((i, j, float(rate)))
        self._dt_max = 0.2 * self.h ** 2 / self.D if self.D > 0 else math.inf

    def reset(self) -> None:
        self.c = self._c0.copy()

    def step(self, dt: float) -> None:
        n_sub = max(1, math.ceil(dt / self._dt_max))
        d = dt / n_sub
        for _ in range(n_sub):
            if self.D > 0:
                p = np.pad(self.c, 1, mode="edge")  # zero-flux borders
                lap = (p[2:, 1:-1] + p[:-2, 1:-1] + p[1:-1, 2:] + p[1:-1, :-2]
                       - 4 * self.c) / self.h ** 2
                self.c += d * self.D * lap
            for i, j, rate in self.sources:
                self.c[i, j] += d * rate / self.h ** 2
            if self.decay > 0:
                self.c *= math.exp(-self.decay * d)
        if not np.all(np.isfinite(self.c)):
            raise InvalidFieldError("DiffusingField: concentration became non-finite")

    def value(self, xy: object) -> np.ndarray | float:
        pts, single = _points(xy)
        fx = np.clip((pts[:, 0] - self.bounds[0]) / self.h, 0, len(self.x) - 1.000001)
        fy = np.clip((pts[:, 1] - self.bounds[2]) / self.h, 0, len(self.y) - 1.000001)
        i, j = fx.astype(int), fy.astype(int)
        tx, ty = fx - i, fy - j
        c = self.c
        v = ((1 - tx) * (1 - ty) * c[i, j] + tx * (1 - ty) * c[i + 1, j]
             + (1 - tx) * ty * c[i, j + 1] + tx * ty * c[i + 1, j + 1])
        return float(v[0]) if single else v


class FoodPatch(Field):
    """A circular bacterial lawn: density ``density`` inside ``radius`` (mm) with a smooth edge
    of width ``edge`` (mm), 0 outside."""

    def __init__(self, centre: Sequence[float], radius: float, density: float = 1.0,
                 edge: float = 0.05) -> None:
        self.centre = _vec2(centre, "centre")
        self.radius = _positive(radius, "radius")
        self.density = _positive(density, "density")
        self.edge = _positive(edge, "edge")
        self.unit = "1"

    def value(self, xy: object) -> np.ndarray | float:
        pts, single = _points(xy)
        r = np.linalg.norm(pts - self.centre, axis=1)
        v = self.density / (1.0 + np.exp((r - self.radius) / self.edge))
        return float(v[0]) if single else v

    def contains(self, xy: object) -> np.ndarray | bool:
        """Whether points lie inside the patch."""
        pts, single = _points(xy)
        inside = np.linalg.norm(pts - self.centre, axis=1) <= self.radius
        return bool(inside[0]) if single else inside
