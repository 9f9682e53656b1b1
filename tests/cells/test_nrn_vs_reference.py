"""NEURON single-compartment cells against the scipy reference of the same equations."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("neuron")

from celegans.cells import cell_from_parameters, list_cells, load_cell  # noqa: E402
from celegans.nrn.hh_cell import (  # noqa: E402
    build_hh_section,
    run_current_clamp,
    simulate_hh_current_clamp,
)
from celegans.parameters import Parameter, ParameterSet  # noqa: E402
from celegans.protocols import CurrentClamp  # noqa: E402
from celegans.reference import simulate_current_clamp_reference  # noqa: E402

STEPS = {"HH1952": (0.0, 100.0)}  # pA; default below


@pytest.mark.parametrize("name", list_cells())
def test_current_clamp_rmse_below_1mV(name):
    cell = load_cell(name)
    amps = STEPS.get(name, (-10.0, 20.0))
    protocol = CurrentClamp(amps, 50.0, 200.0, 300.0)
    nrn = simulate_hh_current_clamp(cell, protocol, dt_ms=0.025)
    # HH spikes repetitively (non-stiff): LSODA is much faster there than BDF
    method = "LSODA" if name == "HH1952" else "BDF"
    t, v_ref = simulate_current_clamp_reference(cell, protocol, dt_ms=0.025, method=method)
    v_nrn = nrn.v[:, 0, :]
    assert v_nrn.shape == v_ref.shape and np.all(np.isfinite(v_ref))
    rmse = np.sqrt(np.mean((v_nrn - v_ref) ** 2, axis=1))
    assert np.all(rmse < 1.0), f"{name}: RMSE {rmse} mV"
    # the protocol really moves the cell (a test that could fail)
    assert np.ptp(v_ref[1]) > 5.0


def _passive_cell(C_pF=5.0, g_nS=0.5, E=-60.0, area=37.0):
    ps = ParameterSet(name="passive_test", meta={"channels": ["leak"], "calcium": "none"})
    for k, v, u in (("C_pF", C_pF, "pF"), ("area_um2", area, "um2"), ("volume_um3", 1.0, "um3"),
                    ("v_init", E, "mV"), ("E_leak", E, "mV"), ("g_leak", g_nS, "nS")):
        ps.add(Parameter(k, v, u, source="test"))
    return cell_from_parameters(ps)


def test_unit_conversion_exact_passive():
    """pF, nS, pA -> NEURON densities: a passive cell charges with tau = C/g to V_inf = I/g."""
    C, g, E, amp = 5.0, 0.5, -60.0, 3.0
    cell = _passive_cell(C, g, E)
    protocol = CurrentClamp((amp,), 10.0, 110.0, 110.0)
    res = simulate_hh_current_clamp(cell, protocol, dt_ms=0.01)
    t = res.time_ms
    v = res.v[0, 0]
    on = t >= 10.0
    expected = E + amp / g * (1 - np.exp(-(t[on] - 10.0) / (C / g)))
    np.testing.assert_allclose(v[on], expected, atol=2e-3)
    np.testing.assert_allclose(v[~on], E, atol=1e-9)


def test_overrides_change_the_section():
    sec = build_hh_section("RMD", overrides={"g_shl1": 0.0, "shl1.va": 0.0}, name="rmd_ovr")
    seg = sec(0.5)
    assert seg.ce_shl1.g == 0.0 and seg.ce_shl1.va == 0.0
    area = load_cell("RMD").values["area_um2"]
    assert seg.area() == pytest.approx(area, rel=1e-12)
    assert seg.ce_egl19.g_slo1 == pytest.approx(0.1 * 0.3 / area)  # slo1_egl19 0.3 nS
    assert sec.cm == pytest.approx(100 * 1.2 / area)


def test_run_current_clamp_holding_and_record():
    sec = build_hh_section("AWCon", name="awc_rec")
    protocol = CurrentClamp((0.0,), 10.0, 20.0, 60.0, holding_pA=-5.0)
    t, data = run_current_clamp(sec, protocol, 0.025, record=("v", "cai"))
    assert data["v"].shape == (1, t.size) and t[-1] == pytest.approx(60.0)
    assert data["v"][0, -1] < data["v"][0, 0] - 2.0  # holding current hyperpolarises
    assert np.all(data["cai"] > 0)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_cells())
def test_long_current_clamp_rmse_below_1mV(name):
    """Longer protocol (1 s, four steps including large ones) at dt = 0.025 ms; HH1952 fires
    ~40 spikes per sweep there, and the accumulated spike-phase drift needs dt = 0.0125 ms
    (at 0.025 ms its RMSE is ~1.4 mV)."""
    cell = load_cell(name)
    amps = (0.0, 50.0, 100.0, 150.0) if name == "HH1952" else (-15.0, 5.0, 15.0, 30.0)
    protocol = CurrentClamp(amps, 100.0, 700.0, 1000.0)
    dt = 0.0125 if name == "HH1952" else 0.025
    v_nrn = simulate_hh_current_clamp(cell, protocol, dt_ms=dt).v[:, 0, :]
    method = "LSODA" if name == "HH1952" else "BDF"
    _, v_ref = simulate_current_clamp_reference(cell, protocol, dt_ms=dt, method=method)
    rmse = np.sqrt(np.mean((v_nrn - v_ref) ** 2, axis=1))
    assert np.all(rmse < 1.0), f"{name}: RMSE {rmse} mV"
