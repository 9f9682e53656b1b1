"""Offspring candidates (SBX + polynomial mutation) and the pre-screened evolutionary search."""

from __future__ import annotations

import numpy as np
import pytest

from fitting.surrogate.assisted import AssistConfig, surrogate_assisted_optimise
from fitting.surrogate.ensemble import SurrogateError
from fitting.surrogate.offspring import offspring_candidates, polynomial_mutation, sbx_pair


def test_sbx_children_straddle_their_parents_and_keep_the_mean():
    rng = np.random.default_rng(0)
    a, b = np.array([0.3, 0.5, 0.2]), np.array([0.7, 0.5, 0.9])
    kids = np.array([np.concatenate(sbx_pair(a, b, 15.0, rng)) for _ in range(4000)])
    c1, c2 = kids[:, :3], kids[:, 3:]
    assert np.all((kids >= 0) & (kids <= 1))
    np.testing.assert_allclose(c1[:, 1], 0.5)                    # equal parents: no change
    # children are symmetric about the parents' midpoint (away from the bounds)
    np.testing.assert_allclose(0.5 * (c1[:, 0] + c2[:, 0]), 0.5, atol=1e-12)
    # with eta 15 most children lie near a parent; half the coordinates are left unchanged
    assert np.mean(np.isclose(c1[:, 0], 0.3) | np.isclose(c1[:, 0], 0.7)) == pytest.approx(
        0.5, abs=0.05)
    moved = ~(np.isclose(c1[:, 0], 0.3) | np.isclose(c1[:, 0], 0.7))
    near = np.minimum(np.abs(c1[moved, 0] - 0.3), np.abs(c1[moved, 0] - 0.7))
    assert np.median(near) < 0.05


def test_polynomial_mutation_stays_in_bounds_and_is_local():
    rng = np.random.default_rng(1)
    x = np.array([0.0, 0.5, 1.0])
    Y = np.array([polynomial_mutation(x, 20.0, 1.0, rng) for _ in range(3000)])
    assert np.all((Y >= 0) & (Y <= 1))
    assert 0.01 < np.median(np.abs(Y[:, 1] - 0.5)) < 0.05
    assert np.all(polynomial_mutation(x, 20.0, 0.0, rng) == x)


def test_offspring_come_from_the_best_parents():
    rng = np.random.default_rng(2)
    X = rng.random((30, 2))
    score = np.linalg.norm(X - 0.8, axis=1)
    score[0] = np.nan                                         # failed: never a parent
    C = offspring_candidates(X, score, 400, 5, rng)
    assert C.shape == (400, 2) and np.all((C >= 0) & (C <= 1))
    best = X[np.argsort(np.where(np.isfinite(score), score, np.inf))[:5]]
    d_best = np.min(np.linalg.norm(C[:, None] - best[None], axis=2), axis=1)
    d_all = np.min(np.linalg.norm(C[:, None] - X[None], axis=2), axis=1)
    # offspring sit in the parents' neighbourhood (between and around them), not everywhere
    assert np.median(d_best) < 0.1 and np.median(d_best) <= np.median(d_all) + 0.05
    assert np.mean(np.linalg.norm(C - 0.8, axis=1)) < np.mean(np.linalg.norm(X - 0.8, axis=1))


def test_prescreened_offspring_search_finds_the_gait_target():
    from tests.surrogate.test_surrogate import _gait_evaluator

    ev = _gait_evaluator()
    kw = {"max_evals": 16, "n_init": 6, "batch": 2, "seed": 1, "progress": False,
          "n_candidates": 300, "gp": {"steps": 50}, "outputs": "z"}
    r = surrogate_assisted_optimise(ev, AssistConfig(candidates="offspring", n_parents=4, **kw))
    rr = ev.evaluate(np.random.default_rng(1).random((16, 2)))
    g = np.stack(np.meshgrid(np.linspace(0, 1, 60), np.linspace(0, 1, 60)), -1).reshape(-1, 2)
    floor = ev.evaluate(g).F.min()
    best = r.F[r.best_index, 0]
    assert r.n_evals == 16 and best < rr.F.min() and best < floor + 0.15
    with pytest.raises(SurrogateError, match="candidates"):
        AssistConfig(candidates="everywhere")
    with pytest.raises(SurrogateError, match="n_parents"):
        AssistConfig(n_parents=1)
    with pytest.raises(SurrogateError, match="options of outputs='z'"):
        AssistConfig(candidates="offspring")                     # outputs='objectives'


def test_offspring_run_resumes_only_as_an_offspring_run(tmp_path):
    from fitting.checkpoint import CheckpointError
    from tests.surrogate.test_surrogate import _gait_evaluator

    kw = {"n_init": 4, "batch": 2, "seed": 3, "progress": False, "n_candidates": 100,
          "gp": {"steps": 30}, "outputs": "z", "candidates": "offspring", "n_parents": 4}
    full = surrogate_assisted_optimise(_gait_evaluator(), AssistConfig(max_evals=8, **kw))
    surrogate_assisted_optimise(_gait_evaluator(), AssistConfig(max_evals=6, **kw), tmp_path)
    again = surrogate_assisted_optimise(_gait_evaluator(), AssistConfig(max_evals=8, **kw),
                                        tmp_path, resume=True)
    np.testing.assert_allclose(again.X, full.X)
    with pytest.raises(CheckpointError, match="different run"):
        surrogate_assisted_optimise(_gait_evaluator(), AssistConfig(
            max_evals=8, **{**kw, "candidates": "region"}), tmp_path, resume=True)
