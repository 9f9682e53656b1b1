"""Gradient fitting through the torch simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from celegans.parameters import from_unconstrained, to_unconstrained
from celegans.protocols import CurrentClamp
from celegans.torchsim.cell import simulate_cell_torch
from celegans.torchsim.device import TorchSimError
from celegans.torchsim.gradfit import fit_adam, from_unconstrained_t, to_unconstrained_t


@pytest.mark.parametrize("transform, bounds", [("log", (0.0, 100.0)), ("logit", (-90.0, 0.0)),
                                               ("identity", (-np.inf, np.inf))])
def test_torch_transforms_match_parameters_module(transform, bounds):
    x = np.array([0.5, 3.0, 50.0]) if transform == "log" else np.array([-80.0, -35.0, -1.0])
    u_np = to_unconstrained(x, transform, bounds)
    u_t = to_unconstrained_t(torch.tensor(x), transform, bounds).numpy()
    np.testing.assert_allclose(u_t, u_np, rtol=1e-12)
    np.testing.assert_allclose(from_unconstrained_t(torch.tensor(u_np), transform,
                                                    bounds).numpy(),
                               from_unconstrained(u_np, transform, bounds), rtol=1e-12)


def test_fit_adam_recovers_passive_parameters():
    pr = CurrentClamp((0.2, 0.5), 5.0, 45.0, 50.0)
    true = {"g_L": 0.02, "E_L": -50.0}
    target = simulate_cell_torch("passive", true, pr, 0.25, device="cpu").v[:, 0, :]
    res = fit_adam("passive", pr, target, ["g_L", "E_L"], dt_ms=0.25, steps=120, lr=0.1,
                   n_starts=2)
    assert res.history[-1] < res.history[0] * 1e-3
    assert abs(res.params["g_L"] - 0.02) < 2e-3
    assert abs(res.params["E_L"] + 50.0) < 0.5
    assert res.all_loss.shape == (2,)
    # bounded: every start stayed inside the parameter bounds
    assert np.all(res.all_params["g_L"] >= 0.0)


def test_fit_adam_bad_input():
    pr = CurrentClamp((0.2,), 5.0, 45.0, 50.0)
    with pytest.raises(TorchSimError, match="unknown parameter"):
        fit_adam("passive", pr, np.zeros((1, 201)), ["g_X"], dt_ms=0.25, steps=1)
    with pytest.raises(TorchSimError, match="target_v"):
        fit_adam("passive", pr, np.zeros((2, 201)), ["g_L"], dt_ms=0.25, steps=1)
