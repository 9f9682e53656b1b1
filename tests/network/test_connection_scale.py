"""Per-connection scales ``conn.<kind>.<pre>.<post>``: one connection changes, nothing else;
both backends simulate the scaled network as if its contacts had been scaled; clear errors."""

import pickle

import numpy as np
import pytest
from toy_connectome import make_connectome

from celegans.network import NetworkError, NetworkSpec
from celegans.network.spec import connection_name

PASSIVE = {"default": "passive", "params": {"passive": {"g_L": 0.05, "C": 1.5, "E_L": -35.0}}}
ACH = ("excitatory", ["Acetylcholine"])
# L and R are one class "A"; B and C are their own classes
NEURONS = [("AL", "A", "inter", *ACH), ("AR", "A", "inter", *ACH),
           ("B", "B", "motor", *ACH), ("C", "C", "motor", *ACH)]
CHEM = [[0, 0, 2, 1],      # AL -> B (2), AL -> C (1)
        [0, 0, 3, 0],      # AR -> B (3)
        [0, 0, 0, 0],
        [0, 0, 0, 0]]
GAP = [[0, 0, 1, 0], [0, 0, 2, 0], [1, 2, 0, 0], [0, 0, 0, 0]]


def toy(chem=CHEM, gap=GAP):
    nm = np.zeros((4, 95))
    nm[2, 0], nm[2, 1], nm[3, 0] = 2, 1, 1            # B -> MDL01, MDL02; C -> MDL01
    return make_connectome(NEURONS, chemical=chem, gap=gap, neuron_muscle=nm)


def spec_of(params=None, chem=CHEM, gap=GAP):
    return NetworkSpec.from_connectome(toy(chem, gap), PASSIVE, params or {})


def entry(spec, kind, pre, post):
    if kind == "chemical":
        pairs = zip(spec.chem_pre, spec.chem_post, strict=True)
        want = (spec.index(pre), spec.index(post))
    elif kind == "gap":
        pairs = zip(spec.gap_a, spec.gap_b, strict=True)
        want = tuple(sorted((spec.index(pre), spec.index(post))))
    else:
        pairs = zip(spec.nmj_pre, spec.nmj_muscle, strict=True)
        want = (spec.index(pre), spec.muscles.index(post))
    return [tuple(int(x) for x in p) for p in pairs].index(want)


@pytest.mark.parametrize("kind, pre, post, attr", [
    ("chemical", "AL", "B", "chem_g"),
    ("gap", "AR", "B", "gap_g"),
    ("nmj", "B", "MDL02", "nmj_g"),
])
def test_scale_changes_exactly_one_connection(kind, pre, post, attr):
    base = spec_of()
    name = connection_name(kind, pre, post)
    scaled = base.with_params({name: 2.5})
    g0, g1 = getattr(base, attr), getattr(scaled, attr)
    k = entry(base, kind, pre, post)
    assert g1[k] == pytest.approx(2.5 * g0[k])
    others = np.arange(g0.size) != k
    assert np.array_equal(g1[others], g0[others])
    # the other kinds are untouched
    for a in {"chem_g", "gap_g", "nmj_g"} - {attr}:
        assert np.array_equal(getattr(base, a), getattr(scaled, a))
    assert scaled.summary()["connection_scales_set"] == [name]


def test_scale_composes_with_class_multiplier():
    s = spec_of({"mult.chemical.A.B": 2.0, "conn.chemical.AL.B": 0.5})
    base = spec_of()
    al, ar = entry(s, "chemical", "AL", "B"), entry(s, "chemical", "AR", "B")
    assert s.chem_g[al] == pytest.approx(base.chem_g[al] * 2.0 * 0.5)
    assert s.chem_g[ar] == pytest.approx(base.chem_g[ar] * 2.0)


