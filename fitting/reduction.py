"""Model reduction (Bahl et al. 2012): fit a reduced model to the output of a detailed one.

The detailed model (e.g. ``multicomp`` or ``hh``) is simulated once under a protocol; its soma
voltage becomes a synthetic recording, and a reduced model (``passive``, ``glif``,
``morris_lecar``, single-compartment ``hh``) is fitted to it with :func:`fitting.fit_neuron`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celegans.protocols import CurrentClamp, VoltageClamp
from fitting.level1 import FitResult, fit_neuron
from fitting.simulator import SimSpec
from fitting.targets import Recording, synthetic_recording


def detailed_target(detailed: SimSpec, params: Mapping[str, float],
                    protocol: CurrentClamp | VoltageClamp, *, sample_dt_ms: float | None = None,
                    name: str | None = None) -> Recording:
    """Simulate the detailed model and return its response as a recording."""
    rec = synthetic_recording(detailed, params, protocol, sample_dt_ms=sample_dt_ms,
                              name=name or f"{detailed.model}:{dict(detailed.options)}")
    meta = dict(rec.meta)
    meta["detailed_model"] = detailed.model
    meta["detailed_options"] = dict(detailed.options)
    return Recording(rec.protocol, rec.time_ms, rec.data, rec.name, rec.feature_sd, meta)


def reduce_model(detailed: SimSpec, detailed_params: Mapping[str, float],
                 protocol: CurrentClamp | VoltageClamp, reduced_model: str,
                 *, sample_dt_ms: float | None = None, **fit_kwargs: Any) -> FitResult:
    """Fit ``reduced_model`` to the detailed model's responses (keyword args go to
    :func:`fit_neuron`: parameters, fit, bounds, backend, algorithm, max_evals, run_dir...)."""
    target = detailed_target(detailed, detailed_params, protocol, sample_dt_ms=sample_dt_ms)
    result = fit_neuron(target, reduced_model, **fit_kwargs)
    result.summary["reduced_from"] = {"model": detailed.model, "options": dict(detailed.options)}
    return result
