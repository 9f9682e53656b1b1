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
from collections.abc import Callable, Sequence
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


def saturated(Za: np.ndarray, cap: float) -> np.ndarray:
    """``(n, k)`` mask of deviations at the cap (targets of :func:`z_targets`): the feature was
    undefined, the simulation failed, or it lies beyond the cap. There the objective is flat
    whatever the value, so the value says nothing a regression should learn."""
    return np.abs(np.asarray(Za, float)) >= cap * (1.0 - 1e-12)


class ZModels:
    """Per column ``j`` of ``z``: a GP of ``z_j`` on the rows where it is below the cap and,
    where some rows are at the cap and at least ``min_rows`` are not, a second GP of the
    saturation indicator (+1 at the cap, -1 below; GP regression on labels as a cheap
    classifier). A paralysed worm has no wavelength: its ``z`` is the cap, and the best water
    gaits lie next to such worms (the wave shortens towards the target just before the body
    stops), where one GP on all rows may smear the jump over the optimum. Split, the ``z``
    model extrapolates the moving gaits and the indicator says where the body stops. (On the
    closed-loop benchmark this did not help reliably: see ``benchmarks/bench_surrogate.py``.)

    ``contributions`` are the capped ``|z|`` the objective sums: expected over saturation
    (``p cap + (1 - p) min(|mu|, cap)``, ``p = clip((m_s + 1) / 2, 0, 1)``) or one joint
    posterior draw per sample (saturated where the indicator draw is > 0)."""

    def __init__(self, Xa: np.ndarray, Za: np.ndarray, cap: float, gp_kwargs: dict[str, Any],
                 seed: int, warm: Sequence[np.ndarray] | None, split: bool = True,
                 min_rows: int = 4) -> None:
        self.cap = float(cap)
        sat = saturated(Za, cap) if split else np.zeros(Za.shape, bool)
        k = Za.shape[1]
        self.z: list[GaussianProcess] = []
        self.sat: list[GaussianProcess | None] = []

        def warm_of(i: int) -> np.ndarray | None:
            return warm[i] if warm is not None and i < len(warm) else None

        for j in range(k):
            n_ok = int((~sat[:, j]).sum())
            use_split = sat[:, j].any() and n_ok >= min_rows
            y = np.where(sat[:, j], np.nan, Za[:, j]) if use_split else Za[:, j]
            self.z.append(GaussianProcess(**{"seed": seed + 31 * j, **gp_kwargs}).fit(
                Xa, y, warm_raw=warm_of(j)))
            self.sat.append(GaussianProcess(**{"seed": seed + 31 * j + 17, **gp_kwargs}).fit(
                Xa, np.where(sat[:, j], 1.0, -1.0), warm_raw=warm_of(k + j))
                if use_split else None)

    @property
    def raws(self) -> list[np.ndarray]:
        """Hyperparameters (z models, then the indicator models present) for warm starts."""
        return [m.raw for m in self.z] + [m.raw for m in self.sat if m is not None]

    @property
    def lengthscales(self) -> np.ndarray:
        """Geometric mean of the ``z`` models' length-scales."""
        return np.exp(np.mean([np.log(m.lengthscales) for m in self.z], axis=0))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Expected capped ``|z|`` ``(n, k)``."""
        out = []
        for mz, ms in zip(self.z, self.sat, strict=True):
            a = np.minimum(np.abs(mz.predict(X)[0]), self.cap)
            if ms is not None:
                p = np.clip((ms.predict(X)[0] + 1.0) / 2.0, 0.0, 1.0)
                a = p * self.cap + (1.0 - p) * a
            out.append(a)
        return np.stack(out, axis=-1)

    def sample_contributions(self, X: np.ndarray, n: int, seed: int) -> np.ndarray:
        """Capped ``|z|`` of ``n`` joint posterior draws ``(n, len(X), k)``."""
        out = []
        for j, (mz, ms) in enumerate(zip(self.z, self.sat, strict=True)):
            a = np.minimum(np.abs(mz.sample(X, n, seed=seed + 101 * j)), self.cap)
            if ms is not None:
                a = np.where(ms.sample(X, n, seed=seed + 101 * j + 53) > 0.0, self.cap, a)
            out.append(a)
        return np.stack(out, axis=-1)


def _polish_best(C: np.ndarray, s: np.ndarray, n: int, lo: np.ndarray, hi: np.ndarray,
                 mean_obj: Callable[[np.ndarray], np.ndarray], take: Callable[[np.ndarray], bool],
                 rng: np.random.Generator) -> None:
    """The ``n`` best candidates by ``s``, each replaced by the best of 256 random points in a
    box a tenth of the region's size around it (the candidate itself if that one is taken)."""
    for i in np.argsort(s)[:n]:
        loc_lo = np.maximum(C[i] - (hi - lo) / 20, lo)
        loc_hi = np.minimum(C[i] + (hi - lo) / 20, hi)
        P = np.vstack([C[i], loc_lo + (loc_hi - loc_lo) * rng.random((256, C.shape[1]))])
        if not take(P[int(np.argmin(mean_obj(P)))]):
            take(C[i])


