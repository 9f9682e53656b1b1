"""A Gymnasium-style wrapper of body + environment (gymnasium is optional).

Action: 95 muscle activations in [0, 1] (named muscle order). Observation: the world's named
sensors as a dict, or one flat vector (``flatten=True``; layout in ``observation_layout``).
Reward (default): forward displacement of the centroid along the head direction (mm) per step.
A numerical blow-up ends the episode (``terminated=True``, ``info["failure"]``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from body import BodyInstabilityError
from body.geometry import N_MUSCLES
from env.world import World

try:  # pragma: no cover - depends on the installation
    import gymnasium as _gym
    from gymnasium import spaces as _spaces

    _Base = _gym.Env
except ImportError:  # gymnasium not installed: plain object with the same methods
    _gym = None
    _spaces = None
    _Base = object

HAVE_GYMNASIUM = _gym is not None


class Box:
    """Minimal stand-in for ``gymnasium.spaces.Box`` (used when gymnasium is absent)."""

    def __init__(self, low: float, high: float, shape: tuple[int, ...], seed: int | None = None):
        self.low = np.full(shape, low, dtype=np.float64)
        self.high = np.full(shape, high, dtype=np.float64)
        self.shape = shape
        self.dtype = np.float64
        self._rng = np.random.default_rng(seed)

    def sample(self) -> np.ndarray:
        lo = np.where(np.isfinite(self.low), self.low, -1.0)
        hi = np.where(np.isfinite(self.high), self.high, 1.0)
        return self._rng.uniform(lo, hi)

    def contains(self, x: object) -> bool:
        a = np.asarray(x, dtype=float)
        return a.shape == self.shape and bool(np.all((a >= self.low) & (a <= self.high)))


def _box(low: float, high: float, shape: tuple[int, ...]):
    if _spaces is not None:
        return _spaces.Box(low=low, high=high, shape=shape, dtype=np.float64)
    return Box(low, high, shape)


class WormEnv(_Base):
    """reset/step API over a :class:`env.World`; ``control_steps`` world steps per action."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, world_factory: Callable[[], World] | None = None, *,
                 control_steps: int = 10, max_steps: int = 1000, flatten: bool = False,
                 random_heading: bool = False,
                 reward_fn: Callable[[World, np.ndarray, np.ndarray], float] | None = None,
                 render_mode: str | None = None) -> None:
        if int(control_steps) < 1:
            raise ValueError(f"control_steps: expected an integer >= 1, got {control_steps!r}")
        if int(max_steps) < 1:
            raise ValueError(f"max_steps: expected an integer >= 1, got {max_steps!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: expected None or 'rgb_array', got {render_mode!r}")
        self.world = world_factory() if world_factory is not None else World()
        self.control_steps = int(control_steps)
        self.max_steps = int(max_steps)
        self.flatten = bool(flatten)
        self.random_heading = bool(random_heading)
        self.reward_fn = reward_fn
        self.render_mode = render_mode
        self._rng = np.random.default_rng()
        obs = self.world.observe()
        self.observation_names = tuple(self.world.sensor_names)
        self.observation_layout: dict[str, slice] = {}
        k = 0
        for name in self.observation_names:
            n = int(np.asarray(obs[name]).size)
            self.observation_layout[name] = slice(k, k + n)
            k += n
        self.action_space = _box(0.0, 1.0, (N_MUSCLES,))
        if self.flatten or _spaces is None:
            self.observation_space = _box(-math.inf, math.inf, (k,))
        else:
            self.observation_space = _spaces.Dict({
                name: _spaces.Box(-math.inf, math.inf, np.asarray(obs[name]).shape, np.float64)
                for name in self.observation_names})
        self._steps = 0

    def _obs(self) -> dict[str, np.ndarray] | np.ndarray:
        obs = self.world.observe()
        if self.flatten:
            return np.concatenate([np.ravel(obs[n]) for n in self.observation_names])
        return dict(obs)  # gymnasium's Dict space wants a dict

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode; ``options`` may give ``position`` and ``heading``."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        options = dict(options or {})
        heading = options.get("heading")
        if heading is None and self.random_heading:
            heading = float(self._rng.uniform(-np.pi, np.pi))
        self.world.reset(options.get("position"), heading)
        self._steps = 0
        return self._obs(), {"time_s": self.world.time}

    def step(self, action: object):
        """Apply ``action`` for ``control_steps`` world steps; returns
        ``(observation, reward, terminated, truncated, info)``."""
        before = self.world.worm.centroid()
        heading = self.world.worm.head_direction()
        info: dict = {}
        terminated = False
        try:
            self.world.step(action)
            for _ in range(self.control_steps - 1):
                self.world.step(None)
        except BodyInstabilityError as exc:
            terminated = True
            info["failure"] = str(exc)
        after = self.world.worm.centroid()
        if terminated:
            reward = 0.0
        elif self.reward_fn is not None:
            reward = float(self.reward_fn(self.world, before, after))
        else:
            reward = float((after - before) @ heading)
        self._steps += 1
        truncated = self._steps >= self.max_steps and not terminated
        info["time_s"] = self.world.time
        return self._obs(), reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """An RGB frame of the current posture (``render_mode="rgb_array"``)."""
        if self.render_mode != "rgb_array":
            return None
        from env.plots import render_frames
        from env.world import Recording

        cl = self.world.worm.centreline()[None]
        rec = Recording(np.array([self.world.time]), cl, np.zeros((1, 24)),
                        np.zeros((1, N_MUSCLES)))
        return render_frames(rec, radii=self.world.worm.radii, follow=True)[0]

    def close(self) -> None:
        self.world.worm.close()
