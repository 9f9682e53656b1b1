"""Which model each neuron runs, by configuration.

A configuration (dict or YAML) names a default model and overrides per type, per class and per
neuron; precedence is neuron > class > type > default::

    default: passive
    types:   {motor: "hh:VB"}            # types: sensory inter motor pharyngeal other
    classes: {AVA: "hh:AVA"}
    neurons: {AVAL: glif}                # or {AVAL: {model: glif, params: {V_th: -45}}}
    params:                              # per-model parameter overrides ("model" or "model:cell")
      passive: {g_L: 0.02}
      "hh:AVA": {g_shl1: 3.0}

Changing one line changes the model of those neurons while the network stays the same.
Unknown models, neurons, classes or types, negative conductances and NaN raise
:class:`AssignmentError` naming the offending entry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from celegans.io import read_yaml, write_yaml
from celegans.models import get_model, parse_model_spec
from celegans.models.base import ModelError

_KEYS = ("default", "types", "classes", "neurons", "params")


class AssignmentError(ValueError):
    """Invalid assignment configuration; the message names the entry and what was expected."""


class NeuronTable(Protocol):
    """What assignment needs from a connectome: names and ``neuron(name).cls / .type``."""

    neurons: Sequence[str]

    def neuron(self, name: str) -> Any: ...


@dataclass(frozen=True)
class NeuronAssignment:
    """The resolved model of one neuron: model name, options (e.g. ``cell``), the full validated
    parameter dict, and the rule that chose it (``"neuron:AVAL"``, ``"class:AVA"``, ...)."""

    neuron: str
    model: str
    options: dict[str, Any]
    params: dict[str, float]
    rule: str

    @property
    def label(self) -> str:
        """``"hh:RMD"``-style spec string."""
        cell = self.options.get("cell")
        return f"{self.model}:{cell}" if cell else self.model


@dataclass
class Assignment:
    """Model assignment rules (see module docstring); plain data, pickles."""

    default: Any = "passive"
    types: dict[str, Any] = field(default_factory=dict)
    classes: dict[str, Any] = field(default_factory=dict)
    neurons: dict[str, Any] = field(default_factory=dict)
    params: dict[str, dict[str, float]] = field(default_factory=dict)
    origin: str = "<dict>"

    def __post_init__(self) -> None:
        for key in ("types", "classes", "neurons", "params"):
            val = getattr(self, key)
            if val is None:
                setattr(self, key, {})
            elif not isinstance(val, Mapping):
                raise AssignmentError(f"{self.origin}: {key!r} must be a mapping, got {val!r}")
            else:
                setattr(self, key, dict(val))
        # check every model spec now, so a typo fails before any network is built
        self._spec(self.default, "default")
        for key in ("types", "classes", "neurons"):
            for name, spec in getattr(self, key).items():
                self._spec(spec, f"{key}.{name}")
        for label, over in self.params.items():
            try:
                parse_model_spec(str(label))
            except ModelError as exc:
                raise AssignmentError(f"{self.origin}: params.{label}: {exc}") from None
            if not isinstance(over, Mapping):
                raise AssignmentError(f"{self.origin}: params.{label} must map parameter names "
                                      f"to values, got {over!r}")

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str | None,
                  origin: str = "<dict>") -> Assignment:
        """From the configuration mapping; a bare string means ``{default: <string>}``."""
        if data is None:
            return cls(origin=origin)
        if isinstance(data, str):
            return cls(default=data, origin=origin)
        if not isinstance(data, Mapping):
            raise AssignmentError(f"{origin}: expected a mapping with keys {_KEYS}, got "
                                  f"{type(data).__name__}")
        unknown = set(data) - set(_KEYS)
        if unknown:
            raise AssignmentError(f"{origin}: unknown keys {sorted(unknown)}; expected {_KEYS}")
        return cls(default=data.get("default", "passive"), types=data.get("types") or {},
                   classes=data.get("classes") or {}, neurons=data.get("neurons") or {},
                   params=data.get("params") or {}, origin=origin)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Assignment:
        """Read a YAML assignment file."""
        return cls.from_dict(read_yaml(path), origin=str(path))

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default, "types": dict(self.types),
                "classes": dict(self.classes), "neurons": dict(self.neurons),
                "params": {k: dict(v) for k, v in self.params.items()}}

    def save(self, path: str | os.PathLike) -> None:
        """Write as YAML (atomically)."""
        write_yaml(path, self.to_dict())

    # --- resolution ---------------------------------------------------------------------------
    def _spec(self, spec: Any, where: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """-> (model, options, per-entry parameter overrides)."""
        entry_params: dict[str, Any] = {}
        if isinstance(spec, Mapping):
            entry_params = dict(spec.get("params") or {})
            unknown = set(spec) - {"model", "params", "cell", "morphology"}
            if unknown:
                raise AssignmentError(f"{self.origin}: {where}: unknown keys {sorted(unknown)}")
        try:
            model, options = parse_model_spec(spec)
        except ModelError as exc:
            raise AssignmentError(f"{self.origin}: {where}: {exc}") from None
        return model, options, entry_params

    def model_of(self, neuron: str, cls: str, type_: str) -> tuple[str, Any]:
        """``(rule, spec)`` of the most specific rule matching a neuron."""
        if neuron in self.neurons:
            return f"neuron:{neuron}", self.neurons[neuron]
        if cls in self.classes:
            return f"class:{cls}", self.classes[cls]
        if type_ in self.types:
            return f"type:{type_}", self.types[type_]
        return "default", self.default

    def check_names(self, table: NeuronTable) -> None:
        """Raise :class:`AssignmentError` for neurons, classes or types not in ``table``."""
        names = set(table.neurons)
        classes = {table.neuron(n).cls for n in names}
        types = {table.neuron(n).type for n in names}
        singular = {"neurons": "neuron", "classes": "class", "types": "type"}
        for key, known in (("neurons", names), ("classes", classes), ("types", types)):
            bad = sorted(set(getattr(self, key)) - known)
            if bad:
                sample = ", ".join(sorted(known)[:8])
                raise AssignmentError(f"{self.origin}: {key}: unknown {singular[key]} name(s) "
                                      f"{bad} (known e.g.: {sample}, ...)")

    def resolve(self, table: NeuronTable,
                neurons: Sequence[str] | None = None) -> dict[str, NeuronAssignment]:
        """Resolve every neuron of ``table`` (or the subset ``neurons``), validating names and
        parameters. Returns ``{neuron: NeuronAssignment}`` in table order."""
        self.check_names(table)
        chosen = list(table.neurons) if neurons is None else list(neurons)
        cache: dict[tuple, dict[str, float]] = {}
        out: dict[str, NeuronAssignment] = {}
        for n in chosen:
            info = table.neuron(n)
            rule, spec = self.model_of(n, info.cls, info.type)
            model, options, entry_params = self._spec(spec, rule)
            label = f"{model}:{options['cell']}" if options.get("cell") else model
            over: dict[str, Any] = {}
            over.update(self.params.get(model, {}))
            if label != model:
                over.update(self.params.get(label, {}))
            over.update(entry_params)
            key = (model, tuple(sorted(options.items())), tuple(sorted(over.items())))
            if key not in cache:
                try:
                    cache[key] = get_model(model).parameters(over, **options)
                except ModelError as exc:
                    raise AssignmentError(f"{self.origin}: {rule} ({n}): {exc}") from None
            out[n] = NeuronAssignment(n, model, dict(options), dict(cache[key]), rule)
        return out


def as_assignment(obj: Assignment | Mapping[str, Any] | str | None) -> Assignment:
    """Accept an :class:`Assignment`, a config mapping, a model name, a YAML path or None."""
    if isinstance(obj, Assignment):
        return obj
    if isinstance(obj, str) and (obj.endswith((".yaml", ".yml")) or os.path.sep in obj):
        return Assignment.load(obj)
    return Assignment.from_dict(obj)