def test_connection_names_lists_existing_connections():
    s = spec_of()
    assert s.connection_names(("chemical",)) == ["conn.chemical.AL.B", "conn.chemical.AL.C",
                                                 "conn.chemical.AR.B"]
    assert s.connection_names(("gap",), neurons=["AL", "B"]) == ["conn.gap.AL.B"]
    assert s.connection_names(("nmj",), neurons=["C"]) == ["conn.nmj.C.MDL01"]
    with pytest.raises(NetworkError, match="unknown"):
        s.connection_names(("electrical",))


@pytest.mark.parametrize("name, match", [
    ("conn.chemical.AL.XX", "unknown neuron 'XX'"),
    ("conn.chemical.B.AL", "no chemical contacts"),
    ("conn.gap.B.AL", "sorted: 'conn.gap.AL.B'"),
    ("conn.gap.AL.C", "no gap contacts"),
    ("conn.nmj.B.MXX01", "unknown muscle"),
    ("conn.nmj.AL.MDL01", "no nmj contacts"),
    ("conn.chemical.AL", "expected conn.<chemical|gap|nmj>"),
    ("conn.dense.AL.B", "expected conn.<chemical|gap|nmj>"),
])
def test_bad_names_give_clear_errors(name, match):
    with pytest.raises(NetworkError, match=match):
        spec_of({name: 2.0})
    with pytest.raises(NetworkError, match=match):
        spec_of().with_params({name: 2.0})


def test_negative_scale_rejected():
    with pytest.raises(NetworkError, match="negative"):
        spec_of({"conn.chemical.AL.B": -1.0})


def test_left_out_neuron_is_accepted_and_inert():
    c = toy()
    s = NetworkSpec.from_connectome(c, PASSIVE, {"conn.chemical.AL.B": 3.0},
                                    neurons=["AR", "B", "C"])
    ref = NetworkSpec.from_connectome(c, PASSIVE, {}, neurons=["AR", "B", "C"])
    assert s.omitted == ("AL",)
    assert np.array_equal(s.chem_g, ref.chem_g)
    back = pickle.loads(pickle.dumps(s))
    assert back.params["conn.chemical.AL.B"] == 3.0 and np.array_equal(back.chem_g, s.chem_g)


def _scaled_contacts():
    """The connectome whose contacts equal the scaled network: AL->B x3, AR-B gap x0.5."""
    chem = np.array(CHEM, float)
    chem[0, 2] *= 3.0
    gap = np.array(GAP, float)
    gap[1, 2] = gap[2, 1] = gap[1, 2] * 0.5
    return chem, gap


SCALES = {"conn.chemical.AL.B": 3.0, "conn.gap.AR.B": 0.5}


@pytest.mark.parametrize("backend", ["neuron", "torch"])
def test_backends_honour_connection_scales(backend):
    if backend == "neuron":
        pytest.importorskip("neuron")
    else:
        pytest.importorskip("torch")
    from celegans.simulate import simulate_network

    chem, gap = _scaled_contacts()
    kw = {"dt_ms": 0.05, "inputs": {"AL": 3.0, "AR": 1.0}, "record_cells": ["AL", "AR", "B", "C"],
          "record_dt_ms": 1.0}
    if backend == "torch":
        kw["dtype"] = __import__("torch").float64
        kw["device"] = "cpu"
    base = simulate_network(spec_of(), 80.0, backend=backend, **kw)
    scaled = simulate_network(spec_of(SCALES), 80.0, backend=backend, **kw)
    contacts = simulate_network(spec_of(chem=chem, gap=gap), 80.0, backend=backend, **kw)
    vb = {n: r.trace("B")[0] for n, r in
          (("base", base), ("scaled", scaled), ("contacts", contacts))}
    # the scaled network is the contact-scaled network ...
    assert np.abs(vb["scaled"] - vb["contacts"]).max() < 1e-6
    assert np.abs(scaled.trace("C")[0] - contacts.trace("C")[0]).max() < 1e-6
    # ... and differs from the unscaled one where the scaled connections act
    assert np.abs(vb["scaled"] - vb["base"]).max() > 0.05
