"""Published single-compartment cell models (YAML data in ``celegans/cells/data/``).

A cell file is a :class:`~celegans.parameters.ParameterSet` whose ``meta`` lists the
``channels`` (names of :data:`celegans.channels.kinetics.CHANNELS`), the ``calcium`` model
(``pool``: intracellular Ca pool fed by the Ca currents (2019); ``shell``: submembrane
shell with a floor (2024 motor neurons); ``none``: ``ca_i`` fixed at its
background) and the ``source``. Its parameters are ``C_pF``, ``area_um2``, ``volume_um3``,
``v_init`` (mV), reversal potentials ``E_K``, ``E_Ca``, ``E_Na``, ``E_leak`` (mV), one
``g_<channel>`` (nS, whole cell) per channel, and optional cell-specific kinetic constants
``<group>.<constant>`` that replace the channel library's defaults.

``load_cell(name)`` merges the library's kinetic constants into one flat parameter set, so
``CellSpec.values`` holds every number the equations use (see :mod:`celegans.channels.kinetics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from celegans.channels import load_kinetics, required_groups
from celegans.channels.kinetics import CALCIUM_MODELS, CHANNELS, REVERSAL_BY_ION
from celegans.parameters import Parameter, ParameterError, ParameterSet

DATA_DIR = Path(__file__).resolve().parent / "data"
_BASE = ("C_pF", "area_um2", "volume_um3", "v_init")

__all__ = ["CellError", "CellSpec", "list_cells", "load_cell", "cell_from_parameters"]


class CellError(ValueError):
    """A cell file or cell override is invalid; the message names the file and field."""


@dataclass(frozen=True)
class CellSpec:
    """A single-compartment cell: channels, calcium model and all parameter values.

    ``parameters`` holds the cell's own parameters and the merged kinetic constants
    (``<group>.<constant>``), each with unit and source. ``values`` is the plain flat dict.
    """

    name: str
    channels: tuple[str, ...]
    calcium: str
    parameters: ParameterSet
    source: str = ""
    description: str = ""
    values: dict[str, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", self.parameters.values())

    @property
    def v_init(self) -> float:
        """Initial membrane potential (mV)."""
        return self.values["v_init"]

    def conductances(self) -> dict[str, float]:
        """``{channel: g_nS}``."""
        return {c: self.values[f"g_{c}"] for c in self.channels}

    def reversal(self, channel: str) -> float:
        """Reversal potential (mV) of a channel of this cell."""
        return self.values[REVERSAL_BY_ION[CHANNELS[channel].ion]]

    def with_values(self, overrides: Mapping[str, float] | None,
                    source: str = "override") -> CellSpec:
        """A copy with some parameter values replaced (names as in ``values``)."""
        if not overrides:
            return self
        unknown = sorted(set(overrides) - set(self.values))
        if unknown:
            raise CellError(f"cell {self.name!r}: unknown parameter(s) {unknown}; known: "
                            f"{sorted(k for k in self.values if '.' not in k)} and "
                            "<group>.<constant> kinetic names")
        for k, v in overrides.items():
            _check_value(self.name, k, v)
        try:
            ps = self.parameters.updated({k: float(v) for k, v in overrides.items()},
                                         source=source)
        except ParameterError as exc:
            raise CellError(f"cell {self.name!r}: {exc}") from None
        return CellSpec(self.name, self.channels, self.calcium, ps, self.source,
                        self.description)


def _check_value(where: str, key: str, value: float) -> None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CellError(f"{where}: parameter {key!r} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise CellError(f"{where}: parameter {key!r} must be finite, got {v}")
    if (key.startswith("g_") or key in ("C_pF", "area_um2", "volume_um3")) and v < 0:
        raise CellError(f"{where}: parameter {key!r} must be >= 0, got {v}")
    if key in ("C_pF", "area_um2") and v == 0:
        raise CellError(f"{where}: parameter {key!r} must be > 0")


def list_cells() -> list[str]:
    """Names of the published cells shipped with the package."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


def cell_from_parameters(ps: ParameterSet, origin: str = "<cell>") -> CellSpec:
    """Validate a cell parameter set (see module docstring) and merge its kinetic constants."""
    meta = ps.meta or {}
    name = ps.name or origin
    channels = meta.get("channels")
    if not isinstance(channels, list | tuple) or not channels:
        raise CellError(f"{origin}: meta.channels must be a non-empty list of channel names")
    channels = tuple(str(c) for c in channels)
    for c in channels:
        if c not in CHANNELS:
            raise CellError(f"{origin}: unknown channel {c!r} in meta.channels; known: "
                            f"{', '.join(sorted(CHANNELS))}")
    if len(set(channels)) != len(channels):
        raise CellError(f"{origin}: duplicate channels in meta.channels {list(channels)}")
    for c in channels:
        partner = CHANNELS[c].partner
        if partner and partner not in channels:
            raise CellError(f"{origin}: channel {c!r} is coupled to {partner!r}, which the cell "
                            "does not list (add it, with g_{partner} = 0 if absent)")
    calcium = str(meta.get("calcium", "none"))
    if calcium not in CALCIUM_MODELS:
        raise CellError(f"{origin}: meta.calcium must be one of {CALCIUM_MODELS}, got {calcium!r}")
    required = list(_BASE) + [f"g_{c}" for c in channels]
    required += sorted({REVERSAL_BY_ION[CHANNELS[c].ion] for c in channels})
    missing = [k for k in required if k not in ps]
    if missing:
        raise CellError(f"{origin}: missing parameter(s) {missing}")
    extra_g = [k for k in ps if k.startswith("g_") and k[2:] not in channels]
    if extra_g:
        raise CellError(f"{origin}: conductance(s) {extra_g} for channels not in meta.channels")
    for k, p in ps.items():
        _check_value(origin, k, p.value)
    merged = ParameterSet(name=name, description=ps.description, meta=dict(meta))
    for k, p in ps.items():
        if "." not in k:
            merged.add(p)
    groups = required_groups(channels)
    for g in groups:
        for k, p in load_kinetics(g).items():
            full = f"{g}.{k}"
            own = ps.parameters.get(full)
            merged.add(own if own is not None else Parameter(
                full, p.value, p.unit, p.bounds, p.source, p.certainty, p.transform, True))
    stray = [k for k in ps if "." in k and k not in merged]
    if stray:
        raise CellError(f"{origin}: kinetic override(s) {stray} name no constant of the groups "
                        f"{groups} this cell uses")
    return CellSpec(name, channels, calcium, merged, str(meta.get("source", "")),
                    ps.description)


def load_cell(name: str) -> CellSpec:
    """Load a published cell by name (e.g. ``"RMD"``) or from a YAML path."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = DATA_DIR / f"{name}.yaml"
    if not path.exists():
        raise CellError(f"unknown cell {name!r}; available: {', '.join(list_cells())}")
    try:
        ps = ParameterSet.load(path)
    except ParameterError as exc:
        raise CellError(str(exc)) from None
    return cell_from_parameters(ps, origin=str(path))
