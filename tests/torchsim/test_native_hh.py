"""The native ``hh`` kernel (CPU, float64, no gradients) against the fused torch step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from celegans.cells import list_cells
from celegans.channels import kinetics as K
from celegans.protocols import CurrentClamp, VoltageClamp
from celegans.torchsim import native_hh
from celegans.torchsim.cell import prepare_model, simulate_cell_torch

pytestmark = pytest.mark.skipif(not native_hh.ENABLED, reason="CELEGANS_TORCH_NATIVE=0")


def _states(cell):
    pm = prepare_model("hh", None, cell=cell, device=torch.device("cpu"), dtype=torch.float64)
    return K.state_names(pm.kernel.cell)


def _pair(cell, params, pr, dt, record, **kw):
    """(native, eager fused torch) results of the same run."""
    runs = native_hh.STATS["runs"]
    nat = simulate_cell_torch("hh", params, pr, dt, record, cell=cell, device="cpu", **kw)
    assert native_hh.STATS["runs"] == runs + 1, "the native kernel did not run"
    ref = simulate_cell_torch("hh", params, pr, dt, record, cell=cell, device="cpu",
                              native=False, **kw)
    return nat, ref


@pytest.mark.parametrize("cell", list_cells())
def test_native_equals_torch_step_for_every_cell(cell):
    """Every shipped cell (calcium none / pool / shell, SLO complexes, SLO iso, KCNL,
    integer and fractional powers), a batch of conductances and capacitances, two sweeps,
    every state recorded."""
    amps = (0.0, 100.0) if cell == "HH1952" else (-5.0, 8.0)
    pr = CurrentClamp(amps, 5.0, 25.0, 30.0)
    pm = prepare_model("hh", None, cell=cell, device=torch.device("cpu"), dtype=torch.float64)
    g0 = f"g_{pm.kernel.channels[0]}"
    base = float(pm.p[g0]) or 1.0
    cap = float(pm.p["C_pF"])
    params = {g0: [base * 0.5, base, base * 1.5], "C_pF": [cap, cap * 1.3, cap * 0.8]}
    record = ("v", *_states(cell))
    nat, ref = _pair(cell, params, pr, 0.05, record)
    for var in record:
        a, b = nat.data[var], ref.data[var]
        scale = max(1.0, float(np.abs(b).max()))
        assert np.abs(a - b).max() < 1e-9 * scale, (cell, var, np.abs(a - b).max())
    np.testing.assert_array_equal(nat.failed, ref.failed)
    assert np.ptp(nat.v[:, 1, 0]) > 1.0  # the step drove the cell


def test_native_voltage_clamp_and_sparse_recording():
    vc = VoltageClamp((-80.0, -20.0, 10.0), t_on_ms=5.0, t_off_ms=15.0, duration_ms=20.0,
                      holding_mV=-65.0)
    params = {"g_shl1": [1.0, 2.5]}
    nat, ref = _pair("RMD", params, vc, 0.025, ("v", "i", "ca_i"), record_every=4)
    assert nat.data["i"].shape == ref.data["i"].shape == (2, 3, 1, 201)
    for var in ("v", "i", "ca_i"):
        scale = max(1.0, float(np.abs(ref.data[var]).max()))
        assert np.abs(nat.data[var] - ref.data[var]).max() < 1e-9 * scale, var
    assert np.ptp(nat.data["i"]) > 1.0


def test_native_flags_a_blow_up_without_failing_the_batch():
    """A NaN state in one parameter set is flagged for that set only."""
    from celegans.torchsim.integrator import run_steps

    pm = prepare_model("hh", {"g_hh_na": [1200.0, 1200.0]}, cell="HH1952",
                       device=torch.device("cpu"), dtype=torch.float64)
    k = pm.kernel
    p = k.prepare(pm.p, 0.025, torch.device("cpu"), torch.float64)
    v0 = torch.full((2, 1), -65.0, dtype=torch.float64)
    v0[1, 0] = float("nan")
    s0 = k.init(v0, p)
    drive = torch.zeros((1, 400), dtype=torch.float64)
    tr, failed, _ = run_steps(k, v0, s0, p, k.capacitance(p), drive, 0.025, 400)
    assert failed.tolist() == [False, True]
    assert np.isfinite(tr["v"][0].numpy()).all()
    tr_e, failed_e, _ = run_steps(k, v0, s0, p, k.capacitance(p), drive, 0.025, 400,
                                  native=False)
    assert failed_e.tolist() == failed.tolist()
    np.testing.assert_allclose(tr["v"][0].numpy(), tr_e["v"][0].numpy(), atol=1e-9)


def test_native_threads_give_the_same_traces():
    params = {"g_hh_na": np.linspace(900.0, 1400.0, 19)}  # not a multiple of the lanes
    pr = CurrentClamp((100.0,), 2.0, 18.0, 20.0)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = simulate_cell_torch("hh", params, pr, 0.025, cell="HH1952", device="cpu")
        torch.set_num_threads(2)
        two = simulate_cell_torch("hh", params, pr, 0.025, cell="HH1952", device="cpu")
    finally:
        torch.set_num_threads(old)
    np.testing.assert_array_equal(one.v, two.v)


def test_native_not_used_with_gradients_or_batched_kinetics(monkeypatch):
    from celegans.torchsim.cell import simulate_cell_tensors

    pm = prepare_model("hh", {"hh_na.q10": [3.0, 2.5]}, cell="HH1952",
                       device=torch.device("cpu"), dtype=torch.float64)
    k = pm.kernel
    p = k.prepare(pm.p, 0.025, torch.device("cpu"), torch.float64)
    v0 = torch.full((2, 1), -65.0, dtype=torch.float64)
    s0 = k.init(v0, p)
    outs = [torch.empty((2, 1, 11), dtype=torch.float64)]
    bad = torch.zeros((2, 1), dtype=torch.float64)
    args = (k, v0, s0, p, 10.0, torch.zeros((1, 10), dtype=torch.float64), 0.025, 10, ("v",),
            1, None, outs, bad, 1)
    assert native_hh.run(*args) is None  # batched kinetic constant: no fused plan
    # with gradients the integrator never asks for the native kernel
    called = []
    monkeypatch.setattr(native_hh, "run", lambda *a, **kw: called.append(1))
    g = torch.tensor([1200.0, 1000.0], dtype=torch.float64, requires_grad=True)
    _, tr, _, _ = simulate_cell_tensors("hh", {"g_hh_na": g},
                                        CurrentClamp((50.0,), 1.0, 4.0, 5.0), 0.025,
                                        cell="HH1952", device="cpu")
    tr["v"].sum().backward()
    assert not called
    assert g.grad is not None and torch.isfinite(g.grad).all()


def test_native_build_failure_warns_and_returns_none(monkeypatch):
    def no_cc():
        raise native_hh.NativeBuildError("no C compiler found ($CC, cc or gcc)")

    monkeypatch.setattr(native_hh, "_LIB", {})
    monkeypatch.setattr(native_hh, "_WARNED", set())
    monkeypatch.setattr(native_hh, "_compiler", no_cc)
    pm = prepare_model("hh", None, cell="HH1952", device=torch.device("cpu"),
                       dtype=torch.float64)
    k = pm.kernel
    p = k.prepare(pm.p, 0.025, torch.device("cpu"), torch.float64)
    v0 = torch.full((1, 1), -65.0, dtype=torch.float64)
    outs = [torch.empty((1, 1, 11), dtype=torch.float64)]
    with pytest.warns(RuntimeWarning, match="native hh kernel unavailable"):
        res = native_hh.run(k, v0, k.init(v0, p), p, 10.0,
                            torch.zeros((1, 10), dtype=torch.float64), 0.025, 10, ("v",), 1,
                            None, outs, torch.zeros((1, 1), dtype=torch.float64), 1)
    assert res is None


def test_native_library_is_built_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CELEGANS_CACHE", str(tmp_path))
    monkeypatch.setattr(native_hh, "_LIB", {})
    native_hh.library()
    libs = list((tmp_path / "native").glob("*/libhh_kernel.so"))
    assert len(libs) == 1
    mtime = libs[0].stat().st_mtime_ns
    monkeypatch.setattr(native_hh, "_LIB", {})
    native_hh.library()  # a new process would find it: no rebuild
    assert libs[0].stat().st_mtime_ns == mtime
    assert not list((tmp_path / "native").glob(".build.*"))  # no half-written leftovers
