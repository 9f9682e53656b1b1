"""``NetworkSpec``: a connectome turned into a simulatable network description (plain data).

Built from any ``connectome_data`` dataset plus a model assignment and network parameters. It
holds, per neuron, the resolved model; per (pre, post) pair one graded chemical synapse (contacts
merged); per unordered pair one gap junction; per (neuron, muscle) pair one neuromuscular
synapse; and the parameters that turn contact counts into conductances. Backends (NEURON, torch)
read only this object, so it pickles and crosses processes.

Conductances (docs/architecture.md): ``g = g_<kind>_contact x contacts x multiplier(pre class,
post class, kind)``; multipliers are named parameters ``mult.<kind>.<pre class>.<post class>``
(``kind`` in chemical | gap | nmj; muscles have class ``BWM``; gap junctions use the two
classes sorted). Reversal from the presynaptic sign:
``E = E_inh + (E_exc - E_inh) (1 + sign)/2`` with ``sign`` +1 excitatory, -1 inhibitory and the
named parameters ``glutamate_sign``, ``mixed_sign``, ``unknown_sign`` otherwise.

Per-connection scales (optional, on top of the class multipliers): ``conn.<kind>.<pre>.<post>``
multiplies the conductance of one connection, a neuron pair for ``chemical`` (pre -> post) and
``gap`` (the two neuron names sorted), a (neuron, muscle) pair for ``nmj``; the connection must
exist (have contacts). A name touching a dataset neuron left out of the network (ablated or not
selected) is accepted and has no effect: that connection is not simulated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from celegans.models.assignment import Assignment, NeuronAssignment, as_assignment
from celegans.parameters import Parameter, ParameterSet

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_NETWORK_FILE = DATA_DIR / "default_network.yaml"
MUSCLE_CLASS = "BWM"
KINDS = ("chemical", "gap", "nmj")
CONN_PREFIX = "conn."


class NetworkError(ValueError):
    """Invalid network input (parameters, names, connectome); the message names the field."""


def default_network_parameters() -> ParameterSet:
    """The default network :class:`ParameterSet` (``data/default_network.yaml``)."""
    return ParameterSet.load(DEFAULT_NETWORK_FILE)


def _pair_name(prefix: str, what: str, kind: str, pre: str, post: str) -> str:
    """``<prefix><kind>.<pre>.<post>`` (gap pairs sorted: gap junctions have no direction)."""
    if kind not in KINDS:
        raise NetworkError(f"{what} kind {kind!r} not one of {KINDS}")
    if kind == "gap":
        pre, post = sorted((pre, post))
    return f"{prefix}{kind}.{pre}.{post}"


def multiplier_name(kind: str, pre_cls: str, post_cls: str) -> str:
    """Name of a class-pair multiplier parameter (gap pairs are sorted)."""
    return _pair_name("mult.", "multiplier", kind, pre_cls, post_cls)


def connection_name(kind: str, pre: str, post: str) -> str:
    """Name of a per-connection scale parameter (gap neuron names are sorted)."""
    return _pair_name(CONN_PREFIX, "connection", kind, pre, post)


def neuron_sign_value(sign: str, transmitters: Sequence[str], params: Mapping[str, float]) -> float:
    """Numeric sign in [-1, 1] of a neuron's outgoing synapses (see module docstring)."""
    if sign == "excitatory":
        return 1.0
    if sign == "inhibitory":
        return -1.0
    if sign == "ambiguous":
        fast = {t for t in transmitters if t in ("Acetylcholine", "GABA", "Glutamate")}
        return params["glutamate_sign"] if fast == {"Glutamate"} else params["mixed_sign"]
    if sign == "unknown":
        return params["unknown_sign"]
    raise NetworkError(f"neuron sign {sign!r} not one of excitatory/inhibitory/ambiguous/unknown")


def _as_parameter_values(network_params: Any) -> dict[str, float]:
    if network_params is None:
        return {}
    if isinstance(network_params, ParameterSet):
        return network_params.values()
    if isinstance(network_params, (str, os.PathLike)):
        return ParameterSet.load(network_params).values()
    if isinstance(network_params, Mapping):
        return dict(network_params)
    raise NetworkError(f"network_params: expected a mapping, ParameterSet or YAML path, got "
                       f"{type(network_params).__name__}")


