"""Counts and identities in the shipped tables agree with the published sources."""

from __future__ import annotations

import numpy as np
import pytest

import connectome_data as cd
from connectome_data.muscles import BODY_WALL_MUSCLES


@pytest.fixture(scope="module")
def cook():
    return cd.load("cook2019_herm")


def test_cook2019_counts_match_source(cook):
    s = cook.summary()
    assert s["neurons"] == 302
    assert s["chemical_pairs"] == 3709
    assert s["chemical_contacts"] == 20965
    assert s["gap_entries"] == 2196
    assert s["gap_contacts"] == 11523
    assert s["gap_diagonal_entries"] == 14
    assert s["body_wall_muscles"] == 95
    assert cook.chemical.shape == (302, 302)
    assert cook.neuron_muscle.shape == (302, 95)


def test_gap_junctions_symmetric_and_self_contacts_kept(cook):
    g = cook.gap
    assert (g != g.T).nnz == 0
    diag = {cook.neurons[i] for i in np.nonzero(g.diagonal())[0]}
    assert "RID" in diag and "RIBR" in diag


def test_default_dataset_and_aliases():
    assert cd.load() is cd.load("cook2019_herm")
    assert cd.load("witvliet2021_adult").name == "witvliet2021_8"
    assert cd.load("cook2019").name == "cook2019_herm"


@pytest.mark.parametrize("name", ["witvliet2021_adult", "varshney2011", "white1986_whole",
                                  "witvliet2021_1", "witvliet2021_5"])
def test_other_datasets_load_on_302_neuron_axes(name):
    c = cd.load(name)
    assert c.n_neurons == 302
    assert c.chemical.nnz > 500
    assert (c.gap != c.gap.T).nnz == 0
    assert c.provenance["source_package"] == "cect"


def test_neuron_order_is_alphabetical_and_stated(cook):
    assert list(cook.neurons) == sorted(cook.neurons)
    assert cook.index("AVAL") == list(cook.neurons).index("AVAL")


def test_classes_types_and_signs(cook):
    assert len(cook.classes) == 118  # White et al. 1986
    assert cook.classes["AVA"] == ("AVAL", "AVAR")
    assert set(cook.classes["RMD"]) == {"RMDDL", "RMDDR", "RMDL", "RMDR", "RMDVL", "RMDVR"}
    assert set(cook.classes["SAB"]) == {"SABD", "SABVL", "SABVR"}
    assert len(cook.classes["VB"]) == 11 and len(cook.classes["DD"]) == 6
    assert cook.neuron("RID").cls == "RID"
    types = cook.summary()["types"]
    assert types == {"inter": 81, "motor": 116, "other": 2, "pharyngeal": 20, "sensory": 83}
    assert cook.neuron("DD1").sign == "inhibitory" and "GABA" in cook.neuron("DD1").transmitters
    assert cook.neuron("VB3").sign == "excitatory"
    assert cook.neuron("ASHL").sign == "ambiguous"  # glutamatergic
    assert cook.neuron("CEPDL").sign == "unknown"  # dopamine only


def test_neuron_muscle_matrix_in_named_order(cook):
    assert cook.muscles == BODY_WALL_MUSCLES
    dorsal = np.array([m.startswith("MD") for m in cook.muscles])
    for name, expect_dorsal in (("DB3", True), ("VB3", False), ("DD1", True), ("VD3", False)):
        row = cook.neuron_muscle[cook.index(name)].toarray().ravel()
        assert row.sum() > 0
        assert np.all(dorsal[row > 0] == expect_dorsal), name
    assert cook.neuron_muscle[cook.index("AVAL")].nnz == 0  # interneurons have no NMJs


def test_select_and_graph(cook):
    assert cook.select(classes=["AVA"]) == ["AVAL", "AVAR"]
    motor = cook.select(types=["motor"])
    assert len(motor) == 116
    assert set(cook.select(neurons=["AIYL"], classes=["AVA"])) == {"AIYL", "AVAL", "AVAR"}
    with pytest.raises(KeyError, match="unknown neuron class"):
        cook.select(classes=["NOPE"])
    with pytest.raises(KeyError, match="unknown neuron type"):
        cook.select(types=["glia"])
    g = cook.graph()
    assert g.number_of_nodes() == 302 + 95
    assert g.number_of_edges() == 3709 + 2196 + cook.neuron_muscle.nnz
    assert g.nodes["AVAL"]["cls"] == "AVA"


def test_subnetwork(cook):
    names, chem, gap = cook.subnetwork(["AVAL", "AVAR", "AVBL", "AVBR"])
    assert names == ["AVAL", "AVAR", "AVBL", "AVBR"]
    full = cook.chemical[cook.index("AVAL"), cook.index("AVBL")]
    assert chem[0, 2] == full
    assert (gap != gap.T).nnz == 0


def test_provenance_records_every_table():
    for name in cd.list_datasets():
        prov = cd.load(name).provenance
        assert prov["source_package"] == "cect" and prov["source_package_version"]
        assert prov["source_files"] and len(prov["source_files"][0]["sha256"]) == 64
        assert set(prov["tables"]) == {"chemical.csv", "gap.csv", "neuron_muscle.csv"}
