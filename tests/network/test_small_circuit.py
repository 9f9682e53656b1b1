"""A known small circuit in NEURON behaves as the network equations say (scipy references)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

pytest.importorskip("neuron")
from toy_connectome import make_connectome  # noqa: E402

from celegans.network import NetworkSpec  # noqa: E402
from celegans.nrn.network import NrnNetwork, simulate_network_nrn  # noqa: E402

C, GL, EL = 1.5, 0.05, -35.0
PASSIVE = {"default": "passive", "params": {"passive": {"g_L": GL, "C": C, "E_L": EL}}}


def two_cells(sign_a, tx_a, chemical=None, gap=None, nm=None):
    return make_connectome([("A", "A", "inter", sign_a, tx_a),
                            ("B", "B", "inter", "excitatory", ["Acetylcholine"])],
                           chemical=chemical, gap=gap, neuron_muscle=nm)


def test_gap_junction_matches_linear_solution():
    c = two_cells("excitatory", ["Acetylcholine"], gap=[[0, 3], [3, 0]])
    spec = NetworkSpec.from_connectome(c, PASSIVE, {"g_gap_contact": 0.1}, muscles=False)
    assert spec.gap_g.tolist() == pytest.approx([0.3])
    dt, amp = 0.01, 2.0
    r = simulate_network_nrn(spec, 60.0, dt_ms=dt, inputs={"A": amp}, record_dt_ms=0.5)
    g = 0.3
    # x = V - E_L; C x' = A x + b
    a = np.array([[-GL - g, g], [g, -GL - g]]) / C
    b = np.array([amp, 0.0]) / C
    xs = np.linalg.solve(a, -b)  # steady state
    ana = np.array([xs - expm(a * t) @ xs for t in r.time_ms]).T + EL
    err = np.abs(r.data["v"][0] - ana).max()
    assert err < 0.05, err
    # the coupled cell is depolarised, less than the driven one
    assert r.trace("A")[0, -1] > r.trace("B")[0, -1] > EL + 1.0


def _chemical_reference(spec, amp, t_eval):
    p = spec.params
    g = float(spec.chem_g[0])
    e = float(spec.chem_E[0])

    def sinf(v):
        return 1.0 / (1.0 + np.exp(-(v - p["syn_V_th"]) / p["syn_Delta"]))

    def rhs(t, y):
        va, s, vb = y
        return [(-GL * (va - EL) + amp) / C, (sinf(va) - s) / p["tau_syn"],
                (-GL * (vb - EL) - g * s * (vb - e)) / C]

    sol = solve_ivp(rhs, (0, t_eval[-1]), [EL, sinf(EL), EL], t_eval=t_eval, rtol=1e-9,
                    atol=1e-9)
    return sol.y


@pytest.mark.parametrize("sign, tx, params, direction", [
    ("excitatory", ["Acetylcholine"], {}, +1),
    ("inhibitory", ["GABA"], {}, -1),
    ("ambiguous", ["Glutamate"], {"glutamate_sign": -1.0}, -1),
    ("ambiguous", ["Glutamate"], {"glutamate_sign": 1.0}, +1),
])
def test_graded_chemical_synapse_matches_scipy(sign, tx, params, direction):
    c = two_cells(sign, tx, chemical=[[0, 4], [0, 0]])
    spec = NetworkSpec.from_connectome(c, PASSIVE, params, muscles=False)
    assert len(spec.chem_pre) == 1 and spec.chem_g[0] == pytest.approx(0.4)
    expected_e = spec.params["E_exc"] if direction > 0 else spec.params["E_inh"]
    assert spec.chem_E[0] == pytest.approx(expected_e)
    amp = 0.5  # pA into A: 10 mV depolarisation at steady state
    r = simulate_network_nrn(spec, 150.0, dt_ms=0.01, inputs={"A": amp}, record=("v", "s"),
                             record_cells=["A", "B", "A->B"], record_dt_ms=0.5)
    ref = _chemical_reference(spec, amp, r.time_ms)
    assert np.abs(r.trace("A")[0] - ref[0]).max() < 0.01
    assert np.abs(r.trace("B")[0] - ref[2]).max() < 0.05
    assert np.isnan(r.trace("A", "s")).all()  # a neuron has no variable s
    assert np.abs(r.trace("A->B", "s")[0] - ref[1]).max() < 1e-3
    # the synapse pulls B towards its reversal
    assert np.sign(r.trace("B")[0, -1] - EL) == direction


def test_muscle_activation_matches_scipy():
    nm = np.zeros((2, 95))
    nm[0, 3] = 10  # A -> MDL04
    c = two_cells("excitatory", ["Acetylcholine"], nm=nm)
    spec = NetworkSpec.from_connectome(c, PASSIVE)
    mp, p = spec.muscle_params, spec.params
    g, e = float(spec.nmj_g[0]), float(spec.nmj_E[0])
    amp = 0.6
    r = simulate_network_nrn(spec, 200.0, dt_ms=0.01, inputs={"A": amp}, record=("v", "a"),
                             record_dt_ms=1.0)

    def sinf(v):
        return 1.0 / (1.0 + np.exp(-(v - p["syn_V_th"]) / p["syn_Delta"]))

    def target(v):
        return np.clip((v - mp["V_rest"]) / (mp["V_sat"] - mp["V_rest"]), 0, 1)

    def rhs(t, y):
        va, s, vm, a = y
        return [(-GL * (va - EL) + amp) / C, (sinf(va) - s) / p["tau_syn"],
                (-mp["g_L"] * (vm - mp["E_L"]) - g * s * (vm - e)) / mp["C"],
                (target(vm) - a) / mp["tau_act"]]

    vm0 = (mp["g_L"] * mp["E_L"] + g * sinf(EL) * e) / (mp["g_L"] + g * sinf(EL))
    sol = solve_ivp(rhs, (0, 200), [EL, sinf(EL), mp["E_L"], target(mp["E_L"])],
                    t_eval=r.time_ms, rtol=1e-9, atol=1e-9)
    assert vm0 > mp["E_L"]  # tonic input at rest
    assert np.abs(r.trace("MDL04", "a")[0] - sol.y[3]).max() < 2e-3
    assert r.trace("MDL04", "a")[0, -1] > 0.2
    others = [m for m in spec.muscles if m != "MDL04"]
    assert np.all(r.trace(others[0], "a") == 0)


def test_stepping_interface_equals_batch_run():
    c = two_cells("excitatory", ["Acetylcholine"], chemical=[[0, 2], [1, 0]], gap=[[0, 1], [1, 0]])
    spec = NetworkSpec.from_connectome(c, PASSIVE, muscles=True)
    dt = 0.025
    schedule = np.zeros((2, 40))  # per 1-ms block, pA
    schedule[0, 5:20] = 1.0
    schedule[1, 25:35] = -0.5
    per_step = np.repeat(schedule, 40, axis=1)
    r = simulate_network_nrn(spec, 40.0, dt_ms=dt, inputs={"A": per_step[0], "B": per_step[1]},
                             record_dt_ms=1.0)
    batch_v = r.data["v"][0, :2, 1:]
    batch_a = r.data["v"][0, 2:, 1:]
    del r
    net = NrnNetwork(spec, dt_ms=dt)
    net.reset()
    vs, acts = [], []
    for k in range(40):
        net.advance(k + 1.0, schedule[:, k])
        vs.append(net.voltages())
        acts.append(net.muscle_activation())
    assert np.abs(np.array(vs).T - batch_v).max() < 1e-9
    assert np.array(acts).shape == (40, 95)
    assert np.all((np.array(acts) >= 0) & (np.array(acts) <= 1))
    assert net.t_ms == pytest.approx(40.0)
    assert batch_a.shape[0] == 95
