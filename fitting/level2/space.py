"""Level-2 search space: connectome weights and coupling parameters from a config.

Config (the ``parameters`` section of a Level-2 config)::

    multipliers:                 # class-pair multipliers mult.<kind>.<pre>.<post> (prior: 1)
      kinds: [chemical, gap, nmj]
      classes: [AVB, VB, DB, VD, DD]   # pairs with both classes listed (muscles: BWM)
      bounds: [0.2, 5.0]
      transform: log
    connections:                 # per-connection scales conn.<kind>.<pre>.<post> (prior: 1)
      kinds: [chemical, gap]     # on top of the class multipliers
      pairs: [[AVBL, VB1], [AVBR, VB2]]   # neuron pairs (every listed kind they share), or
      # neurons: [AVBL, AVBR, VB1, VB2]   # every connection among these neurons
      # names: [conn.nmj.VB1.MVL07]       # explicit names (combine with pairs / neurons)
      bounds: [0.2, 5.0]
      transform: log
    names:                        # any organism parameter or network.<name>
      network.glutamate_sign: {bounds: [-1, 1]}
      network.g_gap_contact: {bounds: [0.02, 0.5], transform: log}
      muscle_gain: {bounds: [0.5, 3.0]}

Multipliers scale the anatomical contact counts, so the anatomy stays the prior (value 1 =
contacts as counted). Names are those of :func:`fitting.level2.behaviour.apply_values`:
``network.mult.<kind>.<pre>.<post>`` for multipliers, ``network.conn.<kind>.<pre>.<post>`` for
per-connection scales (``celegans.network.spec``: one neuron pair per synapse type, or a
(neuron, muscle) pair for ``nmj``; gap names sorted). Start values come from the organism file,
then ``default_network.yaml``, then 1 for multipliers and connection scales.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celegans.parameters import Parameter, ParameterError, ParameterSet
from fitting.level2.behaviour import BehaviourError

MULT_PREFIX = "network.mult."
CONN_PREFIX = "network.conn."
KINDS = ("chemical", "gap", "nmj")


def _organism_spec(organism: str | None) -> Any:
    from celegans.network import NetworkSpec
    from celegans.organism import load_config

    cfg = load_config(organism)
    return NetworkSpec.from_connectome(cfg.dataset, cfg.assignment, cfg.network_overrides())


def available_multipliers(organism: str | None = None) -> list[str]:
    """Every class-pair multiplier of the organism's network (``network.mult...`` names)."""
    return [f"network.{n}" for n in _organism_spec(organism).multiplier_names()]


def select_connections(section: Mapping[str, Any], organism: str | None = None,
                       spec: Any = None) -> list[str]:
    """Per-connection scale names (``network.conn...``) chosen by a ``connections`` section:
    ``pairs`` (``[pre, post]``: every listed kind connecting them, chemical directed, gap either
    order; ``[neuron, muscle]`` for nmj), ``neurons`` (every connection among them; nmj: from
    them) and ``names`` (explicit ``conn.<kind>.<pre>.<post>``, with or without ``network.``).
    Unknown neurons and pairs without contacts are errors."""
    from celegans.network import NetworkError
    from celegans.network.spec import connection_name

    where = "parameters.connections"
    kinds = list(section.get("kinds", ["chemical", "gap"]))
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise BehaviourError(f"{where}.kinds: unknown {bad}; expected from {list(KINDS)}")
    if not any(k in section for k in ("pairs", "neurons", "names")):
        raise BehaviourError(f"{where}: give pairs, neurons and/or names (per-connection scales "
                             "are opt-in; class pairs: parameters.multipliers)")
    spec = spec if spec is not None else _organism_spec(organism)
    known = set(spec.neurons)
    chosen: dict[str, None] = {}

    def _check_neurons(names: Sequence[str], field: str) -> None:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BehaviourError(f"{where}.{field}: unknown neurons {unknown} (dataset "
                                 f"{spec.dataset})")

    existing = set(spec.connection_names(kinds))
    for i, pair in enumerate(section.get("pairs", []) or []):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise BehaviourError(f"{where}.pairs[{i}]: expected [pre, post], got {pair!r}")
        a, b = str(pair[0]), str(pair[1])
        muscle = b in set(spec.muscles)
        _check_neurons([a] if muscle else [a, b], f"pairs[{i}]")
        kk = [k for k in kinds if (k == "nmj") == muscle]
        found = [c for c in (connection_name(k, a, b) for k in kk) if c in existing]
        if not found:
            raise BehaviourError(f"{where}.pairs[{i}]: no {kk} connection from {a} to {b} "
                                 "(chemical is directed pre -> post; nmj pairs are [neuron, "
                                 "muscle])")
        chosen.update(dict.fromkeys(found))
    if section.get("neurons") is not None:
        neurons = [str(n) for n in section["neurons"]]
        _check_neurons(neurons, "neurons")
        found = spec.connection_names(kinds, neurons)
        if not found:
            raise BehaviourError(f"{where}.neurons: no {kinds} connections among {neurons}")
        chosen.update(dict.fromkeys(found))
    for n in section.get("names", []) or []:
        sub = str(n)[len("network."):] if str(n).startswith("network.") else str(n)
        if not sub.startswith("conn."):
            raise BehaviourError(f"{where}.names: {n!r} is not conn.<kind>.<pre>.<post>")
        try:
            spec.with_params({sub: 1.0})
        except NetworkError as exc:
            raise BehaviourError(f"{where}.names: {exc}") from None
        chosen[sub] = None
    return [f"network.{n}" for n in chosen]


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
    if sub.startswith(("mult.", "conn.")):
        return 1.0, None
    if sub in net_defaults:
        return net_defaults[sub].value, net_defaults[sub]
    raise BehaviourError(f"level2 parameter {name!r}: not an organism parameter nor a "
                         f"network parameter 'network.<name>' (known network: "
                         f"{', '.join(net_defaults)})")


def _add_scale(ps: ParameterSet, section: str, name: str, bounds: Sequence[float],
               transform: str, cfg: Any, net_defaults: ParameterSet) -> None:
    """Add one multiplier / connection scale, starting where the organism file puts it (else 1,
    the anatomy as counted)."""
    v, base = _start_value(name, cfg, net_defaults)
    source = ("anatomy prior: contacts x 1" if base is None
              else f"start from the organism file ({cfg.origin})")
    try:
        ps.add(Parameter(name, v, "1", (float(bounds[0]), float(bounds[1])),
                         transform=transform, source=source, certainty="assumed"))
    except ParameterError as exc:
        raise BehaviourError(f"parameters.{section}: {exc}; widen parameters.{section}.bounds "
                             f"to contain the start value {v:g} ({source})") from None


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
            _add_scale(ps, "multipliers", n, b, tr, cfg, net_defaults)
    conn = dict(config.get("connections", {}) or {})
    if conn:
        b = conn.get("bounds", [0.2, 5.0])
        tr = str(conn.get("transform", "log"))
        for n in select_connections(conn, organism):
            if n not in ps:
                _add_scale(ps, "connections", n, b, tr, cfg, net_defaults)
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
        raise BehaviourError("parameters: nothing to fit (give multipliers, connections and/or "
                             "names)")
    return ps
