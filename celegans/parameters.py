"""Named parameters with unit, bounds, transform and source, and YAML parameter sets.

Every stage of the framework (models, network, fitting) reads and writes these. A parameter set
is plain data: it pickles, crosses processes and round-trips through YAML.

YAML layout of a parameter file::

    name: RMD                     # optional, what the set describes
    description: ...              # optional
    parameters:
      g_shl1:
        value: 2.9
        unit: nS
        bounds: [0.0, 20.0]
        transform: log            # identity | log | logit (fits run in the transformed space)
        source: "Nicoletti et al. 2019, Table 2"
        certainty: measured       # measured | published | estimated | fitted | assumed
        frozen: false
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import read_yaml, write_yaml

TRANSFORMS = ("identity", "log", "logit")
CERTAINTIES = ("measured", "published", "estimated", "fitted", "assumed")


class ParameterError(ValueError):
    """A parameter or parameter file is invalid; the message names the parameter and file."""


@dataclass(frozen=True)
class Parameter:
    """One named model parameter.

    ``bounds`` are the physically admissible range used by fitting and validation; ``source`` is
    a citation (paper, table) or ``"fitted by <stage>"``.
    """

    name: str
    value: float
    unit: str
    bounds: tuple[float, float] = (-math.inf, math.inf)
    source: str = ""
    certainty: str = "published"
    transform: str = "identity"
    frozen: bool = False

    def __post_init__(self) -> None:
        lo, hi = (float(b) for b in self.bounds)
        object.__setattr__(self, "bounds", (lo, hi))
        object.__setattr__(self, "value", float(self.value))
        where = f"parameter {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("parameter name must be a non-empty string")
        if math.isnan(self.value):
            raise ParameterError(f"{where}: value is NaN")
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise ParameterError(f"{where}: bounds [{lo}, {hi}] need lower <= upper")
        if not lo <= self.value <= hi:
            raise ParameterError(
                f"{where}: value {self.value} {self.unit} outside bounds [{lo}, {hi}]")
        if self.transform not in TRANSFORMS:
            raise ParameterError(f"{where}: transform {self.transform!r} not one of {TRANSFORMS}")
        if self.transform == "log" and lo < 0:
            raise ParameterError(f"{where}: log transform needs lower bound >= 0, got {lo}")
        if self.transform == "logit" and not (math.isfinite(lo) and math.isfinite(hi)):
            raise ParameterError(f"{where}: logit transform needs finite bounds")
        if self.certainty not in CERTAINTIES:
            raise ParameterError(f"{where}: certainty {self.certainty!r} not one of {CERTAINTIES}")

    def with_value(self, value: float, source: str | None = None) -> Parameter:
        """A copy with a new value (validated against the bounds)."""
        kw: dict[str, Any] = {"value": value}
        if source is not None:
            kw["source"] = source
        return replace(self, **kw)

    # --- unconstrained transform used by optimisers -------------------------------------------
    def to_unconstrained(self, value: float | np.ndarray) -> float | np.ndarray:
        """Map a value in bounds to the real line (identity, log or logit)."""
        return to_unconstrained(value, self.transform, self.bounds)

    def from_unconstrained(self, u: float | np.ndarray) -> float | np.ndarray:
        """Inverse of :meth:`to_unconstrained`."""
        return from_unconstrained(u, self.transform, self.bounds)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        d["bounds"] = [_yaml_float(b) for b in self.bounds]
        return d


def _yaml_float(x: float) -> float | str:
    return x if math.isfinite(x) else (".inf" if x > 0 else "-.inf")


def _parse_bound(x: Any) -> float:
    if isinstance(x, str):
        s = x.strip().lower()
        if s in (".inf", "inf", "+inf"):
            return math.inf
        if s in ("-.inf", "-inf"):
            return -math.inf
    return float(x)


_LOG_EPS = 1e-300


def to_unconstrained(value, transform: str, bounds: tuple[float, float]):
    """Bounded value -> unconstrained coordinate."""
    lo, hi = bounds
    if transform == "identity":
        return value
    if transform == "log":
        return np.log(np.maximum(np.asarray(value, dtype=float) - lo, _LOG_EPS))
    if transform == "logit":
        p = (np.asarray(value, dtype=float) - lo) / (hi - lo)
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)
    raise ParameterError(f"unknown transform {transform!r}")


def from_unconstrained(u, transform: str, bounds: tuple[float, float]):
    """Unconstrained coordinate -> bounded value."""
    lo, hi = bounds
    if transform == "identity":
        return u
    if transform == "log":
        return lo + np.exp(u)
    if transform == "logit":
        return lo + (hi - lo) / (1.0 + np.exp(-np.asarray(u, dtype=float)))
    raise ParameterError(f"unknown transform {transform!r}")


@dataclass
class ParameterSet(Mapping[str, Parameter]):
    """An ordered, named collection of :class:`Parameter` (a YAML parameter file)."""

    parameters: dict[str, Parameter] = field(default_factory=dict)
    name: str = ""
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    # Mapping interface
    def __getitem__(self, key: str) -> Parameter:
        try:
            return self.parameters[key]
        except KeyError:
            known = ", ".join(self.parameters) or "none"
            raise KeyError(
                f"unknown parameter {key!r} in set {self.name!r} (known: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def values(self) -> dict[str, float]:  # type: ignore[override]
        """Plain ``{name: value}`` dict (what workers receive)."""
        return {k: p.value for k, p in self.parameters.items()}

    def free(self) -> list[str]:
        """Names of parameters that are not frozen (what a fit varies)."""
        return [k for k, p in self.parameters.items() if not p.frozen]

    def bounds_array(self, names: Iterable[str] | None = None) -> np.ndarray:
        """``(n, 2)`` array of bounds for ``names`` (default: free parameters)."""
        names = list(self.free() if names is None else names)
        return np.array([self[n].bounds for n in names], dtype=float).reshape(-1, 2)

    def updated(self, values: Mapping[str, float], source: str | None = None) -> ParameterSet:
        """A copy with new values (bounds-checked); ``source`` records who set them."""
        new = dict(self.parameters)
        for k, v in values.items():
            new[k] = self[k].with_value(float(v), source=source)
        return ParameterSet(new, name=self.name, description=self.description, meta=dict(self.meta))

    def add(self, p: Parameter) -> None:
        if p.name in self.parameters:
            raise ParameterError(f"duplicate parameter {p.name!r} in set {self.name!r}")
        self.parameters[p.name] = p

    # --- YAML --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.name:
            d["name"] = self.name
        if self.description:
            d["description"] = self.description
        if self.meta:
            d["meta"] = self.meta
        d["parameters"] = {k: p.to_dict() for k, p in self.parameters.items()}
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "<dict>") -> ParameterSet:
        """Build from the YAML layout; every error names ``origin`` and the parameter."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{origin}: expected a mapping with a 'parameters' key")
        raw = data.get("parameters")
        if not isinstance(raw, Mapping):
            raise ParameterError(f"{origin}: missing or invalid 'parameters' mapping")
        ps = cls(name=str(data.get("name", "")), description=str(data.get("description", "")),
                 meta=dict(data.get("meta", {}) or {}))
        for key, spec in raw.items():
            where = f"{origin}: parameter {key!r}"
            if not isinstance(spec, Mapping):
                raise ParameterError(f"{where}: expected a mapping with value/unit/...")
            unknown = set(spec) - {"value", "unit", "bounds", "source", "certainty", "transform",
                                   "frozen"}
            if unknown:
                raise ParameterError(f"{where}: unknown fields {sorted(unknown)}")
            for req in ("value", "unit"):
                if req not in spec:
                    raise ParameterError(f"{where}: missing field {req!r}")
            try:
                bounds = spec.get("bounds", [-math.inf, math.inf])
                if len(bounds) != 2:
                    raise ParameterError(f"{where}: bounds must be [lower, upper]")
                p = Parameter(
                    name=str(key),
                    value=float(spec["value"]),
                    unit=str(spec["unit"]),
                    bounds=(_parse_bound(bounds[0]), _parse_bound(bounds[1])),
                    source=str(spec.get("source", "")),
                    certainty=str(spec.get("certainty", "published")),
                    transform=str(spec.get("transform", "identity")),
                    frozen=bool(spec.get("frozen", False)),
                )
            except ParameterError as exc:
                raise ParameterError(f"{origin}: {exc}") from None
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"{where}: {exc}") from None
            ps.add(p)
        return ps

    @classmethod
    def load(cls, path: str | os.PathLike) -> ParameterSet:
        """Read a YAML parameter file."""
        return cls.from_dict(read_yaml(path), origin=str(path))

    def save(self, path: str | os.PathLike) -> Path:
        """Write a YAML parameter file atomically."""
        return write_yaml(path, self.to_dict())
