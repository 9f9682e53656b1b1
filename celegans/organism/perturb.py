"""Perturbations of the wiring: ablations, removed junction kinds, scaled class connections.

Ablated neurons are left out of the :class:`~celegans.network.NetworkSpec` (with all their
synapses); removed or scaled connections change the contact arrays of the spec, so every
backend sees the same perturbed network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from celegans.network import NetworkSpec
from celegans.organism.errors import OrganismError

KINDS = ("chemical", "gap", "nmj")


@dataclass(frozen=True)
class ConnectionScale:
    """Multiply the contacts of ``kind`` connections from class ``pre`` (``*`` = any) to class
    ``post`` (``*`` = any; muscles are class ``BWM``) by ``factor``."""

    kind: str
    pre: str
    post: str
    factor: float

    @classmethod
    def parse(cls, text: str) -> ConnectionScale:
        """``"chemical:AVB:VB=2"``, ``"gap:AVB=0"`` (post = any), ``"nmj:DD:*=0.5"``."""
        try:
            lhs, rhs = text.split("=")
            parts = lhs.split(":")
            factor = float(rhs)
        except ValueError:
            raise OrganismError(f"scale: expected KIND:PRE[:POST]=FACTOR, got {text!r}") from None
        if len(parts) not in (2, 3):
            raise OrganismError(f"scale: expected KIND:PRE[:POST]=FACTOR, got {text!r}")
        post = parts[2] if len(parts) == 3 else "*"
        return cls(parts[0], parts[1], post, factor)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise OrganismError(f"scale: kind {self.kind!r} not one of {KINDS}")
        if not (np.isfinite(self.factor) and self.factor >= 0):
            raise OrganismError(f"scale: factor must be finite and >= 0, got {self.factor}")


@dataclass
class Perturbation:
    """What to change in the wiring before simulating.

    ``ablate``: neuron or class names removed; ``remove``: junction kinds removed entirely
    (``chemical``, ``gap``, ``nmj``); ``scale``: class-level contact multipliers.
    """

    ablate: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    scale: tuple[ConnectionScale, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.ablate = tuple(self.ablate)
        self.remove = tuple(self.remove)
        bad = [k for k in self.remove if k not in KINDS]
        if bad:
            raise OrganismError(f"remove: unknown connection kinds {bad}; expected {KINDS}")
        self.scale = tuple(s if isinstance(s, ConnectionScale) else ConnectionScale.parse(str(s))
                           for s in self.scale)

    @property
    def empty(self) -> bool:
        return not (self.ablate or self.remove or self.scale)

    def describe(self) -> dict:
        return {"ablate": list(self.ablate), "remove": list(self.remove),
                "scale": [f"{s.kind}:{s.pre}:{s.post}={s.factor:g}" for s in self.scale]}


def resolve_ablation(connectome, names: Sequence[str]) -> list[str]:
    """Neuron names for a list of neuron or class names (errors name unknown entries)."""
    classes: dict[str, list[str]] = {}
    for n in connectome.neurons:
        classes.setdefault(connectome.neuron(n).cls, []).append(n)
    out: list[str] = []
    for name in names:
        if name in classes:
            out.extend(classes[name])
        elif name in connectome.neurons:
            out.append(name)
        else:
            raise OrganismError(f"ablate: {name!r} is neither a neuron nor a neuron class of "
                                f"{getattr(connectome, 'name', 'the connectome')}")
    return sorted(set(out), key=list(connectome.neurons).index)


def _check_class(spec: NetworkSpec, cls: str, what: str) -> None:
    if cls != "*" and cls not in set(spec.classes) and cls != "BWM":
        raise OrganismError(f"scale: unknown {what} class {cls!r}")


def apply_connection_changes(spec: NetworkSpec, pert: Perturbation) -> NetworkSpec:
    """Spec with junction kinds removed and class connections scaled."""
    arrays = {"chemical": ("chem_pre", "chem_post", "chem_contacts"),
              "gap": ("gap_a", "gap_b", "gap_contacts"),
              "nmj": ("nmj_pre", "nmj_muscle", "nmj_contacts")}
    changes: dict[str, np.ndarray] = {}
    for kind in pert.remove:
        a, b, c = arrays[kind]
        changes[a] = getattr(spec, a)[:0]
        changes[b] = getattr(spec, b)[:0]
        changes[c] = getattr(spec, c)[:0]
    cls = np.array(spec.classes)
    for s in pert.scale:
        _check_class(spec, s.pre, "presynaptic")
        _check_class(spec, s.post, "postsynaptic")
        a, b, c = arrays[s.kind]
        pre = changes.get(a, getattr(spec, a))
        post = changes.get(b, getattr(spec, b))
        contacts = np.array(changes.get(c, getattr(spec, c)), dtype=float)
        if not len(pre):
            continue
        pre_c = cls[pre]
        post_c = np.full(len(post), "BWM", dtype=object) if s.kind == "nmj" else cls[post]
        m_pre = np.ones(len(pre), bool) if s.pre == "*" else pre_c == s.pre
        m_post = np.ones(len(pre), bool) if s.post == "*" else post_c == s.post
        sel = m_pre & m_post
        if s.kind == "gap":  # undirected: either end may be the "pre" class
            m_pre2 = np.ones(len(pre), bool) if s.pre == "*" else post_c == s.pre
            m_post2 = np.ones(len(pre), bool) if s.post == "*" else pre_c == s.post
            sel |= m_pre2 & m_post2
        contacts[sel] *= s.factor
        changes[c] = contacts
        changes[a], changes[b] = pre, post
    return replace(spec, **changes) if changes else spec
