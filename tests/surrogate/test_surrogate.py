"""Tests of the torch surrogates: ensemble regressor, inverse estimator, assisted search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fitting.evaluator import EvalResult
from fitting.space import ParamSpace
from fitting.surrogate.assisted import (
    AssistConfig,
    evaluations_to_reach,
    latin_hypercube,
    surrogate_assisted_optimise,
)
from fitting.surrogate.ensemble import EnsembleRegressor, SurrogateError
from fitting.surrogate.gp import GaussianProcess
from fitting.surrogate.inverse import InverseEstimator

torch.set_num_threads(1)
FAST = {"n_members": 4, "hidden": (32, 32), "epochs": 400, "lr": 5e-3}


def _f(X: np.ndarray) -> np.ndarray:
    return np.sin(3 * X[:, 0]) + X[:, 1] ** 2


def test_ensemble_learns_and_reports_uncertainty():
    rng = np.random.default_rng(0)
    X = rng.random((200, 2))
    Y = _f(X)
    ens = EnsembleRegressor(**FAST, seed=1).fit(X, Y)
    Xt = rng.random((200, 2))
    p = ens.predict(Xt)
    assert p.mean.shape == (200, 1) and p.std.shape == (200, 1) and p.members.shape[0] == 4
    rmse = np.sqrt(np.mean((p.mean[:, 0] - _f(Xt)) ** 2))
    assert rmse < 0.1 * np.std(_f(Xt)) + 0.05
    assert np.all(p.std > 0)
    # far outside the data the members disagree more than inside
    far = ens.predict(np.array([[4.0, -3.0]])).std[0, 0]
    assert far > np.median(p.std)


def test_ensemble_errors_and_roundtrip(tmp_path):
    ens = EnsembleRegressor(**FAST)
    with pytest.raises(SurrogateError, match="not trained"):
        ens.predict(np.zeros((1, 2)))
    with pytest.raises(SurrogateError, match="equal n"):
        ens.fit(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(SurrogateError, match="n_members"):
        EnsembleRegressor(n_members=0)
    X = np.random.default_rng(0).random((40, 2))
    ens.fit(X, _f(X))
    path = ens.save(tmp_path / "ens.pt")
    back = EnsembleRegressor.load(path)
    np.testing.assert_allclose(back.predict(X).mean, ens.predict(X).mean, rtol=1e-5)
    with pytest.raises(SurrogateError, match="columns"):
        back.predict(np.zeros((1, 3)))


def _toy_sim(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Features of a toy 'simulator' with noise: three parameters -> five features."""
    a, b, c = V.T
    F = np.stack([a * b, np.log(b) + c, np.tanh(c) * a, a + 0.3 * c ** 2, b], axis=1)
    return F + 0.05 * rng.standard_normal(F.shape)


def test_inverse_estimator_coverage_is_calibrated(tmp_path):
    space = ParamSpace.from_bounds({"a": (0.5, 2.0), "b": (0.1, 10.0), "c": (-1.0, 1.0)},
                                   log=("b",))
    rng = np.random.default_rng(0)
    V = space.to_values(rng.random((700, 3)))
    F = _toy_sim(V, rng)
    est = InverseEstimator(space, alpha=0.1, **FAST).fit(F[:500], V[:500], seed=0)
    rep = est.check(F[500:], V[500:])
    assert rep.n == 200
    assert np.all(rep.coverage >= 0.8) and np.all(rep.coverage <= 0.98), rep.as_dict()
    e = est.predict(F[500:510])
    assert np.all(e.lower <= e.value) and np.all(e.value <= e.upper)
    assert np.all(e.lower >= space.lower - 1e-9) and np.all(e.upper <= space.upper + 1e-9)
    # informative: intervals narrower than the prior box for the identifiable parameter a
    assert rep.width_unit[0] < 0.7
    path = est.save(tmp_path / "inv.pkl")
    back = InverseEstimator.load(path)
    np.testing.assert_allclose(back.predict(F[:3]).value, est.predict(F[:3]).value, rtol=1e-5)


