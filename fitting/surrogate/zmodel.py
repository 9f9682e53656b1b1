"""Feature-level composite surrogate: Gaussian processes on the signed feature deviations ``z``.

Behaviour (Level-2) objectives are known functions of a few measured features: per condition
``F_j = sum_k w_k min(|z_k|, z_cap) / sum_k w_k`` over its features, with
``z = (simulated - target mean) / target SD`` (:class:`fitting.level2.evaluator.
BehaviourObjectives`). The features are smooth functions of the parameters where ``F`` is not
(``|z|`` has a kink at the target, the cap a plateau), so the search models each ``z_k`` with a
GP and computes ``F`` from the model's ``z`` (a composite objective, Astudillo & Frazier 2019,
ICML). :class:`ZObjective` is that known map; :func:`z_objective_of` builds it from an
evaluator's objectives; :func:`propose_z` is the trust-region proposal on the ``z`` models.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fitting.surrogate.ensemble import SurrogateError
from fitting.surrogate.gp import GaussianProcess
from fitting.surrogate.region import box_candidates, far_enough, trust_region_box


@dataclass(frozen=True)
class ZObjective:
    """``F (n, m) = group-weighted mean of min(|z|, cap)``: column ``k`` of ``z`` belongs to
    objective ``groups[k]`` with weight ``weights[k]``."""

    groups: tuple[int, ...]
    weights: tuple[float, ...]
    cap: float
    n_obj: int

    def __post_init__(self) -> None:
        if len(self.groups) != len(self.weights) or not self.groups:
            raise SurrogateError("ZObjective: need one group and one weight per z column")
        if not (np.isfinite(self.cap) and self.cap > 0):
            raise SurrogateError(f"ZObjective: cap must be > 0, got {self.cap}")
        if sorted(set(self.groups)) != list(range(self.n_obj)):
            raise SurrogateError(f"ZObjective: groups must cover objectives 0..{self.n_obj - 1}"
                                 f", got {sorted(set(self.groups))}")

    @property
    def k(self) -> int:
        return len(self.groups)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        """Objectives ``(..., m)`` of deviations ``(..., k)`` (NaN counts as the cap)."""
        Z = np.asarray(Z, float)
        a = np.where(np.isfinite(Z), np.minimum(np.abs(Z), self.cap), self.cap)
        w = np.asarray(self.weights)
        g = np.asarray(self.groups)
        return np.stack([(a[..., g == j] * w[g == j]).sum(-1) / w[g == j].sum()
                         for j in range(self.n_obj)], axis=-1)


def z_objective_of(evaluator: Any) -> ZObjective:
    """The :class:`ZObjective` of an evaluator whose ``objectives`` are behaviour objectives
    (public ``names``, ``feature_names`` ``"<condition>.<feature>"``, ``z_cap`` and
    ``target.weights``). Raises :class:`SurrogateError` for other evaluators."""
    obj = getattr(evaluator, "objectives", None)
    try:
        names = tuple(obj.names)
        feats = tuple(obj.feature_names)
        cap = float(obj.z_cap)
        weights = dict(getattr(obj.target, "weights", {}) or {})
    except AttributeError:
        raise SurrogateError("outputs='z': the evaluator's objectives do not say how they follow "
                             "from the feature deviations z (need names, feature_names, z_cap, "
                             "target.weights: a Level-2 evaluator); use outputs='objectives' or "
                             "pass z_objective") from None
    groups, w = [], []
    for f in feats:
        cond, _, feat = f.partition(".")
        if cond not in names:
            raise SurrogateError(f"outputs='z': feature {f!r} names no objective of {names}")
        groups.append(names.index(cond))
        w.append(float(weights.get(feat, 1.0)))
    return ZObjective(tuple(groups), tuple(w), cap, len(names))


def z_targets(Z: np.ndarray, failed: np.ndarray, cap: float) -> np.ndarray:
    """GP targets from deviations: clipped to ``[-cap, cap]`` (the objective is flat beyond);
    failed rows at ``+cap`` in every column."""
    Y = np.clip(np.nan_to_num(np.asarray(Z, float), nan=cap), -cap, cap)
    Y[np.asarray(failed, bool)] = cap
    return Y


def check_z_objective(zobj: ZObjective, Z: np.ndarray, F: np.ndarray,
                      failed: np.ndarray) -> None:
    """Raise :class:`SurrogateError` unless ``zobj(Z)`` reproduces the evaluator's ``F`` on the
    successful rows (guards against a wrong map)."""
    ok = ~np.asarray(failed, bool)
    if not ok.any():
        return
    if Z.shape[1] != zobj.k:
        raise SurrogateError(f"outputs='z': the evaluator returns {Z.shape[1]} deviations, the "
                             f"objective map expects {zobj.k}")
    err = np.abs(zobj(Z[ok]) - F[ok])
    tol = 1e-6 * (1.0 + np.abs(F[ok]))
    if np.any(err > tol):
        raise SurrogateError(f"outputs='z': the objectives computed from z differ from the "
                             f"evaluator's by up to {float(err.max()):.3g}; the map is wrong "
                             "for this evaluator (use outputs='objectives')")


def propose_z(Xa: np.ndarray, Za: np.ndarray, Fa: np.ndarray, k: int, length: float,
              zobj: ZObjective, gp_kwargs: dict[str, Any], n_candidates: int, exploit: int,
              min_distance: float, seed: int, warm: Sequence[np.ndarray] | None
              ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], dict[str, float]]:
    """Trust-region batch from GPs on ``Za`` (targets of :func:`z_targets`).

    The region is centred on the best true summed objective ``Fa``; ``exploit`` slots take the
    candidate whose predicted-mean ``z`` gives the lowest summed objective (then polished by a
    local random search in a box a tenth of the region's size), the rest Thompson samples
    (joint posterior draws of every ``z`` GP on the candidates, objective computed per draw).
    Returns the points, their predicted log summed objective, the GP hyperparameters and
    diagnostics."""
    t0 = time.perf_counter()
    models = []
    for j in range(Za.shape[1]):
        wr = warm[j] if warm is not None and j < len(warm) else None
        models.append(GaussianProcess(**{"seed": seed + 31 * j, **gp_kwargs}).fit(
            Xa, Za[:, j], warm_raw=wr))
    diag = {"train_s": time.perf_counter() - t0}
    rng = np.random.default_rng(seed)
    x_best = Xa[int(np.argmin(Fa.sum(axis=1)))]
    ls = np.exp(np.mean([np.log(m.lengthscales) for m in models], axis=0))
    lo, hi = trust_region_box(x_best, length, ls)
    C = box_candidates(x_best, lo, hi, n_candidates, rng)

    def mean_obj(X: np.ndarray) -> np.ndarray:
        Zm = np.stack([m.predict(X)[0] for m in models], axis=-1)
        return zobj(Zm).sum(-1)

    chosen: list[np.ndarray] = []
    taken = Xa.copy()

    def take(x: np.ndarray) -> bool:
        nonlocal taken
        if far_enough(x, taken, min_distance):
            chosen.append(x)
            taken = np.vstack([taken, x])
            return True
        return False

    n_exploit = min(exploit, k)
    if n_exploit:
        s = mean_obj(C)
        for i in np.argsort(s)[:n_exploit]:
            loc_lo = np.maximum(C[i] - (hi - lo) / 20, lo)
            loc_hi = np.minimum(C[i] + (hi - lo) / 20, hi)
            P = np.vstack([C[i], loc_lo + (loc_hi - loc_lo) * rng.random((256, Xa.shape[1]))])
            if not take(P[int(np.argmin(mean_obj(P)))]):
                take(C[i])
    n_ts = k - len(chosen)
    if n_ts > 0:
        draws = np.stack([m.sample(C, n_ts, seed=seed + 101 * j)
                          for j, m in enumerate(models)], axis=-1)      # (n_ts, n_cand, k)
        score = zobj(draws).sum(-1)
        for r in range(n_ts):
            for i in np.argsort(score[r]):
                if take(C[i]):
                    break
    X = np.array(chosen).reshape(-1, Xa.shape[1])
    pred = np.log(mean_obj(X) + 1e-6) if len(X) else np.zeros(0)
    diag["lengthscale_min"] = float(np.min(ls))
    return X, pred, [m.raw for m in models], diag
