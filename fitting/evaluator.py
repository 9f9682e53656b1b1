"""The evaluator: parameters in, objectives out — the only thing an optimiser sees.

``Evaluator.evaluate(X)`` takes unit-cube coordinates ``(n, d)``, simulates through the injected
executor, resamples responses onto the target's time grid, and scores them. A failed or exploding
simulation gets the finite ``penalty`` in every objective and ``failed = True``; the run goes on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from fitting.executors import BatchedExecutor, Executor, Outcome
from fitting.objectives import ObjectiveSet
from fitting.simulator import SimSpec
from fitting.space import ParamSpace


@dataclass
class EvalResult:
    """Objectives of a batch.

    Attributes:
        F: ``(n, m)`` objective values (``penalty`` where failed).
        failed: ``(n,)`` True where the simulation failed.
        features: raw features ``{name: (n, S_f)}`` (NaN where failed).
        z: ``(n, k)`` signed mean feature deviation in SD (0 where failed).
        rmse: ``(n, S)`` trace RMSE per sweep (inf where failed).
        reasons: failure reason per row ("" when fine).
    """

    F: np.ndarray
    failed: np.ndarray
    features: dict[str, np.ndarray] = field(default_factory=dict)
    z: np.ndarray | None = None
    rmse: np.ndarray | None = None
    reasons: list[str] = field(default_factory=list)


def resample_onto(t_src: np.ndarray, y: np.ndarray, t_dst: np.ndarray) -> np.ndarray:
    """Linear interpolation along the last axis from ``t_src`` onto ``t_dst`` (clamped ends)."""
    t_src = np.asarray(t_src, float)
    if t_src.shape == t_dst.shape and np.allclose(t_src, t_dst, atol=1e-9):
        return y
    i1 = np.clip(np.searchsorted(t_src, t_dst), 1, t_src.size - 1)
    i0 = i1 - 1
    w = np.clip((t_dst - t_src[i0]) / (t_src[i1] - t_src[i0]), 0.0, 1.0)
    return y[..., i0] * (1 - w) + y[..., i1] * w


class Evaluator:
    """Scores parameter sets against a target (see module docstring).

    Args:
        space: the fitted parameters and their unit-cube mapping.
        spec: how to simulate (model, backend, dt, fixed values).
        objectives: objective set built on the target recording.
        executor: injected executor (default :class:`BatchedExecutor`).
        penalty: objective value of a failed evaluation (finite).
    """

    def __init__(self, space: ParamSpace, spec: SimSpec, objectives: ObjectiveSet,
                 executor: Executor | None = None, penalty: float = 1e3) -> None:
        if not np.isfinite(penalty):
            raise ValueError(f"penalty: must be finite, got {penalty}")
        self.space = space
        self.spec = spec.with_fixed(space.fixed)
        self.objectives = objectives
        self.executor = executor or BatchedExecutor()
        self.penalty = float(penalty)
        self.n_evals = 0
        self.sim_seconds = 0.0

    @property
    def n_var(self) -> int:
        return self.space.d

    @property
    def n_obj(self) -> int:
        return self.objectives.n_obj

    @property
    def protocol(self):
        """The target's protocol with its duration rounded up to a whole number of steps."""
        p = self.objectives.target.protocol
        dt = self.spec.dt_ms
        n = math.ceil(p.duration_ms / dt - 1e-9)
        return p if abs(n * dt - p.duration_ms) < 1e-9 else replace(p, duration_ms=n * dt)

    def simulate(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Responses on the target grid ``(n, S, T)`` (NaN rows where failed), failed, reasons."""
        X = np.atleast_2d(np.asarray(X, float))
        if X.shape[1] != self.space.d:
            raise ValueError(f"evaluate: X must have {self.space.d} columns "
                             f"({', '.join(self.space.names)}), got {X.shape}")
        t0 = time.perf_counter()
        outs: list[Outcome] = self.executor.run(self.spec, self.protocol, self.space.to_dicts(X))
        self.sim_seconds += time.perf_counter() - t0
        tgt = self.objectives.target
        n, S, T = X.shape[0], tgt.n_sweeps, tgt.time_ms.size
        Y = np.full((n, S, T), np.nan)
        failed = np.zeros(n, bool)
        reasons = []
        for i, o in enumerate(outs):
            if o.failed or o.y is None or o.y.shape[0] != S:
                failed[i] = True
                reasons.append(o.reason or "wrong number of sweeps returned")
                continue
            Y[i] = resample_onto(o.time_ms, o.y, tgt.time_ms)
            reasons.append("")
        bad = ~np.all(np.isfinite(Y), axis=(1, 2)) & ~failed
        for i in np.flatnonzero(bad):
            failed[i] = True
            reasons[i] = "non-finite response"
        self.n_evals += n
        return Y, failed, reasons

    def evaluate(self, X: np.ndarray) -> EvalResult:
        """Objectives of unit-cube points ``X`` ``(n, d)``."""
        Y, failed, reasons = self.simulate(X)
        n = Y.shape[0]
        F = np.full((n, self.n_obj), self.penalty)
        k = len(self.objectives.feature_names)
        z = np.zeros((n, k))
        S = Y.shape[1]
        r = np.full((n, S), np.inf)
        feats: dict[str, np.ndarray] = {}
        ok = ~failed
        if ok.any():
            sc = self.objectives.score(Y[ok])
            F[ok] = np.minimum(sc.F, self.penalty)
            z[ok] = sc.z
            r[ok] = sc.rmse
            for name, v in sc.features.items():
                full = np.full((n, v.shape[1]), np.nan)
                full[ok] = v
                feats[name] = full
        return EvalResult(F=F, failed=failed, features=feats, z=z, rmse=r, reasons=reasons)

    def __call__(self, X: np.ndarray) -> EvalResult:
        return self.evaluate(X)
