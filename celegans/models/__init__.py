"""Neuron model registry: models that share one interface and swap in by configuration.

>>> from celegans.models import get_model, list_models
>>> list_models()
['passive', 'morris_lecar', 'glif', 'hh', 'multicomp']
>>> get_model("passive").parameters({"g_L": 0.02})["g_L"]
0.02

A model spec string ``"name"`` or ``"name:cell"`` (e.g. ``"hh:RMD"``) is parsed by
:func:`parse_model_spec`; per-neuron assignment lives in :mod:`celegans.models.assignment`.
"""

from __future__ import annotations

from typing import Any

from celegans.models.base import ModelError, NeuronModel, NrnCell
from celegans.models.hh import HHModel
from celegans.models.multicomp import MulticompModel
from celegans.models.reduced import GLIFModel, MorrisLecarModel, PassiveModel

_REGISTRY: dict[str, NeuronModel] = {}


def register_model(model: NeuronModel) -> None:
    """Add a model instance to the registry under ``model.name``."""
    if not model.name:
        raise ModelError("a registered model needs a name")
    _REGISTRY[model.name] = model


for _m in (PassiveModel(), MorrisLecarModel(), GLIFModel(), HHModel(), MulticompModel()):
    register_model(_m)


def list_models() -> list[str]:
    """Names of the registered models."""
    return list(_REGISTRY)


def get_model(name: str) -> NeuronModel:
    """The model registered as ``name`` (a ``"name:cell"`` spec is accepted, the cell ignored)."""
    base = str(name).split(":", 1)[0].strip()
    try:
        return _REGISTRY[base]
    except KeyError:
        raise ModelError(f"unknown neuron model {name!r}; known models: {list_models()}") from None


def parse_model_spec(spec: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``"hh:RMD"`` -> ``("hh", {"cell": "RMD"})``; ``{"model": "hh", "cell": "RMD"}`` too.

    Raises :class:`ModelError` for unknown models or options."""
    if isinstance(spec, dict):
        d = dict(spec)
        if "model" not in d:
            raise ModelError(f"model spec {spec!r} needs a 'model' key")
        name = str(d.pop("model"))
        d.pop("params", None)
        options = d
    elif isinstance(spec, str):
        name, _, cell = spec.partition(":")
        name = name.strip()
        options = {"cell": cell.strip()} if cell.strip() else {}
    else:
        raise ModelError(f"model spec must be a string like 'hh:RMD' or a mapping, got {spec!r}")
    model = get_model(name)
    model.check_options(options)
    return model.name, options


__all__ = ["ModelError", "NeuronModel", "NrnCell", "get_model", "list_models",
           "parse_model_spec", "register_model"]
