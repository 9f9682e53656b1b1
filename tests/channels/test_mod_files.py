"""The .mod files expose every kinetic constant of the YAML data (single source of numbers)."""

from __future__ import annotations

import re

import pytest

from celegans.channels import MOD_DIR, load_kinetics
from celegans.channels.kinetics import CHANNELS


def _range_names(text: str) -> set[str]:
    names: set[str] = set()
    for line in re.findall(r"^\s*RANGE\s+(.*)$", text, flags=re.M):
        names |= {n.strip() for n in line.split(",") if n.strip()}
    return names


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_mod_declares_all_kinetic_constants(name):
    spec = CHANNELS[name]
    path = MOD_DIR / f"{spec.mechanism}.mod"
    text = re.sub(r"COMMENT.*?ENDCOMMENT", "", path.read_text(), flags=re.S)
    block = re.search(r"NEURON\s*\{(.*?)\}", text, flags=re.S).group(1)
    assert "THREADSAFE" in block and "POINTER" not in block
    assert re.search(rf"SUFFIX\s+{spec.mechanism}\b", text)
    ranges = _range_names(text)
    prefix = f"{spec.group}_" if spec.partner else ""
    for k in load_kinetics(spec.group):
        assert prefix + k in ranges, f"{path.name}: RANGE lacks {prefix + k}"
    if spec.partner:
        for k in load_kinetics("nanodomain"):
            assert f"nd_{k}" in ranges


def test_capool_declares_pool_constants():
    ranges = _range_names((MOD_DIR / "ce_capool.mod").read_text())
    assert set(load_kinetics("ca_pool")) | {"area_um2", "volume_um3"} <= ranges
