"""Regression test: a closed-loop evaluation does not depend on what ran before it.

The surrogate benchmark compares searches by the errors of the points they simulate; a point
must score the same whether it is the first evaluation of a worker process or follows another
one (NEURON and PyBullet keep global state per process), and in a fresh process."""

from __future__ import annotations

import numpy as np

from fitting.executors import ProcessExecutor, SerialExecutor
from fitting.level2.behaviour import (
    DEFAULT_GAIT_TARGETS,
    BehaviourProtocol,
    BehaviourTarget,
    Condition,
)
from fitting.level2.evaluator import Level2Evaluator
from fitting.space import ParamSpace

PARAMS = {"muscle_gain": (0.5, 5.0), "network.mult.gap.AVB.VB": (0.2, 5.0),
          "command_forward_pA": (100.0, 5000.0)}


def _evaluator(executor):
    cond = Condition("water", "water", duration_s=0.6, discard_s=0.1)
    proto = BehaviourProtocol((cond,), ("frequency_hz", "wavelength_body_lengths",
                                        "speed_mm_s", "curvature_amplitude_kappa_L"))
    target = BehaviourTarget.from_dict({"water": {
        **DEFAULT_GAIT_TARGETS["water"],
        "curvature_amplitude_kappa_L": {"mean": 6.0, "sd": 1.0}}})
    space = ParamSpace.from_bounds(PARAMS, log=tuple(PARAMS))
    return Level2Evaluator(space, proto, target, executor)


def test_same_point_scores_the_same_after_another_point_and_in_a_fresh_process():
    A, B = [0.3, 0.6, 0.5], [0.9, 0.1, 0.2]
    ev = _evaluator(SerialExecutor())
    r = ev.evaluate(np.array([A, B, A]))
    fa = r.features["water"]
    assert not r.failed.any(), r.reasons
    assert np.isfinite(fa[0]).sum() >= 2            # something was measured
    assert not np.allclose(fa[0], fa[1], equal_nan=True)   # B is a different gait
    np.testing.assert_array_equal(fa[0], fa[2])     # bit-identical after B, same process
    np.testing.assert_array_equal(r.F[0], r.F[2])
    with ProcessExecutor(n_workers=1, timeout_s=300.0) as ex:
        rp = _evaluator(ex).evaluate(np.array([B, A]))
    np.testing.assert_array_equal(rp.features["water"][1], fa[0])   # fresh worker, after B
    np.testing.assert_array_equal(rp.features["water"][0], fa[1])   # fresh worker, first
