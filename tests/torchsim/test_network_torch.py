"""Torch network: stepping interface, inputs, bad input, batch copies."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp
from celegans.torchsim.device import TorchSimError
from celegans.torchsim.network import TorchNetwork, simulate_network_torch

cd = pytest.importorskip("connectome_data")

SUB = ["AVAL", "AVAR", "AVBL", "DA01", "DB01", "VA01", "VB01", "DD01", "VD01", "PLML"]


@pytest.fixture(scope="module")
def spec():
    from celegans.network.spec import NetworkSpec

    c = cd.load("cook2019_herm")
    names = [n for n in SUB if n in c.neurons]
    return NetworkSpec.from_connectome(c, assignment={"default": "passive",
                                                      "classes": {"AVA": "morris_lecar"}},
                                       neurons=names)


def test_stepping_interface(spec):
    net = TorchNetwork(spec, dt_ms=0.1, device="cpu")
    n, m = spec.n_neurons, spec.n_muscles
    net.reset()
    v0 = net.voltages()
    assert v0.shape == (n,) and net.muscle_activation().shape == (m,)
    inputs = np.zeros(n)
    inputs[0] = 5.0
    net.advance(20.0, inputs)
    assert abs(net.t_ms - 20.0) < 1e-9
    v1 = net.voltages()
    assert v1[0] > v0[0] + 1.0  # the injected neuron depolarised
    a = net.muscle_activation()
    assert np.all((a >= 0) & (a <= 1))
    with pytest.raises(TorchSimError, match="before"):
        net.advance(10.0)
    with pytest.raises(TorchSimError, match="shape"):
        net.advance(30.0, np.zeros(n + 1))
    with pytest.raises(TorchSimError, match="finite"):
        net.advance(30.0, np.full(n, np.nan))
    net.reset()
    np.testing.assert_allclose(net.voltages(), v0)


def test_batch_copies_are_independent(spec):
    n = spec.n_neurons
    net = TorchNetwork(spec, dt_ms=0.1, batch=3, device="cpu")
    x = np.zeros((3, n))
    x[1, 0] = 5.0
    x[2, 0] = -5.0
    net.advance(10.0, x)
    v = net.voltages()
    assert v.shape == (3, n)
    assert v[1, 0] > v[0, 0] > v[2, 0]
    single = TorchNetwork(spec, dt_ms=0.1, device="cpu")
    single.advance(10.0, x[1])
    np.testing.assert_allclose(single.voltages(), v[1], atol=1e-10)


def test_simulate_network_torch_layout(spec):
    r = simulate_network_torch(spec, 5.0, dt_ms=0.1, record=("v", "a"), record_dt_ms=0.5,
                               inputs={spec.neurons[0]: CurrentClamp((3.0,), 1.0, 5.0, 5.0)},
                               device="cpu")
    n, m = spec.n_neurons, spec.n_muscles
    assert r.names == list(spec.neurons) + list(spec.muscles)
    assert r.v.shape == (1, n + m, 11) and r.data["a"].shape == (1, n + m, 11)
    assert np.all(np.isnan(r.data["a"][0, :n])) and np.all(np.isfinite(r.data["a"][0, n:]))
    assert not r.failed
    with pytest.raises(TorchSimError, match="record_dt_ms"):
        simulate_network_torch(spec, 5.0, dt_ms=0.1, record_dt_ms=0.15, device="cpu")
    with pytest.raises(TorchSimError, match="unknown neuron"):
        simulate_network_torch(spec, 5.0, dt_ms=0.1, inputs={"NOPE": 1.0}, device="cpu")
    with pytest.raises(TorchSimError, match="dt_ms"):
        TorchNetwork(spec, dt_ms=0.0, device="cpu")
