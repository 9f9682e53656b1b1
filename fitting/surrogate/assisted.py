"""Surrogate-assisted search: offspring pre-screened on a deep ensemble, few true simulations.

Works with any evaluator of the fitting contract (``evaluate(X) -> EvalResult(F, failed)``,
``n_var``, ``n_obj``, ``space``), Level 1 or Level 2. Each iteration:

1. a deep ensemble (:class:`~fitting.surrogate.ensemble.EnsembleRegressor`) is retrained on all
   true evaluations so far (inputs: unit-cube parameters; outputs: ``log`` of each objective
   and of their sum; failed evaluations entered slightly above the worst success so the model
   learns to avoid them);
2. candidates are generated and screened on the ensemble only: (a) local offspring of the best
   point inside a trust region (side ``L``, a random subset of coordinates perturbed, as in
   TuRBO, Eriksson et al. 2019), and (b) the offspring of an inner optimiser (any name of
   :mod:`fitting.algorithms`, NSGA-II by default) run for a few generations on the ensemble's
   lower confidence bound ``mu - kappa sigma`` per objective;
3. most of the ``batch`` true simulations go to local candidates chosen by Thompson sampling
   (each slot ranks candidates by one randomly drawn ensemble member's predicted summed
   objective); ``explore_fraction`` of them go to the inner optimiser's predicted Pareto front
   (spread out greedily). Chosen points are mutually distinct and distinct from the archive.
4. the trust region grows after an improving batch and shrinks after ``fail_tol`` batches
   without improvement (restarting at its initial size once it collapses).

The run starts from a Latin-hypercube design of ``n_init`` true evaluations. A checkpoint
(history, trust-region state, diagnostics) is written atomically after every iteration; resume
continues with the same seeds (each iteration is seeded by ``seed + iteration``). Per iteration
the diagnostics record how well the surrogate predicted the batch before it was simulated
(out-of-sample error in log objective units).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from fitting.algorithms import make_optimizer
from fitting.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    History,
    load_checkpoint,
    save_checkpoint,
)
from fitting.level1 import OptimResult
from fitting.surrogate.ensemble import EnsembleRegressor, SurrogateError

_LOG_EPS = 1e-6


@dataclass(frozen=True)
class AssistConfig:
    """Settings of :func:`surrogate_assisted_optimise`.

    Attributes:
        max_evals: budget of true evaluations.
        n_init: size of the initial Latin-hypercube design (true evaluations).
        batch: true evaluations per iteration.
        inner_algorithm, inner_pop, inner_generations: the search on the surrogate.
        kappa: exploration weight of the lower confidence bound (inner search, front).
        explore_fraction: share of each batch taken from the inner optimiser's front.
        tr_init, tr_min, tr_max: trust-region side lengths (unit cube).
        n_local: local candidates screened per iteration.
        min_distance: candidates closer than this (unit cube, Euclidean) to an evaluated or
            already chosen point are not simulated.
        ensemble: keyword arguments of :class:`EnsembleRegressor`.
        seed: base seed.
        progress: show a progress bar.
    """

    max_evals: int = 100
    n_init: int = 20
    batch: int = 4
    inner_algorithm: str = "nsga2"
    inner_pop: int = 48
    inner_generations: int = 25
    kappa: float = 1.0
    explore_fraction: float = 0.25
    tr_init: float = 0.4
    tr_min: float = 0.01
    tr_max: float = 0.8
    n_local: int = 1000
    min_distance: float = 1e-3
    ensemble: dict[str, Any] = field(default_factory=lambda: {
        "n_members": 5, "hidden": (64, 64), "epochs": 500, "heteroscedastic": False,
        "weight_decay": 1e-4})
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("max_evals", "n_init", "batch", "inner_pop", "inner_generations"):
            if int(getattr(self, name)) < 1:
                raise SurrogateError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.n_init < 2:
            raise SurrogateError(f"n_init: need >= 2 initial evaluations, got {self.n_init}")
        if self.kappa < 0:
            raise SurrogateError(f"kappa: must be >= 0, got {self.kappa}")


@dataclass
class AssistedResult(OptimResult):
    """:class:`fitting.level1.OptimResult` plus per-iteration surrogate diagnostics."""

    diagnostics: list[dict[str, float]] = field(default_factory=list)


def latin_hypercube(n: int, d: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube in ``[0, 1]^d``."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(d=d, seed=seed).random(n)


def objective_targets(F: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Regression targets from objectives: ``log(F + eps)``; failed rows just above the worst
    success (so the surrogate learns to avoid them without the penalty dominating the fit)."""
    Y = np.log(np.maximum(np.asarray(F, float), 0.0) + _LOG_EPS)
    ok = ~np.asarray(failed, bool) & np.all(np.isfinite(Y), axis=1)
    if ok.any():
        worst = Y[ok].max(axis=0)
        span = np.ptp(Y[ok], axis=0) if ok.sum() > 1 else np.ones(Y.shape[1])
        Y[~ok] = worst + 0.25 * np.maximum(span, 1e-3)
    return Y


