"""Optimisation algorithms behind one ask/tell interface (all picklable for checkpoints).

``make_optimizer(name, n_var, n_obj, pop_size, seed, ...)`` returns an object with
``ask() -> X (n, d)`` (unit cube), ``tell(X, F, failed, z)`` and ``done``. Names:

- any pymoo algorithm: ``nsga2`` (default), ``nsga3``, ``unsga3``, ``moead``, ``spea2``,
  ``age``, ``sms``, ``rnsga2`` (needs options), ``ga``, ``de``, ``cmaes``, ``pso``, ``es``,
  ``sres``, ``nelder-mead-pymoo``, ``pattern``, or ``"module:Class"`` for any other;
- ``sa`` simulated annealing (parallel Metropolis chains; pymoo has none), ``random``,
  ``grid`` (written here);
- ``powell`` / ``nelder-mead`` (scipy, local derivative-free) and ``gradient`` (torch Adam,
  helper in ``celegans.torchsim.gradfit``) are run by :mod:`fitting.level1` directly.

Single-objective algorithms minimise the sum of the objectives.
"""

from __future__ import annotations

import importlib
import itertools
from typing import Any

import numpy as np
from pymoo.core.evaluator import Evaluator as PymooEvaluator
from pymoo.core.problem import Problem
from pymoo.core.termination import NoTermination
from pymoo.problems.static import StaticProblem

PYMOO_ALGORITHMS: dict[str, tuple[str, bool]] = {
    # name: (import path, multi-objective)
    "nsga2": ("pymoo.algorithms.moo.nsga2:NSGA2", True),
    "nsga3": ("pymoo.algorithms.moo.nsga3:NSGA3", True),
    "unsga3": ("pymoo.algorithms.moo.unsga3:UNSGA3", True),
    "moead": ("pymoo.algorithms.moo.moead:MOEAD", True),
    "spea2": ("pymoo.algorithms.moo.spea2:SPEA2", True),
    "age": ("pymoo.algorithms.moo.age:AGEMOEA", True),
    "sms": ("pymoo.algorithms.moo.sms:SMSEMOA", True),
    "rnsga2": ("pymoo.algorithms.moo.rnsga2:RNSGA2", True),
    "ga": ("pymoo.algorithms.soo.nonconvex.ga:GA", False),
    "de": ("pymoo.algorithms.soo.nonconvex.de:DE", False),
    "cmaes": ("pymoo.algorithms.soo.nonconvex.cmaes:CMAES", False),
    "pso": ("pymoo.algorithms.soo.nonconvex.pso:PSO", False),
    "es": ("pymoo.algorithms.soo.nonconvex.es:ES", False),
    "sres": ("pymoo.algorithms.soo.nonconvex.sres:SRES", False),
    "nelder-mead-pymoo": ("pymoo.algorithms.soo.nonconvex.nelder:NelderMead", False),
    "pattern": ("pymoo.algorithms.soo.nonconvex.pattern:PatternSearch", False),
}
OWN_ALGORITHMS = ("sa", "random", "grid")
DRIVER_ALGORITHMS = ("powell", "nelder-mead", "gradient")
ALGORITHMS = (*PYMOO_ALGORITHMS, *OWN_ALGORITHMS, *DRIVER_ALGORITHMS)
_NEEDS_REF_DIRS = ("nsga3", "unsga3", "moead")


class AlgorithmError(ValueError):
    """Unknown algorithm or bad algorithm options."""


def _import(path: str) -> Any:
    mod, _, cls = path.partition(":")
    try:
        return getattr(importlib.import_module(mod), cls)
    except (ImportError, AttributeError, ValueError) as exc:
        raise AlgorithmError(f"algorithm {path!r} cannot be imported ({exc})") from None


class UnitProblem(Problem):
    """The problem pymoo sees: ``n_var`` coordinates in [0, 1], ``n_obj`` objectives; it is
    never evaluated by pymoo (evaluation happens in the injected evaluator)."""

    def __init__(self, n_var: int, n_obj: int) -> None:
        super().__init__(n_var=n_var, n_obj=n_obj, xl=np.zeros(n_var), xu=np.ones(n_var))

    def _evaluate(self, x, out, *args, **kwargs):  # pragma: no cover - never called
        raise RuntimeError("UnitProblem is evaluated by fitting.evaluator, not pymoo")


