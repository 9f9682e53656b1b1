"""Offspring as surrogate candidates: the evolutionary operators of NSGA-II, pre-screened.

A surrogate-assisted evolutionary search keeps what makes the evolutionary algorithm find good
regions (recombination of the best evaluated points, so offspring land between and around the
parents, along the ridges they share) and lets the model decide which few of many offspring are
worth a true simulation. :func:`offspring_candidates` breeds them from the evaluated archive:
binary tournaments on the summed objective among the best ``n_parents`` points, simulated
binary crossover (SBX, Deb & Agrawal 1995, Complex Systems 9:115) and polynomial mutation
(Deb & Goyal 1996), both with the distribution indices of pymoo's NSGA-II defaults (crossover
eta 15, probability 0.9; mutation eta 20, probability 1/d per coordinate), in the unit cube.
"""

from __future__ import annotations

import numpy as np


def sbx_pair(a: np.ndarray, b: np.ndarray, eta: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Two children of parents ``a``, ``b`` (unit cube) by bounded SBX, each coordinate with
    probability 1/2."""
    c1, c2 = a.copy(), b.copy()
    for i in range(a.size):
        if rng.random() > 0.5 or abs(a[i] - b[i]) < 1e-14:
            continue
        y1, y2 = min(a[i], b[i]), max(a[i], b[i])
        u = rng.random()
        kids = []
        for beta in (1.0 + 2.0 * y1 / (y2 - y1), 1.0 + 2.0 * (1.0 - y2) / (y2 - y1)):
            alpha = 2.0 - beta ** -(eta + 1.0)
            bq = (u * alpha) ** (1.0 / (eta + 1.0)) if u <= 1.0 / alpha else \
                (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0))
            kids.append(bq)
        lo = np.clip(0.5 * (y1 + y2 - kids[0] * (y2 - y1)), 0.0, 1.0)
        hi = np.clip(0.5 * (y1 + y2 + kids[1] * (y2 - y1)), 0.0, 1.0)
        if rng.random() < 0.5:
            lo, hi = hi, lo
        c1[i], c2[i] = lo, hi
    return c1, c2


def polynomial_mutation(x: np.ndarray, eta: float, prob: float, rng: np.random.Generator
                        ) -> np.ndarray:
    """Bounded polynomial mutation of each coordinate of ``x`` with probability ``prob``."""
    y = x.copy()
    for i in range(x.size):
        if rng.random() >= prob:
            continue
        d1, d2 = y[i], 1.0 - y[i]
        u = rng.random()
        p = 1.0 / (eta + 1.0)
        if u < 0.5:
            dq = (2 * u + (1 - 2 * u) * (1 - d1) ** (eta + 1)) ** p - 1.0
        else:
            dq = 1.0 - (2 * (1 - u) + 2 * (u - 0.5) * (1 - d2) ** (eta + 1)) ** p
        y[i] = np.clip(y[i] + dq, 0.0, 1.0)
    return y


def offspring_candidates(X: np.ndarray, score: np.ndarray, n: int, n_parents: int,
                         rng: np.random.Generator, eta_c: float = 15.0, prob_c: float = 0.9,
                         eta_m: float = 20.0) -> np.ndarray:
    """``n`` offspring (unit cube) of the best ``n_parents`` rows of ``X`` by ``score`` (lower is
    better; non-finite = failed, never a parent unless nothing else is left)."""
    X = np.asarray(X, float)
    s = np.where(np.isfinite(score), score, np.inf)
    order = np.argsort(s, kind="stable")[:max(2, min(int(n_parents), len(s)))]
    P, ps = X[order], s[order]
    d = X.shape[1]
    out = []
    while len(out) < n:
        pair = []
        for _ in range(2):                                  # binary tournaments
            i, j = rng.integers(0, len(P), 2)
            pair.append(P[i] if ps[i] <= ps[j] else P[j])
        a, b = pair
        c1, c2 = sbx_pair(a, b, eta_c, rng) if rng.random() < prob_c else (a.copy(), b.copy())
        out.append(polynomial_mutation(c1, eta_m, 1.0 / d, rng))
        out.append(polynomial_mutation(c2, eta_m, 1.0 / d, rng))
    return np.array(out[:n])
