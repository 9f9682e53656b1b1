"""``torch.compile`` fast path of :class:`celegans.torchsim.network.TorchNetwork`.

A chunk of ``K`` network steps (the network's own pure step function, unrolled ``K`` times)
becomes one compiled function: inductor fuses each step's pointwise work and the synapse /
gap-junction gather-scatter into a few C++ loops, which removes the per-operation dispatch cost
that dominates the eager path at batch 1 (~50 tensor operations per step). The traces are those
of the eager path (same function, same order of operations per cell; sums may be reordered).

The first call of each chunk length compiles (seconds to a minute; inductor caches kernels on
disk, so later processes start faster). When compilation is not possible (no C++ compiler,
unsupported kernel) the runner warns once and falls back to the eager loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from celegans.torchsim.integrator import V_LIMIT_MV

Tensor = torch.Tensor
TRACE_MODE = "real"
StepFn = Callable[..., tuple[Tensor, list, Tensor, Tensor]]


def failed_mask(v: Tensor) -> Tensor:
    """(B,) True where a voltage is non-finite or |V| > :data:`V_LIMIT_MV`."""
    return ~torch.isfinite(v).all(1) | (v.abs() > V_LIMIT_MV).any(1)


def failed_rows(v: np.ndarray) -> np.ndarray:
    """:func:`failed_mask` of a numpy array (rows): for small CPU arrays numpy costs a few
    microseconds, torch tens."""
    return ~np.isfinite(v).all(1) | (np.abs(v) > V_LIMIT_MV).any(1)


class _Layout:
    """Flattening of the step arguments ``(v, states, s, act, i_ext)`` (``states``: a list of
    dicts of tensors with fixed keys) to a flat tuple of tensors and back; plain Python, cheaper
    per call than the generic pytree utilities."""

    def __init__(self, states: list[dict[str, Tensor]]) -> None:
        self.keys = [tuple(st) for st in states]

    def flatten(self, v: Tensor, states: list[dict[str, Tensor]], s: Tensor, act: Tensor,
                *rest: Tensor) -> list[Tensor]:
        out = [v, s, act, *rest]
        for st, keys in zip(states, self.keys, strict=True):
            out.extend(st[k] for k in keys)
        return out

    def unflatten(self, xs: Any, n_rest: int) -> tuple:
        v, s, act = xs[0], xs[1], xs[2]
        rest = tuple(xs[3:3 + n_rest])
        j = 3 + n_rest
        states = []
        for keys in self.keys:
            states.append({k: xs[j + i] for i, k in enumerate(keys)})
            j += len(keys)
        return (v, states, s, act, *rest)


def compile_step_chunk(fn: Callable[..., tuple], args: tuple) -> Callable[..., tuple]:
    """``fn(v, states, s, act, failed, i_ext) -> (v, states, s, act, failed)`` compiled by
    inductor for the shapes of ``args``.

    The graph is traced once with ``make_fx`` (tensors captured by ``fn`` become graph
    constants) and handed to inductor directly: a call costs the fused kernel plus a few
    microseconds, where ``torch.compile``'s guards and wrappers add ~150 us (it matters at one
    step per call, the organism loop). The caller keeps the shapes, dtypes, devices and state
    keys of ``args`` (one compiled function per network and chunk length).
    """
    from torch._inductor.compile_fx import compile_fx
    from torch.fx.experimental.proxy_tensor import make_fx

    v, states, s, act, failed, i_ext = args
    lay = _Layout(states)

    def flat_fn(*xs: Tensor) -> tuple[Tensor, ...]:
        v, states, s, act, failed, i = lay.unflatten(xs, 2)
        return tuple(lay.flatten(*fn(v, states, s, act, failed, i)))

    # distinct example tensors: make_fx identifies inputs by object, so one tensor passed twice
    # (gates initialised to the same steady state share it) would become one graph input
    flat = [x.clone() for x in lay.flatten(v, states, s, act, failed, i_ext)]
    with torch.no_grad():
        gm = make_fx(flat_fn)(*flat)
        compiled = compile_fx(gm, flat)

    def call(v: Tensor, states: list[dict[str, Tensor]], s: Tensor, act: Tensor,
             failed: Tensor, i_ext: Tensor) -> tuple:
        with torch.no_grad():
            out = compiled(*lay.flatten(v, states, s, act, failed, i_ext))
        return lay.unflatten(out, 1)

    return call


class CompiledRunner:
    """Runs ``k`` steps of ``step_fn`` as compiled chunks of at most ``chunk`` steps.

    ``step_fn(v, states, s, act, i_ext) -> (v, states, s, act)`` is pure (constants captured).
    Chunk lengths used: ``chunk`` and the powers of two below it (for remainders), each compiled
    once, on first use or by :meth:`prepare`. The state passed around is ``(v, states, s, act,
    failed)``; ``failed`` (B,) bool is or-ed with the failure test of the final voltages of
    every chunk."""

    def __init__(self, step_fn: StepFn, chunk: int = 20) -> None:
        if int(chunk) < 1:
            raise ValueError(f"chunk: must be >= 1, got {chunk}")
        self.step_fn = step_fn
        self.chunk = int(chunk)
        self._fns: dict[tuple[int, bool], Any] = {}
        #: why compiling failed (the runner then runs eagerly), else None
        self.broken: str | None = None

    def eager(self, k: int, per_step: bool) -> Callable[..., tuple]:
        """The uncompiled ``k``-step chunk (``per_step``: ``i_ext`` is (k, B, N))."""
        step_fn = self.step_fn

        def run_k(v, states, s, act, failed, i_ext):
            for j in range(k):
                v, states, s, act = step_fn(v, states, s, act, i_ext[j] if per_step else i_ext)
            return v, states, s, act, failed | failed_mask(v)

        return run_k

    def prepare(self, k: int, per_step: bool, args: tuple) -> None:
        """Compile the ``k``-step chunk for ``args`` now (e.g. while building a model)."""
        self._get(k, per_step, args)

    def _get(self, k: int, per_step: bool, args: tuple) -> Callable[..., tuple]:
        key = (k, per_step)
        fn = self._fns.get(key)
        if fn is None:
            if self.broken is None:
                try:
                    fn = compile_step_chunk(self.eager(k, per_step), args)
                except Exception as exc:  # noqa: BLE001 - any compiler failure: run eagerly
                    self.broken = f"{type(exc).__name__}: {exc}"
                    warnings.warn("TorchNetwork: compiling the network step failed, running "
                                  f"eagerly ({self.broken[:300]})", RuntimeWarning,
                                  stacklevel=4)
            if fn is None:
                fn = self.eager(k, per_step)
            self._fns[key] = fn
        return fn

    def sizes(self, k: int) -> list[int]:
        """Chunk lengths that make up ``k`` steps."""
        out = [self.chunk] * (k // self.chunk)
        r = k % self.chunk
        p = 1 << max(r.bit_length() - 1, 0)
        while r:
            if r >= p:
                out.append(p)
                r -= p
            p >>= 1
        return out

    def run(self, k: int, state: tuple, i_ext: Tensor) -> tuple:
        """``k`` steps from ``state = (v, states, s, act, failed)`` with ``i_ext`` (B, N) held
        constant; returns the new state."""
        for kk in self.sizes(k):
            args = (*state, i_ext)
            state = self._get(kk, False, args)(*args)
        return state

    def run_drive(self, state: tuple, drive: Tensor) -> tuple:
        """``drive.shape[0]`` steps, step ``j`` with injected currents ``drive[j]`` (B, N)."""
        done = 0
        for kk in self.sizes(drive.shape[0]):
            args = (*state, drive[done:done + kk].contiguous())
            state = self._get(kk, True, args)(*args)
            done += kk
        return state
