"""Level-2 search space: connectome weights and coupling parameters from a config.

Config (the ``parameters`` section of a Level-2 config)::

    multipliers:                 # class-pair multipliers mult.<kind>.<pre>.<post> (prior: 1)
      kinds: [chemical, gap, nmj]
      classes: [AVB, VB, DB, VD, DD]   # pairs with both classes listed (muscles: BWM)
      bounds: [0.2, 5.0]
      transform: log
    names:                        # any organism parameter or network.<name>
      network.glutamate_sign: {bounds: [-1, 1]}
      network.g_gap_contact: {bounds: [0.02, 0.5], transform: log}
      muscle_gain: {bounds: [0.5, 3.0]}

Multipliers scale the anatomical contact counts, so the anatomy stays the prior (value 1 =
contacts as counted). Names are those of :func:`fitting.level2.behaviour.apply_values`:
``network.mult.<kind>.<pre>.<post>`` for multipliers. Start values come from the organism file,
then ``default_network.yaml``, then 1 for multipliers. Per-connection (neuron-pair) weights are
not offered: the network spec scales class pairs only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celegans.parameters import Parameter, ParameterError, ParameterSet
from fitting.level2.behaviour import BehaviourError

MULT_PREFIX = "network.mult."


def available_multipliers(organism: str | None = None) -> list[str]:
    """Every class-pair multiplier of the organism's network (``network.mult...`` names)."""
    from celegans.network import NetworkSpec
    from celegans.organism import load_config

    cfg = load_config(organism)
    spec = NetworkSpec.from_connectome(cfg.dataset, cfg.assignment, cfg.network_overrides())
    return [f"network.{n}" for n in spec.multiplier_names()]


def select_multipliers(available: Sequence[str], kinds: Sequence[str],
                       classes: Sequence[str] | None) -> list[str]:
    """Multipliers of ``kinds`` whose two classes are both in ``classes`` (all when None)."""
    cls = None if classes is None else set(classes) | {"BWM"}
    out = []
    for name in available:
        _, _, kind, pre, post = name.split(".", 4)
        if kind not in kinds:
            continue
        if cls is not None and not (pre in cls and post in cls):
            continue
        out.append(name)
    return out


def _start_value(name: str, cfg: Any, net_defaults: ParameterSet) -> tuple[float, Any]:
    if name in cfg.parameters:
        return cfg.parameters[name].value, cfg.parameters[name]
    sub = name[len("network."):] if name.startswith("network.") else name
    if sub.startswith("mult."):
        return 1.0, None
    if sub in net_defaults:
        return net_defaults[sub].value, net_defaults[sub]
    raise BehaviourError(f"level2 parameter {name!r}: not an organism parameter nor a "
                         f"network parameter 'network.<name>' (known network: "
                         f"{', '.join(net_defaults)})")


def level2_parameters(config: Mapping[str, Any], organism: str | None = None,
                      available: Sequence[str] | None = None) -> ParameterSet:
    """The fitted parameters (value = start, bounds, transform) from the config section."""
    from celegans.network import default_network_parameters
    from celegans.organism import load_config

    cfg = load_config(organism)
    net_defaults = default_network_parameters()
    ps = ParameterSet(name="level2", description="Level-2 fitted parameters (start values)")
    mult = dict(config.get("multipliers", {}) or {})
    if mult:
        kinds = list(mult.get("kinds", ["chemical", "gap", "nmj"]))
        bad = [k for k in kinds if k not in ("chemical", "gap", "nmj")]
        if bad:
            raise BehaviourError(f"parameters.multipliers.kinds: unknown {bad}")
        b = mult.get("bounds", [0.1, 10.0])
        tr = str(mult.get("transform", "log"))
        avail = list(available) if available is not None else available_multipliers(organism)
        names = select_multipliers(avail, kinds, mult.get("classes"))
        if not names:
            raise BehaviourError(f"parameters.multipliers: no connected class pairs among "
                                 f"classes {mult.get('classes')} for kinds {kinds}")
        for n in names:
            v, _ = _start_value(n, cfg, net_defaults)
            try:
                ps.add(Parameter(n, v, "1", (float(b[0]), float(b[1])), transform=tr,
                                 source="anatomy prior: contacts x 1", certainty="assumed"))
            except ParameterError as exc:
                raise BehaviourError(f"parameters.multipliers: {exc}") from None
    for n, spec in dict(config.get("names", {}) or {}).items():
        spec = dict(spec or {})
        v, base = _start_value(str(n), cfg, net_defaults)
        if "bounds" not in spec and base is None:
            raise BehaviourError(f"parameters.names.{n}: needs bounds")
        b = spec.get("bounds", base.bounds if base is not None else None)
        unit = base.unit if base is not None else "1"
        tr = str(spec.get("transform", base.transform if base is not None else "identity"))
        try:
            ps.add(Parameter(str(n), float(spec.get("start", v)), unit,
                             (float(b[0]), float(b[1])), transform=tr,
                             source=base.source if base is not None else "start value",
                             certainty=base.certainty if base is not None else "assumed"))
        except ParameterError as exc:
            raise BehaviourError(f"parameters.names.{n}: {exc}") from None
    if not len(ps):
        raise BehaviourError("parameters: nothing to fit (give multipliers and/or names)")
    return ps
