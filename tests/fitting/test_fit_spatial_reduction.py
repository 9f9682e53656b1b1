"""Spatial channel distributions (Hay et al. 2011) and model reduction (Bahl et al. 2012)."""

from __future__ import annotations

import numpy as np
import pytest
from fitting_passive_analytic import TRUE, simulate_passive

from celegans.parameters import ParameterSet
from fitting.reduction import reduce_model
from fitting.simulator import SimSpec
from fitting.spatial import (
    ChannelDistribution,
    SpatialError,
    density,
    distribution_parameter_set,
    path_distances,
    segment_densities,
)


def test_distribution_functions():
    d = np.array([0.0, 323.0, 1000.0])
    hay_ih = density("exponential", d, {"g0": 2e-4, "a": -0.8696, "b": 2.087, "lam": 323.0})
    np.testing.assert_allclose(hay_ih, 2e-4 * (-0.8696 + 2.087 * np.exp(d / 323.0)))
    hz = density("hotzone", np.array([600.0, 700.0, 900.0]),
                 {"g_in": 1e-3, "g_out": 1e-5, "d_start": 685.0, "d_end": 885.0})
    assert hz.tolist() == [1e-5, 1e-3, 1e-5]
    assert density("linear", np.array([0.0, 10.0]), {"g0": 1.0, "slope": -0.2}).tolist() == \
        [1.0, 0.0]
    sig = density("sigmoid", np.array([0.0, 1e4]), {"g0": 1, "a": 0, "b": 1, "d_half": 100,
                                                     "k": 10})
    assert sig[0] == pytest.approx(1.0, abs=1e-4) and sig[1] == pytest.approx(0.0)
    with pytest.raises(SpatialError, match="unknown kind"):
        density("cubic", d, {})
    with pytest.raises(SpatialError, match="missing parameter"):
        density("linear", d, {"g0": 1.0})


def test_parameterisation_and_path_distances():
    dists = [ChannelDistribution("ih", "exponential"), ChannelDistribution("ca", "hotzone")]
    ps = distribution_parameter_set(dists)
    assert "ih.lam" in ps and ps["ih.lam"].unit == "um" and ps["ca.g_in"].unit == "S/cm2"
    assert np.all(np.isfinite(ps.bounds_array()))
    # soma (0) -> a (10 um) -> b (20 um); c branches off the soma (5 um)
    parent = np.array([-1, 0, 1, 0])
    prox = np.array([[0, 0, 0], [0, 0, 0], [10, 0, 0], [0, 0, 0]], float)
    dist = np.array([[0, 0, 0], [10, 0, 0], [30, 0, 0], [0, 5, 0]], float)
    d = path_distances(parent, prox, dist, is_soma=np.array([True, False, False, False]))
    np.testing.assert_allclose(d, [0, 5, 20, 2.5])
    dens = segment_densities(dists, d, ps.values())
    assert dens["ih"].shape == (4,) and np.all(np.diff(dens["ih"][:3]) > 0)


def test_reduction_fits_reduced_model_to_detailed_output(protocol, passive_params):
    # "detailed": passive cell with an extra depolarisation-activated conductance;
    # reduced: plain passive cell, fitted to the detailed responses
    detailed = SimSpec("passive_rect", function=simulate_passive, dt_ms=0.2)
    res = reduce_model(detailed, {**TRUE, "g_x": 0.3}, protocol, "passive",
                       sample_dt_ms=1.0, parameters=passive_params, simulate=simulate_passive,
                       dt_ms=0.2, algorithm="cmaes", pop_size=12, max_evals=240,
                       progress=False)
    assert res.summary["reduced_from"]["model"] == "passive_rect"
    # the reduced model cannot express g_x, but its best compromise stays within a few mV of
    # every detailed trace (the default passive cell is tens of mV off) and finds the rest
    per = res.summary["per_sweep"]
    assert res.summary["rmse_train"] < 2.5
    assert max(p["rmse"] for p in per) < 6.0
    assert abs(res.best["E_L"] - TRUE["E_L"]) < 1.0
    assert isinstance(res.parameters, ParameterSet)
