"""Tests of the PyBullet worm body: geometry, muscles, kinematics, stepping, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from body import (
    MUSCLES,
    BodyInputError,
    BodyInstabilityError,
    InvalidActivationError,
    Worm,
    default_parameters,
)
from body.geometry import muscle_joint_matrices, row_overlap
from body.patterns import travelling_wave
from connectome_data.muscles import BODY_WALL_MUSCLES


@pytest.fixture(scope="module")
def worm():
    w = Worm()
    yield w
    w.close()


def _drag(w: Worm, c: float = 1.0) -> np.ndarray:
    """Isotropic drag matrix (c per length) so the body can be stepped without env."""
    k = w.kinematics()
    wts = np.concatenate((c * k.lengths, c * k.lengths))
    return (k.J.T * wts) @ k.J + c * k.rotation_metric


def test_parameters_have_sources():
    ps = default_parameters()
    for name, p in ps.items():
        assert p.source, f"{name} lacks a source"
    assert ps["muscle_time_constant"].value == pytest.approx(0.1)


def test_geometry(worm):
    assert worm.n_segments == 25 and worm.n_joints == 24 and worm.n_dof == 27
    assert worm.lengths.sum() == pytest.approx(1.0)
    assert worm.radii.max() <= 0.04 + 1e-12
    assert worm.radii[0] < 0.5 * worm.radii.max() and worm.radii[-1] < 0.5 * worm.radii.max()
    cl = worm.centreline()
    assert cl.shape == (26, 2)
    assert np.linalg.norm(np.diff(cl, axis=0), axis=1).sum() == pytest.approx(1.0)


def test_muscle_mapping():
    assert Worm.muscle_names == BODY_WALL_MUSCLES and len(MUSCLES) == 95
    W = row_overlap(25)
    np.testing.assert_allclose(W.sum(1), 1.0)
    d, v = muscle_joint_matrices(25)
    # all-dorsal activation gives dorsal activation 1 at every joint, ventral 0
    a = np.array([m.startswith("MD") for m in MUSCLES], dtype=float)
    np.testing.assert_allclose(d @ a, 1.0)
    np.testing.assert_allclose(v @ a, 0.0)
    np.testing.assert_allclose(v @ (1 - a), 1.0)  # MVR24 covers row 24 alone
    # a single muscle acts only near its row
    k = MUSCLES.index("MDL01")
    assert np.flatnonzero(d[:, k]).max() <= 1


def test_pybullet_geometry_matches_kinematics(worm):
    rng = np.random.default_rng(1)
    worm.reset(position=(0.3, -0.2), heading=0.7, joint_angles=rng.normal(0, 0.2, 24))
    np.testing.assert_allclose(worm.pybullet_joint_points(), worm.centreline()[:-1], atol=1e-6)
    np.testing.assert_allclose(worm.nose(), [0.3, -0.2])
    np.testing.assert_allclose(worm.head_direction(), [np.cos(0.7), np.sin(0.7)])


def test_jacobian_matches_finite_differences(worm):
    rng = np.random.default_rng(2)
    worm.reset(joint_angles=rng.normal(0, 0.3, 24))
    k0 = worm.kinematics()
    q0 = worm.q.copy()
    eps = 1e-7
    J = np.zeros((25, 2, worm.n_dof))
    for d in range(worm.n_dof):
        worm.q = q0.copy()
        worm.q[d] += eps
        J[:, :, d] = (worm.kinematics().centres - k0.centres) / eps
    worm.q = q0
    np.testing.assert_allclose(J[:, 0], k0.Jx, atol=1e-5)
    np.testing.assert_allclose(J[:, 1], k0.Jy, atol=1e-5)


def test_dorsal_activation_bends_dorsally_with_muscle_time_constant(worm):
    worm.reset()
    a = np.array([m.startswith("MD") for m in MUSCLES], dtype=float)
    worm.set_activation(a)
    dt = 0.002
    for _ in range(int(0.1 / dt)):
        worm.step(dt, _drag(worm))
    # first-order muscle filter: 1 - exp(-1) after one time constant
    assert worm.activation[0] == pytest.approx(1 - np.exp(-1), rel=1e-6)
    for _ in range(int(1.0 / dt)):
        worm.step(dt, _drag(worm))
    kappa = worm.row_curvature()
    assert np.all(kappa[2:-2] > 0)  # dorsal bend is positive curvature
    s = worm.sensors()
    np.testing.assert_allclose(s["stretch_dorsal"], -s["stretch_ventral"])
    assert np.all(s["stretch_dorsal"][2:-2] < 0)  # contracted side shortens
    # relaxed again: the body straightens (passive elasticity)
    worm.set_activation(np.zeros(95))
    for _ in range(int(2.0 / dt)):
        worm.step(dt, _drag(worm))
    assert np.abs(worm.row_curvature()).max() < 0.05 * kappa.max()


def test_sensor_names_and_shapes(worm):
    worm.reset()
    s = worm.sensors()
    assert tuple(s) == Worm.sensor_names
    assert s["curvature"].shape == (24,) and s["muscle_activation"].shape == (95,)
    assert s["nose"].shape == (2,) and s["centroid"].shape == (2,)


@pytest.mark.parametrize("bad, match", [
    (np.zeros(94), "shape"), (np.full(95, 1.5), "MDL01"), (np.full(95, -0.1), "[0, 1]"),
    (np.r_[np.full(94, 0.5), np.nan], "non-finite"), ("abc", "activations"),
])
def test_bad_activations(worm, bad, match):
    with pytest.raises(InvalidActivationError, match=match):
        worm.set_activation(bad)
    assert issubclass(InvalidActivationError, ValueError)


def test_bad_construction_and_state():
    with pytest.raises(ValueError, match="n_segments"):
        Worm(n_segments=3, use_pybullet=False)
    with pytest.raises(ValueError, match="bending_stiffness"):
        Worm({"bending_stiffness": -1.0}, use_pybullet=False)
    with pytest.raises(BodyInputError, match="unknown"):
        Worm({"no_such": 1.0}, use_pybullet=False)
    w = Worm(use_pybullet=False)
    with pytest.raises(BodyInputError, match="position"):
        w.reset(position=(np.nan, 0.0))
    with pytest.raises(BodyInputError, match="dt"):
        w.step(-1.0, _drag(w))


def test_blow_up_is_reported_not_nan():
    w = Worm(use_pybullet=False)
    w.set_activation(travelling_wave(0.0, 1.0, 0.7))
    bad = _drag(w)
    bad[5, 5] = np.nan
    with pytest.raises(BodyInstabilityError, match="t = 0.0000 s"):
        w.step(0.001, bad)
    with pytest.raises(BodyInstabilityError, match="runaway"):
        w.step(0.001, _drag(w), np.full(w.n_dof, 1e9))  # absurd force: runaway velocities
    with pytest.raises(BodyInstabilityError, match="positive definite"):
        w.step(0.001, -_drag(w) - 1e3 * np.eye(w.n_dof))
    assert np.all(np.isfinite(w.q))


def test_resolution_is_configurable():
    w = Worm(n_segments=49, use_pybullet=False)
    assert w.n_joints == 48
    w.set_activation(travelling_wave(0.0, 1.0, 0.7))
    for _ in range(50):
        w.step(0.005, _drag(w))
    assert np.all(np.isfinite(w.q))


def test_travelling_wave_pattern():
    a = travelling_wave(0.3, 0.5, 0.7)
    assert a.shape == (95,) and a.min() >= 0 and a.max() <= 1
    d = np.array([m.startswith("MD") for m in MUSCLES])
    rows = [int(m[3:]) for m in MUSCLES]
    # dorsal and ventral of the same row are in antiphase
    for r in (1, 12, 23):
        dv = [a[i] for i in range(95) if rows[i] == r and d[i]]
        vv = [a[i] for i in range(95) if rows[i] == r and not d[i]]
        assert dv[0] + vv[0] == pytest.approx(1.0)
    with pytest.raises(BodyInputError, match="wavelength"):
        travelling_wave(0.0, 1.0, 0.0)


def test_point_jacobians_match_finite_differences(worm):
    rng = np.random.default_rng(3)
    worm.reset(joint_angles=rng.normal(0, 0.3, 24))
    seg = np.array([0, 5, 24, 12])
    off = np.array([-0.02, 0.02, 0.02, 0.0])
    k0 = worm.kinematics()
    p0 = k0.points(seg, off)
    np.testing.assert_allclose(k0.points([0], [-0.02])[0], worm.nose(), atol=1e-12)
    Jx, Jy = k0.point_jacobians(seg, off)
    q0 = worm.q.copy()
    eps = 1e-7
    for d in range(worm.n_dof):
        worm.q = q0.copy()
        worm.q[d] += eps
        dp = (worm.kinematics().points(seg, off) - p0) / eps
        np.testing.assert_allclose(dp[:, 0], Jx[:, d], atol=1e-5)
        np.testing.assert_allclose(dp[:, 1], Jy[:, d], atol=1e-5)
    worm.q = q0


def test_proprioception_of_a_uniform_arc():
    w = Worm(use_pybullet=False)
    ds = w.length / w.n_segments
    w.reset(joint_angles=np.full(24, 2.0 * ds))  # curvature 2 /mm everywhere
    s = w.sensors()
    np.testing.assert_allclose(s["curvature"], 2.0, rtol=1e-12)
    np.testing.assert_allclose(s["stretch_dorsal"], -2.0 * w._row_radius, rtol=1e-12)
    # the centreline is a regular polygon inscribed in a circle of radius ~0.5 mm
    pts = w.centreline()
    d = np.diff(pts, axis=0)
    turn = np.diff(np.unwrap(np.arctan2(d[:, 1], d[:, 0])))
    np.testing.assert_allclose(turn, 2.0 * ds, rtol=1e-9)  # counter-clockwise = dorsal
    radius = ds / (2 * np.sin(ds))  # chord ds subtending an angle 2 ds
    assert radius == pytest.approx(0.5, rel=1e-3)


def test_parameter_set_overrides():
    ps = default_parameters().updated({"muscle_time_constant": 0.05}, source="test")
    w = Worm(ps, use_pybullet=False)
    w.set_activation(np.ones(95))
    w.step(0.05, _drag(w))
    assert w.activation[0] == pytest.approx(1 - np.exp(-1))


def test_pybullet_tiny_renderer_frame(worm):
    from body.render import pybullet_frame

    worm.reset()
    straight = pybullet_frame(worm, size_px=64)
    assert straight.shape == (64, 64, 3) and straight.dtype == np.uint8
    assert straight.std() > 1.0  # the worm is visible against the background
    worm.reset(joint_angles=np.full(24, 0.2))
    assert not np.array_equal(pybullet_frame(worm, size_px=64), straight)
    with pytest.raises(BodyInputError, match="size_px"):
        pybullet_frame(worm, size_px=4)