def test_inverse_estimator_needs_enough_rows():
    space = ParamSpace.from_bounds({"a": (0.0, 1.0)})
    with pytest.raises(SurrogateError, match="calibration"):
        InverseEstimator(space).fit(np.zeros((8, 2)), np.full((8, 1), 0.5))


class ToyEvaluator:
    """Two-objective toy problem on the unit cube (cheap stand-in for a simulator)."""

    def __init__(self, d: int = 3) -> None:
        self.space = ParamSpace.from_bounds({f"x{i}": (0.0, 1.0) for i in range(d)})
        self.n_var, self.n_obj, self.calls = d, 2, 0

    def evaluate(self, X):
        X = np.atleast_2d(X)
        self.calls += len(X)
        t = np.linspace(0.2, 0.7, self.n_var)
        f1 = np.sum((X - t) ** 2, axis=1) + 0.05 * np.abs(np.sin(8 * X[:, 0]))
        f2 = np.sum((X - t + 0.05) ** 2, axis=1)
        failed = X[:, 0] > 0.97                      # a failing corner
        F = np.stack([f1, f2], 1)
        F[failed] = 1e3
        return EvalResult(F=F, failed=failed)


@pytest.mark.parametrize("model", ["gp", "ensemble"])
def test_assisted_search_beats_random_and_resumes(tmp_path, model):
    cfg = AssistConfig(max_evals=36, n_init=12, batch=4, inner_pop=16, inner_generations=5,
                       n_local=200, ensemble=FAST, seed=3, progress=False, model=model,
                       n_candidates=300, gp={"steps": 60})
    ev = ToyEvaluator()
    res = surrogate_assisted_optimise(ev, cfg)
    assert res.n_evals == 36 == ev.calls
    assert res.diagnostics and "mae_log" in res.diagnostics[-1]
    # same budget of uniform random points
    Xr = np.random.default_rng(3).random((36, 3))
    rr = ToyEvaluator().evaluate(Xr)
    best_random = np.min(np.where(rr.failed, np.inf, rr.F.sum(1)))
    assert res.F[res.best_index].sum() < best_random
    assert evaluations_to_reach(res.F, res.failed, best_random) < 36
    # interrupted after 20 evaluations, resumed: same history as the uninterrupted run
    run = tmp_path / "run"
    first = surrogate_assisted_optimise(ToyEvaluator(), AssistConfig(**{
        **cfg.__dict__, "max_evals": 20}), run)
    assert first.n_evals == 20
    resumed = surrogate_assisted_optimise(ToyEvaluator(), cfg, run, resume=True)
    np.testing.assert_allclose(resumed.X[:20], first.X)
    assert resumed.n_evals == 36
    np.testing.assert_allclose(resumed.X, res.X, atol=1e-6)


def test_latin_hypercube_is_stratified():
    X = latin_hypercube(10, 2, 0)
    for j in range(2):
        assert sorted(np.floor(X[:, j] * 10).astype(int)) == list(range(10))


def test_gaussian_process_fits_interpolates_and_samples():
    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    gp = GaussianProcess(seed=0).fit(X, _f(X))
    Xt = rng.random((200, 2))
    mu, sd = gp.predict(Xt)
    assert np.sqrt(np.mean((mu - _f(Xt)) ** 2)) < 0.05 * np.std(_f(Xt)) + 0.02
    _, sd_data = gp.predict(X)
    _, sd_far = gp.predict(np.array([[1.0, 1.0], [0.0, 0.0]]) * 3.0)
    assert np.max(sd_data) < 0.05 and np.min(sd_far) > 5 * np.max(sd_data)
    draws = gp.sample(Xt[:50], 200, seed=1)
    assert draws.shape == (200, 50)
    assert np.max(np.abs(draws.mean(0) - mu[:50])) < 4 * np.max(sd[:50]) / np.sqrt(200) + 1e-3
    assert gp.lengthscales.shape == (2,) and np.all(gp.lengthscales > 0)
    # a warm start from the fitted hyperparameters gives the same model
    again = GaussianProcess(seed=5, restarts=1).fit(X, _f(X), warm_raw=gp.raw)
    np.testing.assert_allclose(again.predict(Xt)[0], mu, atol=0.02)
    with pytest.raises(SurrogateError, match="not fitted"):
        GaussianProcess().predict(X)
    with pytest.raises(SurrogateError, match="need X"):
        GaussianProcess().fit(X, np.zeros(3))


