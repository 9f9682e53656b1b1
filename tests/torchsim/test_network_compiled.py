"""The compiled torch network (inductor, ``compile=True``) gives the eager path's traces."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp
from celegans.torchsim.network import TorchNetwork, simulate_network_torch
from celegans.torchsim.network_compiled import CompiledRunner

cd = pytest.importorskip("connectome_data")

SUB = ["AVAL", "AVAR", "AVBL", "AVBR", "DA1", "DB1", "DB2", "VA1", "VB1", "VB2", "DD1", "VD1",
       "PLML", "RMDL"]


def _spec(assignment):
    from celegans.network.spec import NetworkSpec

    c = cd.load("cook2019_herm")
    return NetworkSpec.from_connectome(c, assignment=assignment,
                                       neurons=[n for n in SUB if n in c.neurons])


def test_chunk_sizes():
    r = CompiledRunner(lambda *a: a[:4], chunk=20)
    assert r.sizes(1) == [1]
    assert r.sizes(40) == [20, 20]
    assert r.sizes(47) == [20, 20, 4, 2, 1]
    assert sum(r.sizes(1234)) == 1234
    with pytest.raises(ValueError, match="chunk"):
        CompiledRunner(lambda *a: a, chunk=0)


def test_compiled_stepping_equals_eager():
    """Passive + Morris-Lecar + GLIF (event) neurons, muscles, gap junctions: advance() one
    step per call (the organism's use) and several steps per call, batch 2."""
    spec = _spec({"default": "passive", "classes": {"AVA": "morris_lecar", "DB": "glif"}})
    n = spec.n_neurons
    x = np.zeros((2, n))
    x[0, spec.index("AVAL")] = 8.0
    x[1, spec.index("DB1")] = 40.0  # GLIF spikes
    nets = [TorchNetwork(spec, dt_ms=0.1, batch=2, device="cpu", compile=c, chunk=2,
                         threads=1) for c in (False, True)]
    nets[1].prepare(1)
    for k in range(1, 21):  # 20 advances of one step, then 3 of 5 steps (2 + 2 + 1)
        for net in nets:
            net.advance(0.1 * k, x)
        np.testing.assert_allclose(nets[1].voltages(), nets[0].voltages(), rtol=0, atol=1e-9)
    for k in range(1, 4):
        for net in nets:
            net.advance(2.0 + 0.5 * k, x)
    assert nets[1]._runner.broken is None
    np.testing.assert_allclose(nets[1].voltages(), nets[0].voltages(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(nets[1].muscle_activation(), nets[0].muscle_activation(),
                               rtol=0, atol=1e-12)
    assert abs(nets[1].t_ms - nets[0].t_ms) < 1e-12
    assert not nets[1].failed.any()
    # the input reached the network; GLIF state (spike count) agrees too
    assert nets[0].voltages()[0, spec.index("AVAL")] > nets[0].voltages()[1, spec.index("AVAL")]
    gi = [i for i, g in enumerate(nets[0].groups) if g.label == "glif"][0]
    spikes = [float(net.states[gi]["nspikes"].sum()) for net in nets]
    assert spikes[0] > 0 and spikes[0] == spikes[1]
    # a blow-up is flagged on the compiled path as on the eager one
    for net in nets:
        net.advance(net.t_ms + 0.1, np.full((2, n), 1e12))
        assert net.failed.all()


def test_compiled_simulate_equals_eager():
    spec = _spec({"default": "passive", "classes": {"AVA": "morris_lecar"}})
    kw = dict(dt_ms=0.1, record=("v", "a"), record_dt_ms=0.2, device="cpu",
              inputs={"AVAL": CurrentClamp((6.0,), 1.0, 4.0, 6.0), "PLML": 2.0})
    eager = simulate_network_torch(spec, 6.0, **kw)
    comp = simulate_network_torch(spec, 6.0, compile=True, chunk=2, **kw)
    np.testing.assert_allclose(comp.v, eager.v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(comp.data["a"], eager.data["a"], rtol=0, atol=1e-12)
    assert not comp.failed and not eager.failed


@pytest.mark.slow
def test_compiled_hh_network_equals_eager():
    """hh cells whose gates start equal (one steady state shared by several gates) stay
    distinct graph inputs; the whole 302-neuron network with RMD motor neurons."""
    from celegans.network.spec import NetworkSpec

    spec = NetworkSpec.from_connectome(cd.load("cook2019_herm"),
                                       assignment={"default": "passive",
                                                   "types": {"motor": "hh:RMD"}})
    kw = dict(dt_ms=0.025, record_dt_ms=0.5, device="cpu",
              inputs={"AVAL": CurrentClamp((5.0,), 1.0, 5.0, 5.0), "PLML": 3.0})
    eager = simulate_network_torch(spec, 5.0, native=False, **kw)
    comp = simulate_network_torch(spec, 5.0, compile=True, chunk=2, native=False, **kw)
    assert np.ptp(eager.v) > 10.0
    np.testing.assert_allclose(comp.v, eager.v, rtol=0, atol=1e-8)
