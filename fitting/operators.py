"""State-mutating operator (Menon, Spruston & Kath 2009): mutations guided by the off features.

For an offspring, the operator looks up how far each feature is off (signed z of its nearest
evaluated neighbour), picks a feature with probability proportional to ``|z|``, and moves the
parameters that control that feature against the error: ``du = -z_j S_j / |S_j|^2`` (the
least-norm step zeroing ``z_j`` in a linear model), scaled by a random factor and capped.
The sensitivity ``S = dz/du`` (features x parameters, unit-cube coordinates) comes from a local
ridge regression on the evaluation history, or is set from a finite difference
(:func:`finite_difference_sensitivity`). Other offspring get the base (polynomial) mutation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pymoo.core.mutation import Mutation
from pymoo.operators.mutation.pm import PM


def local_sensitivity(X: np.ndarray, Z: np.ndarray, x: np.ndarray, k: int | None = None,
                      ridge: float = 1e-3) -> np.ndarray:
    """``dz/du`` around ``x`` from the ``k`` nearest history points: ``(k_feat, d)``."""
    n, d = X.shape
    k = min(n, k or max(4 * d, 16))
    idx = np.argsort(((X - x) ** 2).sum(axis=1))[:k]
    A = np.hstack([X[idx] - x, np.ones((idx.size, 1))])
    reg = ridge * np.eye(d + 1)
    reg[-1, -1] = 0.0
    coef = np.linalg.solve(A.T @ A + reg, A.T @ Z[idx])
    return coef[:d].T


def finite_difference_sensitivity(evaluate_z: Callable[[np.ndarray], np.ndarray],
                                  x: np.ndarray, h: float = 0.02) -> np.ndarray:
    """Central-difference ``dz/du`` at ``x`` (``2 d`` evaluations in one batch).

    ``evaluate_z(X (n, d)) -> z (n, k)`` (e.g. ``lambda X: evaluator.evaluate(X).z``).
    """
    d = x.size
    E = np.eye(d) * h
    lo = np.clip(x - E, 0, 1)
    hi = np.clip(x + E, 0, 1)
    Z = evaluate_z(np.vstack([hi, lo]))
    step = (hi - lo).diagonal()
    return ((Z[:d] - Z[d:]) / np.maximum(step, 1e-12)[:, None]).T


class FeatureGuidedMutation(Mutation):
    """Menon et al. (2009) state-mutating operator for pymoo GAs (see module docstring).

    Args:
        prob_guided: fraction of offspring given a guided move (the rest: ``base``).
        max_step: cap on the guided move (unit-cube norm).
        min_history: evaluations needed before guided moves start.
        base: fallback mutation (default polynomial mutation).
    """

    def __init__(self, prob_guided: float = 0.5, max_step: float = 0.25,
                 min_history: int = 16, base: Mutation | None = None) -> None:
        super().__init__()
        if not 0 <= prob_guided <= 1:
            raise ValueError(f"prob_guided: must be in [0, 1], got {prob_guided}")
        self.prob_guided = prob_guided
        self.max_step = max_step
        self.min_history = min_history
        self.base = base or PM(eta=20)
        self.X_hist = np.zeros((0, 0))
        self.Z_hist = np.zeros((0, 0))
        self.fixed_S: np.ndarray | None = None
        self.n_guided = 0

    def update(self, X: np.ndarray, Z: np.ndarray, failed: np.ndarray | None = None,
               keep: int = 2000) -> None:
        """Add evaluated points (unit cube) and their signed feature deviations."""
        ok = np.ones(len(X), bool) if failed is None else ~np.asarray(failed, bool)
        X, Z = np.asarray(X, float)[ok], np.asarray(Z, float)[ok]
        if self.X_hist.size == 0:
            self.X_hist, self.Z_hist = X, Z
        else:
            self.X_hist = np.vstack([self.X_hist, X])[-keep:]
            self.Z_hist = np.vstack([self.Z_hist, Z])[-keep:]

    def set_sensitivity(self, S: np.ndarray | None) -> None:
        """Use a fixed sensitivity matrix (e.g. from a finite difference); ``None``: history."""
        self.fixed_S = None if S is None else np.asarray(S, float)

    def guided_step(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One guided move of ``x`` (unit cube) from the history."""
        Xh, Zh = self.X_hist, self.Z_hist
        nn = int(np.argmin(((Xh - x) ** 2).sum(axis=1)))
        z = Zh[nn]
        w = np.abs(z)
        if not np.any(w > 0):
            return x
        S = self.fixed_S if self.fixed_S is not None else local_sensitivity(Xh, Zh, x)
        j = int(rng.choice(z.size, p=w / w.sum()))
        sj = S[j]
        nrm = float(sj @ sj)
        if nrm < 1e-12:
            return x
        du = -z[j] * sj / nrm * rng.uniform(0.5, 1.0)
        size = float(np.linalg.norm(du))
        if size > self.max_step:
            du *= self.max_step / size
        return np.clip(x + du, 0.0, 1.0)

    def _do(self, problem, X, params=None, random_state=None, **kwargs):
        rng = random_state if random_state is not None else np.random.default_rng()
        Xm = self.base._do(problem, X.copy(), params=params, random_state=rng, **kwargs)
        if self.X_hist.shape[0] < self.min_history:
            return Xm
        for i in range(X.shape[0]):
            if rng.random() < self.prob_guided:
                Xm[i] = self.guided_step(np.asarray(X[i], float), rng)
                self.n_guided += 1
        return Xm
