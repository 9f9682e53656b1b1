"""Electrophysiological features for (mostly graded) C. elegans neurons, vectorised over batches.

Every extractor takes responses of shape ``(B, S, T)`` (batch, sweep, time) and returns
``{feature: array (B, S)}`` (per-sweep features) — scalar features such as input resistance
are ``(B, 1)``. A feature that does not exist for a sweep (no spikes, no hyperpolarising step,
no post-step window) is ``NaN``; the objectives turn a mismatch into a defined penalty. Nothing
here raises on odd traces: non-finite samples give ``NaN`` features.

Current clamp (mV, ms, pA): resting potential, steady-state and peak voltage per step, input
resistance (GOhm = mV/pA), membrane time constant, sag and rebound, post-step plateau and
bistability, depolarisation block, spike count/frequency/amplitude/width.
Voltage clamp (pA): holding, steady-state and peak current per level (I-V curves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from celegans.protocols import CurrentClamp, VoltageClamp

CC_FEATURES = ("v_rest", "v_ss", "v_peak", "input_resistance", "tau_m", "sag", "rebound",
               "plateau", "bistable", "depol_block", "spike_count", "spike_freq", "spike_amp",
               "spike_width")
VC_FEATURES = ("i_hold", "i_ss", "i_peak")

#: Units of each feature (for reports).
FEATURE_UNITS = {
    "v_rest": "mV", "v_ss": "mV", "v_peak": "mV", "input_resistance": "GOhm", "tau_m": "ms",
    "sag": "1", "rebound": "mV", "plateau": "mV", "bistable": "1", "depol_block": "1",
    "spike_count": "1", "spike_freq": "Hz", "spike_amp": "mV", "spike_width": "ms",
    "i_hold": "pA", "i_ss": "pA", "i_peak": "pA",
}


@dataclass(frozen=True)
class FeatureConfig:
    """Windows and thresholds of the feature extractors.

    Attributes:
        baseline_ms: length of the pre-step window for the resting potential.
        ss_fraction: last fraction of the step used for steady state.
        smooth_ms: box-filter width applied before peaks/crossings (noisy recordings).
        spike_threshold_mV: upward crossing that counts as a spike ...
        spike_min_dvdt: ... when dV/dt at the crossing exceeds this (mV/ms); graded
            depolarisations that drift over the threshold are not spikes.
        rebound_window_ms: post-step window searched for the rebound peak.
        bistable_mV: |plateau| beyond which the cell counts as bistable.
        min_deflection_mV: smallest step response for which tau_m is defined.
        vc_skip_ms: capacitive transient skipped after a voltage-clamp step.
    """

    baseline_ms: float = 200.0
    ss_fraction: float = 0.2
    smooth_ms: float = 1.0
    spike_threshold_mV: float = -10.0
    spike_min_dvdt: float = 5.0
    rebound_window_ms: float = 500.0
    bistable_mV: float = 5.0
    min_deflection_mV: float = 0.5
    vc_skip_ms: float = 1.0


def _as_bst(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3:
        raise ValueError(f"features: responses must be (S, T) or (B, S, T), got {y.shape}")
    return y


def _wmean(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    n = mask.sum()
    if n == 0:
        return np.full(y.shape[:-1], np.nan)
    return y[..., mask].mean(axis=-1)


def smooth(y: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the last axis (edges use the available samples)."""
    if width <= 1:
        return y
    pad = width // 2
    c = np.cumsum(np.pad(y, [(0, 0)] * (y.ndim - 1) + [(1, 0)]), axis=-1)
    t = y.shape[-1]
    lo = np.clip(np.arange(t) - pad, 0, t)
    hi = np.clip(np.arange(t) - pad + width, 0, t)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


