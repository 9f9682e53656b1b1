"""Level-1 fitting: recovery, determinism, exact resume, algorithms, two-stage, operator."""

from __future__ import annotations

import numpy as np
import pytest
from fitting_passive_analytic import TRUE, simulate_passive

from celegans.parameters import Parameter, ParameterSet
from fitting.evaluator import Evaluator
from fitting.executors import BatchedExecutor
from fitting.level1 import FitConfig, FitError, fit_neuron, optimise
from fitting.objectives import ObjectiveConfig, ObjectiveSet
from fitting.operators import FeatureGuidedMutation, local_sensitivity
from fitting.simulator import SimSpec
from fitting.space import ParamSpace
from fitting.targets import synthetic_recording

FIT = dict(simulate=simulate_passive, dt_ms=0.2, progress=False)


def _evaluator(target, passive_params, executor=None):
    space = ParamSpace.from_parameters(passive_params)
    spec = SimSpec("passive", function=simulate_passive, dt_ms=0.2)
    return Evaluator(space, spec, ObjectiveSet(target), executor or BatchedExecutor())


def test_passive_recovery_nsga2_within_5_percent(target, passive_params, tmp_path):
    res = fit_neuron(target, "passive", parameters=passive_params, algorithm="nsga2",
                     pop_size=32, max_evals=960, seed=3, run_dir=tmp_path / "run",
                     test_sweeps=[5], **FIT)
    for k, v in TRUE.items():
        assert abs(res.best[k] - v) <= 0.05 * abs(v), (k, res.best[k], v)
    # held-out sweep generalises (RMSE in mV on the +10 pA sweep it never saw)
    assert res.summary["rmse_test"] < 1.0
    # run folder: parameter file loadable by the network, figures, summary
    fitted = ParameterSet.load(tmp_path / "run" / "fitted.yaml")
    assert fitted["C"].source.startswith("fitted by level1 run")
    assert fitted["C"].certainty == "fitted" and fitted["C"].unit == "pF"
    assert fitted["C"].bounds == passive_params["C"].bounds
    for f in ("pareto.png", "traces.png", "parameters.png", "summary.json", "checkpoint.pkl"):
        assert (tmp_path / "run" / f).stat().st_size > 0


def test_passive_recovery_on_torch_backend(protocol, passive_params, tmp_path):
    """Parameter recovery through the real batched backend (celegans.simulate, torch)."""
    pytest.importorskip("celegans.torchsim.cell")
    spec = SimSpec("passive", backend="torch", dt_ms=0.5)
    rec = synthetic_recording(spec, TRUE, protocol, name="torch-passive")
    res = fit_neuron(rec, "passive", parameters=passive_params, backend="torch", dt_ms=0.5,
                     algorithm="nsga2", pop_size=32, max_evals=960, seed=3, progress=False,
                     test_sweeps=[5])
    for k, v in TRUE.items():
        assert abs(res.best[k] - v) <= 0.05 * abs(v), (k, res.best[k], v)
    assert res.summary["rmse_test"] < 1.0


def test_same_seed_same_result_and_resume_is_exact(target, passive_params, tmp_path):
    cfg = FitConfig(algorithm="nsga2", pop_size=16, max_evals=160, seed=7, progress=False,
                    state_mutation=True)
    full = optimise(_evaluator(target, passive_params), cfg, tmp_path / "a")
    again = optimise(_evaluator(target, passive_params), cfg, tmp_path / "b")
    np.testing.assert_array_equal(full.X, again.X)

    class Killed(Exception):
        pass

    def kill_after_4(gen, hist):
        if gen == 4:
            raise Killed

    with pytest.raises(Killed):
        optimise(_evaluator(target, passive_params), cfg, tmp_path / "c", callback=kill_after_4)
    # scramble global RNG state as a fresh process would have it
    np.random.seed(12345)  # noqa: NPY002
    resumed = optimise(_evaluator(target, passive_params), cfg, tmp_path / "c", resume=True)
    assert resumed.n_evals == full.n_evals
    np.testing.assert_array_equal(resumed.X, full.X)
    np.testing.assert_array_equal(resumed.F, full.F)


@pytest.mark.parametrize("alg", ["cmaes", "de", "pso", "sa", "nsga3", "random"])
def test_same_seed_reproducible(alg, target, passive_params):
    cfg = FitConfig(algorithm=alg, pop_size=8, max_evals=48, seed=0, progress=False)
    a = optimise(_evaluator(target, passive_params), cfg)
    b = optimise(_evaluator(target, passive_params), cfg)
    np.testing.assert_array_equal(a.X, b.X)


