"""Reduced models in NEURON against analytic and scipy solutions of docs/architecture.md."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from celegans.models import ModelError, get_model
from celegans.protocols import CurrentClamp, VoltageClamp

pytest.importorskip("neuron")
from celegans.nrn.cell import simulate_cell_nrn  # noqa: E402


def test_passive_step_matches_analytic():
    cc = CurrentClamp((0.1, 0.2), 10.0, 60.0, 100.0)
    r = simulate_cell_nrn("passive", {"g_L": 0.05, "C": 1.5}, cc, dt_ms=0.025)
    assert r.v.shape == (2, 1, 4001)
    t = r.time_ms
    tau = 1.5 / 0.05
    for s, amp in enumerate((0.1, 0.2)):
        on = np.clip(t - 10.0, 0, 50.0)
        ana = -35.0 + amp / 0.05 * (1 - np.exp(-on / tau))
        ana = np.where(t > 60, -35 + (ana[t <= 60][-1] + 35) * np.exp(-(t - 60) / tau), ana)
        assert np.abs(r.v[s, 0] - ana).max() < 0.01


def test_passive_voltage_clamp_current_is_leak():
    vc = VoltageClamp((-20.0, -50.0), 10.0, 60.0, 80.0, holding_mV=-35.0)
    r = simulate_cell_nrn("passive", {"g_L": 0.05}, vc, dt_ms=0.025, record=("v", "i"))
    mid = (r.time_ms > 30) & (r.time_ms < 59)
    assert np.abs(r.v[:, 0, mid] - np.array([[-20.0], [-50.0]])).max() < 1e-3
    assert np.abs(r.data["i"][:, 0, mid] - np.array([[0.75], [-0.75]])).max() < 1e-3


def test_morris_lecar_matches_scipy():
    m = get_model("morris_lecar")
    p = m.parameters()
    cc = CurrentClamp((2.0,), 20.0, 120.0, 150.0)
    dt = 0.005
    r = simulate_cell_nrn("morris_lecar", None, cc, dt_ms=dt, record=("v", "w"))

    def rhs(t, y):
        v, w = y
        i_inj = 2.0 if 20.0 <= t < 120.0 else 0.0
        minf = 0.5 * (1 + np.tanh((v - p["V1"]) / p["V2"]))
        winf = 0.5 * (1 + np.tanh((v - p["V3"]) / p["V4"]))
        tw = p["tau_w0"] / np.cosh((v - p["V3"]) / (2 * p["V4"]))
        dv = (-p["g_Ca"] * minf * (v - p["E_Ca"]) - p["g_K"] * w * (v - p["E_K"])
              - p["g_L"] * (v - p["E_L"]) + i_inj) / p["C"]
        return [dv, (winf - w) / tw]

    v0 = p["E_L"]
    w0 = 0.5 * (1 + np.tanh((v0 - p["V3"]) / p["V4"]))
    sol = solve_ivp(rhs, (0, 150), [v0, w0], t_eval=r.time_ms, rtol=1e-8, atol=1e-10,
                    max_step=0.5)
    assert np.abs(r.v[0, 0] - sol.y[0]).max() < 0.3
    assert np.abs(r.data["w"][0, 0] - sol.y[1]).max() < 0.01
    assert r.v[0, 0].max() - r.v[0, 0].min() > 5  # the step does move the cell


def test_glif_spike_times_match_analytic_lif():
    over = {"a_1": 0.0, "a_2": 0.0, "g_L": 0.1, "C": 1.5, "E_L": -65.0, "V_reset": -65.0,
            "V_th": -50.0, "t_ref": 2.0}
    amp = 3.0
    cc = CurrentClamp((amp,), 0.0, 100.0, 100.0)
    dt = 0.01
    r = simulate_cell_nrn("glif", over, cc, dt_ms=dt, record=("v", "nspikes"))
    n = r.data["nspikes"][0, 0]
    times = r.time_ms[1:][np.diff(n) > 0]
    tau = 1.5 / 0.1
    t_star = -tau * np.log(1 - 15.0 * 0.1 / amp)
    expect = t_star + np.arange(len(times)) * (t_star + 2.0)
    assert len(times) == int((100 - t_star) // (t_star + 2.0)) + 1
    assert np.abs(times - expect).max() < 3 * dt * len(times)
    assert r.v[0, 0].max() < -50.0 + 0.05  # at most one step past threshold, then reset


def test_glif_after_spike_currents_adapt():
    cc = CurrentClamp((3.0,), 0.0, 200.0, 200.0)
    base = simulate_cell_nrn("glif", {"a_1": 0.0, "a_2": 0.0}, cc, record=("nspikes",))
    adapt = simulate_cell_nrn("glif", {"a_1": 1.0, "a_2": 0.2}, cc, record=("nspikes", "I1"))
    assert adapt.data["nspikes"][0, 0, -1] < base.data["nspikes"][0, 0, -1]
    assert adapt.data["I1"].max() > 0.9e-3  # nA


def test_batch_params_loop_and_shapes():
    cc = CurrentClamp((0.1,), 5.0, 15.0, 20.0)
    r = simulate_cell_nrn("passive", {"g_L": np.array([0.02, 0.05, 0.1])}, cc, dt_ms=0.05)
    assert r.v.shape == (3, 1, 1, 401)
    assert r.failed.shape == (3,) and not r.failed.any()
    peak = r.v[:, 0, 0, :].max(axis=1)
    assert peak[0] > peak[1] > peak[2]


def test_cell_errors():
    cc = CurrentClamp((0.1,), 5.0, 15.0, 20.0)
    with pytest.raises(ModelError, match="unknown parameter"):
        simulate_cell_nrn("passive", {"gl": 1.0}, cc)
    with pytest.raises(ModelError, match="needs a VoltageClamp"):
        simulate_cell_nrn("passive", None, cc, record=("i",))
    with pytest.raises(ModelError, match="no recordable variable 'zz'"):
        simulate_cell_nrn("passive", None, cc, record=("zz",))
    with pytest.raises(ModelError, match="V_reset"):
        simulate_cell_nrn("glif", {"V_reset": -40.0, "V_th": -50.0}, cc)