@dataclass
class NetworkSpec:
    """A network ready for a backend. Arrays index :attr:`neurons` and :attr:`muscles`.

    Attributes:
        neurons, classes, types, signs, transmitters: per neuron (connectome order).
        models: per neuron, the resolved :class:`NeuronAssignment` (model, options, params).
        chem_pre, chem_post, chem_contacts: one entry per chemical (pre, post) pair.
        gap_a, gap_b, gap_contacts: one entry per unordered gap pair (a < b).
        nmj_pre, nmj_muscle, nmj_contacts: neuron -> body-wall muscle pairs.
        params: network parameter values, including any ``mult.*`` multipliers and
            ``conn.*`` per-connection scales.
        omitted: dataset neurons left out of this network (``neurons=`` restriction,
            ablation); ``conn.*`` scales naming them are accepted and have no effect.
    """

    dataset: str
    neurons: tuple[str, ...]
    classes: tuple[str, ...]
    types: tuple[str, ...]
    signs: tuple[str, ...]
    transmitters: tuple[tuple[str, ...], ...]
    models: tuple[NeuronAssignment, ...]
    chem_pre: np.ndarray
    chem_post: np.ndarray
    chem_contacts: np.ndarray
    gap_a: np.ndarray
    gap_b: np.ndarray
    gap_contacts: np.ndarray
    muscles: tuple[str, ...]
    nmj_pre: np.ndarray
    nmj_muscle: np.ndarray
    nmj_contacts: np.ndarray
    params: dict[str, float]
    assignment: Assignment = field(default_factory=Assignment)
    omitted: tuple[str, ...] = ()

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def from_connectome(cls, connectome: Any, assignment: Any = None,
                        network_params: Any = None, *, neurons: Sequence[str] | None = None,
                        muscles: bool = True) -> NetworkSpec:
        """Build from a ``connectome_data.Connectome`` (or its dataset name).

        Args:
            connectome: a Connectome or a dataset name for ``connectome_data.load``.
            assignment: :class:`Assignment`, config mapping, model name or YAML path
                (default: every neuron ``passive``).
            network_params: overrides of ``default_network.yaml`` (mapping, ParameterSet or
                YAML path); may include ``mult.<kind>.<pre class>.<post class>`` multipliers
                and ``conn.<kind>.<pre>.<post>`` per-connection scales.
            neurons: restrict to these neurons (default: all of the dataset).
            muscles: include the body-wall muscles and neuromuscular synapses.
        """
        if isinstance(connectome, str):
            import connectome_data

            connectome = connectome_data.load(connectome)
        asg = as_assignment(assignment)
        names = list(connectome.neurons) if neurons is None else list(neurons)
        if len(set(names)) != len(names):
            raise NetworkError("neurons: duplicate names")
        try:
            idx = np.array([connectome.index(n) for n in names], dtype=int)
        except KeyError as exc:
            raise NetworkError(f"neurons: {exc.args[0]}") from None
        infos = [connectome.neuron(n) for n in names]
        kept = set(names)
        models = asg.resolve(connectome, names)
        chem = connectome.chemical[idx][:, idx].tocoo()
        gap = connectome.gap[idx][:, idx].tocsr()
        gap_u = sp.triu(gap, k=1).tocoo()
        if muscles:
            nm = connectome.neuron_muscle[idx].tocoo()
            muscle_names = tuple(connectome.muscles)
        else:
            nm = None
            muscle_names = ()

        def _ints(a: Any) -> np.ndarray:
            return np.asarray(a, dtype=np.int64)

        def _order(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            return np.lexsort((c, r))

        o = _order(chem.row, chem.col)
        og = _order(gap_u.row, gap_u.col)
        spec = cls(
            dataset=str(getattr(connectome, "name", "")),
            neurons=tuple(names),
            classes=tuple(i.cls for i in infos),
            types=tuple(i.type for i in infos),
            signs=tuple(i.sign for i in infos),
            transmitters=tuple(tuple(i.transmitters) for i in infos),
            models=tuple(models[n] for n in names),
            chem_pre=_ints(chem.row[o]), chem_post=_ints(chem.col[o]),
            chem_contacts=np.asarray(chem.data[o], dtype=float),
            gap_a=_ints(gap_u.row[og]), gap_b=_ints(gap_u.col[og]),
            gap_contacts=np.asarray(gap_u.data[og], dtype=float),
            muscles=muscle_names,
            nmj_pre=_ints(nm.row[_order(nm.row, nm.col)]) if nm is not None else _ints([]),
            nmj_muscle=_ints(nm.col[_order(nm.row, nm.col)]) if nm is not None else _ints([]),
            nmj_contacts=(np.asarray(nm.data[_order(nm.row, nm.col)], dtype=float)
                          if nm is not None else np.zeros(0)),
            params={},
            assignment=asg,
            omitted=tuple(n for n in connectome.neurons if n not in kept),
        )
        if np.any(spec.chem_contacts < 0) or np.any(spec.gap_contacts < 0) or np.any(
                spec.nmj_contacts < 0):
            raise NetworkError(f"dataset {spec.dataset}: negative contact counts")
        spec.params = spec._validated_params(_as_parameter_values(network_params))
        return spec

    def _validated_params(self, overrides: Mapping[str, Any]) -> dict[str, float]:
        defaults = default_network_parameters()
        values = defaults.values()
        allowed_mult = set(self.multiplier_names())
        pair_cache: dict[str, dict[tuple[str, str], int]] = {}
        for key, raw in overrides.items():
            try:
                v = float(raw)
            except (TypeError, ValueError):
                raise NetworkError(f"network parameter {key!r}: expected a number, got "
                                   f"{raw!r}") from None
            if not math.isfinite(v):
                raise NetworkError(f"network parameter {key!r}: value {v} is not finite")
            if key.startswith(CONN_PREFIX):
                self._check_connection_name(key, pair_cache)
                if v < 0:
                    raise NetworkError(f"network parameter {key!r}: scale {v} is negative")
                values[key] = v
                continue
            if key.startswith("mult."):
                if key not in allowed_mult:
                    raise NetworkError(
                        f"network parameter {key!r}: no such connection in this network "
                        "(expected mult.<chemical|gap|nmj>.<pre class>.<post class> for a class "
                        "pair that is connected; gap classes sorted)")
                if v < 0:
                    raise NetworkError(f"network parameter {key!r}: multiplier {v} is negative")
                values[key] = v
                continue
            if key not in defaults:
                raise NetworkError(f"unknown network parameter {key!r} (known: "
                                   f"{', '.join(defaults)}, mult.*, conn.*)")
            p = defaults[key]
            if p.unit == "nS" and v < 0:
                raise NetworkError(f"network parameter {key!r}: conductance {v} nS is negative")
            try:
                p.with_value(v)
            except ValueError as exc:
                raise NetworkError(f"network parameter {exc}") from None
            values[key] = v
        return values

    def _check_connection_name(self, key: str,
                               cache: dict[str, dict[tuple[str, str], int]] | None = None
                               ) -> None:
        """Raise :class:`NetworkError` unless ``key`` names a connection of this network."""
        form = ("expected conn.<chemical|gap|nmj>.<pre neuron>.<post neuron or muscle>")
        parts = key.split(".")
        if len(parts) != 4 or parts[1] not in KINDS:
            raise NetworkError(f"network parameter {key!r}: {form}")
        _, kind, pre, post = parts
        omitted = set(self.omitted)
        if kind == "gap" and key != connection_name(kind, pre, post):
            raise NetworkError(f"network parameter {key!r}: gap junction names list the two "
                               f"neurons sorted: {connection_name(kind, pre, post)!r}")
        ends = (pre,) if kind == "nmj" else (pre, post)
        known = set(self.neurons)
        for n in ends:
            if n not in known and n not in omitted:
                raise NetworkError(f"network parameter {key!r}: unknown neuron {n!r} "
                                   f"(dataset {self.dataset or '?'}; {form})")
        if kind == "nmj" and post not in set(self.muscles):
            raise NetworkError(f"network parameter {key!r}: unknown muscle {post!r} "
                               f"({len(self.muscles)} muscles in this network; {form})")
        if any(n in omitted for n in ends):
            return                      # connection of a left-out neuron: not simulated
        cache = {} if cache is None else cache
        if kind not in cache:
            cache[kind] = self._pair_index(kind)
        if (pre, post) not in cache[kind]:
            raise NetworkError(f"network parameter {key!r}: {pre} and {post} have no {kind} "
                               "contacts in this network (a scale needs an existing connection)")

    def _pair_index(self, kind: str) -> dict[tuple[str, str], int]:
        """``{(pre name, post name): entry}`` of one connection kind (gap: names sorted)."""
        nn = self.neurons
        if kind == "chemical":
            return {(nn[a], nn[b]): i for i, (a, b) in
                    enumerate(zip(self.chem_pre, self.chem_post, strict=True))}
        if kind == "gap":
            out = {}
            for i, (a, b) in enumerate(zip(self.gap_a, self.gap_b, strict=True)):
                x, y = sorted((nn[a], nn[b]))
                out[(x, y)] = i
            return out
        return {(nn[a], self.muscles[m]): i for i, (a, m) in
                enumerate(zip(self.nmj_pre, self.nmj_muscle, strict=True))}

    def _conn_scale(self, kind: str, n_entries: int) -> np.ndarray:
        """Per-entry ``conn.<kind>.*`` scale (1 where none is set)."""
        prefix = f"{CONN_PREFIX}{kind}."
        keys = [k for k in self.params if k.startswith(prefix)]
        out = np.ones(n_entries)
        if not keys:
            return out
        index = self._pair_index(kind)
        for k in keys:
            _, _, pre, post = k.split(".")
            i = index.get((pre, post))
            if i is not None and i < n_entries:
                out[i] = self.params[k]
        return out

    def connection_names(self, kinds: Sequence[str] = KINDS,
                         neurons: Sequence[str] | None = None) -> list[str]:
        """Per-connection scale names of existing connections of ``kinds``; with ``neurons``,
        only connections whose neuron ends (both for chemical and gap, the presynaptic one for
        nmj) are all listed."""
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise NetworkError(f"connection kinds: unknown {bad}; expected from {KINDS}")
        keep = None if neurons is None else set(neurons)
        out = []
        for kind in kinds:
            for pre, post in self._pair_index(kind):
                ends = (pre,) if kind == "nmj" else (pre, post)
                if keep is None or all(n in keep for n in ends):
                    out.append(connection_name(kind, pre, post))
        return sorted(out)

    # --- derived quantities -------------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return len(self.neurons)

    @property
    def n_muscles(self) -> int:
        return len(self.muscles)

    def index(self, name: str) -> int:
        """Position of a neuron."""
        try:
            return self.neurons.index(name)
        except ValueError:
            raise NetworkError(f"unknown neuron {name!r} in this network "
                               f"({self.n_neurons} neurons)") from None

    def multiplier_names(self) -> list[str]:
        """Every class-pair multiplier that affects at least one connection (sorted)."""
        c = self.classes
        names = {multiplier_name("chemical", c[a], c[b])
                 for a, b in zip(self.chem_pre, self.chem_post, strict=True)}
        names |= {multiplier_name("gap", c[a], c[b])
                  for a, b in zip(self.gap_a, self.gap_b, strict=True)}
        names |= {multiplier_name("nmj", c[a], MUSCLE_CLASS) for a in self.nmj_pre}
        return sorted(names)

    def multiplier_parameters(self) -> ParameterSet:
        """All class-pair multipliers as a :class:`ParameterSet` (current values; for fitting)."""
        ps = ParameterSet(name=f"{self.dataset} multipliers",
                          description="class-pair conductance multipliers")
        for n in self.multiplier_names():
            ps.add(Parameter(n, self.params.get(n, 1.0), "1", (0.0, 100.0),
                             source="default 1 (unscaled contacts)", certainty="assumed"))
        return ps

    def parameter_set(self) -> ParameterSet:
        """Network parameters (defaults file, current values) plus the multipliers."""
        base = default_network_parameters()
        ps = base.updated({k: v for k, v in self.params.items() if k in base})
        for p in self.multiplier_parameters().parameters.values():
            ps.add(p)
        for k in sorted(k for k in self.params if k.startswith(CONN_PREFIX)):
            ps.add(Parameter(k, self.params[k], "1", (0.0, 100.0),
                             source="per-connection scale", certainty="assumed"))
        return ps

    def _mult(self, kind: str, pre: np.ndarray, post_classes: Sequence[str]) -> np.ndarray:
        if not any(k.startswith(f"mult.{kind}.") for k in self.params):
            return np.ones(len(pre))
        return np.array([self.params.get(multiplier_name(kind, self.classes[a], pc), 1.0)
                         for a, pc in zip(pre, post_classes, strict=True)])

    def sign_values(self) -> np.ndarray:
        """Numeric sign in [-1, 1] of each neuron's outgoing synapses."""
        return np.array([neuron_sign_value(s, t, self.params)
                         for s, t in zip(self.signs, self.transmitters, strict=True)])

    def reversal_of(self, sign_value: np.ndarray) -> np.ndarray:
        """Reversal potential (mV) for numeric signs."""
        p = self.params
        return p["E_inh"] + (p["E_exc"] - p["E_inh"]) * (1.0 + np.asarray(sign_value)) / 2.0

    @property
    def chem_g(self) -> np.ndarray:
        """Conductance (nS) of each chemical pair."""
        post_cls = [self.classes[b] for b in self.chem_post]
        return (self.params["g_chem_contact"] * self.chem_contacts
                * self._mult("chemical", self.chem_pre, post_cls)
                * self._conn_scale("chemical", len(self.chem_pre)))

    @property
    def chem_E(self) -> np.ndarray:
        """Reversal (mV) of each chemical pair (from the presynaptic sign)."""
        return self.reversal_of(self.sign_values()[self.chem_pre])

    @property
    def gap_g(self) -> np.ndarray:
        """Conductance (nS) of each gap pair."""
        post_cls = [self.classes[b] for b in self.gap_b]
        return (self.params["g_gap_contact"] * self.gap_contacts
                * self._mult("gap", self.gap_a, post_cls)
                * self._conn_scale("gap", len(self.gap_a)))

    @property
    def nmj_g(self) -> np.ndarray:
        """Conductance (nS) of each neuron -> muscle pair."""
        return (self.params["g_nmj_contact"] * self.nmj_contacts
                * self._mult("nmj", self.nmj_pre, [MUSCLE_CLASS] * len(self.nmj_pre))
                * self._conn_scale("nmj", len(self.nmj_pre)))

    @property
    def nmj_E(self) -> np.ndarray:
        return self.reversal_of(self.sign_values()[self.nmj_pre])

    @property
    def synapse_params(self) -> dict[str, float]:
        """Graded-synapse kinetics shared by all pairs: ``V_th``, ``Delta``, ``tau`` (mV, ms)."""
        p = self.params
        return {"V_th": p["syn_V_th"], "Delta": p["syn_Delta"], "tau": p["tau_syn"]}

    @property
    def muscle_params(self) -> dict[str, float]:
        """Passive muscle and activation parameters: C, g_L, E_L, V_rest, V_sat, tau_act."""
        p = self.params
        return {"C": p["muscle_C"], "g_L": p["muscle_g_L"], "E_L": p["muscle_E_L"],
                "V_rest": p["muscle_V_rest"], "V_sat": p["muscle_V_sat"],
                "tau_act": p["muscle_tau_act"]}

    # --- variants -----------------------------------------------------------------------------
    def with_params(self, overrides: Mapping[str, Any]) -> NetworkSpec:
        """Same network with some network parameters (or multipliers) changed."""
        merged = dict(self.params)
        merged.update(overrides)
        return replace(self, params=self._validated_params(merged))

    def with_assignment(self, assignment: Any, connectome: Any) -> NetworkSpec:
        """Same wiring and network parameters, different neuron models."""
        asg = as_assignment(assignment)
        models = asg.resolve(connectome, self.neurons)
        return replace(self, models=tuple(models[n] for n in self.neurons), assignment=asg)

    def model_counts(self) -> dict[str, int]:
        """``{model label: number of neurons}``."""
        out: dict[str, int] = {}
        for m in self.models:
            out[m.label] = out.get(m.label, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        """Counts that describe the network."""
        sv = self.sign_values()
        chem_sign = sv[self.chem_pre] if len(self.chem_pre) else np.zeros(0)
        assumed = [s not in ("excitatory", "inhibitory") for s in self.signs]
        return {
            "dataset": self.dataset,
            "neurons": self.n_neurons,
            "muscles": self.n_muscles,
            "models": self.model_counts(),
            "chemical_pairs": int(len(self.chem_pre)),
            "chemical_contacts": int(self.chem_contacts.sum()),
            "chemical_excitatory_pairs": int((chem_sign > 0).sum()),
            "chemical_inhibitory_pairs": int((chem_sign < 0).sum()),
            "chemical_pairs_with_assumed_sign": int(sum(assumed[a] for a in self.chem_pre)),
            "gap_pairs": int(len(self.gap_a)),
            "gap_contacts": int(self.gap_contacts.sum()),
            "nmj_pairs": int(len(self.nmj_pre)),
            "multipliers_set": sorted(k for k in self.params if k.startswith("mult.")),
            "connection_scales_set": sorted(k for k in self.params
                                            if k.startswith(CONN_PREFIX)),
        }