@pytest.mark.parametrize("alg", ["cmaes", "de", "pso", "ga", "sa", "random", "grid",
                                 "nelder-mead", "powell", "nsga3"])
def test_algorithm_menu_runs_and_improves(alg, target, passive_params):
    ev = _evaluator(target, passive_params)
    r = optimise(ev, FitConfig(algorithm=alg, pop_size=12, max_evals=120, seed=1,
                               progress=False))
    assert 0 < r.n_evals <= 120
    _, curve = r.best_curve()
    assert np.isfinite(curve[-1]) and curve[-1] <= curve[0]


def test_random_search_evaluates_given_points_first(target, passive_params):
    """``sampling`` (e.g. the start of a Level-2 fit) fills the first batch; the rest of the
    run is uniform."""
    from fitting.algorithms import AlgorithmError, make_optimizer

    start = np.array([[0.5, 0.25, 0.75]])[:, :len(passive_params)]
    cfg = FitConfig(algorithm="random", pop_size=4, max_evals=12, seed=0, progress=False,
                    options={"sampling": start})
    r = optimise(_evaluator(target, passive_params), cfg)
    np.testing.assert_array_equal(r.X[0], start[0])
    plain = optimise(_evaluator(target, passive_params), FitConfig(
        algorithm="random", pop_size=4, max_evals=12, seed=0, progress=False))
    np.testing.assert_array_equal(r.X[1:4], plain.X[:3])      # the same stream after it
    assert not np.any(np.all(np.isclose(r.X[4:], start), axis=1))
    with pytest.raises(AlgorithmError, match="sampling must be rows of"):
        make_optimizer("random", start.shape[1], 1, 4, 0, options={"sampling": start + 1})


def test_unknown_algorithm_and_bad_bounds_are_clear_errors(passive_params):
    with pytest.raises(FitError, match="algorithm: unknown 'hillclimb'"):
        FitConfig(algorithm="hillclimb")
    from fitting.space import SpaceError

    with pytest.raises(SpaceError, match="'C': bounds lower 5.0 > upper 1.0"):
        ParamSpace.from_parameters(passive_params, bounds={"C": (5.0, 1.0)})
    with pytest.raises(ValueError, match="lower <= upper"):
        Parameter("g", 1.0, "nS", bounds=(2.0, 0.5))
    with pytest.raises(SpaceError, match="not in set"):
        ParamSpace.from_parameters(passive_params, fit=["g_Ca"])


def test_failed_evaluations_get_penalty_and_run_goes_on(target, passive_params):
    from fitting_passive_analytic import simulate_flaky

    space = ParamSpace.from_parameters(passive_params)
    ev = Evaluator(space, SimSpec("passive", function=simulate_flaky, dt_ms=0.2),
                   ObjectiveSet(target), BatchedExecutor(), penalty=500.0)
    X = space.to_unit(np.array([[20.0, 0.5, -50.0], [80.0, 0.5, -50.0], [10.0, 1.0, -40.0]]))
    res = ev.evaluate(X)
    assert res.failed.tolist() == [False, True, False]
    assert np.all(res.F[1] == 500.0) and np.all(res.F[[0, 2]] < 500.0)
    assert "blow-up" in res.reasons[1]
    r = optimise(ev, FitConfig(algorithm="ga", pop_size=16, max_evals=64, progress=False))
    assert r.n_evals == 64 and np.all(np.isfinite(r.F))


def test_two_stage_fits_passive_then_active(protocol, tmp_path):
    ps = ParameterSet.from_dict({"parameters": {
        "C": {"value": 5, "unit": "pF", "bounds": [1, 100], "transform": "log"},
        "g_L": {"value": 0.1, "unit": "nS", "bounds": [0.01, 5], "transform": "log"},
        "E_L": {"value": -40, "unit": "mV", "bounds": [-80, -20]},
        "g_x": {"value": 0.1, "unit": "nS", "bounds": [0.0, 5.0]}}})
    true = {"C": 20.0, "g_L": 0.5, "E_L": -50.0, "g_x": 1.0}
    spec = SimSpec("passive_rect", function=simulate_passive, dt_ms=0.2)
    rec = synthetic_recording(spec, true, protocol, sample_dt_ms=1.0)
    res = fit_neuron(rec, "passive_rect", parameters=ps, two_stage=True, algorithm="cmaes",
                     pop_size=16, max_evals=640, seed=2, stage1_fraction=0.5,
                     run_dir=tmp_path / "two", **FIT)
    assert len(res.stages) == 2
    assert res.stages[0].names == ("C", "g_L", "E_L") and res.stages[1].names == ("g_x",)
    assert abs(res.best["g_L"] - 0.5) < 0.05 * 0.5
    assert abs(res.best["g_x"] - 1.0) < 0.1
    assert (tmp_path / "two" / "stage1" / "checkpoint.pkl").exists()