def test_assist_config_errors():
    with pytest.raises(SurrogateError, match="model"):
        AssistConfig(model="forest")
    with pytest.raises(SurrogateError, match="trust region"):
        AssistConfig(tr_min=0.5, tr_init=0.2)
    assert AssistConfig().initial_size(4) == 10 and AssistConfig().initial_size(20) == 42
    with pytest.raises(SurrogateError, match="fail_tol: must be >= 1"):
        AssistConfig(fail_tol=0)


def test_fail_tol_sets_how_fast_the_trust_region_shrinks():
    """With ``fail_tol=1`` every batch that does not improve the best halves the region; by
    default (TuRBO: ceil(max(4, d) / batch) = 4 here) it takes four in a row."""
    def lengths(**kw):
        cfg = AssistConfig(max_evals=24, n_init=6, batch=1, seed=0, progress=False,
                           n_candidates=200, gp={"steps": 40}, **kw)
        res = surrogate_assisted_optimise(ToyEvaluator(), cfg)
        best = np.minimum.accumulate(np.where(res.failed, np.inf, res.F.sum(1)))
        improved = best[6:] < np.concatenate([[best[5]], best[6:-1]]) * (1 - 1e-3)
        return np.array([d["tr_length"] for d in res.diagnostics[1:]]), improved

    L, improved = lengths(fail_tol=1)
    for i in range(len(L) - 1):         # L[i]: the region batch i was drawn from
        if not improved[i] and L[i] / 2 >= AssistConfig().tr_min:
            assert L[i + 1] == pytest.approx(L[i] / 2)
    assert (~improved[:-1]).any()
    L4, improved4 = lengths()
    first_fail = int(np.argmin(improved4))
    assert not improved4[first_fail] and L4[first_fail + 1] == pytest.approx(L4[first_fail])


def _gait_standin(model, params, protocol, *, backend="neuron", dt_ms=1.0, **options):
    """Smooth stand-in for the closed loop: gait features of two parameters ``a``, ``b``."""
    from fitting.level2.behaviour import features_trace

    a, b = float(np.ravel(params["a"])[0]), float(np.ravel(params["b"])[0])
    f = {"frequency_hz": a * np.sqrt(b), "wavelength_body_lengths": 1.5 * b / a ** 0.3,
         "speed_mm_s": 0.2 * a}
    return features_trace(np.array([[f[n] for n in protocol.features]]), False)


def _gait_evaluator():
    from fitting.level2.behaviour import (
        DEFAULT_GAIT_TARGETS,
        BehaviourProtocol,
        BehaviourTarget,
        Condition,
    )
    from fitting.level2.evaluator import Level2Evaluator

    proto = BehaviourProtocol((Condition("water", "water"),))
    target = BehaviourTarget.from_dict({"water": DEFAULT_GAIT_TARGETS["water"]})
    space = ParamSpace.from_bounds({"a": (0.3, 3.0), "b": (0.3, 3.0)}, log=("a", "b"))
    return Level2Evaluator(space, proto, target, function=_gait_standin)


def test_z_outputs_model_the_features_and_find_the_target():
    """outputs='z': GPs on the signed feature deviations, the objective computed from them;
    on a smooth gait stand-in it gets closer to the target than the objective GP and than
    random points with the same budget."""
    from fitting.surrogate.zmodel import z_objective_of

    ev = _gait_evaluator()
    zobj = z_objective_of(ev)
    r = ev.evaluate(latin_hypercube(5, 2, 0))
    np.testing.assert_allclose(zobj(r.z), r.F, rtol=1e-12)
    kw = {"max_evals": 14, "n_init": 6, "batch": 2, "seed": 1, "progress": False,
          "n_candidates": 200, "gp": {"steps": 50}}
    rz = surrogate_assisted_optimise(_gait_evaluator(), AssistConfig(outputs="z", **kw))
    ro = surrogate_assisted_optimise(_gait_evaluator(), AssistConfig(**kw))
    rr = ev.evaluate(np.random.default_rng(1).random((14, 2)))
    best_z, best_o = rz.F[rz.best_index, 0], ro.F[ro.best_index, 0]
    assert rz.n_evals == 14
    assert best_z < min(best_o, rr.F.min())
    # the best reachable error (dense grid) is nearly matched
    g = np.stack(np.meshgrid(np.linspace(0, 1, 60), np.linspace(0, 1, 60)), -1).reshape(-1, 2)
    floor = ev.evaluate(g).F.min()
    assert best_z < floor + 0.1


