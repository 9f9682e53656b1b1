"""The optimised body/world stepping and sensors reproduce trajectories stored from the code as it
was before the speed-ups (``tests/body/reference_trajectories.py``), to ~1e-12."""

from __future__ import annotations

import numpy as np
import pytest

from tests.body.reference_trajectories import CASES, DATA, run_case


@pytest.fixture(scope="module")
def reference():
    if not DATA.exists():  # pragma: no cover - the file is part of the repository
        pytest.skip(f"{DATA} missing")
    with np.load(DATA) as d:
        return {k: d[k] for k in d.files}


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_stored_reference(case, reference):
    new = run_case(CASES[case])
    stored = {k.split("/", 1)[1]: v for k, v in reference.items() if k.startswith(case + "/")}
    assert set(new) == set(stored)
    for key, ref in stored.items():
        scale = max(1.0, float(np.abs(ref).max())) if ref.size else 1.0
        np.testing.assert_allclose(new[key], ref, rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=f"{case}: {key}")


def test_step_result_independent_of_drag_matrix_layout():
    """``overwrite=True`` reuses a C-contiguous float matrix in place; any other layout or
    type is copied first, with the same result."""
    from body import Worm

    results = []
    for make in (np.ascontiguousarray, np.asfortranarray, lambda a: a.tolist()):
        w = Worm(use_pybullet=False)
        w.reset(joint_angles=np.linspace(-0.2, 0.2, w.n_joints))
        w.set_activation(np.linspace(0.0, 1.0, 95))
        k = w.kinematics()
        wts = np.concatenate((1.2e3 * k.lengths, 4.8e4 * k.lengths))  # agar-like
        A = (k.J.T * wts) @ k.J + 4.8e4 * w.rotation_metric
        A0 = A.copy()
        M = make(A)
        w.step(1e-3, M, overwrite=True)
        results.append(w.q.copy())
        if isinstance(M, np.ndarray) and M.flags.c_contiguous:
            assert not np.array_equal(M, A0)  # used as scratch
        elif isinstance(M, np.ndarray):
            np.testing.assert_array_equal(M, A0)  # copied, untouched
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_step_rejects_wrong_drag_matrix_shape():
    from body import BodyInputError, Worm

    w = Worm(use_pybullet=False)
    with pytest.raises(BodyInputError, match="drag_matrix"):
        w.step(1e-3, np.eye(w.n_dof + 1), overwrite=True)
