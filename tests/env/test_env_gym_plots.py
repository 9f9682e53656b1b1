"""Gymnasium-style wrapper and rendering (GIF, trajectory and kymograph figures)."""

from __future__ import annotations

import numpy as np
import pytest

from body.patterns import travelling_wave
from env import Arena, World
from env.gym_env import WormEnv
from env.plots import (
    ffmpeg_available,
    plot_kymograph,
    plot_trajectory,
    render_frames,
    write_movie,
)


def test_gym_style_api():
    env = WormEnv(lambda: World(medium="agar", dt=0.005), control_steps=10, max_steps=30,
                  flatten=True, render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape and info["time_s"] == 0.0
    assert env.action_space.shape == (95,)
    assert env.observation_layout["curvature"].stop - env.observation_layout["curvature"].start \
        == 24
    total = 0.0
    for _ in range(30):
        obs, r, term, trunc, info = env.step(travelling_wave(info["time_s"], 0.5, 0.7))
        total += r
        assert not term
    assert trunc and info["time_s"] == pytest.approx(1.5)
    assert total > 0  # forward wave earns forward displacement
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3
    with pytest.raises(ValueError, match="activations"):
        env.step(np.full(95, 3.0))
    obs, _ = env.reset(options={"heading": 1.0})
    sl = env.observation_layout["head_direction"]
    np.testing.assert_allclose(obs[sl], [np.cos(1.0), np.sin(1.0)], atol=1e-12)
    env.close()


def test_dict_observations():
    env = WormEnv(lambda: World(medium="water", dt=0.005), control_steps=2)
    obs, _ = env.reset()
    assert tuple(obs) == env.observation_names
    env.close()


def test_plots_and_movie(tmp_path):
    w = World(medium="agar", dt=0.005, arena=Arena(radius=3.0, obstacles=[((1.0, 1.0), 0.2)]))
    rec = w.run(lambda t, _: travelling_wave(t, 0.5, 0.7), 2.0, record_every=20)
    p1 = plot_trajectory([rec], path=tmp_path / "traj.png", arena=w.arena)
    p2 = plot_kymograph(rec, path=tmp_path / "kymo.png")
    frames = render_frames(rec, radii=w.worm.radii, size_px=160)
    assert len(frames) == len(rec.time) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[-1])  # the worm moved
    gif = write_movie(frames, tmp_path / "worm.gif", fps=10)
    for p in (p1, p2, gif):
        assert p.exists() and p.stat().st_size > 1000
    import imageio.v2 as imageio

    assert len(imageio.mimread(gif)) == len(frames)
    if ffmpeg_available():
        assert write_movie(frames, tmp_path / "worm.mp4").stat().st_size > 0
    else:
        with pytest.raises(RuntimeError, match="imageio-ffmpeg"):
            write_movie(frames, tmp_path / "worm.mp4")
    with pytest.raises(ValueError, match="path"):
        write_movie(frames, tmp_path / "worm.avi")
    w.worm.close()
