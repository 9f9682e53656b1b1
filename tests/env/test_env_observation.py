"""World.observe / Worm.sensor_snapshot: lazy read-only mappings that behave like the dict of
sensors taken at the moment of the call."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from body import SENSOR_NAMES, Worm
from body.patterns import travelling_wave
from env import Arena, FoodPatch, GaussianSource, World


def _stepped_world(**kw) -> World:
    w = World(Worm(), dt=1e-3, **kw)
    w.worm.reset(joint_angles=np.random.default_rng(1).normal(0.0, 0.1, w.worm.n_joints))
    for k in range(50):
        w.step(travelling_wave(k * 1e-3, 0.3, 0.65))
    return w


def test_observation_is_a_snapshot_in_sensor_order():
    w = _stepped_world(medium="agar", fields={"NaCl": GaussianSource([(1.0, 0.0)])},
                       food=FoodPatch((0.0, 0.0), 0.5))
    obs = w.observe()
    assert isinstance(obs, Mapping)
    assert tuple(obs) == w.sensor_names and len(obs) == len(w.sensor_names)
    assert "nose" in obs and "nonsense" not in obs
    with pytest.raises(KeyError):
        obs["nonsense"]
    eager = {k: np.array(v, copy=True) for k, v in w.observe().items()}
    for k in range(20):  # the world moves on; the observation does not
        w.step(travelling_wave((50 + k) * 1e-3, 0.3, 0.65))
    later = w.observe()
    assert not np.allclose(later["curvature"], eager["curvature"])
    for name in w.sensor_names:
        np.testing.assert_array_equal(obs[name], eager[name], err_msg=name)
    assert obs["curvature"] is obs["curvature"]  # computed once
    w.worm.close()


def test_lazy_values_equal_the_dict_of_worm_sensors():
    w = _stepped_world(medium="water")
    snap = w.worm.sensor_snapshot()
    full = w.worm.sensors()
    assert isinstance(full, dict) and tuple(full) == SENSOR_NAMES
    for name in reversed(SENSOR_NAMES):  # any reading order gives the same values
        np.testing.assert_array_equal(snap[name], full[name], err_msg=name)
    np.testing.assert_array_equal(full["nose"], w.worm.centreline()[0])
    np.testing.assert_array_equal(full["stretch_dorsal"], -full["stretch_ventral"])
    w.worm.close()


def test_touch_sensors_with_and_without_arena():
    w = _stepped_world(medium="agar")
    obs = w.observe()
    assert obs["touch_anterior"].shape == (1,) and obs["touch_anterior"][0] == 0.0
    assert obs["touch_posterior"][0] == 0.0 and not obs["contact"].any()
    # a wall right in front of the nose: the anterior touch field reads the contact force
    w2 = World(Worm(), medium="agar", dt=5e-3, arena=Arena(box=(-2.0, 0.005, -2.0, 2.0)))
    for k in range(5):  # (the soft wall then pushes the worm off)
        w2.step(travelling_wave(k * 5e-3, 0.3, 0.65))
    obs2 = w2.observe()
    c = obs2["contact"]
    assert c.sum() > 0
    assert obs2["touch_anterior"][0] == pytest.approx(c[w2.worm.anterior_segments()].sum())
    assert obs2["touch_posterior"][0] == pytest.approx(c[~w2.worm.anterior_segments()].sum())
    c[:] = -1.0  # a copy: the world's contact state is untouched
    assert w2.observe()["contact"].min() >= 0.0
    w.worm.close()
    w2.worm.close()


def test_observation_pickles_without_the_worm():
    import pickle

    w = _stepped_world(medium="water")
    obs = w.observe()
    obs["curvature"]  # one value computed before pickling, the rest after
    data = pickle.dumps(obs)
    assert len(data) < 20_000  # state and constant arrays only, no body or PyBullet client
    back = pickle.loads(data)
    assert tuple(back) == tuple(obs)
    for name in obs:
        np.testing.assert_array_equal(back[name], obs[name], err_msg=name)
    w.worm.close()
