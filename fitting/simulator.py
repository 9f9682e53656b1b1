"""Picklable simulation specs: what workers rebuild a model from (plain names and dicts).

NEURON objects do not pickle, so executors never ship a model; they ship a :class:`SimSpec`
(model name, backend, dt, options, fixed parameter values, the simulate function as an import
path) and a plain ``{name: value}`` dict. The worker imports the function and builds the model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from celegans.protocols import CurrentClamp, TraceResult, VoltageClamp

DEFAULT_SIMULATE = "celegans.simulate:simulate_cell"


def resolve(path: str | Callable[..., Any]) -> Callable[..., Any]:
    """Import ``"module:function"`` (or return a callable unchanged)."""
    if callable(path):
        return path
    mod, _, name = str(path).partition(":")
    if not mod or not name:
        raise ValueError(f"simulate function {path!r}: expected 'module:function'")
    try:
        return getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"simulate function {path!r} cannot be imported ({exc})") from None


@dataclass(frozen=True)
class SimSpec:
    """How to simulate one cell model: ``spec(params, protocol) -> TraceResult``.

    Attributes:
        model: registry name passed to the simulate function (``passive``, ``hh``, ...).
        backend: ``"torch"`` (batched) or ``"neuron"``.
        dt_ms: integration step.
        options: extra keyword arguments (e.g. ``{"cell": "RMD"}`` for ``hh``).
        fixed: parameter values merged under the fitted ones (frozen parameters, stage-1 fits).
        function: ``"module:function"`` with the signature of
            :func:`celegans.simulate.simulate_cell`, or a picklable callable.
        batched: whether the function accepts ``{name: array(B)}`` in one call.
    """

    model: str
    backend: str = "torch"
    dt_ms: float = 0.1
    options: Mapping[str, Any] = field(default_factory=dict)
    fixed: Mapping[str, float] = field(default_factory=dict)
    function: str | Callable[..., Any] = DEFAULT_SIMULATE
    batched: bool = True

    def with_fixed(self, values: Mapping[str, float]) -> SimSpec:
        """A copy with more fixed parameter values."""
        merged = dict(self.fixed)
        merged.update({k: float(v) for k, v in values.items()})
        return SimSpec(self.model, self.backend, self.dt_ms, dict(self.options), merged,
                       self.function, self.batched)

    def __call__(self, params: Mapping[str, Any],
                 protocol: CurrentClamp | VoltageClamp) -> TraceResult:
        fn = resolve(self.function)
        full: dict[str, Any] = dict(self.fixed)
        full.update(params)
        batch = [np.size(v) for v in full.values() if np.ndim(v) > 0]
        if batch:
            n = max(batch)
            full = {k: (np.asarray(v, float) if np.ndim(v) > 0 else np.full(n, float(v)))
                    for k, v in full.items()}
        opts = dict(self.options)
        if isinstance(protocol, VoltageClamp) and "record" not in opts:
            opts["record"] = ("v", "i")  # the clamp current is the response
        return fn(self.model, full, protocol, backend=self.backend, dt_ms=self.dt_ms, **opts)


def simulate_one(spec: SimSpec, params: Mapping[str, float],
                 protocol: CurrentClamp | VoltageClamp) -> tuple[np.ndarray, np.ndarray, bool]:
    """Worker entry point: simulate one parameter set; returns ``(time_ms, y (S, T), failed)``.

    ``y`` is the membrane potential for current clamp and the clamp current (``"i"``, else
    ``"v"``) for voltage clamp. Module-level so that process pools and Dask can pickle it.
    """
    res = spec({k: float(v) for k, v in params.items()}, protocol)
    var = _response_var(res, protocol)
    y = np.asarray(res.data[var], float)
    y = y.reshape(protocol.n_sweeps, -1)
    failed = bool(np.any(res.failed)) if res.failed is not None else False
    failed = failed or not np.all(np.isfinite(y))
    return np.asarray(res.time_ms, float), y, failed


def _response_var(res: TraceResult, protocol: CurrentClamp | VoltageClamp) -> str:
    if isinstance(protocol, VoltageClamp):
        for k in ("i", "i_clamp", "i_pA"):
            if k in res.data:
                return k
    return "v"


def response_var(res: TraceResult, protocol: CurrentClamp | VoltageClamp) -> str:
    """Name of the recorded response variable in ``res`` for this protocol."""
    return _response_var(res, protocol)
