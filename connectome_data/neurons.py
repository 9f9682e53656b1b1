"""Neuron identity: class from name, type, and the synapse-sign rule from transmitters.

Rules here are explicit and tested; nothing is guessed silently.

* Class: the bilateral/radial family a neuron belongs to (White et al. 1986): ``AVAL``/``AVAR`` ->
  ``AVA``; ``RMDDL``/``RMDL``/``RMDVR``… -> ``RMD``; ventral-cord ``VB01``…``VB11`` -> ``VB``.
* Type: ``sensory``, ``inter``, ``motor`` or ``pharyngeal`` (Cook et al. 2019 classification as
  held by ``cect``); the two CAN cells, which Cook et al. leave unclassified, get ``other``.
* Sign of a neuron's chemical synapses from its released fast transmitters (Wang et al. 2024
  atlas): acetylcholine only -> ``excitatory``; GABA only -> ``inhibitory``; glutamate (excitatory
  via AMPA/kainate-like GLR receptors or inhibitory via GluCl channels, depending on the
  postsynaptic cell) -> ``ambiguous``; more than one fast transmitter -> ``ambiguous``; no fast
  transmitter (monoamines only, uptake only, orphan) -> ``unknown``. Uptake (``*_Uptake``) is not
  release and does not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NEURON_TYPES: tuple[str, ...] = ("sensory", "inter", "motor", "pharyngeal", "other")
SIGNS: tuple[str, ...] = ("excitatory", "inhibitory", "ambiguous", "unknown")

ACETYLCHOLINE = "Acetylcholine"
GABA = "GABA"
GLUTAMATE = "Glutamate"
FAST_TRANSMITTERS = (ACETYLCHOLINE, GABA, GLUTAMATE)

SIGN_RULE = {
    "rule": "sign of a neuron's outgoing chemical synapses from its released fast transmitters",
    "acetylcholine_only": "excitatory",
    "gaba_only": "inhibitory",
    "glutamate_only": "ambiguous (GLR cation channels excite, GLC chloride channels inhibit)",
    "more_than_one_fast_transmitter": "ambiguous",
    "no_fast_transmitter": "unknown (monoamine-only, uptake-only or orphan neurons)",
    "uptake_counts_as_release": False,
    "source": "transmitter identity: Wang et al. 2024, eLife 13:RP95402 (NeuroPAL reporter atlas), "
              "via cect Wang2024HermReader; receptor logic: Pereira et al. 2015 eLife 4:e12432 "
              "(ACh), Gendrel et al. 2016 eLife 5:e17686 (GABA), Brockie & Maricq 2006 WormBook "
              "(glutamate)",
}

_VENTRAL_CORD = re.compile(r"^(AS|DA|DB|DD|VA|VB|VC|VD)\d{1,2}$")
# Irregular families the suffix rule cannot see (SAB has a dorsal singleton and a ventral pair).
_CLASS_EXCEPTIONS = {"SABD": "SAB", "SABVL": "SAB", "SABVR": "SAB"}


def neuron_class(name: str, all_names: Iterable[str]) -> str:
    """Class of ``name`` given the full set of neuron names (needed to see its partners)."""
    names = set(all_names)
    if name in _CLASS_EXCEPTIONS:
        return _CLASS_EXCEPTIONS[name]
    m = _VENTRAL_CORD.match(name)
    if m:
        return m.group(1)
    base, stripped_lr = name, False
    lr_partner = base[:-1] + ("R" if base[-1] == "L" else "L")
    if len(base) > 2 and base[-1] in "LR" and lr_partner in names:
        base, stripped_lr = base[:-1], True
    if len(base) > 2 and base[-1] in "DV":
        other = base[:-1] + ("V" if base[-1] == "D" else "D")
        partner_exists = (
            any(other + s in names for s in "LR") if stripped_lr else other in names
        )
        if partner_exists:
            base = base[:-1]
    return base


def fast_transmitters(transmitters: Iterable[str]) -> tuple[str, ...]:
    """The released fast transmitters (ACh, GABA, glutamate) among ``transmitters``."""
    ts = set(transmitters)
    return tuple(t for t in FAST_TRANSMITTERS if t in ts)


def synapse_sign(transmitters: Iterable[str]) -> str:
    """Sign of a neuron's chemical synapses by :data:`SIGN_RULE`."""
    fast = fast_transmitters(transmitters)
    if len(fast) == 0:
        return "unknown"
    if len(fast) > 1:
        return "ambiguous"
    return {ACETYLCHOLINE: "excitatory", GABA: "inhibitory", GLUTAMATE: "ambiguous"}[fast[0]]
