"""NEURON backend for single cells of any registry model under a clamp protocol.

``simulate_cell_nrn`` is what :func:`celegans.simulate.simulate_cell` calls for
``backend="neuron"``. One parameter set gives ``data[var]`` of shape ``(n_sweeps, 1, n_time)``;
a batch (``{name: array(B)}``) is looped and gives ``(B, n_sweeps, 1, n_time)``. Time points are
``0, dt, ..., duration`` (``n_steps + 1`` samples). Fixed step, cvode off.

Recordable: ``v`` (mV), model states (``w``, ``I1``, ``I2``, ... see the model's
``state_vars``), and under a :class:`VoltageClamp` ``i``: the clamp current in pA (positive
depolarises the cell, i.e. it equals the membrane's net outward current at steady state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from celegans.models import get_model, parse_model_spec
from celegans.models.base import ModelError
from celegans.protocols import CurrentClamp, ProtocolError, TraceResult, VoltageClamp, n_steps

#: series resistance of the voltage clamp (MOhm); small against C. elegans input resistances
SECLAMP_RS_MOHM = 0.001


def _split_batch(params: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]], bool]:
    """``{k: scalar}`` -> one set; ``{k: array(B)}`` -> B sets (scalars broadcast)."""
    if params is None:
        return [{}], False
    arrs = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    sizes = {a.shape[0] for a in arrs.values() if a.ndim == 1}
    if any(a.ndim > 1 for a in arrs.values()):
        raise ModelError("params: batch values must be 1-D arrays")
    if not sizes:
        return [{k: float(a) for k, a in arrs.items()}], False
    if len(sizes) > 1:
        raise ModelError(f"params: batch arrays have different lengths {sorted(sizes)}")
    b = sizes.pop()
    return [{k: (float(a[i]) if a.ndim == 1 else float(a)) for k, a in arrs.items()}
            for i in range(b)], True


def simulate_cell_nrn(model: str, params: Mapping[str, Any] | None,
                      protocol: CurrentClamp | VoltageClamp, dt_ms: float = 0.025,
                      record: Sequence[str] = ("v",), **options: Any) -> TraceResult:
    """Simulate one cell model under ``protocol`` in NEURON.

    Args:
        model: registry name or spec (``"passive"``, ``"hh:RMD"``, ``"multicomp"``).
        params: overrides of the model's defaults, one set or a batch of arrays; None: defaults.
        protocol: current- or voltage-clamp sweeps.
        dt_ms: fixed step (ms).
        record: variables to return.
        **options: model options (``cell`` for ``hh``/``multicomp``, ``morphology``).
    """
    from neuron import h

    from celegans.nrn.mechanisms import load_mechanisms
    from celegans.nrn.network import release_transfers

    if not isinstance(protocol, (CurrentClamp, VoltageClamp)):
        raise ProtocolError(f"protocol: expected CurrentClamp or VoltageClamp, got "
                            f"{type(protocol).__name__}")
    name, spec_opts = parse_model_spec(model)
    opts = {**spec_opts, **options}
    m = get_model(name)
    m.check_options(opts)
    sets, batched = _split_batch(params)
    full = [m.parameters(p, **opts) for p in sets]

    load_mechanisms()
    h.load_file("stdrun.hoc")
    release_transfers()
    nt = n_steps(protocol.duration_ms, dt_ms)
    t = np.arange(nt + 1) * dt_ms
    is_vc = isinstance(protocol, VoltageClamp)
    drive = protocol.voltage_at(t) if is_vc else protocol.current_at(t) * 1e-3  # mV / nA
    n_sw = protocol.n_sweeps
    out = {var: np.full((len(full), n_sw, 1, nt + 1), np.nan) for var in record}
    failed = np.zeros(len(full), dtype=bool)
    for b, p in enumerate(full):
        cell = m.build_nrn(p, f"{name}_{b}", dt_ms=dt_ms, **opts)
        seg = cell.soma(0.5)
        if is_vc:
            clamp = h.SEClamp(seg)
            clamp.rs = SECLAMP_RS_MOHM
            clamp.dur1 = protocol.duration_ms + 10 * dt_ms
            target = clamp._ref_amp1
        else:
            clamp = h.IClamp(seg)
            clamp.delay = 0.0
            clamp.dur = 1e12
            target = clamp._ref_amp
        vecs = {}
        for var in record:
            if var == "i":
                if not is_vc:
                    raise ModelError("record 'i' (clamp current) needs a VoltageClamp protocol")
                ref = clamp._ref_i
            else:
                ref = cell.ref(var)
            vecs[var] = h.Vector().record(ref)
        from celegans.nrn.network import v_init_of

        v0 = v_init_of(name, p, cell)
        for s in range(n_sw):
            play = h.Vector(drive[s])
            play.play(target, dt_ms)
            h.cvode.active(0)
            h.dt = dt_ms
            for sec in cell.sections:
                for sg in sec:
                    sg.v = float(drive[s][0]) if is_vc else v0
            h.finitialize()
            h.continuerun(nt * dt_ms)
            for var, vec in vecs.items():
                x = vec.as_numpy()[: nt + 1].copy()
                if var == "i":
                    x = x * 1e3  # nA -> pA
                out[var][b, s, 0, : len(x)] = x
            play.play_remove()
        v = out.get("v")
        if v is not None and not np.all(np.isfinite(v[b])):
            failed[b] = True
        del vecs, clamp, cell
    if not batched:
        out = {k: v[0] for k, v in out.items()}
        failed_out = np.array(bool(failed[0]))
    else:
        failed_out = failed
    return TraceResult(time_ms=t, names=[name], data=out, failed=failed_out)
