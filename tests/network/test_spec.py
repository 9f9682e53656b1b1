"""NetworkSpec from connectome datasets and hand-made tables: wiring, parameters, errors."""

import pickle

import numpy as np
import pytest
from toy_connectome import make_connectome

from celegans.network import NetworkError, NetworkSpec, default_network_parameters

cd = pytest.importorskip("connectome_data")


@pytest.fixture(scope="module")
def cook():
    return cd.load("cook2019_herm")


@pytest.mark.parametrize("dataset", ["cook2019_herm", "witvliet2021_adult"])
def test_builds_for_datasets(dataset):
    c = cd.load(dataset)
    spec = NetworkSpec.from_connectome(c, "passive")
    s = spec.summary()
    assert s["neurons"] == 302 and s["muscles"] == 95
    # one entry per pair, contacts merged; totals preserved
    assert s["chemical_pairs"] == c.chemical.nnz
    assert s["chemical_contacts"] == int(c.chemical.sum())
    n_gap = (c.gap.nnz - int((c.gap.diagonal() != 0).sum())) // 2
    assert s["gap_pairs"] == n_gap
    assert len(set(zip(spec.chem_pre, spec.chem_post, strict=True))) == len(spec.chem_pre)
    assert np.all(spec.gap_a < spec.gap_b)
    assert s["nmj_pairs"] == c.neuron_muscle.nnz
    assert np.allclose(spec.chem_g, 0.1 * spec.chem_contacts)
    assert spec.muscles == c.muscles


def test_signs_and_reversals(cook):
    spec = NetworkSpec.from_connectome(cook, "passive", {"glutamate_sign": -1.0})
    e = spec.chem_E
    p = spec.params
    for k in range(len(spec.chem_pre)):
        pre = spec.chem_pre[k]
        sign, tx = spec.signs[pre], set(spec.transmitters[pre])
        if sign == "inhibitory" or (sign == "ambiguous" and tx & {"Acetylcholine", "GABA",
                                                                   "Glutamate"} == {"Glutamate"}):
            assert e[k] == p["E_inh"]
        elif sign == "excitatory":
            assert e[k] == p["E_exc"]
    dd = spec.index("DD1")
    assert set(spec.nmj_E[spec.nmj_pre == dd]) == {p["E_inh"]}


def test_swap_models_by_config_keeps_network(cook):
    a = NetworkSpec.from_connectome(cook, {"default": "passive"})
    b = NetworkSpec.from_connectome(cook, {"default": "passive", "classes": {"AVA": "glif"},
                                           "types": {"motor": "morris_lecar"}})
    for f in ("chem_pre", "chem_post", "chem_contacts", "gap_a", "gap_b", "nmj_pre"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert np.array_equal(a.chem_g, b.chem_g)
    changed = {m.neuron: m.model for m, n in zip(b.models, a.models, strict=True)
               if m.model != n.model}
    assert changed["AVAL"] == changed["AVAR"] == "glif"
    assert set(changed) == {"AVAL", "AVAR"} | {n for n, t in zip(b.neurons, b.types, strict=True)
                                                if t == "motor"}
    c = a.with_assignment({"default": "glif"}, cook)
    assert {m.model for m in c.models} == {"glif"} and np.array_equal(c.chem_g, a.chem_g)


def test_multipliers_are_named_parameters(cook):
    spec = NetworkSpec.from_connectome(cook, "passive")
    names = spec.multiplier_names()
    assert "mult.chemical.AVA.AVB" in names and "mult.nmj.DD.BWM" in names
    assert all(n.split(".")[1] in ("chemical", "gap", "nmj") for n in names)
    ps = spec.multiplier_parameters()
    assert len(ps) == len(names) and all(p.value == 1.0 for p in ps.values() and
                                         ps.parameters.values())
    s2 = spec.with_params({"mult.chemical.AVA.AVB": 3.0})
    hit = [k for k in range(len(spec.chem_pre)) if spec.classes[spec.chem_pre[k]] == "AVA"
           and spec.classes[spec.chem_post[k]] == "AVB"]
    ratio = s2.chem_g / spec.chem_g
    assert np.allclose(ratio[hit], 3.0)
    assert np.allclose(np.delete(ratio, hit), 1.0)
    with pytest.raises(NetworkError, match="no such connection"):  # gap classes are sorted
        spec.with_params({"mult.gap.AVB.AVA": 2.0})
    assert "mult.gap.AVA.AVB" in names


def test_pickles(cook):
    spec = NetworkSpec.from_connectome(cook, {"default": "passive", "neurons": {"AVAL": "glif"}})
    back = pickle.loads(pickle.dumps(spec))
    assert back.neurons == spec.neurons and np.array_equal(back.chem_g, spec.chem_g)
    assert back.models[spec.index("AVAL")].model == "glif"


@pytest.mark.parametrize("params, match", [
    ({"g_chem": 1.0}, "unknown network parameter 'g_chem'"),
    ({"g_gap_contact": -0.1}, "conductance -0.1 nS is negative"),
    ({"tau_syn": float("nan")}, "not finite"),
    ({"E_exc": "high"}, "expected a number"),
    ({"mult.chemical.AVA.AVB": -1.0}, "negative"),
    ({"mult.chemical.XXX.AVB": 2.0}, "no such connection"),
    ({"glutamate_sign": 2.0}, "outside bounds"),
])
def test_bad_network_parameters(cook, params, match):
    with pytest.raises(NetworkError, match=match):
        NetworkSpec.from_connectome(cook, "passive", params)


def test_bad_inputs():
    c = make_connectome([("A", "A", "inter", "excitatory", ["Acetylcholine"])])
    with pytest.raises(NetworkError, match="unknown neuron 'Z'"):
        NetworkSpec.from_connectome(c, "passive", neurons=["A", "Z"])
    with pytest.raises(ValueError, match="unknown neuron model"):
        NetworkSpec.from_connectome(c, "nosuch")


def test_default_network_yaml_has_sources():
    ps = default_network_parameters()
    for p in ps.parameters.values():
        assert p.unit and p.source and p.certainty
    assert {"g_chem_contact", "g_gap_contact", "E_exc", "E_inh", "glutamate_sign",
            "tau_syn", "muscle_tau_act"} <= set(ps)
