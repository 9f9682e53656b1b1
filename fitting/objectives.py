"""Objectives: feature errors in units of the experimental SD, trace RMSE, phase-plane density.

Feature errors follow Druckmann et al. (2007): ``z = (model - target) / SD`` per feature and
sweep, where SD is the experimental SD when the recording provides it (``feature_sd``) and
otherwise ``max(sd_abs, sd_rel * |target|)`` (defaults below, documented assumptions). A feature
present in one of model/target and missing in the other scores ``missing_z``; ``|z|`` is capped at
``max_z`` so every objective stays finite. Objectives group features (multi-objective fitting);
the whole-trace RMSE and the phase-plane trajectory-density error (Neurofitter, Van Geit et al.
2007) are further objectives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from fitting.features import FeatureConfig, extract_features
from fitting.targets import Recording

#: Fallback SD per feature: (absolute floor, relative to |target|). Assumed, not measured.
DEFAULT_SD: dict[str, tuple[float, float]] = {
    "v_rest": (1.0, 0.0), "v_ss": (1.0, 0.0), "v_peak": (1.0, 0.0),
    "input_resistance": (0.05, 0.1), "tau_m": (1.0, 0.1), "sag": (0.05, 0.0),
    "rebound": (1.0, 0.0), "plateau": (1.0, 0.0), "bistable": (0.5, 0.0),
    "depol_block": (0.1, 0.0), "spike_count": (1.0, 0.1), "spike_freq": (1.0, 0.1),
    "spike_amp": (2.0, 0.0), "spike_width": (0.2, 0.1),
    "i_hold": (2.0, 0.05), "i_ss": (2.0, 0.05), "i_peak": (5.0, 0.05),
}

DEFAULT_GROUPS_CC: dict[str, tuple[str, ...]] = {
    "passive": ("v_rest", "v_ss", "input_resistance", "tau_m"),
    "active": ("v_peak", "sag", "rebound", "plateau", "bistable"),
    "spikes": ("spike_count", "spike_freq", "spike_amp", "spike_width", "depol_block"),
}
DEFAULT_GROUPS_VC: dict[str, tuple[str, ...]] = {
    "iv_ss": ("i_hold", "i_ss"),
    "iv_peak": ("i_peak",),
}
PASSIVE_GROUPS: dict[str, tuple[str, ...]] = {
    "passive": ("v_rest", "v_ss", "input_resistance", "tau_m"),
}


@dataclass(frozen=True)
class ObjectiveConfig:
    """Which objectives to use and how errors are scaled.

    Attributes:
        groups: objective name -> features averaged into it (``None``: defaults per clamp kind).
        rmse: add the whole-trace RMSE objective (mV or pA).
        phase_plane: add the phase-plane density objective (total variation, 0..1).
        missing_z: penalty (in SD) for a feature present in only one of model/target.
        max_z: cap on |z| per feature and sweep.
        phase_bins: histogram bins per axis.
        features: extractor windows and thresholds.
    """

    groups: Mapping[str, Sequence[str]] | None = None
    rmse: bool = True
    phase_plane: bool = False
    missing_z: float = 10.0
    max_z: float = 50.0
    phase_bins: int = 30
    features: FeatureConfig = field(default_factory=FeatureConfig)


def rmse(y: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Root-mean-square difference per sweep: ``(B, S, T), (S, T) -> (B, S)``, over the time
    samples where ``mask`` is True (default all)."""
    y = np.asarray(y, float)
    if mask is not None:
        y, target = y[..., mask], target[..., mask]
    with np.errstate(all="ignore"):
        r = np.sqrt(np.mean((y - target[None]) ** 2, axis=-1))
    return np.where(np.isfinite(r), r, np.inf)


class PhasePlane:
    """Trajectory density in the (V, dV/dt) plane on bins fixed by the target."""

    def __init__(self, target: np.ndarray, dt_ms: float, bins: int = 30) -> None:
        v = np.asarray(target, float)
        dv = np.diff(v, axis=-1) / dt_ms
        self.dt = dt_ms
        self.bins = bins
        vlo, vhi = v.min(), v.max()
        pad = 0.1 * max(vhi - vlo, 1.0)
        self.v_edges = (vlo - pad, vhi + pad)
        q = max(np.percentile(np.abs(dv), 99.5), 1e-3) * 1.2
        self.dv_edges = (-q, q)
        self.h_target = self.density(v[None])[0]

    def density(self, y: np.ndarray) -> np.ndarray:
        """Normalised 2-D histograms, ``(B, S, T) -> (B, S, bins*bins)``."""
        y = np.asarray(y, float)
        B, S, T = y.shape
        nb = self.bins
        with np.errstate(all="ignore"):
            v = y[..., 1:]
            dv = np.diff(y, axis=-1) / self.dt
            iv = np.clip(np.nan_to_num((v - self.v_edges[0]) / (self.v_edges[1]
                         - self.v_edges[0]) * nb).astype(np.int64), 0, nb - 1)
            idv = np.clip(np.nan_to_num((dv - self.dv_edges[0]) / (self.dv_edges[1]
                          - self.dv_edges[0]) * nb).astype(np.int64), 0, nb - 1)
        flat = (np.arange(B * S).reshape(B, S, 1) * nb * nb + iv * nb + idv).ravel()
        h = np.bincount(flat, minlength=B * S * nb * nb).reshape(B, S, nb * nb).astype(float)
        return h / max(T - 1, 1)

    def error(self, y: np.ndarray) -> np.ndarray:
        """Total-variation distance to the target density per sweep, ``(B, S)`` in [0, 1]."""
        return 0.5 * np.abs(self.density(y) - self.h_target[None]).sum(axis=-1)


