"""Shared fixtures: a tiny hand-made connectome (no dataset files needed)."""

import pytest
from toy_connectome import make_connectome


@pytest.fixture
def toy():
    return make_connectome([
        ("AVAL", "AVA", "inter", "excitatory", ["Acetylcholine"]),
        ("AVAR", "AVA", "inter", "excitatory", ["Acetylcholine"]),
        ("DD1", "DD", "motor", "inhibitory", ["GABA"]),
        ("VB1", "VB", "motor", "excitatory", ["Acetylcholine"]),
        ("ASEL", "ASE", "sensory", "ambiguous", ["Glutamate"]),
    ])
