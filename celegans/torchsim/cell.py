"""``simulate_cell_torch``: batched single-compartment simulation with the NEURON interface.

Same model names, parameter files and protocols as :func:`celegans.nrn.cell.simulate_cell_nrn`;
``params`` may hold a batch (``{name: array(B)}``) and every sweep of the protocol runs at once,
so one call simulates ``B x n_sweeps`` cells. Current clamp (:class:`CurrentClamp`) and voltage
clamp (:class:`VoltageClamp`: NEURON's ``SEClamp`` with the same series resistance; record
``"i"`` for the clamp current in pA, 0 at t = 0 as NEURON records it) are supported. Returns
:class:`celegans.protocols.TraceResult` (``data[var]`` of shape ``(*batch, n_sweeps, 1,
n_time)``, ``failed`` of shape ``batch``).

:func:`simulate_cell_tensors` is the same computation returning torch tensors that keep the
autograd graph (used by :mod:`celegans.torchsim.gradfit`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from celegans.protocols import CurrentClamp, TraceResult, VoltageClamp, n_steps
from celegans.torchsim.device import (
    TorchSimError,
    UnstableStepError,
    resolve_device,
    resolve_dtype,
)
from celegans.torchsim.integrator import DEFAULT_CHUNK, run_steps
from celegans.torchsim.models import TorchModel, torch_model

Tensor = torch.Tensor


def _seclamp_g_ns() -> float:
    """Series conductance (nS) of the voltage clamp, the NEURON backend's ``SEClamp.rs``."""
    from celegans.nrn.cell import SECLAMP_RS_MOHM

    return 1e3 / SECLAMP_RS_MOHM  # 1/MOhm = 1e-6 S = 1e3 nS


@dataclass
class PreparedModel:
    """A model ready to run: torch kernel, merged parameters, batch shape, names/bounds."""

    kernel: TorchModel
    p: dict[str, Any]
    batch: tuple[int, ...]
    defaults: Any  # ParameterSet
    key: Any


def _registry_defaults(model: str, cell: str | None) -> tuple[Any, Any]:
    """(ParameterSet, cell description or None) from the model registry."""
    from celegans.models import get_model

    try:
        m = get_model(model)
    except ValueError as exc:
        raise TorchSimError(str(exc)) from None
    if m.name == "hh":
        from celegans.models.hh import DEFAULT_CELL, load_cell_spec

        spec = load_cell_spec(cell or DEFAULT_CELL)
        return m.default_parameters(cell=cell or DEFAULT_CELL), spec
    if m.name not in ("passive", "morris_lecar", "glif"):
        raise TorchSimError(f"model {model!r}: the torch backend simulates single-compartment "
                            "models (passive, morris_lecar, glif, hh)")
    return m.default_parameters(), None


