"""Trust-region helpers shared by the surrogate proposals (unit-cube coordinates)."""

from __future__ import annotations

import numpy as np


def far_enough(x: np.ndarray, others: np.ndarray, dmin: float) -> bool:
    """Whether ``x`` is farther than ``dmin`` from every row of ``others``."""
    return others.size == 0 or float(np.min(np.linalg.norm(others - x, axis=1))) > dmin


def trust_region_box(x_best: np.ndarray, length: float, lengthscales: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners of the trust region around ``x_best`` (clipped to the unit
    cube): side ``length`` per coordinate, times ``lengthscales / geometric mean`` when given."""
    if lengthscales is None:
        w = np.ones_like(x_best)
    else:
        ls = np.asarray(lengthscales, float)
        w = ls / np.exp(np.mean(np.log(ls)))
    return np.clip(x_best - w * length / 2, 0.0, 1.0), np.clip(x_best + w * length / 2, 0.0, 1.0)


def box_candidates(x_best: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``n`` points in the box ``[lo, hi]``; each perturbs a random subset of ``x_best``'s
    coordinates (probability ``min(1, 20/d)``, at least one)."""
    d = x_best.size
    pert = lo + (hi - lo) * rng.random((n, d))
    mask = rng.random((n, d)) < min(1.0, 20.0 / d)
    mask[np.arange(n), rng.integers(0, d, n)] = True
    return np.where(mask, pert, x_best)
