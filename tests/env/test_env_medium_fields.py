"""Media, fields and arenas: values, sources, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from env import (
    Arena,
    DiffusingField,
    FoodPatch,
    GaussianSource,
    InvalidArenaError,
    InvalidFieldError,
    InvalidMediumError,
    LinearGradient,
    Medium,
    TemperatureGradient,
    UnknownMediumError,
)
from env.medium import media_parameters


def test_presets_and_ratios():
    w, a = Medium.preset("water"), Medium.preset("agar")
    assert 1.3 <= w.ratio <= 1.7
    assert 10 <= a.ratio <= 40
    assert a.c_n > 1000 * w.c_n
    assert Medium.preset("buffer").c_n == w.c_n
    for p in media_parameters().values():
        assert media_parameters()[p].source


def test_newtonian_scales_linearly_and_between_interpolates():
    w = Medium.preset("water")
    m = Medium.newtonian(1000.0)
    assert m.c_n == pytest.approx(1000 * w.c_n) and m.ratio == pytest.approx(w.ratio)
    assert Medium.newtonian(28000).c_n > Medium.newtonian(100).c_n
    assert Medium.between(0.0).c_n == pytest.approx(w.c_n)
    assert Medium.between(1.0).c_t == pytest.approx(Medium.preset("agar").c_t)
    mid = Medium.between(0.5)
    assert w.c_n < mid.c_n < Medium.preset("agar").c_n
    assert Medium.resolve(50.0).viscosity_mPa_s == 50.0
    assert Medium.resolve("agar").name == "agar"


@pytest.mark.parametrize("call, exc, match", [
    (lambda: Medium.preset("honey"), UnknownMediumError, "honey"),
    (lambda: Medium.resolve("honey"), UnknownMediumError, "medium"),
    (lambda: Medium.newtonian(-1.0), InvalidMediumError, "viscosity_mPa_s"),
    (lambda: Medium.newtonian(float("nan")), InvalidMediumError, "viscosity_mPa_s"),
    (lambda: Medium("x", -1.0, 1.0), InvalidMediumError, "c_t"),
    (lambda: Medium("x", 1.0, float("nan")), InvalidMediumError, "c_n"),
    (lambda: Medium.between(1.5), InvalidMediumError, "fraction"),
])
def test_bad_media(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
    assert issubclass(exc, ValueError)


def test_drag_matrix_is_symmetric_positive_definite():
    from body import Worm

    w = Worm(use_pybullet=False)
    w.reset(joint_angles=np.linspace(-0.3, 0.3, 24))
    A = Medium.preset("water").drag_matrix(w.kinematics())
    np.testing.assert_allclose(A, A.T, atol=1e-12)
    assert np.linalg.eigvalsh(A).min() > 0
    # a straight worm translating along its axis feels only tangential drag: F = c_t L v
    w.reset()
    k = w.kinematics()
    A = Medium.preset("agar").drag_matrix(k)
    qdot = np.zeros(w.n_dof)
    qdot[0] = 1.0  # 1 mm/s along the body axis (heading 0: body along +x from the nose)
    f = A @ qdot
    assert f[0] == pytest.approx(Medium.preset("agar").c_t * 1e3 * 1.0)  # nN, L = 1 mm
    qdot[:] = 0
    qdot[1] = 1.0  # sideways: normal drag
    assert (A @ qdot)[1] == pytest.approx(Medium.preset("agar").c_n * 1e3)


def test_fields_values_and_gradients():
    g = LinearGradient((0.1, 0.0), value_at_origin=1.0)
    assert g.value((2.0, 5.0)) == pytest.approx(1.2)
    np.testing.assert_allclose(g.gradient((0.0, 0.0)), [0.1, 0.0], atol=1e-9)
    t = TemperatureGradient((0.5, 0.0), 20.0)
    assert t.value((2.0, 0.0)) == pytest.approx(21.0) and t.unit == "degC"
    s = GaussianSource([(1.0, 0.0)], peak=2.0, sigma=1.0)
    assert s.value((1.0, 0.0)) == pytest.approx(2.0)
    pts = np.array([[0.0, 0.3], [2.0, -1.0]])
    np.testing.assert_allclose(s.gradient(pts), Field_num_grad(s, pts), rtol=1e-5)
    food = FoodPatch((0, 0), 1.0)
    assert food.value((0, 0)) > 0.99 and food.value((2, 0)) < 0.01
    assert food.contains((0.5, 0)) and not food.contains((1.5, 0))


def Field_num_grad(f, pts, h=1e-5):
    out = []
    for p in pts:
        out.append([(f.value(p + [h, 0]) - f.value(p - [h, 0])) / (2 * h),
                    (f.value(p + [0, h]) - f.value(p - [0, h])) / (2 * h)])
    return np.array(out)


def test_diffusing_field_conserves_mass_and_spreads():
    init = GaussianSource([(0.0, 0.0)], peak=1.0, sigma=0.5)
    f = DiffusingField((-5, 5, -5, 5), 0.1, diffusion=0.05, initial=init)
    m0 = f.c.sum()
    peak0 = f.value((0.0, 0.0))
    for _ in range(20):
        f.step(0.05)
    assert f.c.sum() == pytest.approx(m0, rel=1e-6)  # zero-flux borders
    assert f.value((0.0, 0.0)) < peak0
    # Gaussian spreading: sigma^2 grows by 2 D t
    var = (f.c * (f.x[:, None] ** 2)).sum() / f.c.sum()
    assert var == pytest.approx(0.5 ** 2 + 2 * 0.05 * 1.0, rel=0.05)
    f.reset()
    assert f.value((0.0, 0.0)) == pytest.approx(peak0)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: GaussianSource([(0, 0)], sigma=-1), InvalidFieldError, "sigma"),
    (lambda: LinearGradient((np.nan, 0)), InvalidFieldError, "gradient"),
    (lambda: DiffusingField((0, -1, 0, 1), 0.1, 1.0), InvalidFieldError, "bounds"),
    (lambda: FoodPatch((0, 0), 0.0), InvalidFieldError, "radius"),
    (lambda: Arena(radius=-2.0), InvalidArenaError, "radius"),
    (lambda: Arena(box=(0, 1, 1, 0)), InvalidArenaError, "box"),
    (lambda: Arena(obstacles=[((0, 0), -0.1)]), InvalidArenaError, "radius"),
])
def test_bad_fields_and_arenas(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_arena_contacts():
    a = Arena(radius=2.0, obstacles=[((1.0, 0.0), 0.2)])
    cen = np.array([[0.0, 0.0], [1.98, 0.0], [0.78, 0.0]])
    idx, nrm, dep = a.contacts(cen, np.full(3, 0.04))
    got = dict(zip(idx.tolist(), zip(nrm.tolist(), dep.tolist(), strict=True), strict=True))
    assert set(got) == {1, 2}
    np.testing.assert_allclose(got[1][0], [-1.0, 0.0])  # pushed inwards
    assert got[1][1] == pytest.approx(0.02)
    assert got[2][1] == pytest.approx(0.02)
    np.testing.assert_allclose(got[2][0], [-1.0, 0.0])  # pushed away from the post
    assert a.inside(cen).tolist() == [True, True, True]
