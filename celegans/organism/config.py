"""The organism parameter set: numeric coupling parameters plus structured settings.

``data/default_organism.yaml`` is a :class:`celegans.parameters.ParameterSet` file. Its
``parameters`` hold every numeric value (with unit, bounds, source); names starting with
``network.`` override ``celegans/network/data/default_network.yaml``. Its ``meta`` holds the
structured settings: ``dataset``, the neuron-model ``assignment`` (see
:mod:`celegans.models.assignment`), the ``proprioception`` classes and sides, the forward
``command`` neurons, the ``sensory`` transduction table, ``bias_pA`` (constant currents into
named neurons) and ``start_pulse_neurons`` (targets of the start pulse, see
:mod:`celegans.organism.sensing`).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celegans.organism.errors import OrganismError
from celegans.parameters import ParameterError, ParameterSet

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_ORGANISM_FILE = DATA_DIR / "default_organism.yaml"
NETWORK_PREFIX = "network."
SIDES = ("dorsal", "ventral")
SENSOR_MODES = ("value", "derivative")


@dataclass
class SensoryChannel:
    """One transduction rule: a world sensor (field name, ``touch_anterior`` ...) read by
    ``neurons`` as ``gain_pA * x`` where ``x`` is the value minus ``reference`` (``value``
    mode) or its time derivative per second (``derivative`` mode)."""

    sensor: str
    neurons: tuple[str, ...]
    gain_pA: float
    mode: str = "value"
    reference: float = 0.0


@dataclass
class OrganismConfig:
    """Everything that defines a default organism besides the medium and the run options."""

    parameters: ParameterSet
    dataset: str = "cook2019_herm"
    assignment: Any = "passive"
    proprioception: dict[str, str] = field(default_factory=dict)
    command: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sensory: tuple[SensoryChannel, ...] = ()
    origin: str = "<dict>"
    bias: dict[str, float] = field(default_factory=dict)
    start_pulse_neurons: tuple[str, ...] = ()

    def value(self, name: str) -> float:
        """A numeric organism parameter."""
        try:
            return self.parameters[name].value
        except KeyError:
            raise OrganismError(f"{self.origin}: missing organism parameter {name!r}") from None

    def network_overrides(self, classes: Collection[str] | None = None) -> dict[str, float]:
        """``network.*`` parameters with the prefix removed. With ``classes`` (the neuron
        classes present, e.g. after an ablation), class-pair multipliers
        ``mult.<kind>.<pre>.<post>`` of a class that is absent are left out: those
        connections no longer exist (muscles, class ``BWM``, are always present)."""
        out = {k[len(NETWORK_PREFIX):]: p.value for k, p in self.parameters.parameters.items()
               if k.startswith(NETWORK_PREFIX)}
        if classes is None:
            return out
        present = set(classes) | {"BWM"}

        def kept(name: str) -> bool:
            parts = name.split(".")
            return not (len(parts) == 4 and parts[0] == "mult"
                        and not {parts[2], parts[3]} <= present)

        return {k: v for k, v in out.items() if kept(k)}

    def updated(self, values: dict[str, float]) -> OrganismConfig:
        """Copy with some numeric parameters changed (names must exist)."""
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise OrganismError(f"organism parameters: unknown names {unknown}")
        try:
            ps = self.parameters.updated(values)
        except ParameterError as exc:
            raise OrganismError(str(exc)) from None
        return OrganismConfig(ps, self.dataset, self.assignment, dict(self.proprioception),
                              dict(self.command), self.sensory, self.origin, dict(self.bias),
                              self.start_pulse_neurons)


_REQUIRED = ("coupling_dt_ms", "neural_dt_ms", "body_dt_ms", "stretch_gain_pA",
             "stretch_field_rows", "command_forward_pA", "record_dt_ms")


def config_from_parameter_set(ps: ParameterSet, origin: str = "<dict>") -> OrganismConfig:
    """Validate and unpack a parameter set with organism ``meta``."""
    meta = dict(ps.meta or {})
    missing = [k for k in _REQUIRED if k not in ps]
    if missing:
        raise OrganismError(f"{origin}: missing organism parameters {missing}")
    prop = meta.get("proprioception", {}) or {}
    if not isinstance(prop, dict) or any(v not in SIDES for v in prop.values()):
        raise OrganismError(f"{origin}: meta.proprioception must map neuron classes or names to "
                            f"{SIDES}, got {prop!r}")
    cmd_raw = meta.get("command", {}) or {}
    if not isinstance(cmd_raw, dict):
        raise OrganismError(f"{origin}: meta.command must map command names to neuron lists")
    command = {str(k): tuple(v) for k, v in cmd_raw.items()}
    sensory = []
    for i, ch in enumerate(meta.get("sensory", []) or []):
        try:
            sc = SensoryChannel(sensor=str(ch["sensor"]), neurons=tuple(ch["neurons"]),
                                gain_pA=float(ch["gain_pA"]), mode=str(ch.get("mode", "value")),
                                reference=float(ch.get("reference", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise OrganismError(f"{origin}: meta.sensory[{i}]: expected sensor, neurons, "
                                f"gain_pA (mode, reference optional) ({exc})") from None
        if sc.mode not in SENSOR_MODES:
            raise OrganismError(f"{origin}: meta.sensory[{i}].mode: expected one of "
                                f"{SENSOR_MODES}, got {sc.mode!r}")
        sensory.append(sc)
    bias_raw = meta.get("bias_pA", {}) or {}
    try:
        bias = {str(k): float(v) for k, v in dict(bias_raw).items()}
    except (TypeError, ValueError):
        raise OrganismError(f"{origin}: meta.bias_pA must map neuron names to currents (pA), "
                            f"got {bias_raw!r}") from None
    return OrganismConfig(ps, str(meta.get("dataset", "cook2019_herm")),
                          meta.get("assignment", "passive"), {str(k): str(v)
                                                              for k, v in prop.items()},
                          command, tuple(sensory), origin, bias,
                          tuple(str(x) for x in meta.get("start_pulse_neurons", ()) or ()))


def load_config(path: str | os.PathLike | None = None) -> OrganismConfig:
    """Read an organism YAML (default: the shipped ``default_organism.yaml``)."""
    p = Path(path) if path is not None else DEFAULT_ORGANISM_FILE
    try:
        ps = ParameterSet.load(p)
    except FileNotFoundError:
        raise OrganismError(f"organism parameters: file not found: {p}") from None
    except ParameterError as exc:
        raise OrganismError(str(exc)) from None
    return config_from_parameter_set(ps, origin=str(p))
