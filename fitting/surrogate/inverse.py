"""Amortised inverse estimation: observed features -> parameters with calibrated intervals.

For parameters no one can record directly (gap-junction conductances, glutamatergic synapse
signs, channel densities of unrecorded neurons) an :class:`InverseEstimator` is trained on
simulations: parameters drawn from their prior box, simulated, summarised into features. A deep
ensemble (:class:`~fitting.surrogate.ensemble.EnsembleRegressor`, heteroscedastic) maps features
to the parameters in an unbounded coordinate (logit of the unit-cube coordinate of
:class:`fitting.space.ParamSpace`, so every interval maps back inside the bounds). Intervals are
then calibrated by split conformal prediction (Vovk et al. 2005; normalised scores
``|z - mu| / sigma`` as in Lei et al. 2018): a held-out calibration split sets, per parameter, the
factor ``q`` such that ``mu +/- q sigma`` covers a fraction ``1 - alpha`` of calibration cases.
With exchangeable simulations the coverage on new simulations is at least ``1 - alpha``
(and at most ``1 - alpha + 1/(n_cal + 1)``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from celegans.io import atomic_path
from fitting.space import ParamSpace
from fitting.surrogate.ensemble import EnsembleRegressor, SurrogateError

_EPS = 1e-4


def _logit(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, _EPS, 1 - _EPS)
    return np.log(u) - np.log1p(-u)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Estimate:
    """Point estimates and ``1 - alpha`` intervals, in parameter units, ``(n, p)`` each."""

    names: tuple[str, ...]
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    alpha: float

    def as_dicts(self) -> list[dict[str, dict[str, float]]]:
        """One ``{name: {value, lower, upper}}`` per row."""
        return [{n: {"value": float(self.value[i, j]), "lower": float(self.lower[i, j]),
                     "upper": float(self.upper[i, j])} for j, n in enumerate(self.names)}
                for i in range(self.value.shape[0])]


@dataclass
class CalibrationReport:
    """Held-out check of an estimator: per parameter coverage, mean width, RMSE (unit cube)."""

    names: tuple[str, ...]
    alpha: float
    coverage: np.ndarray
    width_unit: np.ndarray
    rmse_unit: np.ndarray
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"nominal": 1 - self.alpha, "n_test": self.n,
                "coverage_mean": float(np.mean(self.coverage)),
                "per_parameter": {n: {"coverage": float(c), "mean_width_unit": float(w),
                                      "rmse_unit": float(r)}
                                  for n, c, w, r in zip(self.names, self.coverage,
                                                        self.width_unit, self.rmse_unit,
                                                        strict=True)}}


class InverseEstimator:
    """Features ``(n, f)`` -> parameters of ``space`` with conformal intervals.

    Args:
        space: the estimated parameters (names, bounds, log scaling).
        alpha: default miscoverage (0.1 -> 90 % intervals).
        calib_fraction: share of the training simulations held out for calibration.
        ensemble: keyword arguments of :class:`EnsembleRegressor`.
    """

    def __init__(self, space: ParamSpace, alpha: float = 0.1, calib_fraction: float = 0.25,
                 **ensemble: Any) -> None:
        if not 0 < alpha < 1:
            raise SurrogateError(f"alpha: must be in (0, 1), got {alpha}")
        if not 0 < calib_fraction < 1:
            raise SurrogateError(f"calib_fraction: must be in (0, 1), got {calib_fraction}")
        self.space = space
        self.alpha = float(alpha)
        self.calib_fraction = float(calib_fraction)
        self.ensemble_kwargs = dict(ensemble)
        self.model: EnsembleRegressor | None = None
        self.scores: np.ndarray | None = None      # (n_cal, p) normalised calibration scores
        self.feature_names: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return self.space.names

    def _z(self, values: np.ndarray) -> np.ndarray:
        return _logit(self.space.to_unit(values))

    def fit(self, features: np.ndarray, values: np.ndarray, *, seed: int = 0,
            feature_names: tuple[str, ...] = ()) -> InverseEstimator:
        """Train on simulated ``features (n, f)`` of parameter ``values (n, p)``.

        Rows with a non-finite feature or value are dropped (failed simulations)."""
        F = np.asarray(features, float)
        V = np.asarray(values, float)
        if F.ndim != 2 or V.ndim != 2 or F.shape[0] != V.shape[0]:
            raise SurrogateError(f"fit: need features (n, f) and values (n, p) with equal n, got "
                                 f"{F.shape} and {V.shape}")
        if V.shape[1] != self.space.d:
            raise SurrogateError(f"fit: values need {self.space.d} columns "
                                 f"({', '.join(self.names)}), got {V.shape[1]}")
        ok = np.all(np.isfinite(F), axis=1) & np.all(np.isfinite(V), axis=1)
        F, V = F[ok], V[ok]
        n = F.shape[0]
        n_cal = int(round(self.calib_fraction * n))
        if n_cal < 10 or n - n_cal < 10:
            raise SurrogateError(f"fit: need >= 10 training and >= 10 calibration rows, got {n} "
                                 f"usable rows (calib_fraction {self.calib_fraction})")
        perm = np.random.default_rng(seed).permutation(n)
        cal, tr = perm[:n_cal], perm[n_cal:]
        Z = self._z(V)
        kw = {"seed": seed, **self.ensemble_kwargs}
        self.model = EnsembleRegressor(**kw).fit(F[tr], Z[tr])
        p = self.model.predict(F[cal])
        self.scores = np.abs(Z[cal] - p.mean) / np.maximum(p.std, 1e-9)
        self.feature_names = tuple(feature_names)
        return self

    def quantile(self, alpha: float | None = None) -> np.ndarray:
        """Conformal factor per parameter for miscoverage ``alpha``."""
        if self.scores is None:
            raise SurrogateError("the inverse estimator is not trained (call fit first)")
        a = self.alpha if alpha is None else float(alpha)
        n = self.scores.shape[0]
        level = min(1.0, math.ceil((n + 1) * (1 - a)) / n)
        return np.quantile(self.scores, level, axis=0, method="higher")

    def predict(self, features: np.ndarray, alpha: float | None = None) -> Estimate:
        """Estimates and ``1 - alpha`` intervals for observed ``features (n, f)``."""
        if self.model is None:
            raise SurrogateError("the inverse estimator is not trained (call fit first)")
        F = np.atleast_2d(np.asarray(features, float))
        p = self.model.predict(F)
        q = self.quantile(alpha)
        lo = self.space.to_values(_sigmoid(p.mean - q * p.std))
        hi = self.space.to_values(_sigmoid(p.mean + q * p.std))
        mid = self.space.to_values(_sigmoid(p.mean))
        return Estimate(self.names, mid, lo, hi, self.alpha if alpha is None else float(alpha))

    def check(self, features: np.ndarray, values: np.ndarray,
              alpha: float | None = None) -> CalibrationReport:
        """Coverage, interval width and error on held-out simulations (unit-cube widths)."""
        V = np.asarray(values, float)
        F = np.asarray(features, float)
        ok = np.all(np.isfinite(F), axis=1) & np.all(np.isfinite(V), axis=1)
        F, V = F[ok], V[ok]
        if F.shape[0] == 0:
            raise SurrogateError("check: no held-out rows with finite values")
        est = self.predict(F, alpha)
        inside = (V >= est.lower - 1e-12) & (V <= est.upper + 1e-12)
        u = self.space.to_unit
        width = u(est.upper) - u(est.lower)
        rmse = np.sqrt(np.mean((u(est.value) - u(V)) ** 2, axis=0))
        return CalibrationReport(self.names, est.alpha, inside.mean(axis=0), width.mean(axis=0),
                                 rmse, int(F.shape[0]))

    # --- persistence ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the trained estimator atomically (pickle of plain state)."""
        import pickle

        if self.model is None:
            raise SurrogateError("save: the inverse estimator is not trained")
        state = {"space": self.space, "alpha": self.alpha, "calib_fraction": self.calib_fraction,
                 "ensemble_kwargs": self.ensemble_kwargs, "model": self.model.state(),
                 "scores": self.scores, "feature_names": self.feature_names}
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            pickle.dump(state, fh)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> InverseEstimator:
        """Read an estimator written by :meth:`save`."""
        import pickle

        p = Path(path)
        try:
            with open(p, "rb") as fh:
                st = pickle.load(fh)
            est = cls(st["space"], st["alpha"], st["calib_fraction"], **st["ensemble_kwargs"])
            est.model = EnsembleRegressor.from_state(st["model"])
            est.scores = st["scores"]
            est.feature_names = tuple(st["feature_names"])
        except FileNotFoundError:
            raise SurrogateError(f"{p}: no saved inverse estimator") from None
        except (KeyError, TypeError, pickle.UnpicklingError) as exc:
            raise SurrogateError(f"{p}: not an inverse estimator ({exc})") from None
        return est