def propose_z(Xa: np.ndarray, Za: np.ndarray, Fa: np.ndarray, k: int, length: float,
              zobj: ZObjective, gp_kwargs: dict[str, Any], n_candidates: int, exploit: int,
              min_distance: float, seed: int, warm: Sequence[np.ndarray] | None,
              split_saturated: bool = False, n_global: int = 0,
              candidates: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], dict[str, float]]:
    """Trust-region batch from the :class:`ZModels` of ``Za`` (targets of :func:`z_targets`).

    The region is centred on the best true summed objective ``Fa``; ``exploit`` slots take the
    candidate whose predicted (expected) capped ``|z|`` gives the lowest summed objective (then
    polished by a local random search in a box a tenth of the region's size), the rest
    Thompson samples (joint posterior draws of every model on the candidates, objective
    computed per draw) over the region's candidates plus ``n_global`` uniform points of the
    whole cube (so a better basin elsewhere can win a draw). Given ``candidates`` (e.g.
    offspring of the evaluated points, :mod:`fitting.surrogate.offspring`), those are screened
    instead of the trust region's, without the polishing. Returns the points, their predicted
    log summed objective, the GP hyperparameters and diagnostics."""
    t0 = time.perf_counter()
    models = ZModels(Xa, Za, zobj.cap, gp_kwargs, seed, warm, split=split_saturated)
    diag = {"train_s": time.perf_counter() - t0,
            "n_saturation_models": float(sum(m is not None for m in models.sat))}
    rng = np.random.default_rng(seed)
    x_best = Xa[int(np.argmin(Fa.sum(axis=1)))]
    ls = models.lengthscales
    lo, hi = trust_region_box(x_best, length, ls)
    C = box_candidates(x_best, lo, hi, n_candidates, rng) if candidates is None else \
        np.asarray(candidates, float)

    def mean_obj(X: np.ndarray) -> np.ndarray:
        return zobj(models.contributions(X)).sum(-1)

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
        if candidates is not None:          # the best predicted offspring, no polishing
            for i in np.argsort(s):
                if len(chosen) >= n_exploit:
                    break
                take(C[i])
        else:
            _polish_best(C, s, n_exploit, lo, hi, mean_obj, take, rng)
    n_ts = k - len(chosen)
    if n_ts > 0:
        Cts = np.vstack([C, rng.random((int(n_global), Xa.shape[1]))]) if n_global > 0 else C
        score = zobj(models.sample_contributions(Cts, n_ts, seed)).sum(-1)  # (n_ts, n_cand)
        for r in range(n_ts):
            for i in np.argsort(score[r]):
                if take(Cts[i]):
                    diag["thompson_global"] = diag.get("thompson_global", 0.0) + float(
                        i >= len(C))
                    break
    X = np.array(chosen).reshape(-1, Xa.shape[1])
    pred = np.log(mean_obj(X) + 1e-6) if len(X) else np.zeros(0)
    diag["lengthscale_min"] = float(np.min(ls))
    return X, pred, models.raws, diag