def _pareto_mask(F: np.ndarray) -> np.ndarray:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    mask = np.zeros(F.shape[0], bool)
    if F.shape[0]:
        mask[np.asarray(NonDominatedSorting().do(F, only_non_dominated_front=True), int)] = True
    return mask


def _far_enough(x: np.ndarray, others: np.ndarray, dmin: float) -> bool:
    return others.size == 0 or float(np.min(np.linalg.norm(others - x, axis=1))) > dmin


def select_candidates(Xc: np.ndarray, mu: np.ndarray, sd: np.ndarray, archive: np.ndarray,
                      batch: int, kappa: float, min_distance: float) -> np.ndarray:
    """Choose ``batch`` screened candidates to simulate (indices into ``Xc``).

    Half (rounded up) by the smallest predicted summed objective ``sum exp(mu)``,
    the rest greedily maximising the distance to chosen/evaluated points among the predicted
    (LCB) Pareto front; all at least ``min_distance`` from evaluated and chosen points."""
    lcb = mu - kappa * sd
    scal = np.exp(mu).sum(axis=1)
    chosen: list[int] = []
    taken = archive.copy()
    n_exploit = (batch + 1) // 2
    for i in np.argsort(scal):
        if len(chosen) >= n_exploit:
            break
        if _far_enough(Xc[i], taken, min_distance):
            chosen.append(int(i))
            taken = np.vstack([taken, Xc[i]])
    front = np.flatnonzero(_pareto_mask(lcb))
    pool = [int(i) for i in front if i not in chosen]
    while len(chosen) < batch and pool:
        dist = [np.min(np.linalg.norm(taken - Xc[i], axis=1)) if taken.size else np.inf
                for i in pool]
        j = int(np.argmax(dist))
        if dist[j] <= min_distance:
            break
        chosen.append(pool.pop(j))
        taken = np.vstack([taken, Xc[chosen[-1]]])
    for i in np.argsort(scal):               # top up from the ranking if the front ran out
        if len(chosen) >= batch:
            break
        if int(i) not in chosen and _far_enough(Xc[i], taken, min_distance):
            chosen.append(int(i))
            taken = np.vstack([taken, Xc[i]])
    return np.asarray(chosen, int)


