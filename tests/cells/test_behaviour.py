"""Qualitative behaviour reported by the papers, in NEURON."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("neuron")

from celegans.nrn.hh_cell import build_hh_section, run_current_clamp  # noqa: E402
from celegans.protocols import CurrentClamp  # noqa: E402

DT = 0.025


def _idx(t_ms: float) -> int:
    return int(round(t_ms / DT))


def test_rmd_bistable_plateau():
    """Nicoletti 2019 Fig. 7: a brief depolarising pulse switches RMD to a depolarised plateau
    that outlasts the pulse; a brief hyperpolarising pulse switches it back; a subthreshold
    pulse does not switch it."""
    from neuron import h

    sec = build_hh_section("RMD", name="rmd_bistable")
    back = h.IClamp(sec(0.5))
    back.delay, back.dur, back.amp = 250.0, 20.0, -15e-3  # -15 pA, as in RMD.ode
    t, d = run_current_clamp(sec, CurrentClamp((2.0, 10.0), 50.0, 100.0, 400.0), DT)
    v = d["v"]
    rest = v[:, _idx(49)]
    assert np.all(rest < -65)
    # subthreshold pulse: back at rest before the hyperpolarising pulse
    assert abs(v[0, _idx(245)] - rest[0]) < 1.0
    # suprathreshold pulse: plateau ~150 ms after the pulse ended
    assert v[1, _idx(245)] > rest[1] + 15.0
    assert np.ptp(v[1, _idx(150):_idx(245)]) < 2.0  # stable, not decaying
    # hyperpolarising pulse resets to the resting state
    assert abs(v[1, -1] - rest[1]) < 1.5


def test_awcon_regenerative_depolarisation():
    """Nicoletti 2019 Fig. 4: AWCon responds to depolarising steps with a regenerative
    depolarisation that peaks and then relaxes (transient overshoot grows with current);
    hyperpolarising steps give no overshoot."""
    sec = build_hh_section("AWCon", name="awc_regen")
    t, d = run_current_clamp(sec, CurrentClamp((-10.0, 10.0, 30.0), 50.0, 350.0, 360.0), DT)
    v = d["v"]
    peak = v[:, _idx(50):_idx(350)].max(axis=1)
    late = v[:, _idx(349)]
    rest = v[:, _idx(49)]
    overshoot = peak - np.maximum(late, rest)
    assert overshoot[0] < 0.5
    assert overshoot[1] > 5.0 and overshoot[2] > 10.0
    assert peak[2] > -15.0  # large regenerative event


def test_aiy_graded_responses():
    """Nicoletti 2024: AIY responds with graded (non-spiking) potentials whose amplitude grows
    monotonically with the injected current."""
    amps = (-10.0, -5.0, 0.0, 5.0, 10.0, 20.0)
    sec = build_hh_section("AIY", name="aiy_graded")
    t, d = run_current_clamp(sec, CurrentClamp(amps, 50.0, 350.0, 360.0), DT)
    v = d["v"]
    v_ss = v[:, _idx(349)]
    assert np.all(np.diff(v_ss) > 0)
    # graded: no repetitive spikes (at most one local maximum with >5 mV prominence)
    for trace in v:
        seg = trace[_idx(50):_idx(350)]
        peaks = (seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:]) & (seg[1:-1] > seg.min() + 5.0)
        assert peaks.sum() <= 1


def test_hh1952_fires_repetitively():
    """Classic HH at 6.3 degC: rest -65 mV, repetitive spikes overshooting 0 mV at
    10 uA/cm2 (100 pA on 1000 um2)."""
    sec = build_hh_section("HH1952", name="hh_fire")
    t, d = run_current_clamp(sec, CurrentClamp((0.0, 100.0), 20.0, 220.0, 240.0), DT)
    v = d["v"]
    assert np.allclose(v[0], -65.0, atol=0.1)
    up = np.flatnonzero((v[1, :-1] < 0.0) & (v[1, 1:] >= 0.0))
    assert 8 <= up.size <= 20  # ~50-80 Hz over 200 ms
    assert v[1].max() > 30.0


def test_motor_neuron_calcium_shell_rises_and_keeps_floor():
    """VD (2024): depolarisation opens EGL-19/CCA-1 and loads the submembrane Ca shell, which
    never falls below its 100 nM floor."""
    sec = build_hh_section("VD", name="vd_ca")
    t, d = run_current_clamp(sec, CurrentClamp((-10.0, 20.0), 20.0, 120.0, 150.0), DT,
                             record=("v", "cai"))
    cai = d["cai"]
    assert np.all(cai >= 1e-4 - 1e-12)
    assert cai[1].max() > 5 * 1e-4 and cai[0].max() < 2e-4
