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
def test_agar_crawling_is_sustained():
    """Regression guard for the equalised B-type drive (meta.bias_pA): before it, agar crawling
    decayed into a static posture after ~9 s (0.004 mm/s at 14-20 s)."""
    res = simulate("agar", 16.0, seed=0, figures=False, animation=False)
    t, cl = res.time, res.centreline
    late = t >= 10.0
    g = gait(t[late], cl[late], discard_s=0.0)
    assert g["direction"] == "forward" and g["speed_mm_s"] >= 0.05, g


@pytest.mark.slow
def test_water_wave_travels(runs):
    """Regression guard for the standing-wave fix (tail receptive fields summed, not averaged:
    ``stretch_tail_compensation`` = 0): the water wavelength was ~7 L before, ~3.7 L after."""
    assert runs["water"]["wavelength_body_lengths"] <= 5.0, runs["water"]


@pytest.mark.slow
@pytest.mark.xfail(reason="known gap: water wavelength ~3.7 L vs 1.54 L of Fang-Yen et al. "
                          "2010; lower stretch gains reach ~2 L in water but stall on agar "
                          "(see celegans/organism/tune_defaults.py, step 4)",
                   strict=False)
def test_water_wavelength_near_published(runs):
    assert 1.0 <= runs["water"]["wavelength_body_lengths"] <= 2.5, runs["water"]


@pytest.mark.slow
@pytest.mark.xfail(reason="known gap: agar frequency ~0.56 Hz vs 0.30 Hz published (lower "
                          "stretch gains slow it but make agar crawling seed-dependent)",
                   strict=False)
def test_agar_frequency_near_published(runs):
    assert 0.2 <= runs["agar"]["frequency_hz"] <= 0.45, runs["agar"]
