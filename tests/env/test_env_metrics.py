"""Behaviour metrics on synthetic postures with exactly known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from env import metrics as M

EIGENWORMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "eigenworms" / \
    "EigenWorms.csv"


def synthetic(f=0.5, lam=0.7, amp=6.0, v=0.2, L=1.0, T=12.0, dt=0.01, P=101, direction=1,
              heading=0.0):
    """Centrelines (nose first) of kappa(s, t) = amp sin(2 pi (f t - direction s / lam)), the
    shape translating at ``v`` mm/s along the head direction (rigidly: no slip model)."""
    t = np.arange(0, T, dt)
    ds = L / (P - 1)
    sm = np.arange(P - 1) * ds  # bend between segments i-1 and i sits at joint i
    kappa = amp * np.sin(2 * np.pi * (f * t[:, None] - direction * sm[None] / (lam * L)))
    th = np.cumsum(kappa * ds, axis=1)
    th = th - th.mean(1, keepdims=True) + np.pi + heading  # body trails behind the nose
    d = ds * np.stack((np.cos(th), np.sin(th)), -1)
    pts = np.concatenate((np.zeros((len(t), 1, 2)), np.cumsum(d, 1)), 1)
    pts -= M.centroid(pts)[:, None, :]
    move = v * np.array([np.cos(heading), np.sin(heading)])
    return pts + t[:, None, None] * move, t


@pytest.mark.parametrize("f, lam, v", [(0.5, 0.7, 0.2), (1.8, 1.5, 0.35), (0.3, 0.65, 0.1)])
def test_frequency_wavelength_speed_exact(f, lam, v):
    cl, t = synthetic(f=f, lam=lam, v=v, T=10.0)
    assert M.undulation_frequency(M.curvature_at(cl, 0.5), t) == pytest.approx(f, rel=2e-3)
    assert M.wavelength(cl, t) == pytest.approx(lam, rel=5e-3)
    n = int(round(4 / f / 0.01))  # whole cycles
    assert M.centroid_speed(cl[: n + 1], t[: n + 1]) == pytest.approx(v, rel=1e-6)
    g = M.gait_summary(cl, t)
    assert g.speed_mm_s == pytest.approx(v, rel=1e-3)
    assert g.frequency_hz == pytest.approx(f, rel=2e-3)
    assert g.wavelength_body_lengths == pytest.approx(lam, rel=5e-3)
    assert g.curvature_amplitude_per_mm == pytest.approx(6.0, rel=0.01)
    assert g.slip_ratio == pytest.approx(1 - v / (f * lam), rel=1e-2)
    assert g.wave_direction == 1 and g.forward_fraction == 1.0


def test_straight_or_barely_bending_body_does_not_undulate():
    # a paralysed worm: straight, or with curvature ripples far below a visible bend; zero
    # crossings of such ripples must not be reported as a gait
    for amp in (1e-9, 0.5):
        cl, t = synthetic(f=1.5, lam=1.5, amp=amp, v=0.0, T=4.0)
        g = M.gait_summary(cl, t)
        assert g.curvature_amplitude_kappa_L < M.MIN_UNDULATION_KAPPA_L
        assert g.frequency_hz == 0.0 and g.wave_direction == 0
        assert np.isnan(g.wavelength_body_lengths) and np.isnan(g.slip_ratio)
    # just above the threshold the same wave is measured as usual
    cl, t = synthetic(f=1.5, lam=1.5, amp=1.2 * M.MIN_UNDULATION_KAPPA_L, v=0.1, T=4.0)
    g = M.gait_summary(cl, t)
    assert g.frequency_hz == pytest.approx(1.5, rel=5e-3)
    assert g.wavelength_body_lengths == pytest.approx(1.5, rel=1e-2)
    # the threshold is a named argument
    assert M.gait_summary(cl, t, min_kappa_L=2.0).frequency_hz == 0.0


def test_kymograph_and_curvature_sign():
    cl, t = synthetic(T=2.0)
    kymo, s = M.kymograph(cl, 20)
    assert kymo.shape == (len(t), 20)
    k_true = 6.0 * np.sin(2 * np.pi * (0.5 * t[:, None] - s[None] / 0.7))
    np.testing.assert_allclose(kymo, k_true, atol=0.05)
    # a circular arc bending counter-clockwise from nose to tail has curvature +1/R
    th = np.linspace(0, 1.0, 51)
    arc = np.stack((np.cos(th), np.sin(th)), 1)[None] * 2.0
    k, _ = M.curvature(np.concatenate((arc, arc)))
    np.testing.assert_allclose(k, 0.5, rtol=1e-3)


def test_backward_motion_reversals_and_turns():
    fwd, t = synthetic(v=0.2, T=6.0)
    back, _ = synthetic(v=-0.2, T=6.0, direction=-1)
    assert np.all(M.movement_direction(back, t)[50:-50] == -1)
    assert M.wave_direction(back, t) == -1
    cl = np.concatenate((fwd, back[:300] + fwd[-1:].mean(1, keepdims=True) -
                         back[:1].mean(1, keepdims=True)))
    tt = np.arange(len(cl)) * 0.01
    rev = M.detect_reversals(cl, tt, min_duration_s=1.0)
    assert len(rev) == 1 and rev[0][0] == pytest.approx(6.0, abs=0.6)
    # a path that turns by 180 degrees (semicircle) is a turn
    t2 = np.arange(0, 20, 0.01)
    ang = np.pi * np.clip((t2 - 5) / 10, 0, 1)
    straight = np.stack((-np.linspace(0, 1, 26), np.zeros(26)), 1)  # nose first, along +x
    rot = np.stack([np.stack((np.cos(a), -np.sin(a), np.sin(a), np.cos(a))).reshape(2, 2)
                    for a in ang])
    shape = np.einsum("tij,pj->tpi", rot, straight)
    path = np.cumsum(0.1 * 0.01 * np.stack((np.cos(ang), np.sin(ang)), 1), 0)
    turning = shape + path[:, None]
    turns = M.detect_turns(turning, t2, angle_deg=90, window_s=4.0)
    assert any(e["kind"] == "turn" and e["angle_deg"] >= 90 for e in turns)
    assert not [e for e in M.detect_turns(fwd, t, window_s=4.0) if e["kind"] == "turn"]


def test_eigenworm_pca_recovers_travelling_wave_modes():
    cl, t = synthetic(T=6.0)
    B, var = M.eigenworm_basis(cl, n_modes=4)
    assert var[:2].sum() > 0.95  # a travelling wave lives in two modes
    a = M.eigenworm_projection(cl, B, 2)
    r = np.hypot(a[:, 0], a[:, 1])
    assert r.std() / r.mean() < 0.05  # constant amplitude, rotating phase
    np.testing.assert_allclose(B.T @ B, np.eye(4), atol=1e-10)


@pytest.mark.skipif(not EIGENWORMS.exists(), reason="shared eigenworm data absent")
def test_published_eigenworm_basis():
    E = M.load_eigenworms(EIGENWORMS)
    assert E.shape == (100, 100)
    cl, t = synthetic(T=4.0)
    a = M.eigenworm_projection(cl, E[:, :99])
    th = M.resample_angles(cl, 100)
    th -= th.mean(1, keepdims=True)
    np.testing.assert_allclose(a @ E[:, :99].T, th, atol=1e-3)  # the basis is complete
    assert np.abs(a[:, :5]).sum() > 0.5 * np.abs(a).sum()  # worm-like shapes: few modes


def test_chemotaxis_indices():
    pos = np.array([[0, 0], [0.1, 0], [5, 5], [10, 0], [10.2, 0.1], [10, -0.3]])
    assert M.chemotaxis_index(pos, attractant=(10, 0), control=(0, 0), radius=1.0) == \
        pytest.approx((3 - 2) / 5)
    track = np.stack((np.linspace(0, 5, 50), np.zeros(50)), 1)
    assert M.approach_index(track, (10, 0)) == pytest.approx(1.0)
    assert M.approach_index(track[::-1], (10, 0)) == pytest.approx(-1.0)


def test_bad_metric_input():
    with pytest.raises(M.MetricsInputError, match="centreline"):
        M.curvature(np.zeros((4, 2, 2)))
    with pytest.raises(M.MetricsInputError, match="time"):
        M.centroid_speed(np.zeros((4, 10, 2)), np.zeros(3))
    with pytest.raises(M.MetricsInputError, match="non-finite"):
        M.centroid(np.full((2, 5, 2), np.nan))
