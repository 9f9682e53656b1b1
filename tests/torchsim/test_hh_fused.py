"""The fused ``hh`` step (tables, all channels at once) against the per-channel kernel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from celegans.channels import kinetics as K
from celegans.protocols import CurrentClamp
from celegans.torchsim.cell import prepare_model, simulate_cell_tensors, simulate_cell_torch

PR = CurrentClamp((-5.0, 8.0), 5.0, 25.0, 30.0)


@pytest.mark.parametrize("cell", ["RMD", "AWCon", "AIY", "VB", "VD", "HH1952"])
def test_fused_equals_per_channel_kernel(cell):
    # RMD/AWCon: SLO nanodomain complexes, KCNL and a calcium pool; AIY: SLO iso without a
    # pool; VB/VD: calcium shell; HH1952: integer powers (m^3 h, n^4)
    kw = dict(cell=cell, device="cpu", record=("v", K.state_names(
        prepare_model("hh", None, cell=cell, device=torch.device("cpu"),
                      dtype=torch.float64).kernel.cell)[-1]))
    amps = (0.0, 100.0) if cell == "HH1952" else PR.amplitudes_pA
    pr = CurrentClamp(amps, 5.0, 25.0, 30.0)
    fused = simulate_cell_torch("hh", None, pr, 0.05, tables=True, native=False, **kw)
    slow = simulate_cell_torch("hh", None, pr, 0.05, tables=False, **kw)
    for var in fused.data:
        a, b = fused.data[var], slow.data[var]
        scale = max(1.0, float(np.abs(b).max()))
        # tables are linear interpolation on a 0.01-mV grid
        assert np.abs(a - b).max() < 1e-4 * scale, var
    assert np.ptp(fused.v[1, 0]) > 1.0  # the step does something


def test_recorded_gates_are_exported_from_the_packed_state():
    gates = ("v", "shl1.m", "egl19.h", "slo1_egl19.m")
    r = simulate_cell_torch("hh", None, PR, 0.05, cell="RMD", device="cpu", record=gates)
    ref = simulate_cell_torch("hh", None, PR, 0.05, cell="RMD", device="cpu", record=gates,
                              tables=False)
    for var in gates[1:]:
        x = r.data[var]
        assert x.shape == r.v.shape
        assert np.all((x >= 0) & (x <= 1)) and np.ptp(x) > 0
        assert np.abs(x - ref.data[var]).max() < 1e-4


def test_fused_gradient_matches_finite_difference():
    pr = CurrentClamp((4.0,), 2.0, 10.0, 10.0)

    def loss(g):
        _, tr, _, _ = simulate_cell_tensors("hh", {"g_egl19": g}, pr, 0.05, cell="RMD",
                                            device="cpu")
        return tr["v"].mean()

    g = torch.tensor([1.2], dtype=torch.float64, requires_grad=True)
    loss(g).backward()
    eps = 1e-5
    with torch.no_grad():
        fd = (loss(g + eps) - loss(g - eps)) / (2 * eps)
    assert abs(float(g.grad[0]) - float(fd)) < 1e-4 * max(1.0, abs(float(fd)))


def test_batched_kinetic_constant_uses_per_channel_kernel():
    # a batched kinetic constant makes the rates differ per set: no tables, same results
    shift = np.array([0.0, 5.0])
    r = simulate_cell_torch("hh", {"shl1.shift": shift}, PR, 0.05, cell="RMD", device="cpu")
    one = simulate_cell_torch("hh", {"shl1.shift": 5.0}, PR, 0.05, cell="RMD", device="cpu")
    assert np.abs(r.v[1] - one.v).max() < 1e-4
    assert np.abs(r.v[0] - r.v[1]).max() > 1e-3
