"""Torch single-cell backend: interface, bad input, failure flags, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from celegans.protocols import CurrentClamp
from celegans.torchsim.cell import simulate_cell_tensors, simulate_cell_torch
from celegans.torchsim.device import TorchSimError, UnstableStepError, resolve_device

PR = CurrentClamp((0.0, 0.5), t_on_ms=5.0, t_off_ms=15.0, duration_ms=20.0)


def test_unbatched_and_batched_shapes():
    r = simulate_cell_torch("passive", None, PR, dt_ms=0.1, device="cpu")
    assert r.v.shape == (2, 1, 201)
    assert r.failed.shape == ()
    np.testing.assert_allclose(r.time_ms, np.arange(201) * 0.1)
    rb = simulate_cell_torch("passive", {"g_L": [0.01, 0.02, 0.05]}, PR, dt_ms=0.1,
                             device="cpu")
    assert rb.v.shape == (3, 2, 1, 201)
    assert rb.failed.shape == (3,) and not rb.failed.any()
    # the first batch element equals the unbatched default run
    np.testing.assert_allclose(rb.v[0], r.v, atol=1e-12)
    # a larger leak depolarises less during the step
    assert rb.v[0, 1, 0, 150] > rb.v[1, 1, 0, 150] > rb.v[2, 1, 0, 150]


def test_passive_matches_analytic_solution():
    g, c, e = 0.05, 1.5, -35.0
    r = simulate_cell_torch("passive", {"g_L": g}, CurrentClamp((1.0,), 0.0, 50.0, 50.0),
                            dt_ms=0.01, device="cpu")
    t = r.time_ms
    expected = e + (1.0 / g) * (1 - np.exp(-t * g / c))
    assert np.max(np.abs(r.v[0, 0] - expected)) < 0.05  # backward Euler, O(dt)


def test_record_every_and_states():
    r = simulate_cell_torch("morris_lecar", None, PR, dt_ms=0.1, record=("v", "w"),
                            record_every=10, device="cpu")
    assert r.v.shape == (2, 1, 21) and r.data["w"].shape == (2, 1, 21)
    assert np.all((r.data["w"] >= 0) & (r.data["w"] <= 1))
    np.testing.assert_allclose(r.time_ms, np.arange(21) * 1.0)


@pytest.mark.parametrize("params, match", [
    ({"g_L": [0.01, 0.02], "C": [1.0, 2.0, 3.0]}, "batch size"),
    ({"g_L": float("nan")}, "non-finite"),
    ({"g_L": -1.0}, "outside bounds"),
    ({"g_X": 1.0}, "unknown parameter"),
    ({"g_L": [[0.1, 0.2]]}, "1-D"),
])
def test_bad_parameters_raise(params, match):
    with pytest.raises(TorchSimError, match=match):
        simulate_cell_torch("passive", params, PR, dt_ms=0.1, device="cpu")


def test_bad_steps_and_options_raise():
    with pytest.raises(UnstableStepError, match="exceeds"):
        simulate_cell_torch("hh", None, PR, dt_ms=0.5, cell="HH1952", device="cpu")
    with pytest.raises(UnstableStepError, match="positive"):
        simulate_cell_torch("passive", None, PR, dt_ms=-0.1, device="cpu")
    with pytest.raises(UnstableStepError, match="multiple"):
        simulate_cell_torch("passive", None, PR, dt_ms=0.3, device="cpu")
    with pytest.raises(TorchSimError, match="record"):
        simulate_cell_torch("passive", None, PR, dt_ms=0.1, record=("w",), device="cpu")
    with pytest.raises(TorchSimError, match="unknown options"):
        simulate_cell_torch("passive", None, PR, dt_ms=0.1, bogus=1)
    with pytest.raises(TorchSimError, match="unknown neuron model|no torch kernel|unknown"):
        simulate_cell_torch("nonexistent", None, PR, dt_ms=0.1, device="cpu")
    with pytest.raises(TorchSimError, match="V_reset"):
        simulate_cell_torch("glif", {"V_reset": -40.0, "V_th": -45.0}, PR, dt_ms=0.1,
                            device="cpu")


def test_device_auto_resolves():
    dev = resolve_device("auto")
    assert dev.type in ("cpu", "cuda")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(TorchSimError, match="CUDA"):
            resolve_device("cuda")


def test_blown_up_sample_is_flagged_not_raised():
    # no leak: a constant current charges the membrane without bound (|V| > 1e4 mV flagged)
    pr = CurrentClamp((100.0,), 0.0, 200.0, 200.0)
    r = simulate_cell_torch("passive", {"g_L": [100.0, 0.0], "C": [0.1, 0.1]}, pr, dt_ms=0.5,
                            device="cpu")
    assert r.failed.tolist() == [False, True]
    assert np.all(np.isfinite(r.v[0]))


def test_glif_spikes_and_resets():
    pr = CurrentClamp((0.0, 20.0), 10.0, 90.0, 100.0)
    r = simulate_cell_torch("glif", None, pr, dt_ms=0.05, record=("v", "nspikes"),
                            device="cpu")
    n = r.data["nspikes"][:, 0, -1]
    assert n[0] == 0 and n[1] >= 5
    assert r.v[1, 0].max() < -45.0  # never far above threshold (-50 mV): reset works


def test_hh_classic_spikes():
    pr = CurrentClamp((0.0, 100.0), 5.0, 35.0, 40.0)
    r = simulate_cell_torch("hh", None, pr, dt_ms=0.025, cell="HH1952", device="cpu")
    assert r.v[0, 0].max() < -60  # at rest
    assert r.v[1, 0].max() > 20  # action potentials


def test_gradient_matches_finite_difference():
    pr = CurrentClamp((0.5,), 2.0, 18.0, 20.0)

    def loss(g):
        _, tr, _, _ = simulate_cell_tensors("passive", {"g_L": g}, pr, 0.1, device="cpu")
        return (tr["v"] ** 2).mean()

    g = torch.tensor([0.05], dtype=torch.float64, requires_grad=True)
    loss(g).backward()
    eps = 1e-6
    with torch.no_grad():
        fd = (loss(g + eps) - loss(g - eps)) / (2 * eps)
    assert g.grad is not None and torch.isfinite(g.grad).all()
    assert abs(float(g.grad[0]) - float(fd)) < 1e-5 * max(1.0, abs(float(fd)))


def test_hh_gradient_through_channel_conductance():
    pr = CurrentClamp((3.0,), 2.0, 10.0, 10.0)
    g = torch.tensor([2.0, 3.0], dtype=torch.float64, requires_grad=True)
    _, tr, failed, _ = simulate_cell_tensors("hh", {"g_shl1": g}, pr, 0.05, cell="RMD",
                                             device="cpu")
    tr["v"].mean().backward()
    assert not failed.any()
    assert torch.isfinite(g.grad).all() and (g.grad.abs() > 0).all()


def test_device_auto_runs_and_matches_cpu():
    pr = CurrentClamp((3.0,), 2.0, 8.0, 10.0)
    ra = simulate_cell_torch("hh", None, pr, dt_ms=0.05, cell="RMD", device="auto")
    rc = simulate_cell_torch("hh", None, pr, dt_ms=0.05, cell="RMD", device="cpu")
    np.testing.assert_allclose(ra.v, rc.v, atol=1e-6 if torch.cuda.is_available() else 0.0)


def test_grad_and_no_grad_paths_agree():
    # with gradients the samples are concatenated, without them written into one buffer
    # (the torch step both times: native=False; the native kernel has its own test file)
    pr = CurrentClamp((0.0, 100.0), 2.0, 8.0, 10.0)
    g = torch.tensor([1200.0, 800.0], dtype=torch.float64)
    _, tr0, f0, _ = simulate_cell_tensors("hh", {"g_hh_na": g}, pr, 0.025, cell="HH1952",
                                          record=("v", "hh_na.m"), device="cpu",
                                          record_every=4, native=False)
    _, tr1, f1, _ = simulate_cell_tensors("hh", {"g_hh_na": g.clone().requires_grad_()}, pr,
                                          0.025, cell="HH1952", record=("v", "hh_na.m"),
                                          device="cpu", record_every=4)
    assert not tr0["v"].requires_grad and tr1["v"].requires_grad
    assert tr0["v"].shape == (2, 2, 101) and tr0["hh_na.m"].shape == (2, 2, 101)
    for k in tr0:
        torch.testing.assert_close(tr0[k], tr1[k].detach(), rtol=0, atol=0)
    assert torch.equal(f0, f1)


def test_float32_option_close_to_float64():
    pr = CurrentClamp((100.0,), 2.0, 18.0, 20.0)
    r64 = simulate_cell_torch("hh", None, pr, 0.025, cell="HH1952", device="cpu")
    r32 = simulate_cell_torch("hh", None, pr, 0.025, cell="HH1952", device="cpu",
                              dtype="float32")
    assert r32.v.dtype == np.float32
    assert np.sqrt(np.mean((r32.v - r64.v) ** 2)) < 0.5
