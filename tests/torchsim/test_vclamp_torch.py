"""Voltage clamp in the torch backend: NEURON's SEClamp reproduced, batched, same layout."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp, VoltageClamp
from celegans.simulate import simulate_cell
from celegans.torchsim.cell import simulate_cell_torch
from celegans.torchsim.device import TorchSimError

PR = VoltageClamp((-80.0, -20.0, 10.0), t_on_ms=2.0, t_off_ms=8.0, duration_ms=10.0,
                  holding_mV=-65.0)


def _rel_rmse(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.sqrt(np.mean((a - b) ** 2)) / max(np.ptp(b), 1e-12))


def test_vclamp_layout_and_physics():
    r = simulate_cell_torch("passive", {"g_L": [0.01, 0.05]}, PR, dt_ms=0.025,
                            record=("v", "i"), device="cpu")
    assert r.v.shape == (2, 3, 1, 401) and r.data["i"].shape == (2, 3, 1, 401)
    assert r.failed.shape == (2,) and not r.failed.any()
    i = r.data["i"]
    assert np.all(i[..., 0] == 0.0)  # NEURON records the clamp current as 0 at t = 0
    # the voltage follows the command (series resistance 1 kOhm)
    np.testing.assert_allclose(r.v[:, :, 0, 200], [[-80.0, -20.0, 10.0]] * 2, atol=1e-3)
    # steady state: the clamp supplies the leak current g_L (V - E_L), E_L = -35 mV (default)
    from celegans.models import get_model

    e_l = get_model("passive").default_parameters()["E_L"].value
    for b, g in enumerate((0.01, 0.05)):
        expected = g * (np.array([-80.0, -20.0, 10.0]) - e_l)
        np.testing.assert_allclose(i[b, :, 0, 300], expected, rtol=1e-3)


def test_vclamp_unbatched_and_record_errors():
    r = simulate_cell_torch("hh", None, PR, dt_ms=0.025, cell="HH1952", record=("i",),
                            device="cpu")
    assert r.data["i"].shape == (3, 1, 401) and r.failed.shape == ()
    with pytest.raises(TorchSimError, match="VoltageClamp"):
        simulate_cell_torch("passive", None, CurrentClamp((1.0,), 1.0, 2.0, 3.0), dt_ms=0.1,
                            record=("i",), device="cpu")


neuron = pytest.importorskip("neuron")


@pytest.mark.parametrize("model, opts, params", [
    ("hh", {"cell": "HH1952"}, {"g_hh_na": [1200.0, 900.0], "g_hh_k": [360.0, 300.0]}),
    ("hh", {"cell": "RMD"}, None),
    ("morris_lecar", {}, None),
])
def test_vclamp_agrees_with_neuron(model, opts, params):
    rn = simulate_cell(model, params, PR, backend="neuron", dt_ms=0.025, record=("v", "i"),
                       **opts)
    rt = simulate_cell(model, params, PR, backend="torch", dt_ms=0.025, record=("v", "i"),
                       device="cpu", **opts)
    assert rt.data["i"].shape == rn.data["i"].shape
    np.testing.assert_allclose(rt.time_ms, rn.time_ms)
    assert np.sqrt(np.mean((rt.v - rn.v) ** 2)) < 1e-3
    assert _rel_rmse(rt.data["i"], rn.data["i"]) < 1e-4
    assert np.ptp(rn.data["i"]) > 1.0  # the protocol evoked clamp currents


@pytest.mark.slow
def test_vclamp_compiled_equals_eager(monkeypatch):
    from celegans.torchsim import native_hh

    monkeypatch.setattr(native_hh, "ENABLED", False)  # the compiled torch step itself
    params = {"g_hh_na": [1200.0, 900.0]}
    eager = simulate_cell_torch("hh", params, PR, 0.025, cell="HH1952", record=("v", "i"),
                                device="cpu")
    comp = simulate_cell_torch("hh", params, PR, 0.025, cell="HH1952", record=("v", "i"),
                               device="cpu", compile=True, chunk=10)
    np.testing.assert_allclose(comp.data["i"], eager.data["i"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(comp.v, eager.v, atol=1e-9)