@dataclass
class Scores:
    """Objective values and feature deviations of a batch."""

    F: np.ndarray                       # (B, m)
    z: np.ndarray                       # (B, k) signed mean z per feature (NaN -> 0)
    features: dict[str, np.ndarray]     # raw features (B, S_f)
    rmse: np.ndarray                    # (B, S)


class ObjectiveSet:
    """Objectives against one target recording (target features computed once)."""

    def __init__(self, target: Recording, config: ObjectiveConfig | None = None) -> None:
        self.target = target
        self.config = cfg = config or ObjectiveConfig()
        self.time_ms = target.time_ms
        self.target_features = {k: v[0] for k, v in extract_features(
            target.data, target.time_ms, target.protocol, cfg.features).items()}
        groups = cfg.groups
        if groups is None:
            groups = DEFAULT_GROUPS_CC if target.kind == "cc" else DEFAULT_GROUPS_VC
            groups = dict(groups)
            if target.kind == "cc" and not np.nansum(self.target_features["spike_count"]) > 0:
                # target does not spike: penalise spiking models inside "active"
                groups.pop("spikes", None)
                groups["active"] = (*groups["active"], "spike_count")
        unknown = [f for fs in groups.values() for f in fs if f not in self.target_features]
        if unknown:
            raise ValueError(f"objectives: unknown features {unknown}; available "
                             f"{sorted(self.target_features)}")
        self.groups = {g: tuple(fs) for g, fs in groups.items() if fs}
        self.feature_names = tuple(dict.fromkeys(f for fs in self.groups.values() for f in fs))
        self.sd = {f: self._sd(f) for f in self.feature_names}
        self.phase = PhasePlane(target.data, target.dt_ms, cfg.phase_bins) \
            if cfg.phase_plane else None
        # voltage clamp: capacitive transients after each step edge are left out of the RMSE
        t = target.time_ms
        self.rmse_mask = np.ones(t.size, bool)
        if target.kind == "vc":
            skip = cfg.features.vc_skip_ms
            for edge in (target.protocol.t_on_ms, target.protocol.t_off_ms):
                self.rmse_mask &= ~((t >= edge) & (t < edge + skip))
        names = list(self.groups)
        if cfg.rmse:
            names.append("rmse")
        if self.phase is not None:
            names.append("phase_plane")
        self.names = tuple(names)

    @property
    def n_obj(self) -> int:
        return len(self.names)

    def _sd(self, f: str) -> np.ndarray:
        tv = self.target_features[f]
        if f in self.target.feature_sd:
            sd = np.broadcast_to(np.asarray(self.target.feature_sd[f], float), tv.shape).copy()
        else:
            a, r = DEFAULT_SD.get(f, (1.0, 0.1))
            sd = np.maximum(a, r * np.abs(np.nan_to_num(tv)))
        if np.any(~(sd > 0)):
            raise ValueError(f"feature_sd[{f!r}] must be > 0, got {sd}")
        return sd

    def z_scores(self, feats: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(|z| score per feature (B, k), signed mean z per feature (B, k))``."""
        cfg = self.config
        score, signed = [], []
        for f in self.feature_names:
            m = np.asarray(feats[f], float)
            t = self.target_features[f][None]
            with np.errstate(all="ignore"):
                z = (m - t) / self.sd[f][None]
            mt, mm = np.isfinite(t), np.isfinite(m)
            both = mt & mm
            az = np.where(both, np.minimum(np.abs(z), cfg.max_z),
                          np.where(mt ^ mm, cfg.missing_z, np.nan))
            n = np.sum(np.isfinite(az), axis=-1)
            score.append(np.where(n > 0, np.nansum(az, axis=-1) / np.maximum(n, 1), 0.0))
            zc = np.where(both, np.clip(z, -cfg.max_z, cfg.max_z), 0.0)
            nb = np.maximum(both.sum(axis=-1), 1)
            signed.append(zc.sum(axis=-1) / nb)
        return np.stack(score, axis=-1), np.stack(signed, axis=-1)

    def score(self, y: np.ndarray) -> Scores:
        """Objectives of responses ``y`` on the target's time grid, ``(B, S, T)``."""
        y = np.asarray(y, float)
        if y.ndim == 2:
            y = y[None]
        feats = extract_features(y, self.time_ms, self.target.protocol, self.config.features)
        fscore, signed = self.z_scores(feats)
        idx = {f: i for i, f in enumerate(self.feature_names)}
        cols = [fscore[:, [idx[f] for f in fs]].mean(axis=-1) for fs in self.groups.values()]
        r = rmse(y, self.target.data, self.rmse_mask)
        if self.config.rmse:
            cols.append(np.minimum(r.mean(axis=-1), 1e6))
        if self.phase is not None:
            cols.append(self.phase.error(y).mean(axis=-1))
        F = np.stack(cols, axis=-1)
        F = np.where(np.isfinite(F), F, 1e6)
        return Scores(F=F, z=signed, features=feats, rmse=r)
