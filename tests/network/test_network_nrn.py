"""The full 302-neuron network in NEURON: builds, runs, steps; input/record errors."""

import numpy as np
import pytest

pytest.importorskip("neuron")
cd = pytest.importorskip("connectome_data")
from celegans.network import NetworkError, NetworkSpec  # noqa: E402
from celegans.nrn.network import NrnNetwork, simulate_network_nrn  # noqa: E402
from celegans.protocols import CurrentClamp  # noqa: E402


@pytest.fixture(scope="module")
def spec():
    return NetworkSpec.from_connectome(cd.load("cook2019_herm"),
                                       {"default": "passive", "classes": {"AVA": "morris_lecar"},
                                        "neurons": {"AVBL": "glif"}})


def test_full_network_runs_and_responds(spec):
    clamp = CurrentClamp((-200.0,), 5.0, 40.0, 50.0)  # AVA has ~50 nS of synaptic input
    r = simulate_network_nrn(spec, 50.0, dt_ms=0.05, inputs={"AVAL": clamp},
                             record=("v", "a", "w"), record_dt_ms=1.0)
    assert r.data["v"].shape == (1, 302 + 95, 51)
    assert r.names[:302] == list(spec.neurons) and r.names[302:] == list(spec.muscles)
    assert not r.failed and np.all(np.isfinite(r.data["v"]))
    a = r.data["a"][0, 302:]
    assert np.all((a >= 0) & (a <= 1))
    w = r.data["w"][0]
    assert np.isfinite(w[spec.index("AVAL")]).all() and np.isnan(w[spec.index("AVBL")]).all()
    base = simulate_network_nrn(spec, 50.0, dt_ms=0.05, record_cells=["AVAL"], record_dt_ms=1.0)
    assert r.trace("AVAL")[0, 30] < base.trace("AVAL")[0, 30] - 1.0
    assert abs(r.trace("AVAL")[0, 2] - base.trace("AVAL")[0, 2]) < 1e-9  # before the step


def test_stepping_on_full_network(spec):
    net = NrnNetwork(spec, dt_ms=0.05)
    net.reset()
    drive = np.zeros(302)
    drive[spec.index("AVAL")] = 2.0
    for k in range(10):
        net.advance(k + 1.0, drive)
    assert net.voltages().shape == (302,) and net.muscle_activation().shape == (95,)
    with pytest.raises(NetworkError, match="expected shape"):
        net.advance(11.0, np.zeros(3))
    with pytest.raises(NetworkError, match="before t"):
        net.advance(1.0)


def test_run_errors(spec):
    with pytest.raises(NetworkError, match="unknown neuron 'XYZ'"):
        simulate_network_nrn(spec, 5.0, inputs={"XYZ": 1.0})
    with pytest.raises(NetworkError, match="per-step values"):
        simulate_network_nrn(spec, 5.0, dt_ms=0.05, inputs={"AVAL": np.ones(7)})
    with pytest.raises(NetworkError, match="no cell has variable 'zz'"):
        simulate_network_nrn(spec, 5.0, record=("zz",))
    with pytest.raises(NetworkError, match="must be finite"):
        simulate_network_nrn(spec, 5.0, inputs={"AVAL": float("nan")})
