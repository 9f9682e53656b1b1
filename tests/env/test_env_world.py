"""World: open-loop travelling wave in water vs agar, sensors, contacts, fields, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from body import BodyInstabilityError, InvalidActivationError, Worm
from body.patterns import travelling_wave
from env import (
    Arena,
    EnvInputError,
    FoodPatch,
    GaussianSource,
    Medium,
    TemperatureGradient,
    UnknownMediumError,
    World,
)
from env import metrics as M

F, LAM = 0.3, 0.65  # imposed wave: Hz, body lengths (crawling gait on agar, Fang-Yen 2010)


def _wave(t, world):
    return travelling_wave(t, F, LAM)


@pytest.fixture(scope="module")
def runs():
    out = {}
    for med in ("water", "agar"):
        w = World(medium=med, dt=0.005)
        rec = w.run(_wave, 8.0)
        keep = rec.time >= 2.0 - 1e-9
        out[med] = (rec, rec.centreline[keep], rec.time[keep])
        w.worm.close()
    return out


def test_open_loop_wave_matches_imposed_frequency_and_wavelength(runs):
    for med, (_, cl, t) in runs.items():
        f = M.undulation_frequency(M.curvature_at(cl, 0.5), t)
        lam = M.wavelength(cl, t, F)
        assert f == pytest.approx(F, rel=0.05), med
        assert lam == pytest.approx(LAM, rel=0.05), med
        assert M.wave_direction(cl, t, F) == 1


def test_open_loop_wave_moves_forward_with_rft_slip(runs):
    res = {}
    for med, (_, cl, t) in runs.items():
        n = int(round(1 / F / 0.005))  # one whole cycle (1/F = 3.33 s)
        sel = slice(0, 1 + n)
        v = M.centroid_speed(cl[sel], t[sel])
        assert np.all(M.movement_direction(cl, t)[20:-20] == 1), med  # forward, head first
        res[med] = (v, v / F, M.slip_ratio(v, F, LAM * 1.0))
    (vw, pcw, sw), (va, pca, sa) = res["water"], res["agar"]
    # resistive-force theory: c_n/c_t ~40 on agar -> little slip; ~1.5 in water -> mostly slip
    assert sa < 0.5 < 0.7 < sw
    assert va > vw and pca > 3 * pcw  # faster, more distance per undulation cycle on agar


def test_dt_independence():
    out = []
    for dt in (0.001, 0.005):
        w = World(medium="agar", dt=dt)
        rec = w.run(_wave, 2.0, record_every=int(round(0.01 / dt)))
        out.append(rec.centreline[-1])
        w.worm.close()
    assert np.abs(out[0] - out[1]).max() < 0.01  # mm


def test_sensors_named_and_fields_read_at_nose():
    fields = {"NaCl": GaussianSource([(3.0, 0.0)], peak=1.0, sigma=2.0),
              "temperature": TemperatureGradient((0.5, 0.0), 20.0)}
    w = World(medium="agar", fields=fields, food=FoodPatch((0.0, 0.0), 0.5), dt=0.005)
    obs = w.observe()
    assert tuple(obs) == w.sensor_names
    assert w.sensor_names[-3:] == ("NaCl", "temperature", "food")
    assert obs["temperature"][0] == pytest.approx(20.0)  # nose at the origin
    assert obs["NaCl"][0] == pytest.approx(np.exp(-9 / 8))
    assert obs["food"][0] > 0.99
    w.run(_wave, 2.0)
    obs = w.observe()
    assert obs["temperature"][0] == pytest.approx(20.0 + 0.5 * obs["nose"][0])
    assert obs["nose"][0] > 0.05  # crawled towards +x (head direction at heading 0)
    w.worm.close()


def test_wall_contact_stops_worm_and_triggers_anterior_touch():
    arena = Arena(box=(-2.0, 0.15, -2.0, 2.0))
    w = World(medium="agar", arena=arena, dt=0.005)
    rec = w.run(_wave, 6.0)
    assert rec.centreline[:, :, 0].max() < 0.15 + 0.01  # wall holds (soft contact)
    obs = w.observe()
    touched = rec.contact.sum(1) > 0
    assert touched.any()
    assert obs["touch_posterior"][0] == 0.0
    assert rec.contact[touched][:, :5].sum() > 0  # head segments touch the wall
    w.worm.close()


def test_world_bad_input():
    with pytest.raises(UnknownMediumError, match="medium"):
        World(medium="honey")
    with pytest.raises(ValueError, match="viscosity_mPa_s"):
        World(medium=-3.0)
    with pytest.raises(EnvInputError, match="dt"):
        World(dt=0.5)
    with pytest.raises(EnvInputError, match="fields"):
        World(fields={"nose": GaussianSource([(0, 0)])})
    with pytest.raises(EnvInputError, match="position"):
        World(arena=Arena(radius=1.0), position=(5.0, 0.0))
    w = World(dt=0.005)
    with pytest.raises(InvalidActivationError, match="activations"):
        w.step(np.full(95, np.nan))
    with pytest.raises(InvalidActivationError, match=r"\(95,\)"):
        w.step(np.zeros(96))
    with pytest.raises(EnvInputError, match="drive"):
        w.run(np.zeros((3, 95)), 1.0)
    with pytest.raises(InvalidActivationError, match=r"drive\[0\]"):
        w.run(np.full((400, 95), 2.0), 1.0)
    w.worm.close()


def test_blow_up_reported_by_run():
    worm = Worm({"max_joint_speed": 1.0}, use_pybullet=False)  # absurdly strict guard
    w = World(worm, medium="water", dt=0.005)
    with pytest.raises(BodyInstabilityError):
        w.run(_wave, 1.0)
    w.reset()
    rec = w.run(_wave, 1.0, raise_on_failure=False)
    assert rec.failed and "max_joint_speed" in rec.failure
    assert np.all(np.isfinite(rec.centreline))


def test_intermediate_viscosity_runs(tmp_path):
    w = World(medium=Medium.newtonian(3000.0), dt=0.005)
    rec = w.run(_wave, 1.0, record_every=10)
    assert np.all(np.isfinite(rec.centreline))
    p = rec.save(tmp_path / "rec.npz")
    d = np.load(p)
    assert d["centreline"].shape == rec.centreline.shape and str(d["medium"]).startswith("newt")
    w.worm.close()


def test_relaxed_worm_stays_put():
    w = World(medium="water", dt=0.005)
    rec = w.run(np.zeros((200, 95)), 1.0)
    np.testing.assert_allclose(rec.centreline[-1], rec.centreline[0], atol=1e-12)
    w.worm.close()


def test_reversed_wave_moves_backward_and_is_detected():
    w = World(medium="agar", dt=0.005)

    def drive(t, _w):
        return travelling_wave(t, 0.5, 0.7, direction=1 if t < 6.0 else -1)

    rec = w.run(drive, 12.0, record_every=2)
    d = M.movement_direction(rec.centreline, rec.time)
    t = rec.time
    assert np.all(d[(t > 2.5) & (t < 5.5)] == 1)
    assert np.all(d[(t > 8.5) & (t < 11.5)] == -1)
    rev = M.detect_reversals(rec.centreline, rec.time, min_duration_s=2.0)
    assert len(rev) == 1 and 5.5 < rev[0][0] < 8.0
    w.worm.close()


def test_slip_falls_and_distance_per_cycle_rises_from_water_to_agar():
    slips, per_cycle = [], []
    for x in (0.0, 0.25, 0.5, 0.75, 1.0):
        w = World(medium=Medium.between(x), dt=0.005)
        rec = w.run(_wave, 2.0 + 2 / F, record_every=2)
        keep = rec.time >= 2.0 - 1e-9
        v = M.centroid_speed(rec.centreline[keep], rec.time[keep])
        slips.append(M.slip_ratio(v, F, LAM))
        per_cycle.append(v / F)
        w.worm.close()
    assert np.all(np.diff(slips) < 0), slips
    assert np.all(np.diff(per_cycle) > 0), per_cycle


def test_advance_holds_activations_for_a_coupling_interval():
    w = World(medium="agar", dt=0.001)
    a = travelling_wave(0.0, 0.5, 0.7)
    obs = w.advance(0.010, a)
    assert w.time == pytest.approx(0.010)
    obs = w.advance(0.0105)  # less than one step left: nothing happens
    assert w.time == pytest.approx(0.010)
    np.testing.assert_allclose(obs["muscle_activation"], a * (1 - np.exp(-0.1)), rtol=1e-9)
    with pytest.raises(EnvInputError, match="until_s"):
        w.advance(float("nan"))
    w.worm.close()


def test_swimming_displacement_converges_in_dt():
    """Net swimming in water is a small second-order effect: the midpoint geometry keeps the
    displacement within a few per cent between dt = 1 ms and 5 ms."""
    ends = []
    for dt in (0.001, 0.005):
        w = World(medium="water", dt=dt)
        rec = w.run(lambda t, _w: travelling_wave(t, 1.76, 1.54), 2.0,
                    record_every=int(round(0.01 / dt)))
        c = M.centroid(rec.centreline)
        ends.append(c[-1] - c[0])
        w.worm.close()
    assert np.linalg.norm(ends[0]) > 0.15  # swims ~0.2 mm in 2 s
    assert np.linalg.norm(ends[0] - ends[1]) < 0.03 * np.linalg.norm(ends[0])