def test_state_mutating_operator_pushes_the_off_feature():
    rng = np.random.default_rng(0)
    A = np.array([[2.0, 0.0, 0.0], [0.0, -1.0, 0.5]])   # feature sensitivities
    x_true = np.array([0.3, 0.6, 0.5])
    X = rng.random((60, 3))
    Z = (X - x_true) @ A.T
    S = local_sensitivity(X, Z, X[0], k=60)
    np.testing.assert_allclose(S, A, atol=1e-2)
    op = FeatureGuidedMutation(prob_guided=1.0)
    op.update(X, Z)
    x = np.array([0.8, 0.2, 0.5])
    z_before = np.abs((x - x_true) @ A.T).sum()
    moved = np.array([op.guided_step(x, rng) for _ in range(20)])
    z_after = np.abs((moved - x_true) @ A.T).sum(axis=1)
    assert np.all(z_after < z_before)


def test_state_mutating_operator_runs_in_nsga2(target, passive_params):
    ev = _evaluator(target, passive_params)
    cfg = FitConfig(algorithm="nsga2", pop_size=16, max_evals=160, seed=0, progress=False,
                    state_mutation=True, fd_every=3)
    r = optimise(ev, cfg)
    assert r.n_evals <= 160 and np.isfinite(r.best_F).all()
    with pytest.raises(FitError, match="state-mutating operator needs a GA"):
        optimise(ev, FitConfig(algorithm="cmaes", state_mutation=True, progress=False))


def test_objectives_missing_features_are_penalised_not_raised(target):
    obj = ObjectiveSet(target, ObjectiveConfig(phase_plane=True, missing_z=7.0))
    y = np.array(target.data)[None].repeat(3, axis=0)
    y[1, :, 150:155] = 20.0          # 'spikes' the target does not have
    y[2] = np.nan                    # garbage in -> finite penalty out
    sc = obj.score(y)
    assert np.all(np.isfinite(sc.F))
    assert sc.F[0].max() < 1e-6
    assert sc.F[1, list(obj.names).index("active")] > 0


def test_hh1952_recovery_on_torch_backend():
    """Classic Hodgkin-Huxley (cell HH1952): g_Na, g_K, g_leak recovered within 5 %.

    Synthetic target from the published values (Hodgkin & Huxley 1952: 120/36/0.3 mS/cm2 on
    1000 um2), three 100 ms current steps (a hyperpolarising one with anode-break rebound and
    two spiking ones), CMA-ES with 400 evaluations on the batched torch backend. Measured
    errors (seeds 0/1/2): <= 0.1 %, <= 0.7 %, <= 0.8 %; 256 evaluations were not enough for
    every seed (seed 2: g_Na 6.7 % off).
    """
    pytest.importorskip("celegans.torchsim.cell")
    from celegans.protocols import CurrentClamp

    prot = CurrentClamp((-40.0, 30.0, 80.0), 20.0, 100.0, 120.0)
    true = {"g_hh_na": 1200.0, "g_hh_k": 360.0, "g_leak": 3.0}
    spec = SimSpec("hh", backend="torch", dt_ms=0.05, options={"cell": "HH1952"})
    rec = synthetic_recording(spec, true, prot, sample_dt_ms=0.1, name="hh1952")
    assert np.ptp(np.asarray(rec.data)[1]) > 80.0      # the target really spikes
    bounds = {k: (v / 3.0, v * 2.5) for k, v in true.items()}
    res = fit_neuron(rec, "hh", fit=list(true), bounds=bounds, backend="torch", dt_ms=0.05,
                     sim_options={"cell": "HH1952"}, algorithm="cmaes", pop_size=16,
                     max_evals=400, seed=0, progress=False)
    assert res.summary["n_evals"] <= 400
    for k, v in true.items():
        assert abs(res.best[k] - v) <= 0.05 * v, (k, res.best[k], v)
    assert res.summary["rmse_train"] < 2.0


