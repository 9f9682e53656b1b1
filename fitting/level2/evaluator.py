"""Level-2 evaluator: closed-loop behaviour against targets, in the fitting contract.

``Level2Evaluator.evaluate(X) -> fitting.evaluator.EvalResult(F, failed, features, z)``. Each
row of ``X`` (unit cube of a :class:`fitting.space.ParamSpace`) is simulated through an injected
Level-1 executor (serial, process pool with per-evaluation timeout, Dask) via the
``behaviour_trace`` adapter, so every closed-loop evaluation is isolated and a failure (blow-up,
crash, timeout) gets the finite penalty without stopping the run.

Objectives: one per condition, ``mean_f w_f min(|z_f|, z_cap)`` over its target features with
``z = (simulated - target mean) / target SD``; a feature the simulation could not define
(no undulation -> no wavelength) counts as ``z_cap``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import atomic_path
from fitting.evaluator import EvalResult
from fitting.executors import Executor, SerialExecutor
from fitting.level2.behaviour import BehaviourError, BehaviourProtocol, BehaviourTarget
from fitting.simulator import SimSpec
from fitting.space import ParamSpace

BEHAVIOUR_FUNCTION = "fitting.level2.behaviour:behaviour_trace"


class BehaviourObjectives:
    """Per-condition objectives from behaviour features (see module docstring)."""

    def __init__(self, protocol: BehaviourProtocol, target: BehaviourTarget,
                 z_cap: float = 10.0) -> None:
        cond = [c.name for c in protocol.conditions]
        missing = [c for c in target.mean if c not in cond]
        if missing:
            raise BehaviourError(f"targets: conditions {missing} are not in the protocol "
                                 f"({cond})")
        self.protocol, self.target, self.z_cap = protocol, target, float(z_cap)
        self.names: tuple[str, ...] = tuple(c for c in cond if c in target.mean)
        rows, cols, mu, sd, w = [], [], [], [], []
        for c in self.names:
            i = cond.index(c)
            for f, m in target.mean[c].items():
                if f not in protocol.features:
                    raise BehaviourError(f"targets.{c}.{f}: feature not measured by the "
                                         f"protocol ({protocol.features})")
                rows.append(i)
                cols.append(protocol.features.index(f))
                mu.append(m)
                sd.append(target.sd[c][f])
                w.append(target.weights.get(f, 1.0))
        self._rows, self._cols = np.array(rows, int), np.array(cols, int)
        self._mu, self._sd, self._w = np.array(mu), np.array(sd), np.array(w)
        self._obj = np.array([self.names.index(cond[r]) for r in rows], int)
        self.feature_names = tuple(f"{cond[r]}.{protocol.features[c]}"
                                   for r, c in zip(rows, cols, strict=True))

    @property
    def n_obj(self) -> int:
        return len(self.names)

    def z(self, feats: np.ndarray) -> np.ndarray:
        """Signed deviations ``(n, k)`` of features ``(n, n_cond, n_feat)`` (NaN: undefined)."""
        v = feats[:, self._rows, self._cols]
        return (v - self._mu) / self._sd

    def score(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(F (n, n_obj), z (n, k))``."""
        z = self.z(feats)
        a = np.where(np.isfinite(z), np.minimum(np.abs(z), self.z_cap), self.z_cap) * self._w
        F = np.zeros((z.shape[0], self.n_obj))
        for j in range(self.n_obj):
            sel = self._obj == j
            F[:, j] = a[:, sel].sum(1) / self._w[sel].sum()
        return F, np.nan_to_num(z, nan=self.z_cap)


