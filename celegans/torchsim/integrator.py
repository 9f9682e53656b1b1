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

Runs without gradients of ``hh`` cells on CPU in float64 go to the native kernel of
:mod:`celegans.torchsim.native_hh` (the whole run in one call; ``native=False`` to skip it).
Otherwise ``run_steps`` loops in Python (eager; differentiable); ``compile=True`` compiles
``K`` steps into one function (a few fused loops over the batch per step). Without gradients
the chunk is compiled ahead of time (:mod:`celegans.torchsim.aot_chunk`: ``torch.export`` +
AOTInductor, batch and sweep sizes symbolic, libraries kept on disk) and called without
dynamo's guards and wrappers (~0.3 ms less per call); with gradients, or when the ahead-of-time
compilation fails, through ``torch.compile``. Without gradients, recorded samples go straight
into one preallocated output per variable (no list of chunks and no concatenation: peak memory
is the output itself) and the failure flag is accumulated chunk by chunk.
"""

from __future__ import annotations

import os
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
#: runs without gradients use ahead-of-time compiled chunks (``CELEGANS_TORCH_AOT=0``: always
#: ``torch.compile``, ~0.3 ms more per call)
AOT_ENABLED = os.environ.get("CELEGANS_TORCH_AOT", "1") != "0"


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
                    key: Any, consts: Mapping[str, float], g_clamp: float | None = None,
                    aot: bool = False):
    """A compiled ``k``-step function ``fn(v, s, tensors, drive, bad)``; scalar parameters are
    baked in as constants (fewer inputs, constant folding), tensors stay inputs.

    ``aot``: ahead-of-time compiled (:class:`_AotChunk`, no autograd, lowest per-call cost);
    otherwise ``torch.compile`` (differentiable)."""
    ck = (key, dt, record, every, k, g_clamp, tuple(sorted(consts.items())), aot)
    fn = _COMPILED.get(ck)
    if fn is None:
        fn = (_AotChunk(model, dt, record, every, k, consts, g_clamp) if aot else
              _dynamo_chunk(model, dt, record, every, k, consts, g_clamp))
        _COMPILED[ck] = fn
    _COMPILED_LAST["key"] = ck
    return fn


def _dynamo_chunk(model: TorchModel, dt: float, record: tuple[str, ...], every: int, k: int,
                  consts: Mapping[str, float], g_clamp: float | None):
    """``k`` steps through ``torch.compile`` (dynamic shapes: one graph serves every batch
    size; ~0.3-0.4 ms of guards and wrappers per call)."""
    consts = dict(consts)

    def chunk_fn(v, s, tensors, drive, bad):
        p = dict(consts)
        p.update(tensors)
        return _chunk(model, v, s, p, p[_CAP], drive, dt, record, every, k, g_clamp, bad)

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

    return fn


class _AotChunk:
    """``k`` steps compiled ahead of time (:mod:`celegans.torchsim.aot_chunk`): one library
    per input layout (state keys, tensor shapes with the batch and sweep axes symbolic).

    :meth:`bind` resolves the layout once per run and returns ``call(v, s, tensors, drive,
    bad)`` that only flattens the dicts and calls the library (the tensors of the run are
    fixed at bind time)."""

    def __init__(self, model: TorchModel, dt: float, record: tuple[str, ...], every: int,
                 k: int, consts: Mapping[str, float], g_clamp: float | None) -> None:
        self.model, self.dt, self.record, self.every, self.k = model, dt, record, every, k
        self.consts, self.g_clamp = dict(consts), g_clamp
        # layout -> [(library, output state keys, sizes the library was fixed to)]
        self._libs: dict[tuple, list[tuple[Any, tuple[str, ...], tuple]]] = {}
        self._fallback: Any = None  # the torch.compile chunk, once ahead-of-time failed

    def _compile(self, v: Tensor, s: Mapping[str, Tensor], tensors: Mapping[str, Tensor],
                 drive: Tensor, bad: Tensor, skeys: tuple[str, ...], tkeys: tuple[str, ...]
                 ) -> tuple[Any, tuple[str, ...], tuple]:
        from celegans.torchsim import aot_chunk

        model, dt, record, every, k, g_clamp = (self.model, self.dt, self.record, self.every,
                                                self.k, self.g_clamp)
        consts = self.consts
        ns = len(skeys)
        okeys: list[str] = []

        def flat(v, drive, bad, *rest):
            ss = dict(zip(skeys, rest[:ns], strict=True))
            p = dict(consts)
            p.update(zip(tkeys, rest[ns:], strict=True))
            v, ss, out, bad = _chunk(model, v, ss, p, p[_CAP], drive, dt, record, every, k,
                                     g_clamp, bad)
            okeys[:] = list(ss)
            # states come back contiguous, as the next call's inputs were compiled
            return (v.contiguous(), bad.contiguous(), *out,
                    *(x.contiguous() for x in ss.values()))

        # distinct contiguous examples (one tensor passed twice would be one graph input)
        args = [x.detach().clone(memory_format=torch.contiguous_format) for x in
                (v, drive, bad, *(s[n] for n in skeys), *(tensors[n] for n in tkeys))]
        B, S = v.shape
        run, fixed = aot_chunk.compile_flat(flat, args, int(B), int(S), drive_index=1,
                                            tag=f"{getattr(model, 'name', 'model')}-k{k}")
        if set(okeys) != set(skeys):
            raise ValueError(f"torchsim: the step changes the state keys ({sorted(skeys)} -> "
                             f"{sorted(okeys)}); cannot chain compiled chunks")
        return run, tuple(okeys), fixed

    def bind(self, v: Tensor, s: Mapping[str, Tensor], tensors: Mapping[str, Tensor],
             drive: Tensor, bad: Tensor):
        """The per-call function for a run whose first inputs are these (compiles the
        layout on first use)."""
        from celegans.torchsim import aot_chunk

        if v.dim() != 2:
            raise ValueError(f"torchsim: compiled chunks expect voltages of shape (B, S), got "
                             f"{tuple(v.shape)}")
        skeys, tkeys = tuple(s), tuple(tensors)
        B, S = v.shape
        # every input is passed contiguous, as compiled (the library does not check strides)
        svals = {n: x.contiguous() for n, x in s.items()}
        tvals = [tensors[n].contiguous() for n in tkeys]
        v, bad = v.contiguous(), bad.contiguous()
        flat_args = [v, drive, bad, *(svals[n] for n in skeys), *tvals]
        sig, _ = aot_chunk.layout(flat_args, int(B), int(S), 1)
        lk = (skeys, tkeys, sig, torch.get_num_threads())  # threads: parallel loops or not
        libs = self._libs.setdefault(lk, [])
        found = [lib for lib in libs if aot_chunk.matches(lib[2], flat_args)]
        if not found:
            if self._fallback is not None:
                return self._fallback
            try:
                found = [self._compile(v, svals, dict(zip(tkeys, tvals, strict=True)), drive,
                                       bad, skeys, tkeys)]
                libs.append(found[0])
            except Exception as exc:  # noqa: BLE001 - export/AOTInductor limits: torch.compile
                msg = (str(exc).splitlines() or [""])[0][:200]
                warnings.warn(f"torchsim: ahead-of-time compiling {self.k} steps failed "
                              f"({type(exc).__name__}: {msg}); using torch.compile",
                              RuntimeWarning, stacklevel=4)
                self._fallback = _dynamo_chunk(self.model, self.dt, self.record, self.every,
                                               self.k, self.consts, self.g_clamp)
                return self._fallback
        run, okeys, _ = found[0]
        nrec = len(self.record)
        first = [True]

        def call(v, s, _tensors, drive, bad):
            if first[0]:
                s = svals
                v, bad = v.contiguous(), bad.contiguous()
            res = run([v, drive, bad, *[s[n] for n in skeys], *tvals])
            s_new = dict(zip(okeys, res[2 + nrec:], strict=True))
            if first[0]:
                first[0] = False
                bad_out = [n for n, x in (("v", res[0]), ("bad", res[1]), *s_new.items())
                           if not x.is_contiguous()]
                if bad_out:
                    raise RuntimeError(f"torchsim: a compiled chunk returned non-contiguous "
                                       f"{bad_out}; cannot chain calls")
            return res[0], s_new, res[2:2 + nrec], res[1]

        return call


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
              model_key: Any = None, progress: bool = False, g_clamp: float | None = None,
              native: bool = True) -> tuple[dict[str, Tensor], Tensor, dict[str, Tensor]]:
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
        native: without gradients, on CPU in float64, run ``hh`` cells whose fused step
            applies in the native kernel (:mod:`celegans.torchsim.native_hh`; the same
            arithmetic, whole run in one call); ``False``: always the torch step.

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
                          grad, native)


def _run_steps(model, v0, s0, p, c, i_ext, dt, n_steps, record, every, compile, chunk,
               model_key, progress, g_clamp, grad, native):
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
                o.narrow(-1, pos, m).copy_(x)  # narrow: cheaper than indexing per call
        pos += m

    done = 0
    it = None
    if progress:
        from tqdm import tqdm

        it = tqdm(total=n_steps, desc="torchsim", unit="step", leave=False)
    kk = max(every, (chunk // every) * every)
    if native and outs is not None:
        # hh cells on CPU without gradients: the whole run in one native kernel
        from celegans.torchsim import native_hh

        res = native_hh.run(model, v, s, p, c, i_ext, dt, n_steps, record, every, g_clamp,
                            outs, bad, pos, it)
        if res is not None:
            v, s, bad = res
            done = n_steps
    if compile and done < n_steps:
        pc = {**p, _CAP: c}
        consts = {n: float(x) for n, x in pc.items() if not isinstance(x, Tensor)}
        tensors = {n: x for n, x in pc.items() if isinstance(x, Tensor)}
        sizes = [kk] + ([max(every, (COMPILE_FALLBACK_CHUNK // every) * every)]
                        if kk > COMPILE_FALLBACK_CHUNK else [])
        for size in sizes:
            fn = _compiled_chunk(model, dt, record, every, size, model_key or id(model),
                                 consts, g_clamp, aot=not grad and AOT_ENABLED)
            fresh = True
            try:
                n_full = (n_steps - done) // size
                if n_full == 0:
                    break
                # the drive of every chunk, each a contiguous (S, size) block
                drives = i_ext[:, done:done + n_full * size].reshape(
                    i_ext.shape[0], n_full, size).transpose(0, 1).contiguous()
                bound = hasattr(fn, "bind")
                if bound:
                    fn = fn.bind(v, s, tensors, drives[0], bad)
                for j in range(n_full):
                    # torch.compile gets a fresh block (a view at another storage offset
                    # would cost it a recompilation); the ahead-of-time library takes views
                    d = drives[j] if bound else drives[j].clone()
                    v, s, out, bad = fn(v, s, tensors, d, bad)
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
