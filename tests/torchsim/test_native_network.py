"""The native network kernel (CPU, float64, hh + passive cells) against the torch step."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp
from celegans.torchsim import native_hh
from celegans.torchsim.network import TorchNetwork, simulate_network_torch

cd = pytest.importorskip("connectome_data")
pytestmark = pytest.mark.skipif(not native_hh.ENABLED, reason="CELEGANS_TORCH_NATIVE=0")

SUB = ["AVAL", "AVAR", "AVBL", "AVBR", "DA1", "DB1", "DB2", "VA1", "VB1", "VB2", "DD1", "VD1",
       "PLML", "RMDL", "RMDR", "AIYL", "AIYR", "RIML", "AWCL", "AWCR"]
# calcium pool (RMD, AWCon), none with SLO iso (AIY), shell (VB), Morris-Lecar (AVA, the
# organism's default for command interneurons), passive, muscles, gaps
ASSIGN = {"default": "passive", "classes": {"RMD": "hh:RMD", "AWC": "hh:AWCon",
                                            "AIY": "hh:AIY", "VB": "hh:VB", "DB": "hh:VB",
                                            "AVA": "morris_lecar"}}


def _spec(assignment=ASSIGN):
    from celegans.network.spec import NetworkSpec

    c = cd.load("cook2019_herm")
    return NetworkSpec.from_connectome(c, assignment=assignment,
                                       neurons=[n for n in SUB if n in c.neurons])


def test_native_stepping_equals_torch_step():
    """advance() one step per call (the organism's use) and several steps per call, two
    copies with different inputs, hh cells of four kinds, passive cells, muscles, gaps."""
    spec = _spec()
    n = spec.n_neurons
    x = np.zeros((2, n))
    x[0, spec.index("AVAL")] = 8.0
    x[1, spec.index("RMDL")] = 6.0
    x[:, spec.index("VB1")] = 10.0
    nets = [TorchNetwork(spec, dt_ms=0.05, batch=2, device="cpu", native=nat, threads=1)
            for nat in (False, True)]
    assert nets[0]._native is None and nets[1]._native is not None
    assert nets[1].has_gap and len({g.label for g in nets[1].groups}) >= 6
    a_before = nets[1].muscle_activation().copy()
    handed_out = nets[1].muscle_activation()
    for k in range(1, 21):  # 20 advances of one step, then 4 of 50 steps
        for net in nets:
            net.advance(0.05 * k, x)
        np.testing.assert_allclose(nets[1].voltages(), nets[0].voltages(), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(handed_out, a_before)  # state replaced, not overwritten
    for k in range(1, 5):
        for net in nets:
            net.advance(1.0 + 2.5 * k, x)
    v0, v1 = nets[0].voltages(), nets[1].voltages()
    np.testing.assert_allclose(v1, v0, rtol=0, atol=1e-8)
    np.testing.assert_allclose(nets[1].muscle_activation(), nets[0].muscle_activation(),
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(nets[1].s.numpy(), nets[0].s.numpy(), rtol=0, atol=1e-10)
    for g, st0, st1 in zip(nets[0].groups, nets[0].states, nets[1].states, strict=True):
        for key in st0:
            np.testing.assert_allclose(st1[key].numpy(), st0[key].numpy(), rtol=1e-8,
                                       atol=1e-12, err_msg=f"{g.label} {key}")
    assert abs(nets[1].t_ms - nets[0].t_ms) < 1e-12
    assert np.ptp(v0[:, spec.index("VB1")]) >= 0 and abs(v0[0, spec.index("AVAL")]
                                                          - v0[1, spec.index("AVAL")]) > 0.1
    assert not nets[1].failed.any()
    # a blow-up is flagged as on the torch step
    for net in nets:
        net.advance(net.t_ms + 0.05, np.full((2, n), 1e12))
        assert net.failed.all()


def test_native_simulate_with_a_drive_equals_torch_step():
    spec = _spec()
    kw = dict(dt_ms=0.05, record=("v", "a"), record_dt_ms=0.5, device="cpu",
              inputs={"AVAL": CurrentClamp((6.0,), 1.0, 8.0, 10.0), "RMDL": 3.0})
    ref = simulate_network_torch(spec, 10.0, native=False, **kw)
    nat = simulate_network_torch(spec, 10.0, **kw)
    np.testing.assert_allclose(nat.v, ref.v, rtol=0, atol=1e-8)
    np.testing.assert_allclose(nat.data["a"], ref.data["a"], rtol=0, atol=1e-10)
    assert np.ptp(ref.v) > 5.0 and not nat.failed


def test_native_declines_other_models_and_devices():
    spec = _spec({"default": "passive", "classes": {"DB": "glif"}})  # spike events
    assert TorchNetwork(spec, dt_ms=0.1, device="cpu")._native is None
    assert TorchNetwork(_spec(), dt_ms=0.05, device="cpu", dtype="float32")._native is None
    assert TorchNetwork(_spec(), dt_ms=0.05, device="cpu", native=False)._native is None
