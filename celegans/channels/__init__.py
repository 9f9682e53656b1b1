"""C. elegans channel library: kinetic constants (YAML data), kinetics (:mod:`.kinetics`) and
NEURON mechanisms (``mod/*.mod``, compiled by :mod:`celegans.nrn.mechanisms`).

``load_kinetics(group)`` returns the :class:`~celegans.parameters.ParameterSet` of one kinetic
group (``celegans/channels/data/<group>.yaml``); ``kinetic_groups()`` lists them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from celegans.channels.kinetics import CHANNELS, ChannelSpec, KineticsError
from celegans.parameters import ParameterSet

DATA_DIR = Path(__file__).resolve().parent / "data"
MOD_DIR = Path(__file__).resolve().parent / "mod"

__all__ = ["CHANNELS", "ChannelSpec", "KineticsError", "DATA_DIR", "MOD_DIR", "kinetic_groups",
           "load_kinetics"]


def kinetic_groups() -> list[str]:
    """Names of all kinetic groups with a data file."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


@cache
def _load(group: str) -> ParameterSet:
    path = DATA_DIR / f"{group}.yaml"
    if not path.exists():
        raise KineticsError(
            f"no kinetic data file for {group!r} ({path}); known: {', '.join(kinetic_groups())}")
    return ParameterSet.load(path)


def load_kinetics(group: str) -> ParameterSet:
    """The kinetic constants of ``group`` (a copy; safe to modify)."""
    ps = _load(group)
    return ParameterSet(dict(ps.parameters), name=ps.name, description=ps.description,
                        meta=dict(ps.meta))


def required_groups(channels: tuple[str, ...] | list[str]) -> list[str]:
    """Kinetic groups a set of channels needs (their own, partners', nanodomain, ca pool)."""
    groups: list[str] = []
    for c in channels:
        spec = CHANNELS[c]
        for g in (spec.group, CHANNELS[spec.partner].group if spec.partner else None):
            if g and g not in groups:
                groups.append(g)
        if spec.partner and "nanodomain" not in groups:
            groups.append("nanodomain")
    for aux in ("ca_pool", "ca_shell"):
        if aux not in groups:
            groups.append(aux)
    return groups
