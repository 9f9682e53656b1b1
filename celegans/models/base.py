"""The interface every neuron model shares, and its parameter validation.

A model is a small object with a name, a YAML parameter file (``celegans/models/data/``), the
state variables it can record, and a NEURON builder. Parameters cross process boundaries as a
plain ``{name: value}`` dict; :meth:`NeuronModel.parameters` merges overrides into the defaults
and validates them (unknown names, NaN, negative conductances, bounds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from celegans.parameters import ParameterError, ParameterSet

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Single-compartment geometry used by the reduced models: membrane area (um^2).
#: Densities are derived from the nS/pF parameters so that the result does not depend on it.
SOMA_AREA_UM2 = 1000.0

#: Units counted as conductances (must be >= 0).
CONDUCTANCE_UNITS = ("nS", "pS", "uS", "S/cm2", "mS/cm2")


class ModelError(ValueError):
    """Unknown model, bad option or bad parameter; the message names it."""


def conductance_density(g_nS: float, area_um2: float = SOMA_AREA_UM2) -> float:
    """nS over ``area_um2`` -> S/cm^2 (NEURON density units)."""
    return g_nS / (10.0 * area_um2)


def specific_capacitance(c_pF: float, area_um2: float = SOMA_AREA_UM2) -> float:
    """pF over ``area_um2`` -> uF/cm^2."""
    return 100.0 * c_pF / area_um2


@dataclass
class NrnCell:
    """A model instantiated in NEURON: its soma (where synapses attach and ``v`` is read), all
    its sections, and the objects that must stay alive with it."""

    name: str
    model: str
    soma: Any
    sections: list[Any] = field(default_factory=list)
    keep: dict[str, Any] = field(default_factory=dict)
    capacitance_pF: float = float("nan")
    aliases: dict[str, str] = field(default_factory=dict)

    def ref(self, var: str) -> Any:
        """A NEURON pointer to a recordable variable: ``v``, a state of one of this model's
        point processes (``"I1"``), a mechanism variable (``"w_ceml"``, ``"ceml.w"``) or any
        range variable of the soma segment."""
        seg = self.soma(0.5)
        var = self.aliases.get(var, var)
        if var == "v":
            return seg._ref_v
        for obj in self.keep.values():
            if hasattr(obj, f"_ref_{var}"):
                try:
                    return getattr(obj, f"_ref_{var}")
                except Exception:  # noqa: BLE001 - not a range variable of this object
                    pass
        if "." in var:
            mech, name = var.split(".", 1)
            try:
                return getattr(getattr(seg, mech), f"_ref_{name}")
            except (AttributeError, NameError):
                pass
        try:
            return getattr(seg, f"_ref_{var}")
        except (AttributeError, NameError):
            pass
        raise ModelError(f"cell {self.name!r} (model {self.model!r}) has no recordable "
                         f"variable {var!r}")


class NeuronModel:
    """Base class of the registry's models (one instance per model name)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    data_file: ClassVar[str | None] = None
    #: variables recordable besides ``v`` (names accepted by :meth:`NrnCell.ref`)
    state_vars: ClassVar[tuple[str, ...]] = ("v",)
    #: options accepted (e.g. ``cell`` for ``hh``)
    option_names: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return f"<model {self.name}>"

    # --- parameters ------------------------------------------------------------------------
    def default_parameters(self, **options: Any) -> ParameterSet:
        """The model's default :class:`ParameterSet` (from its YAML file)."""
        self.check_options(options)
        if self.data_file is None:
            raise ModelError(f"model {self.name!r} has no parameter file")
        return ParameterSet.load(DATA_DIR / self.data_file)

    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Validate model options; unknown option names raise :class:`ModelError`."""
        unknown = set(options) - set(self.option_names)
        if unknown:
            raise ModelError(f"model {self.name!r}: unknown options {sorted(unknown)} "
                             f"(accepted: {list(self.option_names) or 'none'})")
        return dict(options)

    def parameters(self, overrides: Mapping[str, Any] | None = None,
                   **options: Any) -> dict[str, float]:
        """Defaults merged with ``overrides`` and validated -> plain ``{name: value}``."""
        ps = self.default_parameters(**options)
        return validate_parameters(ps, overrides, where=f"model {self.name!r}")

    # --- NEURON ----------------------------------------------------------------------------
    def build_nrn(self, params: Mapping[str, float], name: str, *, dt_ms: float = 0.025,
                  **options: Any) -> NrnCell:
        """Instantiate the model in NEURON (mechanisms must be loaded); ``dt_ms`` is the fixed
        step the cell will run with (GLIF's refractory clamp is scaled to it)."""
        raise NotImplementedError


def validate_parameters(ps: ParameterSet, overrides: Mapping[str, Any] | None,
                        where: str) -> dict[str, float]:
    """Merge ``overrides`` into ``ps`` with clear errors; return ``{name: value}``."""
    values = ps.values()
    for key, raw in dict(overrides or {}).items():
        if key not in ps:
            raise ModelError(f"{where}: unknown parameter {key!r} (known: {', '.join(ps)})")
        try:
            v = float(raw)
        except (TypeError, ValueError):
            raise ModelError(f"{where}: parameter {key!r} must be a number, got {raw!r}") from None
        if math.isnan(v) or math.isinf(v):
            raise ModelError(f"{where}: parameter {key!r} is {v} (must be finite)")
        p = ps[key]
        if p.unit in CONDUCTANCE_UNITS and v < 0:
            raise ModelError(f"{where}: conductance {key!r} = {v} {p.unit} is negative")
        try:
            p.with_value(v)
        except ParameterError as exc:
            raise ModelError(f"{where}: {exc}") from None
        values[key] = v
    return values
