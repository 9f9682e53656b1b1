"""Level-2 fitting with a stand-in behaviour simulator (fast) and the real closed loop (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from celegans.organism import load_config
from fitting.level2.behaviour import (
    BehaviourError,
    BehaviourProtocol,
    BehaviourTarget,
    Condition,
    apply_values,
)
from fitting.level2.evaluator import Level2Evaluator
from fitting.level2.fit import build_protocol, fit_level2, level2_config_from_dict
from fitting.level2.space import level2_parameters
from fitting.space import ParamSpace

STANDIN = "standin:standin_trace"
PARAMS = {"multipliers": {"kinds": ["gap"], "classes": ["AVB", "VB", "DB"],
                          "bounds": [0.2, 5.0], "transform": "log"},
          "names": {"muscle_gain": {"bounds": [0.5, 3.0]}}}


def _config(**kw):
    d = {"parameters": PARAMS, "conditions": [{"name": "agar", "medium": "agar"},
                                              {"name": "water", "medium": "water"}],
         "algorithm": "nsga2", "pop_size": 8, "max_evals": 40, "seed": 1, "function": STANDIN,
         "executor": "serial"}
    d.update(kw)
    return level2_config_from_dict(d)


def test_level2_fit_lowers_behaviour_error_and_writes_loadable_network(tmp_path):
    res = fit_level2(_config(), tmp_path / "l2", progress=False)
    assert np.isfinite(res.start_error)
    assert res.best_error < res.start_error
    assert res.summary["objective_names"] == ["agar", "water"]
    cfg = load_config(tmp_path / "l2" / "network_fitted.yaml")
    for name, v in res.best.items():
        p = cfg.parameters[name]
        assert p.value == pytest.approx(v)
        assert p.source.startswith("fitted by level2") and p.certainty == "fitted"
    assert cfg.parameters.meta["provenance"]["level2"]["seed"] == 1
    # the fitted network values reach the network spec the organism builds
    over = cfg.network_overrides()
    assert any(k.startswith("mult.gap.") for k in over)
    for f in ("pareto.png", "behaviour_vs_target.png", "error_vs_evaluations.png",
              "checkpoint.pkl", "summary.json"):
        assert (tmp_path / "l2" / f).exists(), f
    s = json.loads((tmp_path / "l2" / "summary.json").read_text())
    assert s["n_evals"] == 40


def test_level2_resume_continues_the_same_run(tmp_path):
    full = fit_level2(_config(max_evals=32), None, progress=False)
    fit_level2(_config(max_evals=16), tmp_path / "r", progress=False)
    resumed = fit_level2(_config(max_evals=32), tmp_path / "r", resume=True, progress=False)
    np.testing.assert_allclose(resumed.optim.X, full.optim.X)


def test_level2_surrogate_assisted_variant(tmp_path):
    cfg = _config(max_evals=24, surrogate={"n_init": 12, "batch": 4, "n_candidates": 300,
                                           "gp": {"steps": 60}})
    res = fit_level2(cfg, tmp_path / "s", progress=False)
    assert res.summary["n_evals"] == 24
    assert res.best_error <= res.start_error


def test_random_search_level2_starts_from_the_organism_values():
    res = fit_level2(_config(algorithm="random", max_evals=16), None, progress=False)
    ps = level2_parameters(PARAMS)
    space = ParamSpace.from_parameters(ps)
    x0 = space.to_unit(np.array([[ps[n].value for n in space.names]]))[0]
    np.testing.assert_allclose(res.optim.X[0], x0)
    assert np.isfinite(res.start_error)        # (found among the evaluated points)
    # every evaluated point is new (the start must not shift the random stream onto itself)
    assert len(np.unique(np.round(res.optim.X, 12), axis=0)) == len(res.optim.X)


def test_failures_are_penalised_not_fatal():
    proto, target = build_protocol(_config())
    space = ParamSpace.from_bounds({"network.mult.gap.AVB.VB": (0.2, 5.0),
                                    "muscle_gain": (0.5, 3.0)})
    ev = Level2Evaluator(space, proto, target, function=STANDIN, penalty=50.0)
    X = np.array([[0.5, 0.5], [1.0, 0.2]])          # second: mult 5 > 4.5 -> "blow-up"
    r = ev.evaluate(X)
    assert list(r.failed) == [False, True]
    assert np.all(r.F[1] == 50.0) and np.all(r.F[0] < 50.0)
    assert ev.features_of(X[0]) is not None


def test_undefined_feature_counts_as_capped_deviation():
    proto = BehaviourProtocol((Condition("agar"),), ("frequency_hz", "approach_index"))
    target = BehaviourTarget.from_dict({"agar": {"frequency_hz": {"mean": 0.3, "sd": 0.1},
                                                 "approach_index": {"mean": 0.5, "sd": 0.1}}})
    ev = Level2Evaluator(ParamSpace.from_bounds({"muscle_gain": (0.5, 3.0)}), proto, target,
                         function=STANDIN, z_cap=10.0)
    F, z = ev.objectives.score(np.array([[[0.3, np.nan]]]))
    assert F[0, 0] == pytest.approx(5.0)      # mean of 0 and the cap 10


def test_config_errors_name_the_field():
    with pytest.raises(BehaviourError, match="unknown keys"):
        level2_config_from_dict({"parameters": PARAMS, "popsize": 3})
    with pytest.raises(BehaviourError, match="init_spread"):
        level2_config_from_dict({"parameters": PARAMS, "init_spread": 2.0})
    with pytest.raises(BehaviourError, match="unknown"):
        BehaviourProtocol((Condition("agar"),), ("speed_kmh",))
    with pytest.raises(BehaviourError, match="sd > 0"):
        BehaviourTarget.from_dict({"agar": {"frequency_hz": {"mean": 0.3, "sd": 0}}})
    with pytest.raises(BehaviourError, match="no connected class pairs"):
        level2_parameters({"multipliers": {"kinds": ["gap"], "classes": ["XYZ"]}},
                          available=["network.mult.gap.AVB.VB"])
    with pytest.raises(BehaviourError, match="not a network parameter"):
        apply_values(load_config(), {"network.g_bogus": 1.0})


@pytest.mark.slow
def test_real_closed_loop_evaluation_gives_gait_features():
    """One closed-loop evaluation of the real organism in water (about a minute)."""
    from fitting.executors import ProcessExecutor

    proto = BehaviourProtocol((Condition("water", "water", duration_s=3.0, discard_s=1.0),),
                              ("frequency_hz", "wavelength_body_lengths", "speed_mm_s"))
    target = BehaviourTarget.from_dict({"water": {"frequency_hz": {"mean": 1.76, "sd": 0.25}}})
    space = ParamSpace.from_bounds({"network.mult.gap.AVB.VB": (0.2, 5.0)}, log=(
        "network.mult.gap.AVB.VB",))
    with ProcessExecutor(n_workers=1, timeout_s=400) as ex:
        ev = Level2Evaluator(space, proto, target, ex)
        r = ev.evaluate(space.to_unit(np.array([[1.0]])))
    assert not r.failed[0], r.reasons
    f = r.features["water"][0]
    assert np.isfinite(f[0]) and f[0] >= 0 and np.isfinite(f[2])   # frequency, speed
    assert 0 <= r.F[0, 0] <= ev.objectives.z_cap


def test_behaviour_features_of_a_travelling_wave(tmp_path):
    """Features from a synthetic undulating centreline (1.2 Hz, crawling forward)."""
    from fitting.level2.behaviour import behaviour_features

    f_hz, lam, L = 1.2, 0.8, 1.0
    t = np.arange(0.0, 6.0, 0.01)
    s = np.linspace(0.0, L, 49)
    x = -s[None, :] + 0.1 * t[:, None]                       # head at s = 0, moving +x
    y = 0.05 * np.sin(2 * np.pi * (s[None, :] / lam - f_hz * t[:, None]))
    cl = np.stack([x, y], axis=-1)
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((100, 5)))
    np.savetxt(tmp_path / "ew.csv", basis, delimiter=",")
    v = np.stack([np.sin(t), np.sin(t + 0.1), np.cos(t)], axis=1)
    c = np.corrcoef(v[t >= 1.0].T)[np.triu_indices(3, 1)]
    proto = BehaviourProtocol(
        (Condition("chemo", "agar", duration_s=6.0, discard_s=1.0,
                   source={"sensor": "salt", "centre": [5.0, 0.0]}),),
        ("frequency_hz", "speed_mm_s", "approach_index", "reversal_rate_per_min",
         "eigenworm_0", "eigenworm_1", "activity_corr_rmse"),
        eigenworms=str(tmp_path / "ew.csv"), activity_neurons=("A", "B", "C"),
        activity_target=tuple(c))
    out = behaviour_features(t, cl, v, proto.conditions[0], proto, [0, 1, 2])
    assert out[0] == pytest.approx(f_hz, rel=0.1)
    assert out[1] == pytest.approx(0.1, rel=0.2)
    assert 0.5 < out[2] <= 1.0                                # heading to the source
    assert out[3] == 0.0
    assert np.all(np.isfinite(out[4:6])) and np.all(out[4:6] > 0)
    assert out[6] == pytest.approx(0.0, abs=1e-9)
