"""The torch.compile fast path gives the same traces as the eager path (slow: compiles)."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp
from celegans.torchsim.cell import simulate_cell_torch


@pytest.mark.slow
@pytest.mark.parametrize("model, opts, amps", [("glif", {}, (0.0, 20.0)),
                                               ("hh", {"cell": "HH1952"}, (0.0, 100.0))])
def test_compiled_equals_eager(model, opts, amps, monkeypatch):
    from celegans.torchsim import native_hh

    monkeypatch.setattr(native_hh, "ENABLED", False)  # the compiled torch step itself
    pr = CurrentClamp(amps, 2.0, 18.0, 20.0)
    params = ({"g_L": [0.1, 0.2, 0.3]} if model == "glif"
              else {"g_hh_na": [1000.0, 1200.0, 1400.0]})
    eager = simulate_cell_torch(model, params, pr, 0.025, device="cpu", **opts)
    comp = simulate_cell_torch(model, params, pr, 0.025, device="cpu", compile=True, chunk=10,
                               **opts)
    np.testing.assert_allclose(comp.v, eager.v, atol=1e-6)
    np.testing.assert_array_equal(comp.failed, eager.failed)


def test_compile_failure_falls_back(monkeypatch):
    """A compiler failure (e.g. a C++ compiler crash on a long chunk) warns and falls back to a
    smaller chunk, then to the eager path, with the same traces."""
    import celegans.torchsim.integrator as integ

    calls = []

    def broken(model, dt, record, every, k, *args, **kwargs):
        def fn(*a):
            calls.append(k)
            raise RuntimeError("simulated compiler crash")
        return fn

    monkeypatch.setattr(integ, "_compiled_chunk", broken)
    pr = CurrentClamp((0.0, 0.5), 2.0, 8.0, 10.0)
    params = {"g_L": [0.01, 0.05]}
    eager = simulate_cell_torch("passive", params, pr, 0.05, device="cpu")
    with pytest.warns(RuntimeWarning, match="falling back"):
        comp = simulate_cell_torch("passive", params, pr, 0.05, device="cpu", compile=True,
                                   chunk=40)
    assert calls == [40, 10]
    np.testing.assert_array_equal(comp.v, eager.v)
