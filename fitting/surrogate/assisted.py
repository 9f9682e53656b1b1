"""Surrogate-assisted search: candidates pre-screened on a torch surrogate, few true simulations.

Works with any evaluator of the fitting contract (``evaluate(X) -> EvalResult(F, failed)``,
``n_var``, ``n_obj``, ``space``), Level 1 or Level 2. The run starts from a Latin-hypercube
design of ``n_init`` true evaluations (plus ``initial`` points, e.g. the starting values). Then,
per iteration, the surrogate is retrained on every true evaluation so far and chooses the next
``batch`` points to simulate. Two surrogates:

``model="gp"`` (default): trust-region Bayesian optimisation in the manner of TuRBO-1 (Eriksson
et al. 2019, NeurIPS), with a composite objective (Astudillo & Frazier 2019, ICML):

1. one exact Gaussian process (:class:`~fitting.surrogate.gp.GaussianProcess`, ARD Matern-5/2,
   torch float64) per objective on ``log F_j`` (``composite=True``; else one on the log of the
   summed objective); failed evaluations enter slightly above the worst success;
2. ``n_candidates`` candidates are drawn in a box around the best point so far (the trust
   region: side ``L`` scaled per coordinate by the fitted length-scales, a random subset of
   coordinates perturbed) and screened on the model only;
3. ``exploit`` slots of the batch go to the local refinement: the candidate with the smallest
   predicted summed objective, polished by a few projected gradient steps on the posterior mean
   inside the trust region; the other slots by Thompson sampling: each draws one joint posterior
   sample of every objective on the candidates and takes the minimiser of their summed
   ``exp``;
4. ``L`` doubles after ``succ_tol`` improving batches in a row, halves after ``fail_tol``
   batches without improvement and restarts at ``tr_init`` once below ``tr_min``.

``model="ensemble"``: the deep ensemble (:class:`~fitting.surrogate.ensemble.EnsembleRegressor`)
on ``log F_j`` and the log summed objective; local offspring of the best point in a trust
region (uniform side ``L``), most of the batch chosen by Thompson sampling over ensemble
members, ``explore_fraction`` of it from an inner optimiser (any name of
:mod:`fitting.algorithms`, NSGA-II by default) run on the ensemble's lower confidence bound
``mu - kappa sigma``; same trust-region rule.

``outputs="z"`` (GP only): the GPs model the evaluator's signed feature deviations ``z``
instead of the objectives, and the objectives are computed from them by the known map of
:mod:`fitting.surrogate.zmodel` (behaviour objectives: mean capped ``|z|`` per condition). The
features are smooth where the objectives have kinks (``|z|`` at the target) and plateaus (the
cap); same trust region, exploitation and Thompson sampling, on the computed objective.
Options of this mode: ``candidates="offspring"`` screens offspring of the best evaluated points
(NSGA-II's crossover and mutation, :mod:`fitting.surrogate.offspring`) instead of trust-region
points: the evolutionary search with its offspring pre-screened on the GPs, only the chosen
few simulated; ``split_saturated`` models deviations at the cap (undefined features: a
paralysed worm has no wavelength) by an indicator GP per feature
(:class:`~fitting.surrogate.zmodel.ZModels`); ``global_candidates`` adds whole-cube points to
the Thompson-sampling slots.

Chosen points are mutually distinct and distinct from the archive (``min_distance``). A
checkpoint (history, trust-region state, fitted GP hyperparameters, diagnostics) is written
atomically after every iteration; resume continues exactly (each iteration is seeded by
``seed`` and the iteration number). Per iteration the diagnostics record how well the surrogate
predicted the batch before it was simulated (out-of-sample error in log objective units).
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
from fitting.surrogate.gp import GaussianProcess, torch_single_thread
from fitting.surrogate.offspring import offspring_candidates
from fitting.surrogate.region import box_candidates, far_enough, trust_region_box
from fitting.surrogate.zmodel import (
    ZObjective,
    check_z_objective,
    propose_z,
    z_objective_of,
    z_targets,
)

_LOG_EPS = 1e-6


@dataclass(frozen=True)
class AssistConfig:
    """Settings of :func:`surrogate_assisted_optimise`.

    Attributes:
        max_evals: budget of true evaluations.
        n_init: size of the initial Latin-hypercube design (true evaluations); ``None``:
            ``max(10, 2 d + 2)`` for ``d`` parameters.
        batch: true evaluations per iteration.
        model: ``"gp"`` (Gaussian processes, trust-region Thompson sampling) or
            ``"ensemble"`` (deep ensemble; see the module docstring).
        composite: GP: one model per objective (else one for their sum).
        n_candidates: GP: candidates screened per iteration.
        exploit: GP: batch slots given to the refined posterior-mean minimiser.
        succ_tol: GP and ensemble: improving batches in a row that double the trust region.
        fail_tol: batches in a row without improvement that halve it; ``None``: GP
            ``ceil(max(4, d) / batch)`` (TuRBO, Eriksson et al. 2019), ensemble
            ``max(2, ceil(d / batch))``.
        gp: keyword arguments of :class:`~fitting.surrogate.gp.GaussianProcess`.
        inner_algorithm, inner_pop, inner_generations: the search on the surrogate.
        kappa: exploration weight of the lower confidence bound (inner search, front).
        explore_fraction: share of each batch taken from the inner optimiser's front.
        tr_init, tr_min, tr_max: trust-region side lengths (unit cube; GP: before the
            per-coordinate length-scale weights).
        n_local: ensemble: local candidates screened per iteration.
        min_distance: candidates closer than this (unit cube, Euclidean) to an evaluated or
            already chosen point are not simulated.
        ensemble: keyword arguments of :class:`EnsembleRegressor`.
        seed: base seed.
        progress: show a progress bar.
        outputs: what the GPs model: ``"objectives"`` (log objectives) or ``"z"`` (signed
            feature deviations, objectives computed from them; behaviour evaluators).
        split_saturated: ``outputs="z"``: model deviations at the cap (undefined features,
            failures) by a separate indicator GP per feature instead of as values
            (:class:`~fitting.surrogate.zmodel.ZModels`).
        global_candidates: ``outputs="z"``: uniform points of the whole cube added to the
            trust region's candidates of the Thompson-sampling slots (0: local only).
        candidates: ``outputs="z"``: what the GPs screen: ``"region"`` (points of the trust
            region) or ``"offspring"`` (``n_candidates`` offspring of the best ``n_parents``
            evaluated points by NSGA-II's crossover and mutation,
            :mod:`fitting.surrogate.offspring`: a pre-screened evolutionary search).
    """

    max_evals: int = 100
    n_init: int | None = None
    batch: int = 4
    model: str = "gp"
    composite: bool = True
    n_candidates: int = 1000
    exploit: int = 1
    succ_tol: int = 3
    fail_tol: int | None = None
    gp: dict[str, Any] = field(default_factory=dict)
    inner_algorithm: str = "nsga2"
    inner_pop: int = 48
    inner_generations: int = 25
    kappa: float = 1.0
    explore_fraction: float = 0.25
    tr_init: float = 0.8
    tr_min: float = 0.5 ** 7
    tr_max: float = 1.6
    n_local: int = 1000
    min_distance: float = 1e-3
    ensemble: dict[str, Any] = field(default_factory=lambda: {
        "n_members": 5, "hidden": (64, 64), "epochs": 500, "heteroscedastic": False,
        "weight_decay": 1e-4})
    seed: int = 0
    progress: bool = True
    outputs: str = "objectives"
    split_saturated: bool = False
    global_candidates: int = 0
    candidates: str = "region"
    n_parents: int = 12

    def __post_init__(self) -> None:
        for name in ("max_evals", "batch", "inner_pop", "inner_generations", "n_candidates",
                     "succ_tol"):
            if int(getattr(self, name)) < 1:
                raise SurrogateError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.fail_tol is not None and int(self.fail_tol) < 1:
            raise SurrogateError(f"fail_tol: must be >= 1 (or None), got {self.fail_tol}")
        if self.n_init is not None and self.n_init < 2:
            raise SurrogateError(f"n_init: need >= 2 initial evaluations, got {self.n_init}")
        if self.outputs not in ("objectives", "z"):
            raise SurrogateError(f"outputs: expected 'objectives' or 'z', got {self.outputs!r}")
        if self.model not in ("gp", "ensemble"):
            raise SurrogateError(f"model: expected 'gp' or 'ensemble', got {self.model!r}")
        if self.exploit < 0:
            raise SurrogateError(f"exploit: must be >= 0, got {self.exploit}")
        if self.kappa < 0:
            raise SurrogateError(f"kappa: must be >= 0, got {self.kappa}")
        if self.candidates not in ("region", "offspring"):
            raise SurrogateError(f"candidates: expected 'region' or 'offspring', got "
                                 f"{self.candidates!r}")
        if self.n_parents < 2:
            raise SurrogateError(f"n_parents: need >= 2, got {self.n_parents}")
        if self.global_candidates < 0:
            raise SurrogateError(f"global_candidates: must be >= 0, got "
                                 f"{self.global_candidates}")
        if self.outputs != "z" and (self.candidates != "region" or self.split_saturated
                                    or self.global_candidates):
            raise SurrogateError("candidates='offspring', split_saturated and "
                                 "global_candidates are options of outputs='z'")
        if not 0 < self.tr_min <= self.tr_init <= self.tr_max:
            raise SurrogateError(f"trust region: need 0 < tr_min <= tr_init <= tr_max, got "
                                 f"{self.tr_min}, {self.tr_init}, {self.tr_max}")

    def initial_size(self, d: int) -> int:
        """Size of the initial design for ``d`` parameters."""
        return int(self.n_init) if self.n_init is not None else max(10, 2 * int(d) + 2)


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
        if far_enough(Xc[i], taken, min_distance):
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
        if int(i) not in chosen and far_enough(Xc[i], taken, min_distance):
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
            if int(i) not in chosen and far_enough(Xc[i], taken, min_distance):
                chosen.append(int(i))
                taken = np.vstack([taken, Xc[i]])
                break
    return chosen


def _refine_on_mean(models: list[GaussianProcess], x0: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray, steps: int = 60) -> np.ndarray:
    """Projected Adam steps on the predicted summed objective ``sum_j exp(mean_j)`` inside the
    box, from ``x0``; returns the best point visited."""
    import torch

    with torch_single_thread():
        return _refine(models, x0, lo, hi, steps, torch)


def _refine(models: list[GaussianProcess], x0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            steps: int, torch: Any) -> np.ndarray:
    x = torch.tensor(x0[None], dtype=torch.float64, requires_grad=True)
    lo_t = torch.as_tensor(lo, dtype=torch.float64)
    hi_t = torch.as_tensor(hi, dtype=torch.float64)
    opt = torch.optim.Adam([x], lr=0.02 * float(np.max(hi - lo)) + 1e-6)
    best_x, best_v = x0.copy(), np.inf
    for _ in range(steps):
        opt.zero_grad()
        v = sum(torch.exp(m.mean_torch(x)) for m in models).sum()
        fv = float(v.detach())
        if fv < best_v:
            best_x, best_v = x.detach().numpy()[0].copy(), fv
        v.backward()
        opt.step()
        with torch.no_grad():
            x.copy_(torch.maximum(torch.minimum(x, hi_t), lo_t))
    return best_x


def _gp_propose(Xa: np.ndarray, Ya: np.ndarray, k: int, length: float, config: AssistConfig,
                seed: int, warm: list[np.ndarray] | None
                ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], dict[str, float]]:
    """GP trust-region proposal (see the module docstring). ``Ya`` are the log objective
    targets (one column per objective). Returns the points, their predicted log summed
    objective, the fitted hyperparameters and diagnostics."""
    cols = [Ya[:, j] for j in range(Ya.shape[1])] if config.composite else \
        [np.log(np.exp(Ya).sum(axis=1))]
    t0 = time.perf_counter()
    models = []
    for j, y in enumerate(cols):
        wr = warm[j] if warm is not None and j < len(warm) else None
        models.append(GaussianProcess(**{"seed": seed + 31 * j, **config.gp}).fit(
            Xa, y, warm_raw=wr))
    diag = {"train_s": time.perf_counter() - t0}
    rng = np.random.default_rng(seed)
    s = np.exp(Ya).sum(axis=1)
    x_best = Xa[int(np.argmin(s))]
    ls = np.exp(np.mean([np.log(m.lengthscales) for m in models], axis=0))
    lo, hi = trust_region_box(x_best, length, ls)
    C = box_candidates(x_best, lo, hi, config.n_candidates, rng)
    chosen: list[np.ndarray] = []
    taken = Xa.copy()

    def _take(x: np.ndarray) -> bool:
        nonlocal taken
        if far_enough(x, taken, config.min_distance):
            chosen.append(x)
            taken = np.vstack([taken, x])
            return True
        return False

    n_exploit = min(config.exploit, k)
    if n_exploit:
        mu_sum = sum(np.exp(m.predict(C)[0]) for m in models)
        for i in np.argsort(mu_sum)[:n_exploit]:
            x = _refine_on_mean(models, C[i], lo, hi)
            if not _take(x):
                _take(C[i])
    n_ts = k - len(chosen)
    if n_ts > 0:
        draws = sum(np.exp(m.sample(C, n_ts, seed=seed + 101 * j)) for j, m in enumerate(models))
        for r in range(n_ts):
            for i in np.argsort(draws[r]):
                if _take(C[i]):
                    break
    X = np.array(chosen).reshape(-1, Xa.shape[1])
    pred = np.log(sum(np.exp(m.predict(X)[0]) for m in models)) if len(X) else np.zeros(0)
    diag["lengthscale_min"] = float(np.min(ls))
    return X, pred, [m.raw for m in models], diag


def surrogate_assisted_optimise(evaluator: Any, config: AssistConfig,
                                run_dir: str | os.PathLike | None = None, *,
                                resume: bool = False,
                                callback: Callable[[int, History], None] | None = None,
                                initial: np.ndarray | None = None,
                                z_objective: ZObjective | None = None) -> AssistedResult:
    """Minimise ``evaluator``'s objectives with surrogate pre-screening (see module docstring).

    ``initial`` (unit-cube rows) are evaluated first, as part of the initial design (e.g. the
    starting point). With ``config.outputs == "z"`` the GPs model the evaluator's signed
    feature deviations ``z`` and the objectives follow from them by ``z_objective`` (default
    :func:`~fitting.surrogate.zmodel.z_objective_of` the evaluator, checked against the true
    objectives of every evaluated batch). Returns an :class:`AssistedResult`; ``n_evals``
    counts true simulations only."""
    t0 = time.perf_counter()
    d, m = int(evaluator.n_var), int(evaluator.n_obj)
    n_init = config.initial_size(d)
    zobj = None
    if config.outputs == "z":
        if config.model != "gp":
            raise SurrogateError("outputs='z' needs model='gp'")
        zobj = z_objective if z_objective is not None else z_objective_of(evaluator)
    ckpt = Path(run_dir) / CHECKPOINT_NAME if run_dir is not None else None
    signature = {"method": "surrogate-assisted", "model": config.model, "seed": config.seed,
                 "n_init": n_init, "batch": config.batch,
                 "names": tuple(evaluator.space.names), "n_obj": m}
    if config.outputs != "objectives":      # (checkpoints of objective-GP runs stay valid)
        signature["outputs"] = config.outputs
    for opt, default in (("candidates", "region"), ("split_saturated", False),
                         ("global_candidates", 0), ("n_parents", 12)):
        if getattr(config, opt) != default and (opt != "n_parents" or
                                                config.candidates == "offspring"):
            signature[opt] = getattr(config, opt)       # (earlier checkpoints stay valid)
    hist, it, diags = History(), 0, []
    tr: dict[str, Any] = {"length": config.tr_init, "fails": 0, "succ": 0, "gp": None}
    if config.fail_tol is not None:
        fail_tol = int(config.fail_tol)
    elif config.model == "gp":
        fail_tol = int(np.ceil(max(4.0 / config.batch, d / config.batch)))
    else:
        fail_tol = max(2, int(np.ceil(d / config.batch)))
    if resume:
        if ckpt is None:
            raise SurrogateError("resume: needs a run_dir holding a checkpoint")
        if ckpt.exists():
            st = load_checkpoint(ckpt)
            if st.get("signature") != signature:
                raise CheckpointError(f"{ckpt}: checkpoint was written by a different run "
                                      f"({st.get('signature')} vs {signature})")
            hist, it, diags = st["history"], st["iteration"], st["diagnostics"]
            tr = {"succ": 0, "gp": None, **st["tr"]}
    bar = tqdm(total=config.max_evals, initial=hist.n, desc="surrogate-assisted",
               disable=not config.progress, leave=False)
    try:
        while hist.n < config.max_evals:
            room = config.max_evals - hist.n
            diag: dict[str, float] = {"iteration": it, "tr_length": tr["length"]}
            prev_best = np.inf
            pred_sum = None
            if hist.n == 0:
                n0 = min(n_init, room)
                X = latin_hypercube(n0, d, config.seed)
                if initial is not None:
                    X0 = np.clip(np.atleast_2d(np.asarray(initial, float)), 0.0, 1.0)[:n0]
                    X = np.vstack([X0, X[:n0 - len(X0)]])
                pred = None
            else:
                seed_it = config.seed + 7919 * it
                rng = np.random.default_rng(seed_it)
                Xa, Fa, fa, Za = hist.arrays()
                Ya = objective_targets(Fa, fa)
                sa = np.where(fa, np.inf, Fa.sum(axis=1))
                prev_best = float(np.min(sa))
                k = min(config.batch, room)
                pred = None
                if zobj is not None:
                    Fz = np.where(fa[:, None], np.inf, Fa)
                    kids = offspring_candidates(Xa, sa, config.n_candidates, config.n_parents,
                                                rng) if config.candidates == "offspring" \
                        else None
                    X, pred_sum, raws, gd = propose_z(
                        Xa, z_targets(Za, fa, zobj.cap), Fz, k, tr["length"], zobj,
                        config.gp, config.n_candidates, config.exploit, config.min_distance,
                        seed_it, tr.get("gp"), split_saturated=config.split_saturated,
                        n_global=config.global_candidates, candidates=kids)
                    tr = {**tr, "gp": raws}
                    diag.update(gd)
                elif config.model == "gp":
                    X, pred_sum, raws, gd = _gp_propose(Xa, Ya, k, tr["length"], config,
                                                        seed_it, tr.get("gp"))
                    tr = {**tr, "gp": raws}
                    diag.update(gd)
                else:
                    X, pred, gd = _ensemble_propose(Xa, Ya, sa, k, tr["length"], d, m, config,
                                                    it, rng)
                    diag.update(gd)
                if len(X) == 0:     # everything screened is already evaluated: explore
                    X = rng.random((k, d))
                    pred, pred_sum = None, None
                diag["n_train"] = float(Xa.shape[0])
            res = evaluator.evaluate(X)
            if zobj is not None:
                if res.z is None:
                    raise SurrogateError("outputs='z': the evaluator returns no deviations z")
                check_z_objective(zobj, np.asarray(res.z, float), np.asarray(res.F, float),
                                  res.failed)
            hist.add(X, res.F, res.failed, res.z if res.z is not None else
                     np.zeros((len(X), 0)))
            ok = ~np.asarray(res.failed, bool)
            if ok.any() and (pred is not None or pred_sum is not None):
                y = objective_targets(res.F, res.failed)[ok]
                if pred is not None:
                    diag["mae_log"] = float(np.mean(np.abs(pred[ok] - y)))
                else:
                    ys = np.log(np.exp(y).sum(axis=1))
                    diag["mae_log"] = float(np.mean(np.abs(np.asarray(pred_sum)[ok] - ys)))
            s = np.where(res.failed, np.inf, res.F.sum(axis=1))
            diag["batch_best"] = float(np.min(s))
            diag["n_evals"] = float(hist.n)
            if np.isfinite(prev_best):
                tr = _update_trust_region(tr, bool(np.min(s) < prev_best - 1e-3 * abs(
                    prev_best)), config, fail_tol)
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


def _update_trust_region(tr: dict[str, Any], improved: bool, config: AssistConfig,
                         fail_tol: int) -> dict[str, Any]:
    """Grow after ``succ_tol`` improving batches in a row (the ensemble: after each), shrink
    after ``fail_tol`` failing ones, restart at ``tr_init`` below ``tr_min``."""
    length, fails, succ = tr["length"], tr["fails"], tr.get("succ", 0)
    if improved:
        fails, succ = 0, succ + 1
        grow_after = config.succ_tol if config.model == "gp" else 1
        if succ >= grow_after:
            length, succ = min(length * (2.0 if config.model == "gp" else 1.6), config.tr_max), 0
    else:
        fails, succ = fails + 1, 0
        if fails >= fail_tol:
            length, fails = length / 2, 0
            if length < config.tr_min:
                length = config.tr_init
    return {**tr, "length": length, "fails": fails, "succ": succ}


def _ensemble_propose(Xa: np.ndarray, Ya: np.ndarray, sa: np.ndarray, k: int, length: float,
                      d: int, m: int, config: AssistConfig, it: int, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray | None, dict[str, float]]:
    """Deep-ensemble proposal (see the module docstring); returns the points, their predicted
    log objectives and diagnostics."""
    Ye = np.hstack([Ya, np.log(np.exp(Ya).sum(axis=1, keepdims=True))])
    kw = {**config.ensemble, "seed": config.seed + it}
    tt = time.perf_counter()
    model = EnsembleRegressor(**kw).fit(Xa, Ye)
    diag = {"train_s": time.perf_counter() - tt}
    n_exp = int(round(config.explore_fraction * k)) if k > 1 else 0
    Xl = local_candidates(Xa[int(np.argmin(sa))], length, config.n_local, rng)
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
    return X, pred, diag


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
