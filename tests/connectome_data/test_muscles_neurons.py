"""Muscle naming/order and the neuron class and sign rules."""

from __future__ import annotations

import pytest

from connectome_data.muscles import (
    BODY_WALL_MUSCLES,
    muscle_quadrant,
    muscle_row,
    muscle_side,
    normalise_muscle_name,
)
from connectome_data.neurons import neuron_class, synapse_sign


def test_95_body_wall_muscles_in_named_order():
    assert len(BODY_WALL_MUSCLES) == 95 and len(set(BODY_WALL_MUSCLES)) == 95
    assert BODY_WALL_MUSCLES[0] == "MDL01" and BODY_WALL_MUSCLES[-1] == "MVR24"
    assert "MVL24" not in BODY_WALL_MUSCLES and "MVL23" in BODY_WALL_MUSCLES
    assert muscle_quadrant("MVR07") == "VR" and muscle_row("MDL1") == 1
    assert muscle_side("MDR10") == "dorsal" and muscle_side("MVL10") == "ventral"
    assert normalise_muscle_name("mdl5") == "MDL05"
    assert normalise_muscle_name("MVL24") is None and normalise_muscle_name("pm1") is None
    with pytest.raises(KeyError, match="not a body-wall muscle"):
        muscle_row("MVL24")


@pytest.mark.parametrize("name,cls", [("AVAL", "AVA"), ("RMDDL", "RMD"), ("RMDL", "RMD"),
                                      ("IL1VR", "IL1"), ("RMED", "RME"), ("VB11", "VB"),
                                      ("AS1", "AS"), ("RID", "RID"), ("PVR", "PVR"),
                                      ("SABD", "SAB"), ("AVL", "AVL"), ("M2L", "M2")])
def test_neuron_class_rule(name, cls):
    names = {"AVAL", "AVAR", "RMDDL", "RMDDR", "RMDL", "RMDR", "RMDVL", "RMDVR", "IL1VL",
             "IL1VR", "IL1DL", "IL1DR", "RMED", "RMEV", "VB11", "AS1", "RID", "RIVL", "RIVR",
             "PVR", "SABD", "SABVL", "AVL", "M2L", "M2R"}
    assert neuron_class(name, names) == cls


def test_sign_rule():
    assert synapse_sign(["Acetylcholine"]) == "excitatory"
    assert synapse_sign(["Acetylcholine", "Serotonin"]) == "excitatory"
    assert synapse_sign(["GABA"]) == "inhibitory"
    assert synapse_sign(["Glutamate"]) == "ambiguous"
    assert synapse_sign(["Acetylcholine", "GABA"]) == "ambiguous"
    assert synapse_sign(["GABA_Uptake"]) == "unknown"  # uptake is not release
    assert synapse_sign([]) == "unknown"