class PymooOptimizer:
    """A pymoo algorithm driven by ask/tell."""

    def __init__(self, name: str, n_var: int, n_obj: int, pop_size: int, seed: int,
                 options: dict[str, Any] | None = None, mutation: Any = None) -> None:
        options = dict(options or {})
        if ":" in name:
            cls, multi = _import(name), True
        elif name in PYMOO_ALGORITHMS:
            path, multi = PYMOO_ALGORITHMS[name]
            cls = _import(path)
        else:
            raise AlgorithmError(f"algorithm: unknown {name!r}; expected one of {ALGORITHMS} "
                                 "or 'module:Class'")
        self.multi = multi
        self.n_obj = n_obj if multi else 1
        kw: dict[str, Any] = {}
        if name in _NEEDS_REF_DIRS and "ref_dirs" not in options:
            from math import comb

            from pymoo.util.ref_dirs import get_reference_directions

            m = max(n_obj, 2)
            parts = 1
            while comb(parts + 1 + m - 1, m - 1) <= pop_size and parts < 12:
                parts += 1  # as many directions as the population holds
            kw["ref_dirs"] = get_reference_directions("das-dennis", m, n_partitions=parts)
        if name == "cmaes":
            kw["x0"] = np.full(n_var, 0.5)
            kw["sigma"] = options.pop("sigma", 0.25)
            kw["popsize"] = pop_size
            kw["restarts"] = options.pop("restarts", 0)
        elif name not in ("nelder-mead-pymoo", "pattern", "moead"):
            kw["pop_size"] = pop_size
        if mutation is not None:
            if name not in ("nsga2", "nsga3", "unsga3", "ga", "spea2", "age", "sms", "rnsga2"):
                raise AlgorithmError(f"algorithm {name!r}: the state-mutating operator needs a "
                                     "GA-type algorithm (ga, nsga2, nsga3, ...)")
            kw["mutation"] = mutation
        if name in ("nsga2", "ga", "spea2", "nsga3", "unsga3"):
            kw.setdefault("eliminate_duplicates", True)
        kw.update(options)
        try:
            self.algorithm = cls(**kw)
        except TypeError as exc:
            raise AlgorithmError(f"algorithm {name!r}: bad options {sorted(kw)} ({exc})") from None
        self.problem = UnitProblem(n_var, self.n_obj)
        self.algorithm.setup(self.problem, termination=NoTermination(), seed=seed,
                             verbose=False)
        opts = getattr(self.algorithm, "options", None)
        if name == "cmaes" and isinstance(opts, dict):
            # cma treats seed 0 (and None) as "seed from the clock": keep runs reproducible
            opts["seed"] = int(seed) + 1
        self._pop = None

    @property
    def done(self) -> bool:
        return not self.algorithm.has_next()

    def ask(self) -> np.ndarray:
        self._pop = self.algorithm.ask()
        return np.clip(np.asarray(self._pop.get("X"), float), 0.0, 1.0)

    def tell(self, X: np.ndarray, F: np.ndarray, failed: np.ndarray,
             z: np.ndarray | None = None) -> None:
        F = np.asarray(F, float)
        if not self.multi:
            F = F.sum(axis=1, keepdims=True)
        pop = self._pop
        PymooEvaluator().eval(StaticProblem(self.problem, F=F), pop)
        self.algorithm.tell(infills=pop)
        self._pop = None


class RandomSearch:
    """Uniform random sampling of the unit cube; ``sampling`` (unit-cube rows, e.g. the
    starting point) are evaluated first, in the first batch(es), like a GA's initial
    population."""

    multi = False

    def __init__(self, n_var: int, pop_size: int, seed: int,
                 sampling: np.ndarray | None = None, **_: Any) -> None:
        self.n_var, self.pop_size = n_var, pop_size
        self.rng = np.random.default_rng(seed)
        self.done = False
        self._pending = np.zeros((0, n_var))
        if sampling is not None:
            S = np.atleast_2d(np.asarray(sampling, float))
            if S.ndim != 2 or S.shape[1] != n_var or not np.all((S >= 0) & (S <= 1)):
                raise AlgorithmError(f"random: sampling must be rows of {n_var} unit-cube "
                                     f"values in [0, 1], got shape {S.shape}")
            self._pending = S

    def ask(self) -> np.ndarray:
        first, self._pending = self._pending[:self.pop_size], self._pending[self.pop_size:]
        return np.vstack([first, self.rng.random((self.pop_size - len(first), self.n_var))])

    def tell(self, X, F, failed, z=None) -> None:
        return None


