"""Short reference trajectories of the body in its world, for equality tests of optimised code.

``python -m tests.body.reference_trajectories`` (from the repository root) rewrites
``tests/body/data/reference_trajectories.npz``. The stored file was computed with the body/env
code as it stood before the speed-ups of issue 7 (``World.step`` via ``Medium.drag_matrix``, eager
``World.observe``); ``tests/body/test_body_reference.py`` checks that the current code reproduces
it to ~1e-12. Regenerate only for a deliberate change of the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from body import Worm
from body.patterns import travelling_wave
from env import Arena, FoodPatch, GaussianSource, TemperatureGradient, World

DATA = Path(__file__).with_name("data") / "reference_trajectories.npz"
N_STEPS = 300
OBSERVE_AT = (0, 150, 300)  # steps after which all sensors are stored
Q_EVERY = 10  # q is stored every Q_EVERY steps

CASES: dict[str, dict] = {
    "water": dict(medium="water", dt=1e-3, f=1.8, lam=1.5),
    "agar": dict(medium="agar", dt=1e-3, f=0.3, lam=0.65),
    "agar_dt5": dict(medium="agar", dt=5e-3, f=0.3, lam=0.65),
    # a wall 0.03 mm ahead of the nose and a post beside the body: contacts from the start
    "arena": dict(medium="agar", dt=5e-3, f=0.3, lam=0.65,
                  arena=dict(box=(-2.0, 0.03, -2.0, 2.0), obstacles=[((-0.5, 0.05), 0.03)]),
                  fields=True),
    "between": dict(medium=0.01, dt=1e-3, f=1.0, lam=1.0, fields=True, n_segments=13),
}


def make_world(case: dict) -> World:
    """The world of one case: a worm with a seeded random initial bend."""
    arena = Arena(**case["arena"]) if "arena" in case else None
    fields, food = None, None
    if case.get("fields"):
        fields = {"NaCl": GaussianSource([(1.0, 0.5)], peak=2.0, sigma=0.7),
                  "temperature": TemperatureGradient((0.5, -0.2), 20.0)}
        food = FoodPatch((0.2, 0.1), 0.4)
    worm = Worm(n_segments=case.get("n_segments"))
    world = World(worm, medium=case["medium"], dt=case["dt"], arena=arena, fields=fields,
                  food=food)
    ja = np.random.default_rng(3).normal(0.0, 0.1, worm.n_joints)
    worm.reset(joint_angles=ja)
    return world


def run_case(case: dict) -> dict[str, np.ndarray]:
    """Step ``N_STEPS`` with a travelling wave; returns q every :data:`Q_EVERY` steps, the final
    qdot and activation, and every sensor at :data:`OBSERVE_AT`."""
    world = make_world(case)
    out: dict[str, np.ndarray] = {}
    qs = []

    def store(k: int) -> None:
        obs = world.observe()
        for name in world.sensor_names:
            out[f"obs{k}_{name}"] = np.array(obs[name], dtype=float)

    store(0)
    for k in range(N_STEPS):
        a = travelling_wave(k * case["dt"], case["f"], case["lam"], amplitude=0.9)
        world.step(a if k % 7 else None)  # some steps keep the previous command
        if (k + 1) % Q_EVERY == 0:
            qs.append(world.worm.q.copy())
        if k + 1 in OBSERVE_AT:
            store(k + 1)
    out["q"] = np.array(qs)
    out["qdot"] = world.worm.qdot.copy()
    out["activation"] = world.worm.activation
    out["centreline"] = world.worm.centreline()
    world.worm.close()
    return out


def main() -> None:
    arrays = {}
    for name, case in CASES.items():
        for key, val in run_case(case).items():
            arrays[f"{name}/{key}"] = val
    DATA.parent.mkdir(parents=True, exist_ok=True)
    from celegans.io import atomic_path

    with atomic_path(DATA) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    print(f"wrote {DATA} ({len(arrays)} arrays)")


if __name__ == "__main__":
    main()