def batch_parameters(params: Mapping[str, Any] | None, defaults: Any, where: str,
                     device: torch.device, dtype: torch.dtype
                     ) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Merge ``params`` into ``defaults`` and check them.

    Scalars stay Python floats (constants); arrays/tensors of shape ``(B,)`` become tensors of
    shape ``(B, 1)`` (they broadcast over sweeps). All batched values must share ``B``.
    Unknown names, NaN/inf and values outside the parameter bounds raise
    :class:`TorchSimError` naming the parameter."""
    values: dict[str, Any] = dict(defaults.values())
    batch: tuple[int, ...] = ()
    for key, raw in dict(params or {}).items():
        if key not in defaults:
            raise TorchSimError(f"{where}: unknown parameter {key!r} (known: "
                                f"{', '.join(defaults)})")
        if isinstance(raw, Tensor):
            t = raw.to(device=device, dtype=dtype)
        else:
            try:
                arr = np.asarray(raw, dtype=float)
            except (TypeError, ValueError):
                raise TorchSimError(f"{where}: parameter {key!r} must be numeric, "
                                    f"got {raw!r}") from None
            if arr.ndim == 0:
                t = None
                val = float(arr)
            else:
                t = torch.as_tensor(arr, device=device, dtype=dtype)
        chk = np.asarray(t.detach().cpu().numpy() if t is not None else val, dtype=float)
        if chk.ndim > 1:
            raise TorchSimError(f"{where}: parameter {key!r} must be a scalar or 1-D batch, "
                                f"got shape {chk.shape}")
        if not np.all(np.isfinite(chk)):
            raise TorchSimError(f"{where}: parameter {key!r} has non-finite values (NaN/inf)")
        lo, hi = defaults[key].bounds
        if np.any(chk < lo) or np.any(chk > hi):
            bad = chk[(chk < lo) | (chk > hi)].ravel()[:3]
            raise TorchSimError(f"{where}: parameter {key!r} = {bad.tolist()} "
                                f"{defaults[key].unit} outside bounds [{lo}, {hi}]")
        if t is None or t.ndim == 0:
            values[key] = float(chk) if t is None else t
            continue
        b = (int(t.shape[0]),)
        if batch and b != batch:
            raise TorchSimError(f"{where}: parameter {key!r} has batch size {b[0]} but other "
                                f"parameters have {batch[0]}; batched parameters must share B")
        batch = b
        values[key] = t.reshape(-1, 1)
    return values, batch


def prepare_model(model: str, params: Mapping[str, Any] | None, *, cell: str | None = None,
                  device: torch.device, dtype: torch.dtype) -> PreparedModel:
    """Resolve registry defaults, batch the parameters and build the torch kernel."""
    name = str(model).split(":", 1)[0]
    if ":" in str(model) and cell is None:
        cell = str(model).split(":", 1)[1] or None
    defaults, spec = _registry_defaults(name, cell)
    where = f"model {name!r}" + (f" (cell {cell or spec.name})" if spec is not None else "")
    p, batch = batch_parameters(params, defaults, where, device, dtype)
    kernel = torch_model(name, spec)
    if spec is not None:
        # kinetic values of the cell (flat names), then the (possibly batched) parameters
        vals = {k: float(v) for k, v in spec.values.items()}
        vals.update({k: v for k, v in p.items() if k in vals or k not in vals})
        p = vals
    if name == "glif":
        vr, vt = p["V_reset"], p["V_th"]
        if bool(torch.as_tensor(vr >= vt).any()):
            raise TorchSimError(f"{where}: V_reset must be below V_th")
    frozen_key = (name, cell, tuple(sorted((k, v) for k, v in p.items()
                                           if isinstance(v, float))))
    return PreparedModel(kernel, p, batch, defaults, frozen_key)


def _check_dt(kernel: TorchModel, dt_ms: float, duration_ms: float, where: str) -> int:
    if not (isinstance(dt_ms, int | float) and math.isfinite(dt_ms) and dt_ms > 0):
        raise UnstableStepError(f"{where}: dt_ms must be a positive finite number, got {dt_ms}")
    if dt_ms > kernel.max_dt_ms:
        raise UnstableStepError(
            f"{where}: dt_ms = {dt_ms} exceeds {kernel.max_dt_ms} ms, the largest step at which "
            f"this model's integrator is accurate (gating and spikes would be missed)")
    n = n_steps(duration_ms, dt_ms)
    if abs(n * dt_ms - duration_ms) > 1e-6 * max(1.0, duration_ms):
        raise UnstableStepError(f"{where}: duration {duration_ms} ms is not a multiple of "
                                f"dt_ms = {dt_ms}")
    return n


def simulate_cell_tensors(model: str, params: Mapping[str, Any] | None,
                          protocol: CurrentClamp | VoltageClamp, dt_ms: float = 0.025,
                          record: Sequence[str] = ("v",), *, cell: str | None = None,
                          device: Any = "auto", dtype: Any = None, compile: bool = False,
                          chunk: int | None = None, record_every: int = 1,
                          progress: bool = False,
                          tables: bool = True, native: bool = True,
                          ) -> tuple[np.ndarray, dict[str, Tensor], Tensor, tuple[int, ...]]:
    """Run a batch; returns ``(time_ms, traces, failed, batch)`` with torch traces of shape
    ``(B, n_sweeps, n_time)`` (B = 1 for an unbatched call), autograd graph kept."""
    dev = resolve_device(device)
    dt_ = resolve_dtype(dtype)
    if not isinstance(protocol, CurrentClamp | VoltageClamp):
        raise TorchSimError(f"protocol: expected CurrentClamp or VoltageClamp, got "
                            f"{type(protocol).__name__}")
    vclamp = isinstance(protocol, VoltageClamp)
    pm = prepare_model(model, params, cell=cell, device=dev, dtype=dt_)
    k = pm.kernel
    where = f"model {model!r}"
    n = _check_dt(k, float(dt_ms), protocol.duration_ms, where)
    every = int(record_every)
    if every < 1 or n % every:
        raise TorchSimError(f"record_every: must be a positive divisor of the {n} steps, "
                            f"got {record_every}")
    allowed = ("v", *k.states, *(("i",) if vclamp else ()))
    for r in record:
        if r == "i" and not vclamp:
            raise TorchSimError("record: 'i' (clamp current) needs a VoltageClamp protocol")
        if r not in allowed:
            raise TorchSimError(f"record: {where} has no variable {r!r} (recordable: "
                                f"{list(allowed)})")
    B = pm.batch[0] if pm.batch else 1
    S = protocol.n_sweeps
    # NEURON plays the drive sampled at t_n = n dt, held over the step from t_n
    t_grid = np.arange(n + 1) * dt_ms
    drive = protocol.voltage_at(t_grid) if vclamp else protocol.current_at(t_grid)
    i_ext = torch.as_tensor(drive[:, :n], device=dev, dtype=dt_)
    p = pm.p
    if tables and hasattr(k, "prepare"):
        p = k.prepare(p, float(dt_ms), dev, dt_, export=tuple(record))
    if vclamp:  # the cell starts at the command voltage (as the NEURON backend sets it)
        v0 = torch.zeros((B, S), device=dev, dtype=dt_) + torch.as_tensor(
            drive[:, 0], device=dev, dtype=dt_)
    else:
        v0 = torch.zeros((B, S), device=dev, dtype=dt_) + k.v_init(p)
    s0 = k.init(v0, p)
    traces, failed, _ = run_steps(k, v0, s0, p, k.capacitance(p), i_ext, float(dt_ms), n,
                                  record=tuple(record), record_every=every, compile=compile,
                                  chunk=chunk if chunk is not None else (
                                      k.compile_chunk or DEFAULT_CHUNK),
                                  model_key=(pm.key, str(dev), dt_),
                                  progress=progress,
                                  g_clamp=_seclamp_g_ns() if vclamp else None,
                                  native=native)
    time_ms = np.arange(0, n + 1, every) * float(dt_ms)
    return time_ms, traces, failed, pm.batch


def simulate_cell_torch(model: str, params: Mapping[str, Any] | None,
                        protocol: CurrentClamp | VoltageClamp, dt_ms: float = 0.025,
                        record: Sequence[str] = ("v",), **options: Any) -> TraceResult:
    """Simulate a registry model for one parameter set or a batch (torch backend).

    Args:
        model: ``passive``, ``morris_lecar``, ``glif`` or ``hh`` (``hh:<cell>`` or
            ``cell=<name>``, e.g. ``cell="HH1952"``).
        params: ``{name: value}`` or ``{name: array(B)}``; ``None`` for defaults.
        protocol: current- or voltage-clamp sweeps (all sweeps are simulated together).
        dt_ms: fixed step (ms).
        record: variables to return (``v``, the model's states, and under voltage clamp ``i``,
            the clamp current in pA, positive depolarising).
        **options: ``cell``, ``device`` (``"auto"``/``"cpu"``/``"cuda"``), ``dtype``
            (float64 default), ``compile`` (chunked torch.compile fast path), ``chunk``
            (steps per compiled call; default 40, 2 for ``hh`` cells with more than three
            channels, whose larger kernels take minutes to compile at 10 steps and more),
            ``record_every`` (keep every k-th step), ``progress``, ``tables`` (``hh``: the fused
            step of :mod:`celegans.torchsim.hh_fused`, gates read from 0.01-mV tables of
            ``inf`` and ``exp(-dt/tau)`` and all channels in a few wide ops, default True;
            False evaluates every rate function channel by channel each step), ``native``
            (default True: runs without gradients of ``hh`` cells on CPU in float64 go
            through the native kernel of :mod:`celegans.torchsim.native_hh`, whole run in one
            call, same arithmetic as the fused step; False: the torch step).

    Returns:
        TraceResult, ``data[var]`` of shape ``(*batch, n_sweeps, 1, n_time)``; parameter sets
        whose state became non-finite are flagged in ``failed`` instead of raising.
    """
    known = {"cell", "device", "dtype", "compile", "chunk", "record_every", "progress", "tables",
             "native"}
    unknown = set(options) - known
    if unknown:
        raise TorchSimError(f"simulate_cell_torch: unknown options {sorted(unknown)} "
                            f"(accepted: {sorted(known)})")
    time_ms, traces, failed, batch = simulate_cell_tensors(model, params, protocol, dt_ms,
                                                           record, **options)
    data = {}
    for r, x in traces.items():
        a = x.detach().cpu().numpy()[:, :, None, :]
        data[r] = a if batch else a[0]
    f = failed.cpu().numpy()
    name = str(model).split(":", 1)[0]  # as the NEURON backend names it
    return TraceResult(time_ms=time_ms, names=[name], data=data,
                       failed=f if batch else np.asarray(f[0]))