def test_z_outputs_need_behaviour_objectives():
    with pytest.raises(SurrogateError, match="outputs='z'"):
        surrogate_assisted_optimise(ToyEvaluator(), AssistConfig(outputs="z", max_evals=12,
                                                                 progress=False))
    with pytest.raises(SurrogateError, match="outputs"):
        AssistConfig(outputs="features")


def test_z_objective_reproduces_weighted_multi_condition_behaviour_objectives():
    from fitting.level2.behaviour import (
        DEFAULT_GAIT_TARGETS,
        BehaviourProtocol,
        BehaviourTarget,
        Condition,
    )
    from fitting.level2.evaluator import Level2Evaluator
    from fitting.surrogate.zmodel import z_objective_of

    proto = BehaviourProtocol((Condition("agar"), Condition("water", "water")))
    target = BehaviourTarget.from_dict({**{c: DEFAULT_GAIT_TARGETS[c] for c in ("agar", "water")},
                                        "weights": {"speed_mm_s": 3.0}})
    ev = Level2Evaluator(ParamSpace.from_bounds({"a": (0.3, 3.0)}), proto, target,
                         function=_gait_standin, z_cap=6.0)
    feats = np.random.default_rng(0).uniform(0.0, 3.0, (40, 2, 3))
    feats[::7, 1, 1] = np.nan                                  # undefined wavelength
    F, z = ev.objectives.score(feats)
    zobj = z_objective_of(ev)
    assert zobj.n_obj == 2 and zobj.cap == 6.0
    np.testing.assert_allclose(zobj(z), F, rtol=1e-12)


def test_z_models_keep_the_optimum_next_to_an_undefined_region():
    """A wavelength that reaches its target just before the body stops (undefined -> the cap):
    with the capped rows modelled apart (indicator GP), the predicted objective is low at the
    optimum, the cap where the body stops, and the draws follow the indicator."""
    from fitting.surrogate.zmodel import ZModels, saturated, z_targets

    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    z = np.where(X[:, 0] < 0.7, (X[:, 0] - 0.62) / 0.08, np.nan)[:, None]   # target at 0.62
    Z = z_targets(z, np.zeros(40, bool), 10.0)
    assert saturated(Z, 10.0)[:, 0].sum() == np.sum(X[:, 0] >= 0.7) > 0
    x_opt = np.array([[0.62, 0.5]])
    gp = {"steps": 80, "restarts": 2}
    split = ZModels(X, Z, 10.0, gp, seed=0, warm=None)
    joint = ZModels(X, Z, 10.0, gp, seed=0, warm=None, split=False)
    assert split.sat[0] is not None and joint.sat[0] is None
    assert split.contributions(x_opt)[0, 0] < 0.5
    # deep in either region the split model is right
    assert split.contributions(np.array([[0.95, 0.5]]))[0, 0] > 8.0
    assert split.contributions(np.array([[0.2, 0.5]]))[0, 0] == pytest.approx(5.25, abs=1.0)
    # Thompson draws: capped where the indicator draw says so, else |z| of the z draw
    draws = split.sample_contributions(np.array([[0.95, 0.5], [0.62, 0.5]]), 20, seed=1)
    assert draws.shape == (20, 2, 1) and np.all(draws[:, 0, 0] == 10.0)
    assert np.median(draws[:, 1, 0]) < 1.0
    assert len(split.raws) == 2 and len(joint.raws) == 1
