"""Feature extraction on traces with known answers; batches; voltage clamp I-V."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp, VoltageClamp
from fitting.features import current_clamp_features, voltage_clamp_features
from fitting.objectives import PhasePlane

DT = 0.1
T = np.arange(0, 1000.0, DT)
PROT = CurrentClamp((-10.0, 10.0), 200.0, 700.0, 1000.0)


def _passive(tau=20.0, rin=2.0, rest=-60.0):
    v = np.full((2, T.size), rest)
    for s, a in enumerate(PROT.amplitudes_pA):
        on = (T >= 200) & (T < 700)
        v[s, on] = rest + a * rin * (1 - np.exp(-(T[on] - 200) / tau))
        off = T >= 700
        v_end = v[s, on][-1]
        v[s, off] = rest + (v_end - rest) * np.exp(-(T[off] - 700) / tau)
    return v


def test_passive_features_match_construction():
    f = current_clamp_features(_passive(), T, PROT)
    assert f["v_rest"][0] == pytest.approx([-60, -60])
    assert f["v_ss"][0] == pytest.approx([-80, -40], abs=1e-3)
    assert f["input_resistance"][0, 0] == pytest.approx(2.0, rel=1e-3)
    assert f["tau_m"][0] == pytest.approx([20, 20], abs=0.3)
    assert f["spike_count"][0].tolist() == [0, 0]
    assert np.isnan(f["spike_amp"]).all() and np.isnan(f["sag"][0, 1])
    assert abs(f["sag"][0, 0]) < 1e-3


def test_sag_rebound_plateau_and_batches():
    v = _passive()
    on = (T >= 200) & (T < 700)
    # sag: hyperpolarising response relaxes 5 mV back (h-current-like)
    v[0, on] += 5 * (1 - np.exp(-(T[on] - 200) / 80.0)) * (1 - np.exp(-(T[on] - 200) / 5))
    post = T >= 700
    v[0, post] += 15 * np.exp(-(T[post] - 760) ** 2 / 200)           # rebound bump
    v[1, post] = -45.0                                                # depolarised plateau
    batch = np.stack([_passive(), v])
    f = current_clamp_features(batch, T, PROT)
    assert f["v_rest"].shape == (2, 2)
    vmin = v[0, on].min()
    vss = v[0, (T >= 600) & (T < 700)].mean()
    assert f["sag"][1, 0] == pytest.approx((vmin - vss) / (vmin + 60.0), rel=0.02)
    assert f["sag"][1, 0] > 0.05 and abs(f["sag"][0, 0]) < 1e-3
    assert f["rebound"][1, 0] > 10.0 and f["rebound"][0, 0] < 0.1
    assert f["plateau"][1, 1] == pytest.approx(15.0, abs=0.1)
    assert f["bistable"][1].tolist() == [0.0, 1.0]


def test_spikes_count_freq_amp_width_and_block():
    v = np.full((2, T.size), -60.0)
    spike_times = np.arange(210, 500, 20.0)           # stops at 500 ms: block before t_off
    for ts in spike_times:
        v[1] += 80 * np.exp(-((T - ts) / 0.5) ** 2)
    f = current_clamp_features(v, T, PROT)
    assert f["spike_count"][0].tolist() == [0, spike_times.size]
    assert f["spike_freq"][0, 1] == pytest.approx(spike_times.size / 0.5)
    assert f["spike_amp"][0, 1] == pytest.approx(80.0, abs=0.5)
    assert 0.3 < f["spike_width"][0, 1] < 1.2
    assert f["depol_block"][0, 1] == pytest.approx((700 - spike_times[-1]) / 500, abs=0.01)
    assert np.isnan(f["tau_m"][0, 1])


def test_nan_trace_gives_nan_features_not_exceptions():
    v = _passive()
    v[1, 10] = np.nan
    f = current_clamp_features(v, T, PROT)
    assert np.isnan(f["v_ss"][0, 1]) and np.isfinite(f["v_ss"][0, 0])


def test_voltage_clamp_iv():
    pv = VoltageClamp((-80.0, -40.0, 0.0), 100.0, 400.0, 500.0, -60.0)
    g, e = 2.0, -70.0
    i = np.zeros((3, T[T < 500].size))
    tt = T[T < 500]
    for s, lvl in enumerate(pv.levels_mV):
        vcmd = np.where((tt >= 100) & (tt < 400), lvl, -60.0)
        i[s] = g * (vcmd - e)
    f = voltage_clamp_features(i, tt, pv)
    assert f["i_ss"][0] == pytest.approx([g * (lv - e) for lv in pv.levels_mV])
    assert f["i_hold"][0] == pytest.approx([20.0] * 3)
    assert f["i_peak"][0] == pytest.approx([g * (lv + 60) for lv in pv.levels_mV])


def test_phase_plane_error_zero_on_target_positive_elsewhere():
    v = _passive()
    pp = PhasePlane(v, DT, bins=20)
    e = pp.error(np.stack([v, _passive(tau=5.0)]))
    assert e[0] == pytest.approx([0, 0]) and np.all(e[1] > 0.05)