@pytest.mark.slow
@pytest.mark.xfail(reason="at 320 evaluations g_shl1 is still ~14 % off (measured 2.83 vs "
                   "2.48 nS); a 4-step protocol (-15/5/15/30 pA) did not help (g_shl1 "
                   "2.98 nS, +20 %, after 305 evaluations, 238 s): the objectives are "
                   "flat in g_shl1, so it needs a larger budget or a voltage-clamp protocol",
                   strict=False)
def test_hh_rmd_recovery_on_torch_backend():
    """Identifiable conductances of the hh RMD cell recovered within 5 % (torch backend)."""
    pytest.importorskip("celegans.torchsim.cell")
    from celegans.protocols import CurrentClamp
    from fitting.level1 import default_parameters

    prot = CurrentClamp((-10.0, 5.0, 15.0), 50.0, 250.0, 300.0)
    ps = default_parameters("hh", cell="RMD")
    true = {k: ps[k].value for k in ("g_leak", "g_shl1", "g_egl19")}
    spec = SimSpec("hh", backend="torch", dt_ms=0.1, options={"cell": "RMD"})
    rec = synthetic_recording(spec, true, prot, sample_dt_ms=0.5)
    bounds = {k: (v / 3.0, v * 2.5) for k, v in true.items()}
    res = fit_neuron(rec, "hh", fit=list(true), bounds=bounds, backend="torch", dt_ms=0.1,
                     sim_options={"cell": "RMD"}, algorithm="cmaes", pop_size=16,
                     max_evals=320, seed=0, progress=False)
    for k, v in true.items():
        assert abs(res.best[k] - v) <= 0.05 * v, (k, res.best[k], v)


@pytest.mark.slow
def test_gradient_algorithm_uses_torch_adam(protocol):
    """algorithm='gradient' runs helper D's Adam fitter through the level-1 API."""
    pytest.importorskip("celegans.torchsim.gradfit")
    rec = synthetic_recording(SimSpec("passive", backend="torch", dt_ms=0.5), TRUE, protocol)
    res = fit_neuron(rec, "passive", fit=list(TRUE),
                     bounds={"C": (4, 60), "g_L": (0.1, 1.5), "E_L": (-85, -30)},
                     backend="torch", dt_ms=0.5, algorithm="gradient", pop_size=4,
                     max_evals=200, progress=False)
    for k, v in TRUE.items():
        assert abs(res.best[k] - v) <= 0.05 * abs(v), (k, res.best[k], v)


def test_resume_after_sigkill_matches_uninterrupted(target, passive_params, tmp_path):
    """A run killed with SIGKILL mid-flight resumes from its checkpoint to the same result."""
    import os
    import pickle
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from fitting.targets import save_npz

    save_npz(target, tmp_path / "t.npz")
    passive_params.save(tmp_path / "p.yaml")
    run = tmp_path / "killed"
    here = Path(__file__).resolve().parent
    script = f"""
import sys, time
sys.path[:0] = [{str(here)!r}, {str(here.parents[1])!r}]
from fitting_passive_analytic import simulate_passive
from celegans.parameters import ParameterSet
from fitting.evaluator import Evaluator
from fitting.level1 import FitConfig, optimise
from fitting.objectives import ObjectiveSet
from fitting.simulator import SimSpec
from fitting.space import ParamSpace
from fitting.targets import load_npz
ev = Evaluator(ParamSpace.from_parameters(ParameterSet.load({str(tmp_path / 'p.yaml')!r})),
               SimSpec("passive", function=simulate_passive, dt_ms=0.2),
               ObjectiveSet(load_npz({str(tmp_path / 't.npz')!r})))
optimise(ev, FitConfig(algorithm="ga", pop_size=16, max_evals=160, seed=11, progress=False),
         {str(run)!r}, callback=lambda g, h: time.sleep(0.3))
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    ckpt = run / "checkpoint.pkl"
    deadline = time.time() + 120
    gen = 0
    while time.time() < deadline and proc.poll() is None:
        if ckpt.exists():
            try:
                gen = pickle.loads(ckpt.read_bytes())["generation"]
            except Exception:  # noqa: BLE001 - being replaced right now
                gen = 0
            if gen >= 3:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= pickle.loads(ckpt.read_bytes())["generation"] < 10
    cfg = FitConfig(algorithm="ga", pop_size=16, max_evals=160, seed=11, progress=False)
    resumed = optimise(_evaluator(target, passive_params), cfg, run, resume=True)
    full = optimise(_evaluator(target, passive_params), cfg)
    np.testing.assert_array_equal(resumed.X, full.X)
    np.testing.assert_array_equal(resumed.F, full.F)
