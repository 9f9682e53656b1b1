"""Search space: fitted parameters mapped to the unit cube the optimisers see.

Each fitted parameter has finite bounds; coordinate ``u in [0, 1]`` maps linearly, or
geometrically for ``transform: log`` parameters (the span starts at ``max(lower, upper * 1e-4)``
when the lower bound is 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from celegans.parameters import Parameter, ParameterSet


class SpaceError(ValueError):
    """Invalid search space (bounds, names); the message names the parameter."""


@dataclass(frozen=True)
class ParamSpace:
    """Names, bounds and scale of the fitted parameters, plus fixed values of the others."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    log: np.ndarray
    fixed: Mapping[str, float]
    units: Mapping[str, str]

    @classmethod
    def from_parameters(cls, params: ParameterSet, fit: Sequence[str] | None = None,
                        bounds: Mapping[str, tuple[float, float]] | None = None) -> ParamSpace:
        """Fit ``fit`` (default: the free parameters); all others are fixed at their values.

        ``bounds`` overrides bounds per parameter; every fitted parameter needs finite bounds
        with ``lower < upper``.
        """
        names = list(params.free() if fit is None else fit)
        if not names:
            raise SpaceError("search space: no parameters to fit")
        bounds = dict(bounds or {})
        lo, hi, lg = [], [], []
        for n in names:
            if n not in params:
                raise SpaceError(f"parameter {n!r}: not in set {params.name!r} "
                                 f"(known: {', '.join(params)})")
            p: Parameter = params[n]
            b = bounds.pop(n, p.bounds)
            a, c = float(b[0]), float(b[1])
            if not (np.isfinite(a) and np.isfinite(c)):
                raise SpaceError(f"parameter {n!r}: fitting needs finite bounds, got [{a}, {c}]")
            if a > c:
                raise SpaceError(f"parameter {n!r}: bounds lower {a} > upper {c}")
            if a == c:
                raise SpaceError(f"parameter {n!r}: bounds lower == upper ({a}); freeze it instead")
            is_log = p.transform == "log" and c > 0 and a >= 0
            lo.append(max(a, c * 1e-4) if is_log else a)
            hi.append(c)
            lg.append(is_log)
        if bounds:
            raise SpaceError(f"bounds given for parameters not fitted: {sorted(bounds)}")
        fixed = {k: p.value for k, p in params.items() if k not in names}
        units = {k: p.unit for k, p in params.items()}
        return cls(tuple(names), np.array(lo), np.array(hi), np.array(lg, bool), fixed, units)

    @classmethod
    def from_bounds(cls, bounds: Mapping[str, tuple[float, float]],
                    fixed: Mapping[str, float] | None = None,
                    log: Sequence[str] = ()) -> ParamSpace:
        """A space from plain bounds (no parameter file)."""
        names, lo, hi = [], [], []
        for n, (a, c) in bounds.items():
            a, c = float(a), float(c)
            if not (np.isfinite(a) and np.isfinite(c)) or a >= c:
                raise SpaceError(f"parameter {n!r}: bounds need finite lower < upper, got "
                                 f"[{a}, {c}]")
            names.append(n)
            lo.append(a)
            hi.append(c)
        lg = np.array([n in log for n in names], bool)
        if np.any(lg & (np.array(lo) <= 0)):
            raise SpaceError("log-scaled parameters need lower bound > 0")
        return cls(tuple(names), np.array(lo), np.array(hi), lg, dict(fixed or {}),
                   dict.fromkeys(names, ""))

    @property
    def d(self) -> int:
        return len(self.names)

    def to_values(self, X: np.ndarray) -> np.ndarray:
        """Unit-cube coordinates ``(n, d)`` -> parameter values ``(n, d)`` (clipped to [0,1])."""
        u = np.clip(np.asarray(X, float), 0.0, 1.0)
        lin = self.lower + u * (self.upper - self.lower)
        with np.errstate(divide="ignore", invalid="ignore"):
            geo = self.lower * (self.upper / np.where(self.lower > 0, self.lower, 1.0)) ** u
        return np.where(self.log, geo, lin)

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_values`."""
        v = np.asarray(values, float)
        lin = (v - self.lower) / (self.upper - self.lower)
        with np.errstate(divide="ignore", invalid="ignore"):
            geo = np.log(np.maximum(v, 1e-300) / np.where(self.lower > 0, self.lower, 1.0)) / \
                np.log(np.where(self.log, self.upper / np.where(self.lower > 0, self.lower, 1.0),
                                np.e))
        return np.clip(np.where(self.log, geo, lin), 0.0, 1.0)

    def to_dicts(self, X: np.ndarray) -> list[dict[str, float]]:
        """One plain ``{name: value}`` dict per row (fitted parameters only)."""
        V = self.to_values(np.atleast_2d(X))
        return [dict(zip(self.names, map(float, row), strict=True)) for row in V]

    def to_batch(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """``{name: array (n,)}`` for batched simulation (fitted parameters only)."""
        V = self.to_values(np.atleast_2d(X))
        return {n: V[:, i].copy() for i, n in enumerate(self.names)}