def current_clamp_features(y: np.ndarray, time_ms: np.ndarray, protocol: CurrentClamp,
                           config: FeatureConfig | None = None) -> dict[str, np.ndarray]:
    """All current-clamp features of voltage traces ``y`` (mV), shape ``(B, S, T)``."""
    cfg = config or FeatureConfig()
    y = _as_bst(y)
    B, S, T = y.shape
    t = np.asarray(time_ms, float)
    dt = float(np.median(np.diff(t)))
    amps = np.asarray(protocol.amplitudes_pA, float)
    with np.errstate(all="ignore"):
        finite = np.all(np.isfinite(y), axis=-1)  # (B, S)
        y = np.where(np.isfinite(y), y, 0.0)
        ys = smooth(y, int(round(cfg.smooth_ms / dt)))
        t_on, t_off = protocol.t_on_ms, protocol.t_off_ms
        pre = (t >= t_on - cfg.baseline_ms) & (t < t_on)
        step = (t >= t_on) & (t < t_off)
        ss = (t >= t_off - cfg.ss_fraction * (t_off - t_on)) & (t < t_off)
        post = t >= t_off
        post_end = post & (t >= t_off + (1 - cfg.ss_fraction) * (t[-1] - t_off))
        reb = post & (t < t_off + cfg.rebound_window_ms)

        f: dict[str, np.ndarray] = {}
        v_rest = _wmean(y, pre)
        f["v_rest"] = v_rest
        v_ss = _wmean(y, ss)
        f["v_ss"] = v_ss
        # peak window stops half a smoothing width before t_off (no post-step samples mixed in)
        step_pk = step & (t < t_off - 0.5 * cfg.smooth_ms)
        if step_pk.any():
            seg = ys[..., step_pk]
            peak = np.where(amps[None, :] >= 0, seg.max(axis=-1), seg.min(axis=-1))
        else:
            peak = np.full((B, S), np.nan)
        f["v_peak"] = peak
        hyper = amps[None, :] < 0
        defl_peak = peak - v_rest
        f["sag"] = np.where(hyper & (np.abs(defl_peak) > cfg.min_deflection_mV),
                            (peak - v_ss) / defl_peak, np.nan)
        f["rebound"] = np.where(hyper & reb.any(), (_max_or_nan(ys, reb) - v_rest), np.nan)
        f["plateau"] = _wmean(y, post_end) - v_rest if post_end.any() else np.full((B, S), np.nan)
        f["bistable"] = np.where(np.isfinite(f["plateau"]),
                                 (np.abs(f["plateau"]) > cfg.bistable_mV).astype(float), np.nan)

        # spikes: upward threshold crossings with a fast rise, inside the step
        thr = cfg.spike_threshold_mV
        above = ys > thr
        cross = np.zeros_like(above)
        cross[..., 1:] = above[..., 1:] & ~above[..., :-1]
        dvdt = np.zeros_like(ys)
        dvdt[..., 1:] = np.diff(ys, axis=-1) / dt
        cross &= dvdt > cfg.spike_min_dvdt
        cross &= step
        count = cross.sum(axis=-1).astype(float)
        f["spike_count"] = count
        dur_s = max(t_off - t_on, 1e-9) / 1000.0
        f["spike_freq"] = count / dur_s
        has = count > 0
        # amplitude: raw peak of each supra-threshold segment (segments from the smoothed trace)
        seg_id = np.cumsum(cross, axis=-1) * (above & step)
        k = int(count.max()) if count.size else 0
        peaks = np.full((B * S, k + 1), -np.inf)
        rows = np.broadcast_to(np.arange(B * S).reshape(B, S, 1), seg_id.shape)
        m = seg_id > 0
        np.maximum.at(peaks, (rows[m], seg_id[m]), y[m])
        peaks = peaks[:, 1:].reshape(B, S, k)
        fin = np.isfinite(peaks)
        amp_sum = np.where(fin, peaks, 0.0).sum(axis=-1)
        nmax = fin.sum(axis=-1)
        f["spike_amp"] = np.where(has & (nmax > 0), amp_sum / np.maximum(nmax, 1) - v_rest,
                                  np.nan)
        time_above = (above & step).sum(axis=-1) * dt
        f["spike_width"] = np.where(has, time_above / np.maximum(count, 1), np.nan)
        last = np.where(cross, t[None, None, :], -np.inf).max(axis=-1)
        f["depol_block"] = np.where(has, (t_off - last) / max(t_off - t_on, 1e-9), np.nan)

        # membrane time constant: first time the response reaches 1 - 1/e of its peak deflection
        target = v_rest + (1 - np.exp(-1.0)) * defl_peak
        sgn = np.sign(defl_peak)[..., None]
        reached = (sgn * (ys - target[..., None]) >= 0) & step & (t >= t_on)
        first = np.where(reached.any(axis=-1), np.argmax(reached, axis=-1), -1)
        tau = np.where(first >= 0, t[np.maximum(first, 0)] - t_on, np.nan)
        ok = (np.abs(defl_peak) > cfg.min_deflection_mV) & ~has & (amps[None, :] != 0)
        f["tau_m"] = np.where(ok, np.maximum(tau, dt), np.nan)

        # input resistance: least-squares slope of (v_ss - v_rest) against amplitude over
        # subthreshold sweeps (hyperpolarising, else the smallest non-spiking depolarising)
        sub = (amps[None, :] < 0) & ~has
        if not np.any(amps < 0):
            sub = (amps[None, :] > 0) & ~has & (amps[None, :] <= np.sort(np.abs(amps[amps != 0]))[
                :2].max(initial=0))
        defl = v_ss - v_rest
        w = np.where(sub & np.isfinite(defl), 1.0, 0.0)
        num = (w * np.nan_to_num(defl) * amps[None, :]).sum(axis=-1)
        den = (w * amps[None, :] ** 2).sum(axis=-1)
        rin = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        f["input_resistance"] = rin[:, None]

        bad = ~finite
        for k in f:
            if f[k].shape[1] == S:
                f[k] = np.where(bad, np.nan, f[k])
            else:
                f[k] = np.where(bad.any(axis=-1, keepdims=True), np.nan, f[k])
    return f


