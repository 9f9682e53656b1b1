"""Behaviour of the default worm (long closed-loop runs, marked slow).

Run with ``python -m pytest tests/organism -m slow -q``.
"""

from __future__ import annotations

import pytest

from celegans.organism import simulate
from celegans.organism.simulate import gait

DURATION = 8.0


@pytest.fixture(scope="module")
def runs():
    out = {}
    for medium in ("agar", "water"):
        out[medium] = simulate(medium, DURATION, seed=0, discard_s=2.0).summary["gait"]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("medium", ["agar", "water"])
def test_default_worm_moves_forward(runs, medium):
    g = runs[medium]
    assert g["direction"] == "forward", g
    assert g["wave_direction"] == 1, g  # head -> tail wave
    assert g["frequency_hz"] > 0.1


@pytest.mark.slow
def test_gait_adapts_to_the_medium(runs):
    agar, water = runs["agar"], runs["water"]
    assert water["frequency_hz"] > agar["frequency_hz"]
    assert water["wavelength_body_lengths"] > agar["wavelength_body_lengths"]


@pytest.mark.slow
def test_crawling_speed_in_published_range(runs):
    assert 0.05 <= runs["agar"]["speed_mm_s"] <= 0.4, runs["agar"]


@pytest.mark.slow
@pytest.mark.parametrize("ablate", [["VB", "DB"], ["AVB"]])
def test_ablation_abolishes_forward_locomotion(runs, ablate):
    g = simulate("agar", DURATION, seed=0, ablate=ablate).summary["gait"]
    assert g["direction"] != "forward" or g["speed_mm_s"] < 0.25 * runs["agar"]["speed_mm_s"], g


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_agar_crawling_is_sustained(seed):
    """Regression guard for the equalised B-type drive (meta.bias_pA; before it agar crawling
    decayed into a static posture after ~9 s) and for the actuated head (RMD head units;
    before them seed 0 stalled after ~14 s: 0.044 mm/s at 14-20 s): both seeds crawl from
    the start to 20 s, and the head units switch (RMDD/RMDV swing through their window)."""
    res = simulate("agar", 20.0, seed=seed, figures=False, animation=False)
    t, cl = res.time, res.centreline
    for a, b in ((2.0, 8.0), (14.0, 20.0)):
        w = (t >= a) & (t <= b)
        g = gait(t[w], cl[w], discard_s=0.0)
        assert g["direction"] == "forward" and g["speed_mm_s"] >= 0.05, (a, b, g)
    late = t >= 10.0
    for name in ("RMDDL", "RMDVR"):
        v = res.voltage(name)[late]
        assert v.max() - v.min() > 40.0, (name, v.min(), v.max())


@pytest.mark.slow
def test_water_wave_travels(runs):
    """Regression guard for the standing-wave fix (tail receptive fields summed, not averaged:
    ``stretch_tail_compensation`` = 0): water wavelength ~7 L before, ~3.7 L after; ~2.9 L
    with 9-row fields (tune_defaults step 7)."""
    assert runs["water"]["wavelength_body_lengths"] <= 5.0, runs["water"]


@pytest.mark.slow
@pytest.mark.xfail(reason="known gap: water wavelength ~2.9 L vs 1.54 L of Fang-Yen et al. "
                          "2010; lower stretch gains reach ~2 L in water but stall on agar "
                          "(see celegans/organism/tune_defaults.py, steps 4 and 7)",
                   strict=False)
def test_water_wavelength_near_published(runs):
    assert 1.0 <= runs["water"]["wavelength_body_lengths"] <= 2.5, runs["water"]


@pytest.mark.slow
def test_agar_gait_near_published(runs):
    """Fang-Yen et al. 2010: 0.30 Hz, 0.65 L on agar. With 6-row receptive fields the default
    crawled at ~0.6 Hz / 0.43 L; 9 rows (tune_defaults step 7) give ~0.42 Hz / 0.59 L."""
    assert 0.2 <= runs["agar"]["frequency_hz"] <= 0.45, runs["agar"]
    assert 0.5 <= runs["agar"]["wavelength_body_lengths"] <= 0.9, runs["agar"]
