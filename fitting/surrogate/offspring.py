"""Offspring as surrogate candidates: the evolutionary operators of NSGA-II, pre-screened.

A surrogate-assisted evolutionary search keeps what makes the evolutionary algorithm find good
regions (recombination of the best evaluated points, so offspring land between and around the
parents, along the ridges they share) and lets the model decide which few of many offspring are
worth a true simulation. :func:`offspring_candidates` breeds them from the evaluated archive:
binary tournaments on the summed objective among the best ``n_parents`` points, simulated
binary crossover (SBX, Deb & Agrawal 1995, Complex Systems 9:115) and polynomial mutation
(Deb & Goyal 1996), both with the distribution indices of pymoo's NSGA-II defaults (crossover
eta 15, probability 0.9, each coordinate with probability 1/2; mutation eta 20, probability 1/d
per coordinate), in the unit cube. The operators are pymoo's own (``cross_sbx``, ``mut_pm``),
driven by the caller's random generator so a run is reproducible and resumable.
"""

from __future__ import annotations

import numpy as np
from pymoo.operators.crossover.sbx import cross_sbx
from pymoo.operators.mutation.pm import mut_pm


def _sbx(A: np.ndarray, B: np.ndarray, eta: float, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray]:
    """Children of the parent rows ``A``, ``B`` (unit cube) by bounded SBX (pymoo's
    ``cross_sbx``), each coordinate with probability 1/2."""
    n, d = A.shape
    col = np.ones((n, 1))
    Q = cross_sbx(np.stack([A, B]).astype(float), np.zeros(d), np.ones(d), eta * col,
                  0.5 * col, 0.5 * col, random_state=rng)
    return Q[0], Q[1]


def _pm(X: np.ndarray, eta: float, prob: float, rng: np.random.Generator) -> np.ndarray:
    """Bounded polynomial mutation (pymoo's ``mut_pm``) of each coordinate of the rows of
    ``X`` with probability ``prob``."""
    n, d = X.shape
    return mut_pm(np.asarray(X, float), np.zeros(d), np.ones(d), np.full(n, float(eta)),
                  np.full(n, float(prob)), False, random_state=rng)


def sbx_pair(a: np.ndarray, b: np.ndarray, eta: float, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Two children of parents ``a``, ``b`` (unit cube) by bounded SBX, each coordinate with
    probability 1/2."""
    c1, c2 = _sbx(np.atleast_2d(a), np.atleast_2d(b), eta, rng)
    return c1[0], c2[0]


def polynomial_mutation(x: np.ndarray, eta: float, prob: float, rng: np.random.Generator
                        ) -> np.ndarray:
    """Bounded polynomial mutation of each coordinate of ``x`` with probability ``prob``."""
    return _pm(np.atleast_2d(x), eta, prob, rng)[0]


def offspring_candidates(X: np.ndarray, score: np.ndarray, n: int, n_parents: int,
                         rng: np.random.Generator, eta_c: float = 15.0, prob_c: float = 0.9,
                         eta_m: float = 20.0) -> np.ndarray:
    """``n`` offspring (unit cube) of the best ``n_parents`` rows of ``X`` by ``score`` (lower is
    better; non-finite = failed, never a parent unless nothing else is left)."""
    X = np.asarray(X, float)
    s = np.where(np.isfinite(score), score, np.inf)
    order = np.argsort(s, kind="stable")[:max(2, min(int(n_parents), len(s)))]
    P, ps = X[order], s[order]
    n_pairs = (int(n) + 1) // 2
    # binary tournaments: two per parent, the lower score wins
    i, j = rng.integers(0, len(P), (2, 2 * n_pairs))
    win = np.where(ps[i] <= ps[j], i, j).reshape(2, n_pairs)
    A, B = P[win[0]], P[win[1]]
    C1, C2 = _sbx(A, B, eta_c, rng)
    keep = rng.random(n_pairs) >= prob_c                   # pairs without crossover
    C1[keep], C2[keep] = A[keep], B[keep]
    kids = np.stack([C1, C2], axis=1).reshape(-1, X.shape[1])[:n]
    return _pm(kids, eta_m, 1.0 / X.shape[1], rng)