class GridSearch:
    """Full-factorial grid with ``points_per_dim`` levels (default: from the budget)."""

    multi = False

    def __init__(self, n_var: int, pop_size: int, seed: int, budget: int = 1000,
                 points_per_dim: int | None = None, **_: Any) -> None:
        k = points_per_dim or max(2, int(np.floor(budget ** (1.0 / n_var) + 1e-9)))
        self.levels = np.linspace(0.0, 1.0, k)
        self.n_var, self.pop_size = n_var, pop_size
        self.total = k ** n_var
        self.pos = 0

    @property
    def done(self) -> bool:
        return self.pos >= self.total

    def ask(self) -> np.ndarray:
        stop = min(self.pos + self.pop_size, self.total)
        it = itertools.islice(itertools.product(self.levels, repeat=self.n_var), self.pos, stop)
        X = np.array(list(it), float).reshape(-1, self.n_var)
        self.pos = stop
        return X


    def tell(self, X, F, failed, z=None) -> None:
        return None


class SimulatedAnnealing:
    """Parallel simulated annealing (Kirkpatrick et al. 1983) on the summed objectives.

    ``pop_size`` independent Metropolis chains on ``log(sum F)`` (scale-free); Gaussian
    proposals of width ``step * T/T0`` (floored at ``min_step``); geometric cooling
    ``T <- alpha T`` each generation; ``T0 = t0_fraction * std`` of the first evaluations'
    energies. Failed proposals are always rejected.
    """

    multi = False

    def __init__(self, n_var: int, pop_size: int, seed: int, step: float = 0.15,
                 alpha: float = 0.85, min_step: float = 0.005, t0_fraction: float = 0.3,
                 **_: Any) -> None:
        self.t0_fraction = t0_fraction
        self.n_var, self.pop_size = n_var, pop_size
        self.rng = np.random.default_rng(seed)
        self.step, self.alpha, self.min_step = step, alpha, min_step
        self.x: np.ndarray | None = None
        self.f: np.ndarray | None = None
        self.T0 = self.T = 1.0
        self.done = False

    def ask(self) -> np.ndarray:
        if self.x is None:
            return self.rng.random((self.pop_size, self.n_var))
        width = max(self.step * self.T / self.T0, self.min_step)
        return np.clip(self.x + self.rng.normal(0.0, width, self.x.shape), 0.0, 1.0)

    def tell(self, X, F, failed, z=None) -> None:
        with np.errstate(divide="ignore"):
            f = np.where(np.asarray(failed, bool), np.inf,
                         np.log(np.asarray(F, float).sum(axis=1) + 1e-12))
        if self.x is None:
            self.x, self.f = np.array(X, float), f
            fin = f[np.isfinite(f)]
            sd = float(np.std(fin)) if fin.size > 1 else 0.0
            self.T0 = self.T = self.t0_fraction * sd if sd > 0 else 1.0
            return
        assert self.f is not None
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(-(f - self.f) / max(self.T, 1e-300))
        accept = np.isfinite(f) & ((f <= self.f) | (self.rng.random(f.size) < p))
        self.x[accept] = X[accept]
        self.f[accept] = f[accept]
        self.T *= self.alpha


def make_optimizer(name: str, n_var: int, n_obj: int, pop_size: int, seed: int, *,
                   budget: int = 1000, options: dict[str, Any] | None = None,
                   mutation: Any = None) -> Any:
    """An ask/tell optimiser by name (see module docstring)."""
    if not isinstance(name, str) or not name:
        raise AlgorithmError(f"algorithm: expected a name, got {name!r}")
    key = name.lower()
    if pop_size < 1:
        raise AlgorithmError(f"pop_size: must be >= 1, got {pop_size}")
    options = dict(options or {})
    if key in OWN_ALGORITHMS and mutation is not None:
        raise AlgorithmError(f"algorithm {name!r}: the state-mutating operator needs a GA")
    if key == "random":
        return RandomSearch(n_var, pop_size, seed, options.get("sampling"))
    if key == "grid":
        return GridSearch(n_var, pop_size, seed, budget=budget, **options)
    if key == "sa":
        return SimulatedAnnealing(n_var, pop_size, seed, **options)
    if key in DRIVER_ALGORITHMS:
        raise AlgorithmError(f"algorithm {name!r} is run by fitting.level1 (not ask/tell)")
    return PymooOptimizer(name if ":" in name else key, n_var, n_obj, pop_size, seed, options,
                          mutation)
