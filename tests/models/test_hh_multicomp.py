"""``hh`` (channel-library cells) and ``multicomp`` (c302 morphologies) behind the registry."""

import numpy as np
import pytest

from celegans.models import ModelError, get_model
from celegans.models.multicomp import MORPHOLOGY_TABLE, list_morphologies, load_morphology
from celegans.protocols import CurrentClamp

pytest.importorskip("neuron")
pytest.importorskip("celegans.nrn.hh_cell")
from celegans.nrn.cell import simulate_cell_nrn  # noqa: E402


def test_hh_parameters_come_from_the_cell_file():
    p = get_model("hh").parameters(cell="RMD")
    assert "C_pF" in p and any(k.startswith("g_") for k in p)
    with pytest.raises(ModelError, match="unknown cell 'NOPE'"):
        get_model("hh").parameters(cell="NOPE")
    g = next(k for k in p if k.startswith("g_"))
    with pytest.raises(ModelError, match="negative"):
        get_model("hh").parameters({g: -1.0}, cell="RMD")


def test_hh_delegates_to_channel_library():
    from celegans.nrn.hh_cell import simulate_hh_current_clamp

    cc = CurrentClamp((0.0, 5.0), 20.0, 80.0, 100.0)
    mine = simulate_cell_nrn("hh:RMD", None, cc, dt_ms=0.025)
    ref = simulate_hh_current_clamp("RMD", cc, dt_ms=0.025)
    # same equations; the library runs Crank-Nicolson, the registry backward Euler
    assert np.abs(mine.v - ref.v).max() < 1.0
    assert mine.v[1, 0].max() > mine.v[0, 0].max() + 5


def test_morphology_table_covers_the_connectome():
    cd = pytest.importorskip("connectome_data")
    assert MORPHOLOGY_TABLE.exists()
    assert set(cd.load("cook2019_herm").neurons) <= set(list_morphologies())
    for name in ("AVAL", "DA5", "RMDL", "ADAL"):
        m = load_morphology(name)
        cables = m.cables()
        covered = sorted(s for _, run in cables for s in run)
        non_soma = sorted(int(s) for s, g in zip(m.segment, m.group, strict=True) if g != "soma")
        assert covered == non_soma
        assert all(pc < k for k, (pc, _) in enumerate(cables))
    assert load_morphology("AVAL").total_length_um > 100
    with pytest.raises(ModelError, match="no morphology"):
        load_morphology("XYZ")


def test_multicomp_neurites_load_the_soma():
    cc = CurrentClamp((10.0,), 10.0, 400.0, 400.0)
    soma = {"C": 1.5, "g_L": 0.5, "E_L": -35.0}  # with ~12 pF of neurites: tau ~ 30 ms
    single = simulate_cell_nrn("passive", soma, cc, dt_ms=0.05)
    leaky = simulate_cell_nrn("multicomp", soma, cc, dt_ms=0.05, cell="passive",
                              morphology="AVAL")
    sealed = simulate_cell_nrn("multicomp", {**soma, "neurite_g_L": 0.0}, cc, dt_ms=0.05,
                               cell="passive", morphology="AVAL")
    dv_single = single.v[0, 0, -1] + 35.0
    # passive neurites add leak: smaller steady response
    assert leaky.v[0, 0, -1] + 35.0 < 0.9 * dv_single
    # without neurite leak the steady state is the soma's own (I / g_L), only slower
    assert abs(sealed.v[0, 0, -1] - single.v[0, 0, -1]) < 0.01 * dv_single
    assert sealed.v[0, 0, 220] < single.v[0, 0, 220] - 1.0  # neurite capacitance slows charging


def test_multicomp_with_channel_soma_runs():
    cc = CurrentClamp((5.0,), 10.0, 60.0, 80.0)
    r = simulate_cell_nrn("multicomp", None, cc, dt_ms=0.025, cell="RMD", morphology="RMDL")
    assert not r.failed and r.v[0, 0].max() > r.v[0, 0, 0] + 5