class Level2Evaluator:
    """Scores Level-2 parameter sets in closed loop (see module docstring).

    Args:
        space: fitted parameters (``ParamSpace.from_parameters`` of
            :func:`fitting.level2.space.level2_parameters`).
        protocol: conditions and features of one evaluation.
        target: behaviour targets per condition.
        executor: Level-1 executor (default serial; ``ProcessExecutor`` for isolation with a
            timeout, ``DaskExecutor`` for clusters).
        penalty: objective value of a failed evaluation (finite, above ``z_cap``).
        function: the behaviour simulate function (``"module:function"``), for tests and
            cheaper stand-ins; default the organism closed loop.
    """

    def __init__(self, space: ParamSpace, protocol: BehaviourProtocol, target: BehaviourTarget,
                 executor: Executor | None = None, penalty: float = 100.0, z_cap: float = 10.0,
                 function: str | Any = BEHAVIOUR_FUNCTION,
                 record_path: str | os.PathLike | None = None) -> None:
        if not np.isfinite(penalty) or penalty <= z_cap:
            raise BehaviourError(f"penalty: must be finite and > z_cap ({z_cap}), got {penalty}")
        self.space = space
        self.protocol = protocol
        self.objectives = BehaviourObjectives(protocol, target, z_cap)
        self.executor = executor or SerialExecutor()
        self.penalty = float(penalty)
        self.spec = SimSpec(model="organism", backend=protocol.backend, dt_ms=1.0,
                            fixed=dict(space.fixed), function=function, batched=False)
        self.n_evals = 0
        self.sim_seconds = 0.0
        self.record_path = Path(record_path) if record_path is not None else None
        self.log_X: list[np.ndarray] = []
        self.log_features: list[np.ndarray] = []
        if self.record_path is not None and self.record_path.exists():
            with np.load(self.record_path) as d:
                self.log_X = [d["X"]]
                self.log_features = [d["features"]]

    @property
    def n_var(self) -> int:
        return self.space.d

    @property
    def n_obj(self) -> int:
        return self.objectives.n_obj

    def simulate(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Features ``(n, n_cond, n_feat)`` (NaN where undefined), failed, reasons."""
        X = np.atleast_2d(np.asarray(X, float))
        if X.shape[1] != self.space.d:
            raise BehaviourError(f"evaluate: X must have {self.space.d} columns "
                                 f"({', '.join(self.space.names)}), got {X.shape}")
        t0 = time.perf_counter()
        outs = self.executor.run(self.spec, self.protocol, self.space.to_dicts(X))
        self.sim_seconds += time.perf_counter() - t0
        n, c, f = X.shape[0], self.protocol.n_sweeps, self.protocol.n_features
        feats = np.full((n, c, f), np.nan)
        failed = np.zeros(n, bool)
        reasons: list[str] = []
        for i, o in enumerate(outs):
            if o.y is None or o.y.shape != (c, 2 * f):
                failed[i] = True
                reasons.append(o.reason or "wrong feature shape returned")
                continue
            vals, ok = o.y[:, :f], o.y[:, f:] > 0.5
            feats[i] = np.where(ok, vals, np.nan)
            reasons.append("")
        self.n_evals += n
        self.log_X.append(X.copy())
        self.log_features.append(feats.copy())
        if self.record_path is not None:
            self._save_log()
        return feats, failed, reasons

    def _save_log(self) -> None:
        assert self.record_path is not None
        with atomic_path(self.record_path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, X=np.vstack(self.log_X), features=np.concatenate(self.log_features))

    def features_of(self, x: np.ndarray) -> np.ndarray | None:
        """Recorded features ``(n_cond, n_feat)`` of an evaluated point (``None`` if unseen)."""
        if not self.log_X:
            return None
        X = np.vstack(self.log_X)
        d = np.linalg.norm(X - np.asarray(x)[None], axis=1)
        i = int(np.argmin(d))
        return np.concatenate(self.log_features)[i] if d[i] < 1e-9 else None

    def evaluate(self, X: np.ndarray) -> EvalResult:
        """Objectives of unit-cube points ``X (n, d)``."""
        feats, failed, reasons = self.simulate(X)
        n = feats.shape[0]
        F = np.full((n, self.n_obj), self.penalty)
        z = np.zeros((n, len(self.objectives.feature_names)))
        ok = ~failed
        if ok.any():
            Fo, zo = self.objectives.score(feats[ok])
            F[ok] = np.minimum(Fo, self.penalty)
            z[ok] = zo
        out = {name: feats[:, i, :] for i, name in
               enumerate(c.name for c in self.protocol.conditions)}
        return EvalResult(F=F, failed=failed, features=out, z=z, reasons=reasons)

    def __call__(self, X: np.ndarray) -> EvalResult:
        return self.evaluate(X)
