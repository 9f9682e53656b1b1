"""Gradient-descent fitting through the torch simulator (Adam in an unconstrained space).

Free parameters are optimised in the transformed coordinates of their
:class:`celegans.parameters.Parameter` (identity / log / logit with the parameter's bounds),
so every iterate stays inside the bounds. ``n_starts`` independent starts run as one batch.

>>> res = fit_adam("passive", protocol, target_v, free=["g_L", "E_L"], steps=200)
>>> res.params, res.loss
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from celegans.protocols import CurrentClamp
from celegans.torchsim.cell import _registry_defaults, simulate_cell_tensors
from celegans.torchsim.device import TorchSimError, resolve_dtype

Tensor = torch.Tensor


def to_unconstrained_t(x: Tensor, transform: str, bounds: tuple[float, float]) -> Tensor:
    """Torch version of :func:`celegans.parameters.to_unconstrained`."""
    lo, hi = bounds
    if transform == "identity":
        return x
    if transform == "log":
        return torch.log(torch.clamp(x - lo, min=1e-300))
    if transform == "logit":
        q = torch.clamp((x - lo) / (hi - lo), 1e-12, 1 - 1e-12)
        return torch.log(q) - torch.log1p(-q)
    raise TorchSimError(f"unknown transform {transform!r}")


def from_unconstrained_t(u: Tensor, transform: str, bounds: tuple[float, float]) -> Tensor:
    """Torch version of :func:`celegans.parameters.from_unconstrained`."""
    lo, hi = bounds
    if transform == "identity":
        return u if not (math.isfinite(lo) or math.isfinite(hi)) else torch.clamp(u, lo, hi)
    if transform == "log":
        return lo + torch.exp(u)
    if transform == "logit":
        return lo + (hi - lo) * torch.sigmoid(u)
    raise TorchSimError(f"unknown transform {transform!r}")


@dataclass
class FitResult:
    """Best parameter set found, its loss, and the loss history (best start per step)."""

    params: dict[str, float]
    loss: float
    history: list[float] = field(default_factory=list)
    all_params: dict[str, np.ndarray] = field(default_factory=dict)
    all_loss: np.ndarray | None = None


def trace_mse(v: Tensor, target: Tensor) -> Tensor:
    """Mean squared voltage error per batch element: ``v`` (B, S, T), ``target`` (S, T)."""
    return ((v - target) ** 2).mean(dim=(-1, -2))


def fit_adam(model: str, protocol: CurrentClamp, target_v: Any, free: Sequence[str], *,
             init: Mapping[str, Any] | None = None, fixed: Mapping[str, float] | None = None,
             cell: str | None = None, dt_ms: float = 0.05, steps: int = 200, lr: float = 0.05,
             n_starts: int = 1, seed: int = 0,
             loss_fn: Callable[[Tensor, Tensor], Tensor] = trace_mse,
             record_every: int = 1, dtype: Any = None, device: Any = "cpu",
             progress: bool = False) -> FitResult:
    """Fit ``free`` parameters of ``model`` to target voltage traces with Adam.

    Args:
        target_v: ``(n_sweeps, n_time)`` traces (mV) sampled like the simulation
            (``record_every`` steps of ``dt_ms``, starting at t = 0).
        free: parameters to fit; the others stay at their defaults or ``fixed`` values.
            Log/logit parameters move in their transformed space; identity ones in units of
            ``max(|default|, 1)``.
        init: start values (default: defaults for start 0, random within a bounded box of
            the transformed space for further starts).
        n_starts: independent starts optimised together as one batch.
        loss_fn: ``(v (B,S,T), target (S,T)) -> (B,)`` loss per start.
    """
    defaults, _ = _registry_defaults(str(model).split(":", 1)[0], cell)
    free = list(free)
    for k in free:
        if k not in defaults:
            raise TorchSimError(f"free: unknown parameter {k!r} of model {model!r}")
    dt_ = resolve_dtype(dtype)
    tgt = torch.as_tensor(np.asarray(target_v, dtype=float), dtype=dt_, device=device)
    if tgt.ndim != 2 or tgt.shape[0] != protocol.n_sweeps:
        raise TorchSimError(f"target_v: expected shape (n_sweeps={protocol.n_sweeps}, n_time), "
                            f"got {tuple(tgt.shape)}")
    rng = np.random.default_rng(seed)
    u0 = []
    # identity-transformed parameters are optimised in units of their default's magnitude so
    # that one learning rate suits mV, nS and ms alike
    scale = {k: (max(abs(defaults[k].value), 1.0) if defaults[k].transform == "identity"
                 else 1.0) for k in free}
    for k in free:
        p = defaults[k]
        x0 = float((init or {}).get(k, p.value))
        u = float(np.asarray(p.to_unconstrained(x0))) / scale[k]
        us = np.full(n_starts, u)
        if n_starts > 1:
            us[1:] = u + rng.normal(0.0, 1.0 if p.transform != "identity" else 0.2,
                                    n_starts - 1)
        u0.append(us)
    U = torch.tensor(np.stack(u0, 1), dtype=dt_, device=device, requires_grad=True)
    opt = torch.optim.Adam([U], lr=lr)
    fixed = dict(fixed or {})
    history: list[float] = []

    def params_of(Uc: Tensor) -> dict[str, Tensor]:
        out: dict[str, Any] = {k: fixed[k] for k in fixed}
        for j, k in enumerate(free):
            p = defaults[k]
            out[k] = from_unconstrained_t(Uc[:, j] * scale[k], p.transform, p.bounds)
        return out

    it = range(int(steps))
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="fit_adam", leave=False)
    best_l = np.full(n_starts, np.inf)
    best_u = U.detach().clone()
    for _ in it:
        opt.zero_grad()
        _, tr, failed, _ = simulate_cell_tensors(model, params_of(U), protocol, dt_ms, ("v",),
                                                 cell=cell, device=device, dtype=dt_,
                                                 record_every=record_every)
        v = tr["v"]
        if v.shape[-1] != tgt.shape[-1]:
            raise TorchSimError(f"target_v: {tgt.shape[-1]} samples, simulation gives "
                                f"{v.shape[-1]} (check dt_ms / record_every)")
        lb = loss_fn(v, tgt)
        lb = torch.where(failed, torch.full_like(lb, 1e12), lb)
        ln = lb.detach().cpu().numpy()
        improve = ln < best_l
        best_l = np.where(improve, ln, best_l)
        best_u[torch.as_tensor(improve)] = U.detach()[torch.as_tensor(improve)]
        history.append(float(ln.min()))
        lb.sum().backward()
        with torch.no_grad():
            U.grad[~torch.isfinite(U.grad)] = 0.0
        opt.step()
    # loss of the last iterate
    with torch.no_grad():
        _, tr, failed, _ = simulate_cell_tensors(model, params_of(U), protocol, dt_ms, ("v",),
                                                 cell=cell, device=device, dtype=dt_,
                                                 record_every=record_every)
        ln = torch.where(failed, torch.full((n_starts,), 1e12, dtype=dt_, device=device),
                         loss_fn(tr["v"], tgt)).cpu().numpy()
        improve = ln < best_l
        best_l = np.where(improve, ln, best_l)
        best_u[torch.as_tensor(improve)] = U.detach()[torch.as_tensor(improve)]
        final = params_of(best_u)
    allp = {k: final[k].detach().cpu().numpy() for k in free}
    i = int(np.argmin(best_l))
    return FitResult(params={k: float(allp[k][i]) for k in free}, loss=float(best_l[i]),
                     history=history, all_params=allp, all_loss=best_l)
