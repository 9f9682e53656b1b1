"""Exact Gaussian-process regression in torch (small data: the surrogate-assisted search).

``GaussianProcess`` models one output ``y(x)`` on the unit cube with a constant mean and an ARD
Matern-5/2 kernel (Rasmussen & Williams 2006, eq. 4.17) plus Gaussian noise. Targets are
standardised; the hyperparameters (log length-scales, log signal variance, log noise) are fitted
by maximising the log marginal likelihood with Adam from a few starts, in float64. Predictions
return the posterior mean and standard deviation; :meth:`GaussianProcess.sample` draws joint
posterior samples on a candidate set (Thompson sampling). Meant for tens to a few thousand
points: the cost is ``O(n^3)`` per fit step.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch

from fitting.surrogate.ensemble import SurrogateError

_SQRT5 = math.sqrt(5.0)
_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def torch_single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (restored after). The matrices here
    are tiny: extra threads only add synchronisation, which on a busy machine costs 10-50x."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _single_threaded(fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch_single_thread():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def matern52(A: torch.Tensor, B: torch.Tensor, lengthscale: torch.Tensor,
             variance: torch.Tensor) -> torch.Tensor:
    """ARD Matern-5/2 covariance between rows of ``A (n, d)`` and ``B (m, d)``."""
    d = torch.cdist(A / lengthscale, B / lengthscale).clamp_min(1e-12)
    r = _SQRT5 * d
    return variance * (1.0 + r + r * r / 3.0) * torch.exp(-r)


class GaussianProcess:
    """GP regressor ``X (n, d) in [0, 1]^d -> y (n,)`` (see module docstring).

    Args:
        noise_min: lower bound of the noise variance (standardised units).
        lengthscale_bounds: bounds of the length-scales (unit-cube units).
        steps: Adam steps per start; ``restarts``: starts (the first from the previous fit
            when refitting with ``warm``).
        seed: seeds the random starts.
    """

    def __init__(self, noise_min: float = 1e-6, lengthscale_bounds: tuple[float, float] = (
            0.01, 5.0), steps: int = 150, restarts: int = 2, seed: int = 0) -> None:
        if not noise_min > 0:
            raise SurrogateError(f"noise_min: must be > 0, got {noise_min}")
        lo, hi = lengthscale_bounds
        if not 0 < lo < hi:
            raise SurrogateError(f"lengthscale_bounds: need 0 < low < high, got "
                                 f"{lengthscale_bounds}")
        self.noise_min = float(noise_min)
        self.ls_bounds = (float(lo), float(hi))
        self.steps = int(steps)
        self.restarts = max(1, int(restarts))
        self.seed = int(seed)
        self._fitted = False

    # --- hyperparameters ----------------------------------------------------------------------
    def _unpack(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lo, hi = self.ls_bounds
        d = raw.numel() - 2
        ls = lo + (hi - lo) * torch.sigmoid(raw[:d])
        var = torch.nn.functional.softplus(raw[d]) + 1e-4
        noise = torch.nn.functional.softplus(raw[d + 1]) + self.noise_min
        return ls, var, noise

    def _nll(self, raw: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        ls, var, noise = self._unpack(raw)
        n = X.shape[0]
        K = matern52(X, X, ls, var) + noise * torch.eye(n, dtype=X.dtype)
        L, info = torch.linalg.cholesky_ex(K)
        if int(info) != 0:
            return torch.tensor(float("inf"), dtype=X.dtype)
        alpha = torch.cholesky_solve(y[:, None], L)
        return (0.5 * (y[:, None] * alpha).sum() + torch.log(torch.diagonal(L)).sum()) / n

    @_single_threaded
    def fit(self, X: np.ndarray, y: np.ndarray, warm: GaussianProcess | None = None,
            warm_raw: np.ndarray | None = None) -> GaussianProcess:
        """Fit to ``X (n, d)``, ``y (n,)`` (rows with non-finite values dropped); ``warm`` (a
        fitted GP) or ``warm_raw`` (its :attr:`raw`) adds a start from those hyperparameters."""
        X = np.asarray(X, float)
        y = np.asarray(y, float).reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.size:
            raise SurrogateError(f"fit: need X (n, d) and y (n,), got {X.shape} and {y.shape}")
        ok = np.all(np.isfinite(X), axis=1) & np.isfinite(y)
        X, y = X[ok], y[ok]
        if X.shape[0] < 2:
            raise SurrogateError(f"fit: need at least 2 finite rows, got {X.shape[0]}")
        self.ym, self.ys = float(y.mean()), float(y.std()) or 1.0
        Xt = torch.as_tensor(X, dtype=torch.float64)
        yt = torch.as_tensor((y - self.ym) / self.ys, dtype=torch.float64)
        d = X.shape[1]
        gen = torch.Generator().manual_seed(self.seed)
        starts = []
        if warm is not None and warm._fitted and warm._raw.numel() == d + 2:
            starts.append(warm._raw.clone())
        elif warm_raw is not None and np.asarray(warm_raw).size == d + 2:
            starts.append(torch.as_tensor(np.asarray(warm_raw, float), dtype=torch.float64))
        lo, hi = self.ls_bounds
        mid = math.log((0.3 - lo) / (hi - 0.3))           # length-scale 0.3 to start
        while len(starts) < self.restarts:
            r = torch.empty(d + 2, dtype=torch.float64)
            r[:d] = mid + 0.7 * torch.randn(d, generator=gen, dtype=torch.float64)
            r[d], r[d + 1] = 0.5, -4.0
            starts.append(r)
        best, best_v = None, math.inf
        for r0 in starts:
            raw = r0.clone().requires_grad_(True)
            opt = torch.optim.Adam([raw], lr=0.08)
            for _ in range(self.steps):
                opt.zero_grad()
                loss = self._nll(raw, Xt, yt)
                if not torch.isfinite(loss):
                    break
                loss.backward()
                opt.step()
            with torch.no_grad():
                v = float(self._nll(raw, Xt, yt))
            if v < best_v:
                best, best_v = raw.detach().clone(), v
        if best is None:
            raise SurrogateError("fit: the kernel matrix is not positive definite at any start")
        self._raw = best
        self._X, self._y = Xt, yt
        with torch.no_grad():
            ls, var, noise = self._unpack(best)
            K = matern52(Xt, Xt, ls, var) + noise * torch.eye(Xt.shape[0], dtype=Xt.dtype)
            self._L = torch.linalg.cholesky(K)
            self._alpha = torch.cholesky_solve(yt[:, None], self._L)
        self._fitted = True
        self.nll = best_v
        return self

    @property
    def lengthscales(self) -> np.ndarray:
        """Fitted ARD length-scales (unit-cube units)."""
        self._check()
        return self._unpack(self._raw)[0].numpy().copy()

    def _check(self) -> None:
        if not self._fitted:
            raise SurrogateError("the Gaussian process is not fitted (call fit first)")

    # --- prediction ---------------------------------------------------------------------------
    @_single_threaded
    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at ``X (m, d)``."""
        self._check()
        Xs = torch.as_tensor(np.atleast_2d(np.asarray(X, float)), dtype=torch.float64)
        with torch.no_grad():
            ls, var, _ = self._unpack(self._raw)
            Ks = matern52(Xs, self._X, ls, var)
            mu = (Ks @ self._alpha)[:, 0]
            v = torch.linalg.solve_triangular(self._L, Ks.T, upper=False)
            s2 = (var - (v * v).sum(0)).clamp_min(1e-12)
        return (mu.numpy() * self.ys + self.ym, np.sqrt(s2.numpy()) * self.ys)

    def mean_torch(self, X: torch.Tensor) -> torch.Tensor:
        """Differentiable posterior mean (original units) at ``X (m, d)`` (float64 tensor)."""
        self._check()
        ls, var, _ = self._unpack(self._raw.detach())
        return (matern52(X, self._X, ls, var) @ self._alpha)[:, 0] * self.ys + self.ym

    @property
    def raw(self) -> np.ndarray:
        """Unconstrained hyperparameters (for checkpoints; ``fit(..., warm_raw=...)``)."""
        self._check()
        return self._raw.numpy().copy()

    @_single_threaded
    def sample(self, X: np.ndarray, n_samples: int, seed: int = 0) -> np.ndarray:
        """Joint posterior draws ``(n_samples, m)`` of the latent function at ``X (m, d)``."""
        self._check()
        Xs = torch.as_tensor(np.atleast_2d(np.asarray(X, float)), dtype=torch.float64)
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            ls, var, _ = self._unpack(self._raw)
            Ks = matern52(Xs, self._X, ls, var)
            mu = (Ks @ self._alpha)[:, 0]
            v = torch.linalg.solve_triangular(self._L, Ks.T, upper=False)
            C = matern52(Xs, Xs, ls, var) - v.T @ v
            C = 0.5 * (C + C.T)
            jitter = 1e-8 * float(var)
            for _ in range(6):
                Lc, info = torch.linalg.cholesky_ex(
                    C + jitter * torch.eye(C.shape[0], dtype=C.dtype))
                if int(info) == 0:
                    break
                jitter *= 10.0
            else:
                raise SurrogateError("sample: posterior covariance is not positive definite")
            z = torch.randn(C.shape[0], int(n_samples), generator=gen, dtype=torch.float64)
            f = mu[:, None] + Lc @ z
        return f.T.numpy() * self.ys + self.ym