def _max_or_nan(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.full(y.shape[:-1], np.nan)
    return y[..., mask].max(axis=-1)


def voltage_clamp_features(y: np.ndarray, time_ms: np.ndarray, protocol: VoltageClamp,
                           config: FeatureConfig | None = None) -> dict[str, np.ndarray]:
    """I-V features of clamp currents ``y`` (pA), shape ``(B, S, T)``: holding current,
    steady-state current and peak (largest-magnitude) current relative to holding per level."""
    cfg = config or FeatureConfig()
    y = _as_bst(y)
    t = np.asarray(time_ms, float)
    with np.errstate(all="ignore"):
        finite = np.all(np.isfinite(y), axis=-1)
        y = np.where(np.isfinite(y), y, 0.0)
        t_on, t_off = protocol.t_on_ms, protocol.t_off_ms
        pre = (t >= t_on - cfg.baseline_ms) & (t < t_on)
        ss = (t >= t_off - cfg.ss_fraction * (t_off - t_on)) & (t < t_off)
        early = (t >= t_on + cfg.vc_skip_ms) & (t < t_off)
        hold = _wmean(y, pre)
        f = {"i_hold": hold, "i_ss": _wmean(y, ss)}
        if early.any():
            seg = y[..., early] - np.nan_to_num(hold)[..., None]
            idx = np.abs(seg).argmax(axis=-1)
            f["i_peak"] = np.take_along_axis(seg, idx[..., None], axis=-1)[..., 0]
        else:
            f["i_peak"] = np.full(y.shape[:2], np.nan)
        for k in f:
            f[k] = np.where(finite, f[k], np.nan)
    return f


def extract_features(y: np.ndarray, time_ms: np.ndarray, protocol: CurrentClamp | VoltageClamp,
                     config: FeatureConfig | None = None) -> dict[str, np.ndarray]:
    """Features for either protocol kind (see module docstring)."""
    if isinstance(protocol, CurrentClamp):
        return current_clamp_features(y, time_ms, protocol, config)
    return voltage_clamp_features(y, time_ms, protocol, config)
