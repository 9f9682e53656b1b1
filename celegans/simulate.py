"""One entry point for simulations; the backend is chosen by one argument.

``simulate_cell`` runs a single-compartment (or multi-compartment) cell model under a protocol,
for one parameter set or a batch of them. ``simulate_network`` runs a network spec. The NEURON
backend is the reference; the torch backend is batched and differentiable. Both return
:class:`celegans.protocols.TraceResult` with the same shapes and names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celegans.protocols import CurrentClamp, TraceResult, VoltageClamp

BACKENDS = ("neuron", "torch")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown {backend!r}; expected one of {BACKENDS}")


def simulate_cell(
    model: str,
    params: Mapping[str, Any] | None,
    protocol: CurrentClamp | VoltageClamp,
    *,
    backend: str = "neuron",
    dt_ms: float = 0.025,
    record: Sequence[str] = ("v",),
    **options: Any,
) -> TraceResult:
    """Simulate one cell model under ``protocol``.

    Args:
        model: a registry name (``passive``, ``morris_lecar``, ``glif``, ``hh``, ``multicomp``);
            ``hh`` takes its cell via ``options['cell']`` (e.g. ``"RMD"``) or the parameters.
        params: ``{name: value}`` for one parameter set, or ``{name: array(B)}`` for a batch
            (torch backend; the NEURON backend loops). ``None`` means the model's defaults.
        protocol: current- or voltage-clamp sweeps (ms, pA, mV).
        backend: ``"neuron"`` or ``"torch"``.
        dt_ms: fixed integration step (ms).
        record: state variables to return (``"v"`` always available).

    Returns:
        TraceResult with ``data[var]`` of shape ``(*batch, n_sweeps, 1, n_time)``.
    """
    _check_backend(backend)
    if backend == "neuron":
        from celegans.nrn.cell import simulate_cell_nrn

        return simulate_cell_nrn(model, params, protocol, dt_ms=dt_ms, record=record, **options)
    from celegans.torchsim.cell import simulate_cell_torch

    return simulate_cell_torch(model, params, protocol, dt_ms=dt_ms, record=record, **options)


def simulate_network(spec: Any, duration_ms: float, *, backend: str = "neuron",
                     dt_ms: float = 0.025, **options: Any) -> TraceResult:
    """Simulate a :class:`celegans.network.NetworkSpec` for ``duration_ms``."""
    _check_backend(backend)
    if backend == "neuron":
        from celegans.nrn.network import simulate_network_nrn

        return simulate_network_nrn(spec, duration_ms, dt_ms=dt_ms, **options)
    from celegans.torchsim.network import simulate_network_torch

    return simulate_network_torch(spec, duration_ms, dt_ms=dt_ms, **options)