def _inner_search(model: EnsembleRegressor, Xa: np.ndarray, Ya: np.ndarray, n_var: int,
                  n_obj: int, cfg: AssistConfig, seed: int) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """Run the inner optimiser on the ensemble's LCB; return every screened point."""
    rng = np.random.default_rng(seed)
    order = np.argsort(np.exp(Ya).sum(axis=1))
    n_seed = min(cfg.inner_pop // 2, Xa.shape[0])
    X0 = np.vstack([Xa[order[:n_seed]], rng.random((cfg.inner_pop - n_seed, n_var))])
    opt = make_optimizer(cfg.inner_algorithm, n_var, n_obj, cfg.inner_pop, seed,
                         options={"sampling": X0} if cfg.inner_algorithm in (
                             "nsga2", "ga", "spea2", "nsga3", "unsga3", "de") else None)
    Xs, Ms, Ss = [], [], []
    for _ in range(cfg.inner_generations):
        if getattr(opt, "done", False):
            break
        Xc = opt.ask()
        p = model.predict(Xc)
        mu, sd = p.mean[:, :n_obj], p.std[:, :n_obj]
        opt.tell(Xc, mu - cfg.kappa * sd, np.zeros(len(Xc), bool), None)
        Xs.append(Xc)
        Ms.append(mu)
        Ss.append(sd)
    return np.vstack(Xs), np.vstack(Ms), np.vstack(Ss)


def local_candidates(x_best: np.ndarray, length: float, n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``n`` points in the trust region of side ``length`` around ``x_best`` (unit cube); each
    perturbs a random subset of coordinates (probability ``min(1, 20/d)``, at least one)."""
    d = x_best.size
    lo = np.clip(x_best - length / 2, 0.0, 1.0)
    hi = np.clip(x_best + length / 2, 0.0, 1.0)
    pert = lo + (hi - lo) * rng.random((n, d))
    mask = rng.random((n, d)) < min(1.0, 20.0 / d)
    mask[np.arange(n), rng.integers(0, d, n)] = True
    return np.where(mask, pert, x_best)


def thompson_select(Xc: np.ndarray, members: np.ndarray, archive: np.ndarray, k: int,
                    min_distance: float, rng: np.random.Generator) -> list[int]:
    """``k`` candidates, each the best of one random ensemble member's prediction of the log
    summed objective (last output of ``members (M, n, m + 1)``), distinct from ``archive`` and
    each other."""
    score = members[..., -1]                               # (M, n): log of summed objectives
    chosen: list[int] = []
    taken = archive.copy()
    for _ in range(k):
        m = int(rng.integers(0, score.shape[0]))
        for i in np.argsort(score[m]):
            if int(i) not in chosen and _far_enough(Xc[i], taken, min_distance):
                chosen.append(int(i))
                taken = np.vstack([taken, Xc[i]])
                break
    return chosen


def surrogate_assisted_optimise(evaluator: Any, config: AssistConfig,
                                run_dir: str | os.PathLike | None = None, *,
                                resume: bool = False,
                                callback: Callable[[int, History], None] | None = None,
                                initial: np.ndarray | None = None) -> AssistedResult:
    """Minimise ``evaluator``'s objectives with surrogate pre-screening (see module docstring).

    ``initial`` (unit-cube rows) are evaluated first, as part of the initial design (e.g. the
    starting point). Returns an :class:`AssistedResult`; ``n_evals`` counts true simulations
    only."""
    t0 = time.perf_counter()
    d, m = int(evaluator.n_var), int(evaluator.n_obj)
    ckpt = Path(run_dir) / CHECKPOINT_NAME if run_dir is not None else None
    signature = {"method": "surrogate-assisted", "seed": config.seed, "n_init": config.n_init,
                 "batch": config.batch, "names": tuple(evaluator.space.names), "n_obj": m}
    hist, it, diags = History(), 0, []
    tr = {"length": config.tr_init, "fails": 0}
    fail_tol = max(2, int(np.ceil(d / max(config.batch, 1))))
    if resume:
        if ckpt is None:
            raise SurrogateError("resume: needs a run_dir holding a checkpoint")
        if ckpt.exists():
            st = load_checkpoint(ckpt)
            if st.get("signature") != signature:
                raise CheckpointError(f"{ckpt}: checkpoint was written by a different run "
                                      f"({st.get('signature')} vs {signature})")
            hist, it, diags, tr = st["history"], st["iteration"], st["diagnostics"], st["tr"]
    bar = tqdm(total=config.max_evals, initial=hist.n, desc="surrogate-assisted",
               disable=not config.progress, leave=False)
    try:
        while hist.n < config.max_evals:
            room = config.max_evals - hist.n
            diag: dict[str, float] = {"iteration": it, "tr_length": tr["length"]}
            prev_best = np.inf
            if hist.n == 0:
                n0 = min(config.n_init, room)
                X = latin_hypercube(n0, d, config.seed)
                if initial is not None:
                    X0 = np.clip(np.atleast_2d(np.asarray(initial, float)), 0.0, 1.0)[:n0]
                    X = np.vstack([X0, X[:n0 - len(X0)]])
                pred = None
            else:
                rng = np.random.default_rng(config.seed + 7919 * it)
                Xa, Fa, fa, _ = hist.arrays()
                Ya = objective_targets(Fa, fa)
                Ye = np.hstack([Ya, np.log(np.exp(Ya).sum(axis=1, keepdims=True))])
                sa = np.where(fa, np.inf, Fa.sum(axis=1))
                prev_best = float(np.min(sa))
                kw = {**config.ensemble, "seed": config.seed + it}
                tt = time.perf_counter()
                model = EnsembleRegressor(**kw).fit(Xa, Ye)
                diag["train_s"] = time.perf_counter() - tt
                k = min(config.batch, room)
                n_exp = int(round(config.explore_fraction * k)) if k > 1 else 0
                Xl = local_candidates(Xa[int(np.argmin(sa))], tr["length"], config.n_local, rng)
                pl = model.predict(Xl)
                pick = thompson_select(Xl, pl.members, Xa, k - n_exp, config.min_distance, rng)
                X, pred = Xl[pick], pl.mean[pick, :m]
                if n_exp > 0 or len(pick) < k:
                    Xc, mu, sd = _inner_search(model, Xa, Ya, d, m, config, config.seed + it)
                    arch = np.vstack([Xa, X]) if len(X) else Xa
                    idx = select_candidates(Xc, mu, sd, arch, k - len(pick), config.kappa,
                                            config.min_distance)
                    X = np.vstack([X, Xc[idx]]) if len(idx) else X
                    pred = np.vstack([pred, mu[idx]]) if len(idx) else pred
                if len(X) == 0:     # everything screened is already evaluated: explore
                    X = rng.random((k, d))
                    pred = model.predict(X).mean[:, :m]
                diag["n_train"] = float(Xa.shape[0])
            res = evaluator.evaluate(X)
            hist.add(X, res.F, res.failed, res.z if res.z is not None else
                     np.zeros((len(X), 0)))
            if pred is not None:
                ok = ~np.asarray(res.failed, bool)
                if ok.any():
                    y = objective_targets(res.F, res.failed)[ok]
                    diag["mae_log"] = float(np.mean(np.abs(pred[ok] - y)))
            s = np.where(res.failed, np.inf, res.F.sum(axis=1))
            diag["batch_best"] = float(np.min(s))
            diag["n_evals"] = float(hist.n)
            if np.isfinite(prev_best):
                if np.min(s) < prev_best - 1e-3 * abs(prev_best):
                    tr = {"length": min(tr["length"] * 1.6, config.tr_max), "fails": 0}
                else:
                    tr = {"length": tr["length"], "fails": tr["fails"] + 1}
                    if tr["fails"] >= fail_tol:
                        ln = tr["length"] / 2
                        tr = {"length": config.tr_init if ln < config.tr_min else ln, "fails": 0}
            diags.append(diag)
            it += 1
            bar.update(len(X))
            _, Fh, fh, _ = hist.arrays()
            bar.set_postfix(best=f"{np.min(np.where(fh, np.inf, Fh.sum(1))):.3g}")
            if ckpt is not None:
                save_checkpoint(ckpt, {"history": hist, "iteration": it, "diagnostics": diags,
                                       "signature": signature, "tr": tr})
            if callback is not None:
                callback(it, hist)
    finally:
        bar.close()
    return _assisted_result(evaluator, hist, it, time.perf_counter() - t0, diags)


def _assisted_result(evaluator: Any, hist: History, it: int, wall: float,
                     diags: list[dict[str, float]]) -> AssistedResult:
    X, F, failed, _ = hist.arrays()
    if X.shape[0] == 0:
        raise SurrogateError("surrogate-assisted search made no evaluations")
    s = np.where(failed, np.inf, F.sum(axis=1))
    best = int(np.argmin(s))
    ok = np.flatnonzero(~failed)
    pareto = ok[_pareto_mask(F[ok])] if ok.size else np.zeros(0, int)
    names = tuple(getattr(getattr(evaluator, "objectives", None), "names", ()) or ())
    return AssistedResult(names=tuple(evaluator.space.names), X=X, F=F, failed=failed,
                          values=evaluator.space.to_values(X), best_index=best,
                          pareto_index=pareto, n_evals=int(X.shape[0]), n_generations=it,
                          wall_s=wall, objective_names=names, diagnostics=diags)


def evaluations_to_reach(F: np.ndarray, failed: np.ndarray, threshold: float) -> float:
    """Number of evaluations until the best summed objective first falls to ``threshold``
    (``inf`` if never)."""
    s = np.where(np.asarray(failed, bool), np.inf, np.asarray(F, float).sum(axis=1))
    hit = np.flatnonzero(np.minimum.accumulate(s) <= threshold)
    return float(hit[0] + 1) if hit.size else float("inf")
