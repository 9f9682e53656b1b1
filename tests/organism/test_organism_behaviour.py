"""Behaviour of the default worm (long closed-loop runs, marked slow).

Run with ``python -m pytest tests/organism -m slow -q``.
"""

from __future__ import annotations

import pytest

from celegans.organism import simulate

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
@pytest.mark.xfail(reason="known gap: in water the default worm's B-type units lock into a "
                          "nearly standing wave (wavelength >> 1.54 L of Fang-Yen et al. 2010)",
                   strict=False)
def test_water_wavelength_near_published(runs):
    assert 1.0 <= runs["water"]["wavelength_body_lengths"] <= 2.5, runs["water"]


@pytest.mark.slow
@pytest.mark.xfail(reason="known gap: agar frequency ~0.57 Hz vs 0.30 Hz published",
                   strict=False)
def test_agar_frequency_near_published(runs):
    assert 0.2 <= runs["agar"]["frequency_hz"] <= 0.45, runs["agar"]
