"""A cheap stand-in for the closed loop (tests only): behaviour features as smooth functions of
the Level-2 parameters, so evaluator, search, checkpoints and pipeline run in seconds."""

from __future__ import annotations

import numpy as np

from fitting.level2.behaviour import features_trace

VISCOSITY = {"agar": 0.0, "water": 1.0}


def standin_trace(model, params, protocol, *, backend="neuron", dt_ms=1.0, **options):
    names = sorted(params)
    v = np.array([float(np.asarray(params[k]).reshape(-1)[0]) for k in names])
    if np.any(v > 4.5):                       # an unstable corner: the loop "blows up"
        return features_trace(np.full((protocol.n_sweeps, protocol.n_features), np.nan), True)
    u = np.log(np.maximum(v, 1e-3))
    drive = float(np.sum(np.tanh(u) * np.linspace(0.6, 1.2, u.size)))
    out = np.full((protocol.n_sweeps, protocol.n_features), np.nan)
    for i, c in enumerate(protocol.conditions):
        w = VISCOSITY.get(str(c.medium), 0.5)
        f = {"frequency_hz": 0.2 * np.exp(0.5 * drive) * (1 + 5 * w),
             "wavelength_body_lengths": 0.5 * np.exp(0.2 * drive) * (1 + 1.4 * w),
             "speed_mm_s": 0.1 * np.exp(0.4 * drive) * (1 + 0.5 * w)}
        for j, name in enumerate(protocol.features):
            out[i, j] = f.get(name, np.nan)
    return features_trace(out, False)
