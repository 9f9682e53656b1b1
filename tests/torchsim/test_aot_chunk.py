"""Ahead-of-time compiled chunks (AOTInductor) of the single-cell integrator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from celegans.protocols import CurrentClamp
from celegans.torchsim import aot_chunk
from celegans.torchsim.cell import simulate_cell_torch


def test_layout_marks_batch_and_sweep_axes():
    B, S = 5, 3
    v = torch.zeros(B, S)
    gates = torch.zeros(4, B, S)     # leading gate axis, then (B, S)
    per_set = torch.zeros(3, B, 1)   # a batched parameter broadcasting over sweeps
    table = torch.zeros(100, 8)      # fixed sizes
    drive = torch.zeros(S, 40)       # (S, K)
    sig, cand = aot_chunk.layout([v, drive, gates, per_set, table], B, S, drive_index=1)
    assert [s[0] for s in sig] == [("B", "S"), ("S", 40), (4, "B", "S"), (3, "B", 1),
                                    (100, 8)]
    assert cand == [[(0, "B"), (1, "S")], [(0, "S")], [(1, "B"), (2, "S")], [(1, "B")], []]
    # another batch size has the same signature (one compiled library serves both) ...
    sig2, _ = aot_chunk.layout([torch.zeros(9, S), drive, torch.zeros(4, 9, S),
                                torch.zeros(3, 9, 1), table], 9, S, drive_index=1)
    assert sig2 == sig
    # ... while B = 1 and S = 1 stay fixed sizes (their own library)
    sig1, cand1 = aot_chunk.layout([torch.zeros(1, 1), torch.zeros(1, 40)], 1, 1, 1)
    assert [s[0] for s in sig1] == [(1, 1), (1, 40)] and cand1 == [[], []]
    # an axis that only looks like a sweep axis (3 channels, S = 3) is a candidate; when the
    # export cannot make it symbolic it stays fixed, and the library then requires that size
    assert aot_chunk.matches([(1, 1, 3)], [v, torch.zeros(1, 3)])
    assert not aot_chunk.matches([(1, 1, 3)], [v, torch.zeros(1, 4)])


def test_aot_failure_falls_back_to_torch_compile(monkeypatch):
    """An export/AOTInductor failure warns and runs the torch.compile chunk of the same
    length (here replaced by the uncompiled chunk, to keep the test fast)."""
    import celegans.torchsim.integrator as integ

    def broken(*args, **kwargs):
        raise RuntimeError("simulated export failure")

    used = []

    def plain(model, dt, record, every, k, consts, g_clamp):
        def fn(v, s, tensors, drive, bad):
            used.append(k)
            p = {**consts, **tensors}
            return integ._chunk(model, v, s, p, p[integ._CAP], drive, dt, record, every, k,
                                g_clamp, bad)
        return fn

    monkeypatch.setattr(aot_chunk, "compile_flat", broken)
    monkeypatch.setattr(integ, "_dynamo_chunk", plain)
    monkeypatch.setattr(integ, "AOT_ENABLED", True)
    monkeypatch.setattr(integ, "_COMPILED", {})
    pr = CurrentClamp((0.0, 0.5), 2.0, 8.0, 10.0)
    params = {"g_L": [0.01, 0.05]}
    eager = simulate_cell_torch("passive", params, pr, 0.05, device="cpu")
    with pytest.warns(RuntimeWarning, match="using torch.compile"):
        comp = simulate_cell_torch("passive", params, pr, 0.05, device="cpu", compile=True,
                                   chunk=40)
    assert used and set(used) == {40}
    np.testing.assert_array_equal(comp.v, eager.v)


@pytest.mark.slow
def test_aot_chunks_equal_eager_across_batches(tmp_path, monkeypatch):
    """One library per layout: B = 5 and B = 7 share it (no second compilation), B = 1 gets
    its own (so would a first B equal to a fixed size, e.g. 3 channels); traces equal the
    eager path's, failures are flagged as on the eager path, and no run falls back to
    torch.compile (S = 3 sweeps = 3 channels: the sweep axis stays fixed)."""
    import celegans.torchsim.integrator as integ
    from celegans.torchsim import native_hh

    monkeypatch.setenv("CELEGANS_AOT_CACHE", str(tmp_path))
    monkeypatch.setattr(integ, "AOT_ENABLED", True)
    monkeypatch.setattr(native_hh, "ENABLED", False)  # hh cells would run natively
    compiled = []
    real = aot_chunk.compile_flat

    def counting(*args, **kwargs):
        compiled.append(args[2:4])
        return real(*args, **kwargs)

    monkeypatch.setattr(aot_chunk, "compile_flat", counting)
    pr = CurrentClamp((0.0, 100.0, 50.0), 2.0, 8.0, 10.0)  # S = 3 = the channels of HH1952
    for B in (5, 7, 1):
        params = {"g_hh_na": np.linspace(900.0, 1400.0, B)}
        eager = simulate_cell_torch("hh", params, pr, 0.025, cell="HH1952", device="cpu",
                                    record=("v", "hh_na.m"))
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            comp = simulate_cell_torch("hh", params, pr, 0.025, cell="HH1952", device="cpu",
                                       record=("v", "hh_na.m"), compile=True, chunk=10)
        np.testing.assert_allclose(comp.v, eager.v, atol=1e-9)
        np.testing.assert_allclose(comp.data["hh_na.m"], eager.data["hh_na.m"], atol=1e-12)
        np.testing.assert_array_equal(comp.failed, eager.failed)
    assert compiled == [(5, 3), (1, 3)]
    assert any(tmp_path.glob("*.pt2"))  # kept on disk for later processes
