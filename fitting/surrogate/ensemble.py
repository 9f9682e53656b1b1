"""Deep ensembles of small MLPs (torch): a regressor with uncertainty.

``EnsembleRegressor`` trains ``n_members`` multilayer perceptrons at once (their weights are
stacked along a leading member axis and applied with batched matrix products, so an ensemble of
5 costs about as much as one wide network). Each member sees a bootstrap resample of the data
and its own initialisation; with ``heteroscedastic=True`` (default) each member predicts a mean
and a variance and is trained with the Gaussian negative log-likelihood (Lakshminarayanan et al.
2017). The predictive standard deviation combines the spread of the member means (epistemic)
with the mean predicted variance (aleatoric).

Inputs and outputs are standardised internally; rows with non-finite targets are dropped.
CUDA is used when available (``device="auto"``), the CPU otherwise.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from celegans.io import atomic_path


class SurrogateError(ValueError):
    """Bad surrogate input (shapes, options, untrained model); the message names the field."""


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SurrogateError(f"device: {device!r} requested but CUDA is not available")
    return dev


@dataclass
class Prediction:
    """Ensemble prediction: ``mean`` and ``std`` ``(n, k)``; ``members`` ``(M, n, k)`` means."""

    mean: np.ndarray
    std: np.ndarray
    members: np.ndarray

    def interval(self, z: float = 1.6449) -> tuple[np.ndarray, np.ndarray]:
        """``mean -/+ z std`` (default z: central 90 % of a normal)."""
        return self.mean - z * self.std, self.mean + z * self.std


class _StackedMLP(torch.nn.Module):
    """``M`` independent MLPs with weights stacked on axis 0; input ``(M, n, d)``."""

    def __init__(self, n_members: int, d_in: int, d_out: int, hidden: tuple[int, ...],
                 generator: torch.Generator) -> None:
        super().__init__()
        sizes = (d_in, *hidden, d_out)
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1.0 / math.sqrt(a)
            w = (torch.rand(n_members, a, b, generator=generator) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(torch.zeros(n_members, 1, b)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < n - 1:
                x = torch.nn.functional.silu(x)
        return x


class EnsembleRegressor:
    """Deep ensemble ``X (n, d) -> Y (n, k)`` with predictive uncertainty.

    Args:
        n_members: ensemble size (>= 2 for an epistemic spread).
        hidden: hidden layer widths.
        epochs: optimisation steps over the (bootstrap) data.
        lr, weight_decay: AdamW settings.
        batch_size: mini-batch size (full batch when the data are smaller).
        heteroscedastic: members predict a variance too (Gaussian NLL); else MSE.
        bootstrap: each member trains on a bootstrap resample.
        device: ``"auto"`` (CUDA if present), ``"cpu"`` or ``"cuda"``.
        seed: initialisation and resampling seed (same seed, same data -> same model).
    """

    def __init__(self, n_members: int = 5, hidden: tuple[int, ...] = (64, 64),
                 epochs: int = 400, lr: float = 3e-3, weight_decay: float = 1e-4,
                 batch_size: int = 512, heteroscedastic: bool = True, bootstrap: bool = True,
                 device: str | torch.device | None = "auto", seed: int = 0) -> None:
        if n_members < 1:
            raise SurrogateError(f"n_members: must be >= 1, got {n_members}")
        if epochs < 1:
            raise SurrogateError(f"epochs: must be >= 1, got {epochs}")
        if not hidden or any(int(h) < 1 for h in hidden):
            raise SurrogateError(f"hidden: need positive layer widths, got {hidden}")
        if not lr > 0:
            raise SurrogateError(f"lr: must be > 0, got {lr}")
        self.n_members = int(n_members)
        self.hidden = tuple(int(h) for h in hidden)
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.batch_size = int(batch_size)
        self.heteroscedastic = bool(heteroscedastic)
        self.bootstrap = bool(bootstrap)
        self.device = resolve_device(device)
        self.seed = int(seed)
        self._net: _StackedMLP | None = None
        self._stats: dict[str, np.ndarray] = {}
        self.n_train = 0
        self.final_loss = math.nan

    # --- training ------------------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        return self._net is not None

    def fit(self, X: np.ndarray, Y: np.ndarray) -> EnsembleRegressor:
        """Train on ``X (n, d)``, ``Y (n, k)`` (or ``(n,)``); rows with non-finite values are
        dropped. Needs at least 2 usable rows."""
        X = np.asarray(X, float)
        Y = np.asarray(Y, float)
        if Y.ndim == 1:
            Y = Y[:, None]
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise SurrogateError(f"fit: need X (n, d) and Y (n, k) with equal n, got {X.shape} "
                                 f"and {Y.shape}")
        ok = np.all(np.isfinite(X), axis=1) & np.all(np.isfinite(Y), axis=1)
        X, Y = X[ok], Y[ok]
        if X.shape[0] < 2:
            raise SurrogateError(f"fit: need at least 2 rows with finite values, got {X.shape[0]}")
        xm, xs = X.mean(0), X.std(0)
        ym, ys = Y.mean(0), Y.std(0)
        xs = np.where(xs > 1e-12, xs, 1.0)
        ys = np.where(ys > 1e-12, ys, 1.0)
        self._stats = {"xm": xm, "xs": xs, "ym": ym, "ys": ys}
        n, d = X.shape
        k = Y.shape[1]
        gen = torch.Generator().manual_seed(self.seed)
        M = self.n_members
        out = 2 * k if self.heteroscedastic else k
        net = _StackedMLP(M, d, out, self.hidden, gen).to(self.device, torch.float32)
        xt = torch.as_tensor((X - xm) / xs, dtype=torch.float32, device=self.device)
        yt = torch.as_tensor((Y - ym) / ys, dtype=torch.float32, device=self.device)
        if self.bootstrap and M > 1:
            idx = torch.randint(0, n, (M, n), generator=gen).to(self.device)
        else:
            idx = torch.arange(n, device=self.device).expand(M, n)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs,
                                                           eta_min=self.lr * 0.05)
        bs = min(self.batch_size, n)
        loss_v = math.nan
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=gen).to(self.device)
            for s in range(0, n, bs):
                sel = idx[:, perm[s:s + bs]]                       # (M, b)
                xb, yb = xt[sel], yt[sel]                          # (M, b, d), (M, b, k)
                loss = self._loss(net(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_v = float(loss.detach())
            sched.step()
        self._net = net.eval()
        self.n_train = n
        self.final_loss = loss_v
        return self

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        k = y.shape[-1]
        if not self.heteroscedastic:
            return ((out - y) ** 2).mean()
        mu, raw = out[..., :k], out[..., k:]
        var = torch.nn.functional.softplus(raw) + 1e-4
        return 0.5 * (torch.log(var) + (y - mu) ** 2 / var).mean()

    # --- prediction ----------------------------------------------------------------------------
    def predict(self, X: np.ndarray, chunk: int = 8192) -> Prediction:
        """Mean, total standard deviation and member means at ``X (n, d)``."""
        if self._net is None:
            raise SurrogateError("predict: the ensemble is not trained (call fit first)")
        X = np.atleast_2d(np.asarray(X, float))
        st = self._stats
        if X.shape[1] != st["xm"].size:
            raise SurrogateError(f"predict: X must have {st['xm'].size} columns, got {X.shape}")
        k = st["ym"].size
        mus, vs = [], []
        with torch.no_grad():
            for s in range(0, X.shape[0], chunk):
                xt = torch.as_tensor((X[s:s + chunk] - st["xm"]) / st["xs"], dtype=torch.float32,
                                     device=self.device)
                out = self._net(xt.expand(self.n_members, *xt.shape))
                mus.append(out[..., :k].cpu().numpy().astype(float))
                if self.heteroscedastic:
                    v = torch.nn.functional.softplus(out[..., k:]) + 1e-4
                    vs.append(v.cpu().numpy().astype(float))
        mu = np.concatenate(mus, axis=1) * st["ys"] + st["ym"]          # (M, n, k)
        var_epi = mu.var(axis=0) if self.n_members > 1 else np.zeros(mu.shape[1:])
        var_ale = (np.concatenate(vs, axis=1).mean(axis=0) * st["ys"] ** 2
                   if self.heteroscedastic else 0.0)
        return Prediction(mean=mu.mean(axis=0), std=np.sqrt(var_epi + var_ale), members=mu)

    # --- persistence ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Picklable state (CPU tensors)."""
        cfg = {k: getattr(self, k) for k in ("n_members", "hidden", "epochs", "lr",
                                             "weight_decay", "batch_size", "heteroscedastic",
                                             "bootstrap", "seed")}
        weights = None if self._net is None else {k: v.detach().cpu() for k, v in
                                                   self._net.state_dict().items()}
        return {"config": cfg, "weights": weights, "stats": dict(self._stats),
                "n_train": self.n_train, "d_out": int(self._stats["ym"].size)
                if self._stats else 0}

    @classmethod
    def from_state(cls, state: dict[str, Any], device: str | None = "auto"
                   ) -> EnsembleRegressor:
        """Rebuild from :meth:`state`."""
        try:
            ens = cls(**state["config"], device=device)
            ens._stats = {k: np.asarray(v) for k, v in state["stats"].items()}
            ens.n_train = int(state["n_train"])
            if state["weights"] is not None:
                d = ens._stats["xm"].size
                k = ens._stats["ym"].size
                out = 2 * k if ens.heteroscedastic else k
                net = _StackedMLP(ens.n_members, d, out, ens.hidden, torch.Generator())
                net.load_state_dict(state["weights"])
                ens._net = net.to(ens.device, torch.float32).eval()
        except (KeyError, TypeError, RuntimeError) as exc:
            raise SurrogateError(f"ensemble state: incompatible ({exc})") from None
        return ens

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ensemble atomically (``torch.save``)."""
        with atomic_path(path) as tmp:
            torch.save(self.state(), tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = "auto") -> EnsembleRegressor:
        """Read an ensemble written by :meth:`save`."""
        p = Path(path)
        if not p.exists():
            raise SurrogateError(f"{p}: no saved ensemble")
        return cls.from_state(torch.load(p, weights_only=False), device=device)
