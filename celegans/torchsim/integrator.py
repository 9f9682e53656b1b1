"""Fixed-step integration of batched single-compartment models (NEURON's staggered scheme).

One step from ``t_n`` to ``t_n + dt`` (as NEURON's default fixed-step method):

1. currents at ``(V_n, states_n)``: ``i`` and ``g = di/dV``; the injected current is the
   protocol's value at ``t_n`` held over the step (as NEURON's ``Vector.play``);
2. semi-implicit (linearised backward Euler) voltage update, unconditionally stable:
   ``V_{n+1} = V_n + dt (I_ext - i) / (C + dt g)``;
3. states advanced with the exponential (Rush-Larsen) update at ``V_{n+1}``;
4. discontinuities (GLIF events at the start of a step, refractory clamp at its end).

``run_steps`` loops in Python (eager; differentiable). ``compile=True`` wraps ``K`` steps in one
``torch.compile``d function so the whole chunk becomes one fused loop over the batch (fast path;
compiled kernels are cached on disk by torch inductor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from celegans.torchsim.device import flush_denormals
from celegans.torchsim.models import TorchModel

Tensor = torch.Tensor

#: |V| beyond this (mV) marks a sample as blown up.
V_LIMIT_MV = 1.0e4


def step(model: TorchModel, v: Tensor, s: dict[str, Tensor], p: Mapping[str, Any], c: Any,
         i_ext: Tensor, dt: float) -> tuple[Tensor, dict[str, Tensor]]:
    """One integration step (see module docstring)."""
    v, s = model.pre(v, s, p, dt)
    i, g, aux = model.current(v, s, p)
    v_new = v + dt * (i_ext - i) / (c + dt * g)
    s = model.update(v_new, s, p, dt, aux)
    return model.post(v_new, s, p, dt)


def _pick(v: Tensor, s: Mapping[str, Tensor], record: Sequence[str]) -> list[Tensor]:
    return [v if r == "v" else s[r] for r in record]


def _chunk(model: TorchModel, v, s, p, c, i_chunk, dt: float, record: tuple[str, ...],
           every: int, k: int):
    """``k`` steps; returns final state and the recorded samples (every ``every`` steps)."""
    recs: list[list[Tensor]] = [[] for _ in record]
    for j in range(k):
        v, s = step(model, v, s, p, c, i_chunk[..., j], dt)
        if (j + 1) % every == 0:
            for lst, x in zip(recs, _pick(v, s, record), strict=True):
                lst.append(x)
    return v, s, [torch.stack(lst, dim=-1) if lst else v.new_zeros(v.shape + (0,))
                  for lst in recs]


_COMPILED: dict[tuple, Any] = {}


def _compiled_chunk(model: TorchModel, dt: float, record: tuple[str, ...], every: int, k: int,
                    key: Any, consts: Mapping[str, float]):
    """A compiled ``k``-step function; scalar parameters are baked in as constants (fewer
    inputs and guards per call, constant folding), tensors stay inputs."""
    ck = (key, dt, record, every, k, tuple(sorted(consts.items())))
    fn = _COMPILED.get(ck)
    if fn is None:
        consts = dict(consts)

        def chunk_fn(v, s, tensors, c, i_chunk):
            p = dict(consts)
            p.update(tensors)
            return _chunk(model, v, s, p, c, i_chunk, dt, record, every, k)

        # dynamic shapes: one compiled kernel serves every batch size / sweep count
        fn = torch.compile(chunk_fn, dynamic=True)
        _COMPILED[ck] = fn
    return fn


def run_steps(model: TorchModel, v0: Tensor, s0: dict[str, Tensor], p: Mapping[str, Any],
              c: Any, i_ext: Tensor, dt: float, n_steps: int, *, record: Sequence[str] = ("v",),
              record_every: int = 1, compile: bool = False, chunk: int = 40,
              model_key: Any = None, progress: bool = False
              ) -> tuple[dict[str, Tensor], Tensor, dict[str, Tensor]]:
    """Integrate ``n_steps`` steps.

    Args:
        v0, s0: initial voltage/states, shape ``(B, S)`` (S: sweeps).
        p: parameters (scalars or tensors broadcasting to ``(B, S)``); ``c``: capacitance (pF).
        i_ext: injected current (pA) held over each step, shape ``(S, n_steps)``.
        record_every: keep one sample every this many steps (plus t = 0).
        compile: use the chunked ``torch.compile`` fast path (``chunk`` steps per call).

    Returns:
        ``(traces, failed, final_state)``: ``traces[var]`` of shape ``(B, S, 1 + n_steps //
        record_every)``, ``failed`` (B,) bool, final state (with ``"v"``).
    """
    with flush_denormals():
        return _run_steps(model, v0, s0, p, c, i_ext, dt, n_steps, record, int(record_every),
                          compile, chunk, model_key, progress)


def _run_steps(model, v0, s0, p, c, i_ext, dt, n_steps, record, every, compile, chunk,
               model_key, progress):
    record = tuple(record)
    v, s = v0, dict(s0)
    recs: list[list[Tensor]] = [[x.unsqueeze(-1)] for x in _pick(v, s, record)]
    done = 0
    it = None
    if progress:
        from tqdm import tqdm

        it = tqdm(total=n_steps, desc="torchsim", unit="step", leave=False)
    if compile:
        k = max(every, (int(chunk) // every) * every)
        consts = {n: float(x) for n, x in p.items() if not isinstance(x, Tensor)}
        tensors = {n: x for n, x in p.items() if isinstance(x, Tensor)}
        fn = _compiled_chunk(model, dt, record, every, k, model_key or id(model), consts)
        while n_steps - done >= k:
            # a fresh contiguous block: slices of one storage would differ in offset
            v, s, out = fn(v, s, tensors, c, i_ext[:, done:done + k].contiguous())
            for lst, x in zip(recs, out, strict=True):
                lst.append(x)
            done += k
            if it is not None:
                it.update(k)
    kk = max(every, (int(chunk) // every) * every)
    while done < n_steps:  # eager path (or the compiled path's tail)
        k = min(n_steps - done, kk)
        v, s, out = _chunk(model, v, s, p, c, i_ext[:, done:done + k], dt, record, every, k)
        for lst, x in zip(recs, out, strict=True):
            lst.append(x)
        done += k
        if it is not None:
            it.update(k)
    if it is not None:
        it.close()
    traces = {r: torch.cat(lst, dim=-1) for r, lst in zip(record, recs, strict=True)}
    failed = _failed(traces, v)
    s["v"] = v
    return traces, failed, s


def _failed(traces: Mapping[str, Tensor], v: Tensor) -> Tensor:
    """(B,) True where any recorded value is non-finite or |V| exceeds :data:`V_LIMIT_MV`."""
    with torch.no_grad():
        bad = ~torch.isfinite(v) | (v.abs() > V_LIMIT_MV)
        bad = bad.reshape(bad.shape[0], -1).any(-1)
        for name, x in traces.items():
            b = ~torch.isfinite(x)
            if name == "v":
                b = b | (x.abs() > V_LIMIT_MV)
            bad = bad | b.reshape(b.shape[0], -1).any(-1)
    return bad
