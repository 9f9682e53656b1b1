"""Spatial channel distributions for multicompartment cells (Hay et al. 2011).

A channel's density along the neurites is a function of path distance from the soma ``d`` (um)
with a few fitted parameters, named ``"<channel>.<param>"`` so that they sit in a ParameterSet
next to the other model parameters:

- ``uniform``:      ``g(d) = g0``
- ``linear``:       ``g(d) = max(0, g0 + slope * d)``
- ``exponential``:  ``g(d) = g0 * (a + b * exp(d / lam))`` (Hay et al. 2011 Ih form, e.g.
  ``a = -0.8696, b = 2.087, lam = 323 um``)
- ``sigmoid``:      ``g(d) = g0 * (a + b / (1 + exp((d - d_half) / k)))``
- ``hotzone``:      ``g(d) = g_in`` for ``d_start <= d <= d_end`` else ``g_out`` (Hay et al. 2011
  Ca hot zone)

:func:`path_distances` computes segment-midpoint distances from a morphology (parent pointers and
3-D points, e.g. :class:`celegans.models.multicomp.Morphology`); :func:`segment_densities` turns a
parameter dict into per-segment densities. Densities are in the unit of ``g0`` (e.g. S/cm2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from celegans.parameters import Parameter, ParameterSet

#: kind -> (parameter, default value, bounds, unit-or-None for "density unit")
KINDS: dict[str, tuple[tuple[str, float, tuple[float, float], str | None], ...]] = {
    "uniform": (("g0", 1e-4, (0.0, 1e-1), None),),
    "linear": (("g0", 1e-4, (0.0, 1e-1), None), ("slope", 0.0, (-1e-3, 1e-3), "per_um")),
    "exponential": (("g0", 1e-4, (0.0, 1e-1), None), ("a", 0.0, (-2.0, 2.0), "1"),
                    ("b", 1.0, (0.0, 5.0), "1"), ("lam", 300.0, (10.0, 2000.0), "um")),
    "sigmoid": (("g0", 1e-4, (0.0, 1e-1), None), ("a", 0.0, (-1.0, 1.0), "1"),
                ("b", 1.0, (0.0, 5.0), "1"), ("d_half", 100.0, (0.0, 2000.0), "um"),
                ("k", 50.0, (1.0, 500.0), "um")),
    "hotzone": (("g_in", 1e-3, (0.0, 1e-1), None), ("g_out", 1e-5, (0.0, 1e-1), None),
                ("d_start", 50.0, (0.0, 2000.0), "um"), ("d_end", 150.0, (0.0, 2000.0), "um")),
}


class SpatialError(ValueError):
    """Unknown distribution kind or missing/invalid parameters."""


def density(kind: str, d_um: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """Density at path distances ``d_um`` for one distribution (parameters without prefix)."""
    d = np.asarray(d_um, float)
    try:
        if kind == "uniform":
            return np.full_like(d, float(p["g0"]))
        if kind == "linear":
            return np.maximum(0.0, p["g0"] + p["slope"] * d)
        if kind == "exponential":
            return np.maximum(0.0, p["g0"] * (p["a"] + p["b"] * np.exp(d / p["lam"])))
        if kind == "sigmoid":
            with np.errstate(over="ignore"):
                e = np.exp((d - p["d_half"]) / p["k"])
            return np.maximum(0.0, p["g0"] * (p["a"] + p["b"] / (1 + e)))
        if kind == "hotzone":
            inside = (d >= p["d_start"]) & (d <= p["d_end"])
            return np.where(inside, p["g_in"], p["g_out"]).astype(float)
    except KeyError as exc:
        raise SpatialError(f"distribution {kind!r}: missing parameter {exc}") from None
    raise SpatialError(f"distribution: unknown kind {kind!r}; expected one of {list(KINDS)}")


@dataclass(frozen=True)
class ChannelDistribution:
    """One channel's density profile: ``kind`` and the unit of its density."""

    channel: str
    kind: str
    unit: str = "S/cm2"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SpatialError(f"channel {self.channel!r}: unknown distribution {self.kind!r}; "
                               f"expected one of {list(KINDS)}")

    def names(self) -> list[str]:
        return [f"{self.channel}.{n}" for n, *_ in KINDS[self.kind]]

    def parameters(self, source: str = "assumed starting value (fitted later)",
                   overrides: Mapping[str, float] | None = None) -> list[Parameter]:
        """Parameters of this distribution with default values and bounds."""
        out = []
        overrides = dict(overrides or {})
        for n, v, b, u in KINDS[self.kind]:
            name = f"{self.channel}.{n}"
            out.append(Parameter(name, overrides.get(name, v), self.unit if u is None else u,
                                 bounds=b, source=source, certainty="assumed"))
        return out

    def __call__(self, d_um: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
        pre = f"{self.channel}."
        p = {k[len(pre):]: float(v) for k, v in values.items() if k.startswith(pre)}
        return density(self.kind, d_um, p)


def distribution_parameter_set(dists: Sequence[ChannelDistribution],
                               name: str = "spatial") -> ParameterSet:
    """A ParameterSet with every distribution's parameters (ready for fitting)."""
    ps = ParameterSet(name=name, description="channel density vs distance from soma "
                      "(Hay et al. 2011 parameterisation)")
    for dist in dists:
        for p in dist.parameters():
            ps.add(p)
    return ps


def path_distances(parent: np.ndarray, proximal: np.ndarray, distal: np.ndarray,
                   is_soma: np.ndarray | None = None) -> np.ndarray:
    """Path distance (um) from the soma to each segment's midpoint.

    ``parent[i]`` is the index of segment ``i``'s parent (-1 for the root); ``proximal`` and
    ``distal`` are ``(n, >=3)`` points. Soma segments get distance 0. Parents must come before
    children (as in NeuroML/SWC order).
    """
    parent = np.asarray(parent, int)
    n = parent.size
    length = np.linalg.norm(np.asarray(distal)[:, :3] - np.asarray(proximal)[:, :3], axis=1)
    soma = np.zeros(n, bool) if is_soma is None else np.asarray(is_soma, bool)
    end = np.zeros(n)
    mid = np.zeros(n)
    for i in range(n):
        p = parent[i]
        if p >= i:
            raise SpatialError(f"path_distances: segment {i} has parent {p} after it")
        start = 0.0 if (p < 0 or soma[i]) else end[p]
        if soma[i]:
            end[i] = mid[i] = 0.0
            continue
        mid[i] = start + 0.5 * length[i]
        end[i] = start + length[i]
    return mid


def morphology_distances(morph: Any) -> np.ndarray:
    """Distances for a :class:`celegans.models.multicomp.Morphology` (segment order)."""
    idx = {int(s): i for i, s in enumerate(morph.segment)}
    parent = np.array([idx.get(int(p), -1) for p in morph.parent])
    is_soma = np.array([g == "soma" for g in morph.group])
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parent):
        children.setdefault(int(p), []).append(i)
    order_list: list[int] = []
    queue = list(children.get(-1, []))
    while queue:  # breadth-first from the roots: parents always precede children
        i = queue.pop(0)
        order_list.append(i)
        queue.extend(children.get(i, []))
    if len(order_list) != parent.size:
        raise SpatialError(f"morphology {getattr(morph, 'cell', '?')}: parent pointers do not "
                           "form a tree")
    order = np.array(order_list)
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    par_o = np.array([inv[parent[i]] if parent[i] >= 0 else -1 for i in order])
    d_o = path_distances(par_o, morph.proximal[order], morph.distal[order], is_soma[order])
    return d_o[inv]


def segment_densities(dists: Sequence[ChannelDistribution], d_um: np.ndarray,
                      values: Mapping[str, float]) -> dict[str, np.ndarray]:
    """``{channel: density per segment}`` for the given parameter values."""
    return {dist.channel: dist(d_um, values) for dist in dists}
