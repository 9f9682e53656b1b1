"""The torch.compile fast path gives the same traces as the eager path (slow: compiles)."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp
from celegans.torchsim.cell import simulate_cell_torch


@pytest.mark.slow
@pytest.mark.parametrize("model, opts, amps", [("glif", {}, (0.0, 20.0)),
                                               ("hh", {"cell": "HH1952"}, (0.0, 100.0))])
def test_compiled_equals_eager(model, opts, amps):
    pr = CurrentClamp(amps, 2.0, 18.0, 20.0)
    params = ({"g_L": [0.1, 0.2, 0.3]} if model == "glif"
              else {"g_hh_na": [1000.0, 1200.0, 1400.0]})
    eager = simulate_cell_torch(model, params, pr, 0.025, device="cpu", **opts)
    comp = simulate_cell_torch(model, params, pr, 0.025, device="cpu", compile=True, chunk=10,
                               **opts)
    np.testing.assert_allclose(comp.v, eager.v, atol=1e-6)
    np.testing.assert_array_equal(comp.failed, eager.failed)
