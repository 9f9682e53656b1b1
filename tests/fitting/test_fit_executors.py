"""Executors: process pool (isolation, timeout) and Dask on a real 2-process LocalCluster."""

from __future__ import annotations

import numpy as np
import pytest
from fitting_passive_analytic import TRUE

from fitting.evaluator import Evaluator
from fitting.executors import BatchedExecutor, DaskExecutor, ProcessExecutor, make_executor
from fitting.level1 import FitConfig, optimise
from fitting.objectives import ObjectiveSet
from fitting.simulator import SimSpec
from fitting.space import ParamSpace

# workers import the simulate function by name (NEURON-style: nothing unpicklable is shipped)
SLOW = "fitting_passive_analytic:simulate_slow"
PASSIVE = "fitting_passive_analytic:simulate_passive"


def _points(space):
    return space.to_unit(np.array([[TRUE["C"], TRUE["g_L"], TRUE["E_L"]],
                                   [80.0, 0.5, -50.0],
                                   [10.0, 1.0, -40.0]]))


def test_process_pool_times_out_hung_evaluation_and_continues(target, passive_params):
    space = ParamSpace.from_parameters(passive_params)
    ex = ProcessExecutor(n_workers=2, timeout_s=3.0)
    try:
        ev = Evaluator(space, SimSpec("passive", function=SLOW, dt_ms=0.2, batched=False),
                       ObjectiveSet(target), ex)
        res = ev.evaluate(_points(space))
        assert res.failed.tolist() == [False, True, False]
        assert "timeout" in res.reasons[1]
        assert res.F[0].max() < 1e-3
        # the pool was rebuilt and keeps working
        res2 = ev.evaluate(_points(space)[[0, 2]])
        assert not res2.failed.any()
    finally:
        ex.close()


def test_process_pool_clock_starts_when_a_worker_takes_the_evaluation(target, passive_params):
    # three 2-s evaluations on one worker with a 3.5-s timeout: each is within its budget;
    # queued evaluations must not be timed while they wait for the worker
    space = ParamSpace.from_parameters(passive_params)
    ex = ProcessExecutor(n_workers=1, timeout_s=3.5)
    try:
        ev = Evaluator(space, SimSpec("passive", function="fitting_passive_analytic:"
                                      "simulate_sleepy", dt_ms=0.2, batched=False),
                       ObjectiveSet(target), ex)
        assert not ev.evaluate(_points(space)[[0]]).failed.any()  # the worker is up
        slow = space.to_unit(np.array([[80.0, 0.5, -50.0]] * 3))
        res = ev.evaluate(slow)
        assert not res.failed.any(), res.reasons
    finally:
        ex.close()


def test_dask_local_cluster_two_worker_processes(target, passive_params):
    pytest.importorskip("distributed")
    space = ParamSpace.from_parameters(passive_params)
    with DaskExecutor(n_workers=2, timeout_s=30.0) as ex:
        info = ex.client.scheduler_info()["workers"]
        assert len(info) == 2
        pids = set(ex.client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2 and __import__("os").getpid() not in pids
        ev = Evaluator(space, SimSpec("passive", function=PASSIVE, dt_ms=0.2, batched=False),
                       ObjectiveSet(target), ex)
        r_dask = optimise(ev, FitConfig(algorithm="de", pop_size=8, max_evals=24, seed=5,
                                        progress=False))
    ev_b = Evaluator(space, SimSpec("passive", function=PASSIVE, dt_ms=0.2),
                     ObjectiveSet(target), BatchedExecutor())
    r_b = optimise(ev_b, FitConfig(algorithm="de", pop_size=8, max_evals=24, seed=5,
                                   progress=False))
    # the executor does not change the search: same points, same objectives
    np.testing.assert_array_equal(r_dask.X, r_b.X)
    np.testing.assert_allclose(r_dask.F, r_b.F, rtol=1e-12)


def test_make_executor_rejects_unknown_name():
    with pytest.raises(ValueError, match="executor: unknown 'mpi'"):
        make_executor("mpi")
    with pytest.raises(ValueError, match="timeout_s"):
        ProcessExecutor(timeout_s=0)


@pytest.mark.slow
def test_neuron_backend_process_pool_voltage_clamp_iv_fit(passive_params):
    """Voltage-clamp I-V target, NEURON backend, 2 worker processes (one simulator each)."""
    pytest.importorskip("celegans.nrn.cell")
    from celegans.protocols import VoltageClamp
    from fitting.level1 import fit_neuron
    from fitting.targets import synthetic_recording

    prot = VoltageClamp((-90.0, -70.0, -50.0, -30.0, -10.0), 20.0, 120.0, 150.0, -60.0)
    spec = SimSpec("passive", backend="neuron", dt_ms=0.1)
    rec = synthetic_recording(spec, TRUE, prot, name="vc-target")
    assert rec.kind == "vc"
    res = fit_neuron(rec, "passive", parameters=passive_params.updated({"C": TRUE["C"]}),
                     fit=["g_L", "E_L"],
                     backend="neuron", dt_ms=0.1, executor="process",
                     executor_options={"n_workers": 2, "timeout_s": 120},
                     algorithm="cmaes", pop_size=8, max_evals=96, seed=0, progress=False)
    assert abs(res.best["g_L"] - TRUE["g_L"]) < 0.05 * TRUE["g_L"]
    assert abs(res.best["E_L"] - TRUE["E_L"]) < 0.05 * abs(TRUE["E_L"])
