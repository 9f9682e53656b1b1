"""Fixed-step integration of batched single-compartment models (NEURON's staggered scheme).

One step from ``t_n`` to ``t_n + dt`` (as NEURON's default fixed-step method):

1. currents at ``(V_n, states_n)``: ``i`` and ``g = di/dV``; the drive is the protocol's value at
   ``t_n`` held over the step (as NEURON's ``Vector.play``);
2. semi-implicit (linearised backward Euler) voltage update, unconditionally stable:
   ``V_{n+1} = V_n + dt (I_ext - i) / (C + dt g)``. Under voltage clamp the drive is the
   command ``V_c`` and ``I_ext = g_c (V_c - V)`` (NEURON's ``SEClamp`` with series conductance
   ``g_c``) enters the same linearised update (``g -> g + g_c``);
3. states advanced with the exponential (Rush-Larsen) update at ``V_{n+1}``;
4. discontinuities (GLIF events at the start of a step, refractory clamp at its end).

The clamp current recorded as ``"i"`` is ``g_c (V_c,n - V_{n+1})`` (pA, positive depolarises),
which is what NEURON's ``SEClamp.i`` holds after the step (``METHOD after_cvode``); ``0`` at t=0.

``run_steps`` loops in Python (eager; differentiable). ``compile=True`` wraps ``K`` steps in one
``torch.compile``d function so the whole chunk becomes one fused loop over the batch (fast path;
compiled kernels are cached on disk by torch inductor). Without gradients, recorded samples go
straight into one preallocated output per variable (no list of chunks and no concatenation:
peak memory is the output itself) and the failure flag is accumulated chunk by chunk.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from celegans.torchsim.device import flush_denormals
from celegans.torchsim.models import TorchModel

Tensor = torch.Tensor

#: |V| beyond this (mV) marks a sample as blown up.
V_LIMIT_MV = 1.0e4

#: default number of steps per compiled call (fewer Python round trips; longer first compile)
DEFAULT_CHUNK = 40
#: steps per call tried when compiling the requested chunk fails (then the eager path)
COMPILE_FALLBACK_CHUNK = 10


def step(model: TorchModel, v: Tensor, s: dict[str, Tensor], p: Mapping[str, Any], c: Any,
         i_ext: Tensor, dt: float, g_clamp: float | None = None
         ) -> tuple[Tensor, dict[str, Tensor]]:
    """One integration step (see module docstring); ``i_ext`` is the command voltage (mV)
    when ``g_clamp`` (nS) is given."""
    v, s, _ = _step(model, v, s, p, c, i_ext, dt, g_clamp)
    return v, s


def _step(model: TorchModel, v: Tensor, s: dict[str, Tensor], p: Mapping[str, Any], c: Any,
          drive: Tensor, dt: float, g_clamp: float | None
          ) -> tuple[Tensor, dict[str, Tensor], Tensor | None]:
    v, s = model.pre(v, s, p, dt)
    i, g, aux = model.current(v, s, p)
    if g_clamp is None:
        v_new = v + dt * (drive - i) / (c + dt * g)
        i_clamp = None
    else:
        v_new = v + dt * (g_clamp * (drive - v) - i) / (c + dt * (g + g_clamp))
        i_clamp = g_clamp * (drive - v_new)
    s = model.update(v_new, s, p, dt, aux)
    v_new, s = model.post(v_new, s, p, dt)
    return v_new, s, i_clamp


def _pick(v: Tensor, s: Mapping[str, Tensor], i_clamp: Tensor | None,
          record: Sequence[str]) -> list[Tensor]:
    out = []
    for r in record:
        if r == "v":
            out.append(v)
        elif r == "i":
            out.append(i_clamp if i_clamp is not None else torch.zeros_like(v))
        else:
            out.append(s[r])
    return out


def _bad_update(bad: Tensor, record: tuple[str, ...], xs: Sequence[Tensor]) -> Tensor:
    """Accumulate the failure measure: max |V| over the recorded samples, NaN where any
    recorded value is non-finite (``torch.maximum`` propagates NaN)."""
    for r, x in zip(record, xs, strict=True):
        if r == "v":
            bad = torch.maximum(bad, x.abs())
        else:
            bad = torch.where(torch.isfinite(x), bad, torch.full_like(bad, float("nan")))
    return bad


def _chunk(model: TorchModel, v, s, p, c, drive, dt: float, record: tuple[str, ...],
           every: int, k: int, g_clamp: float | None = None, bad: Tensor | None = None):
    """``k`` steps; returns final state, the recorded samples (every ``every`` steps, stacked
    along the last axis) and the updated failure measure (see :func:`_bad_update`)."""
    recs: list[list[Tensor]] = [[] for _ in record]
    for j in range(k):
        v, s, ic = _step(model, v, s, p, c, drive[..., j], dt, g_clamp)
        if (j + 1) % every == 0:
            xs = _pick(v, s, ic, record)
            for lst, x in zip(recs, xs, strict=True):
                lst.append(x)
            if bad is not None:
                bad = _bad_update(bad, record, [x.detach() for x in xs])
    out = [torch.stack(lst, dim=-1) if lst else v.new_zeros(v.shape + (0,)) for lst in recs]
    return v, s, out, bad


_COMPILED: dict[tuple, Any] = {}


def _compiled_chunk(model: TorchModel, dt: float, record: tuple[str, ...], every: int, k: int,
                    key: Any, consts: Mapping[str, float], g_clamp: float | None = None):
    """A compiled ``k``-step function; scalar parameters are baked in as constants (fewer
    inputs and guards per call, constant folding), tensors stay inputs."""
    ck = (key, dt, record, every, k, g_clamp, tuple(sorted(consts.items())))
    fn = _COMPILED.get(ck)
    if fn is None:
        consts = dict(consts)

        def chunk_fn(v, s, tensors, drive, bad):
            p = dict(consts)
            p.update(tensors)
            return _chunk(model, v, s, p, p[_CAP], drive, dt, record, every, k, g_clamp, bad)

        # dynamic shapes: one compiled kernel serves every batch size / sweep count
        compiled = torch.compile(chunk_fn, dynamic=True)
        state = {"first": True}

        def fn(*args):
            if state["first"]:
                # Python floats (the constants above) baked into the kernel, not turned into
                # 0-d tensor inputs converted on every call (per-call overhead)
                with torch._dynamo.config.patch(specialize_float=True):
                    out = compiled(*args)
                state["first"] = False
                return out
            return compiled(*args)

        _COMPILED[ck] = fn
    _COMPILED_LAST["key"] = ck
    return fn


_COMPILED_LAST: dict[str, Any] = {}


_CAP = "__capacitance__"


def _needs_grad(*objs: Any) -> bool:
    if not torch.is_grad_enabled():
        return False
    for o in objs:
        vals = o.values() if isinstance(o, Mapping) else (o,)
        if any(isinstance(x, Tensor) and x.requires_grad for x in vals):
            return True
    return False


def run_steps(model: TorchModel, v0: Tensor, s0: dict[str, Tensor], p: Mapping[str, Any],
              c: Any, i_ext: Tensor, dt: float, n_steps: int, *, record: Sequence[str] = ("v",),
              record_every: int = 1, compile: bool = False, chunk: int = DEFAULT_CHUNK,
              model_key: Any = None, progress: bool = False, g_clamp: float | None = None
              ) -> tuple[dict[str, Tensor], Tensor, dict[str, Tensor]]:
    """Integrate ``n_steps`` steps.

    Args:
        v0, s0: initial voltage/states, shape ``(B, S)`` (S: sweeps).
        p: parameters (scalars or tensors broadcasting to ``(B, S)``); ``c``: capacitance (pF).
        i_ext: drive held over each step, shape ``(S, n_steps)``: injected current (pA), or the
            command voltage (mV) when ``g_clamp`` is given.
        record: variables to keep (``"v"``, state names, ``"i"``: clamp current in pA).
        record_every: keep one sample every this many steps (plus t = 0).
        compile: use the chunked ``torch.compile`` fast path (``chunk`` steps per call).
        g_clamp: series conductance (nS) of a voltage clamp; None for current clamp.

    Returns:
        ``(traces, failed, final_state)``: ``traces[var]`` of shape ``(B, S, 1 + n_steps //
        record_every)``, ``failed`` (B,) bool, final state (with ``"v"``). Gradients flow to
        tensors of ``p``/``v0``/``s0`` that require them (then samples are concatenated);
        otherwise the run is under ``torch.no_grad`` and writes into preallocated outputs.
    """
    grad = _needs_grad(p, s0, v0, c)
    with flush_denormals(), torch.set_grad_enabled(grad):
        return _run_steps(model, v0, s0, p, c, i_ext, dt, n_steps, tuple(record),
                          int(record_every), compile, int(chunk), model_key, progress, g_clamp,
                          grad)


def _run_steps(model, v0, s0, p, c, i_ext, dt, n_steps, record, every, compile, chunk,
               model_key, progress, g_clamp, grad):
    v, s = v0, dict(s0)
    n_rec = 1 + n_steps // every
    first = _pick(v, s, None, record)
    bad = torch.zeros_like(v.detach())
    bad = _bad_update(bad, record, [x.detach() for x in first])
    if grad:
        recs: list[list[Tensor]] = [[x.unsqueeze(-1)] for x in first]
        outs = None
    else:
        outs = [torch.empty(x.shape + (n_rec,), dtype=x.dtype, device=x.device) for x in first]
        for o, x in zip(outs, first, strict=True):
            o[..., 0] = x
    pos = 1

    def store(out: Sequence[Tensor]) -> None:
        nonlocal pos
        m = out[0].shape[-1] if out else 0
        if outs is None:
            for lst, x in zip(recs, out, strict=True):
                lst.append(x)
        else:
            for o, x in zip(outs, out, strict=True):
                o[..., pos:pos + m].copy_(x)
        pos += m

    done = 0
    it = None
    if progress:
        from tqdm import tqdm

        it = tqdm(total=n_steps, desc="torchsim", unit="step", leave=False)
    kk = max(every, (chunk // every) * every)
    if compile:
        pc = {**p, _CAP: c}
        consts = {n: float(x) for n, x in pc.items() if not isinstance(x, Tensor)}
        tensors = {n: x for n, x in pc.items() if isinstance(x, Tensor)}
        sizes = [kk] + ([max(every, (COMPILE_FALLBACK_CHUNK // every) * every)]
                        if kk > COMPILE_FALLBACK_CHUNK else [])
        for size in sizes:
            fn = _compiled_chunk(model, dt, record, every, size, model_key or id(model),
                                 consts, g_clamp)
            fresh = True
            try:
                while n_steps - done >= size:
                    # a fresh contiguous block: slices of one storage would differ in offset
                    v, s, out, bad = fn(v, s, tensors, i_ext[:, done:done + size].contiguous(),
                                        bad)
                    fresh = False
                    store(out)
                    done += size
                    if it is not None:
                        it.update(size)
                break
            except Exception as exc:  # noqa: BLE001 - compiler failures (e.g. a C++ compiler crash)
                if not fresh:
                    raise
                _COMPILED.pop(_COMPILED_LAST.get("key"), None)
                nxt = "a smaller chunk" if size != sizes[-1] else "the eager path"
                warnings.warn(f"torchsim: compiling {size} steps per call failed "
                              f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
                              f"); "
                              f"falling back to {nxt}", RuntimeWarning, stacklevel=3)
    while done < n_steps:  # eager path (or the compiled path's tail)
        k = min(n_steps - done, kk)
        v, s, out, bad = _chunk(model, v, s, p, c, i_ext[:, done:done + k], dt, record, every,
                                k, g_clamp, bad)
        store(out)
        done += k
        if it is not None:
            it.update(k)
    if it is not None:
        it.close()
    if outs is None:
        traces = {r: torch.cat(lst, dim=-1) for r, lst in zip(record, recs, strict=True)}
    else:
        traces = dict(zip(record, outs, strict=True))
    failed = _failed(bad, v)
    s["v"] = v
    return traces, failed, s


def _failed(bad: Tensor, v: Tensor) -> Tensor:
    """(B,) True where a recorded value was non-finite, |V| exceeded :data:`V_LIMIT_MV`, or
    the final voltage is non-finite/out of range."""
    with torch.no_grad():
        ok = (bad <= V_LIMIT_MV) & (v.abs() <= V_LIMIT_MV)  # False for NaN
        return ~ok.reshape(ok.shape[0], -1).all(-1)
