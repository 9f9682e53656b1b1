"""Behaviour metrics from centreline time series (shared by reports and behaviour fitting).

Inputs: ``centreline`` ``(T, P, 2)`` in mm, nose first; ``time`` ``(T,)`` in s (uniform
sampling). Curvature is ``d(theta)/ds`` along the body from nose to tail (1/mm), so with the
body's convention a positive value is a dorsal bend. Positions along the body ``s`` are
fractions of the body length (0 nose, 1 tail).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


class MetricsInputError(ValueError):
    """Invalid input to a behaviour metric; the message names the argument."""


def _cl(centreline: object) -> np.ndarray:
    cl = np.asarray(centreline, dtype=float)
    if cl.ndim == 2:
        cl = cl[None]
    if cl.ndim != 3 or cl.shape[2] != 2 or cl.shape[1] < 3:
        raise MetricsInputError(f"centreline: expected (T, P >= 3, 2) points in mm, got "
                                f"{cl.shape}")
    if not np.all(np.isfinite(cl)):
        raise MetricsInputError("centreline: contains non-finite values")
    return cl


def _time(time: object, n: int) -> np.ndarray:
    t = np.asarray(time, dtype=float)
    if t.shape != (n,):
        raise MetricsInputError(f"time: expected shape ({n},) matching the samples, got {t.shape}")
    if n > 1 and not np.all(np.diff(t) > 0):
        raise MetricsInputError("time: must be strictly increasing")
    return t


# --- posture ---------------------------------------------------------------------------------
def tangent_angles(centreline: object) -> np.ndarray:
    """``(T, P-1)`` segment angles (rad), unwrapped along the body."""
    cl = _cl(centreline)
    d = np.diff(cl, axis=1)
    return np.unwrap(np.arctan2(d[..., 1], d[..., 0]), axis=1)


def arclength(centreline: object) -> np.ndarray:
    """``(T, P)`` arclength from the nose (mm)."""
    cl = _cl(centreline)
    seg = np.linalg.norm(np.diff(cl, axis=1), axis=2)
    return np.concatenate((np.zeros((cl.shape[0], 1)), np.cumsum(seg, axis=1)), axis=1)


def body_length(centreline: object) -> float:
    """Mean body length (mm)."""
    return float(arclength(centreline)[:, -1].mean())


def resample_angles(centreline: object, n: int = 100) -> np.ndarray:
    """``(T, n)`` tangent angles at ``n`` equally spaced arclength positions (segment midpoints)."""
    cl = _cl(centreline)
    th = tangent_angles(cl)
    s = arclength(cl)
    mids = 0.5 * (s[:, 1:] + s[:, :-1]) / s[:, -1:]
    q = (np.arange(n) + 0.5) / n
    return np.stack([np.interp(q, mids[k], th[k]) for k in range(cl.shape[0])])


def curvature(centreline: object) -> tuple[np.ndarray, np.ndarray]:
    """Curvature at the interior points: ``(kappa (T, P-2) 1/mm, s (P-2,) body fractions)``."""
    cl = _cl(centreline)
    th = tangent_angles(cl)
    seg = np.linalg.norm(np.diff(cl, axis=1), axis=2)
    ds = 0.5 * (seg[:, 1:] + seg[:, :-1])
    s = arclength(cl)
    frac = (s[:, 1:-1] / s[:, -1:]).mean(0)
    return np.diff(th, axis=1) / ds, frac


def kymograph(centreline: object, n_points: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Curvature kymograph ``(T, n_points)`` (1/mm) on an even grid ``s`` in (0, 1)."""
    kappa, frac = curvature(centreline)
    s = (np.arange(n_points) + 0.5) / n_points
    kymo = np.stack([np.interp(s, frac, k) for k in kappa])
    return kymo, s


def curvature_at(centreline: object, s: float = 0.5) -> np.ndarray:
    """``(T,)`` curvature (1/mm) at body fraction ``s`` (linear interpolation)."""
    if not 0.0 <= s <= 1.0:
        raise MetricsInputError(f"s: expected a body fraction in [0, 1], got {s!r}")
    kappa, frac = curvature(centreline)
    return np.array([np.interp(s, frac, k) for k in kappa])


# --- locomotion ------------------------------------------------------------------------------
def centroid(centreline: object) -> np.ndarray:
    """``(T, 2)`` length-weighted centroid (mm)."""
    cl = _cl(centreline)
    seg = np.linalg.norm(np.diff(cl, axis=1), axis=2)
    total = seg.sum(1)
    if np.any(total <= 0):
        raise MetricsInputError("centreline: a posture has zero length")
    mids = 0.5 * (cl[:, 1:] + cl[:, :-1])
    return (seg[..., None] * mids).sum(1) / total[:, None]


def centroid_speed(centreline: object, time: object, mode: str = "net") -> float:
    """Centroid speed (mm/s): ``"net"`` = net displacement / duration (what a tracker reports
    over whole cycles), ``"path"`` = path length / duration."""
    cl = _cl(centreline)
    t = _time(time, cl.shape[0])
    c = centroid(cl)
    if c.shape[0] < 2:
        raise MetricsInputError("centreline: need at least 2 samples for a speed")
    dur = t[-1] - t[0]
    if mode == "net":
        return float(np.linalg.norm(c[-1] - c[0]) / dur)
    if mode == "path":
        return float(np.linalg.norm(np.diff(c, axis=0), axis=1).sum() / dur)
    raise MetricsInputError(f"mode: expected 'net' or 'path', got {mode!r}")


def _window_velocity(c: np.ndarray, t: np.ndarray, window_s: float) -> np.ndarray:
    dt = float(np.median(np.diff(t)))
    h = max(1, int(round(0.5 * window_s / dt)))
    idx = np.arange(len(t))
    lo, hi = np.clip(idx - h, 0, len(t) - 1), np.clip(idx + h, 0, len(t) - 1)
    return (c[hi] - c[lo]) / np.maximum(t[hi] - t[lo], 1e-12)[:, None]


def movement_direction(centreline: object, time: object, window_s: float = 1.0,
                       min_speed: float = 0.01) -> np.ndarray:
    """``(T,)`` +1 forward (head first), -1 backward, 0 below ``min_speed`` (mm/s).

    The centroid velocity averaged over ``window_s`` (about one undulation cycle) is compared
    with the head direction (centroid -> nose)."""
    cl = _cl(centreline)
    t = _time(time, cl.shape[0])
    c = centroid(cl)
    v = _window_velocity(c, t, window_s)
    head = cl[:, 0] - c
    proj = (v * head).sum(1) / np.maximum(np.linalg.norm(head, axis=1), 1e-12)
    out = np.sign(proj)
    out[np.linalg.norm(v, axis=1) < min_speed] = 0
    return out.astype(int)


def undulation_frequency(signal: object, time: object) -> float:
    """Frequency (Hz) from the zero crossings of a curvature time series (e.g. mid-body):
    ``(n_crossings - 1) / (2 (t_last - t_first))``, crossing times linearly interpolated.
    Returns 0.0 with fewer than 2 crossings."""
    x = np.asarray(signal, dtype=float)
    t = _time(time, x.shape[0])
    if x.ndim != 1:
        raise MetricsInputError(f"signal: expected a 1-D time series, got shape {x.shape}")
    x = x - x.mean()
    i = np.flatnonzero(np.signbit(x[:-1]) != np.signbit(x[1:]))
    if i.size < 2:
        return 0.0
    tc = t[i] - x[i] * (t[i + 1] - t[i]) / (x[i + 1] - x[i])
    return float((tc.size - 1) / (2.0 * (tc[-1] - tc[0])))


def _demodulate(kymo: np.ndarray, t: np.ndarray, frequency: float) -> np.ndarray:
    w = np.hanning(len(t))
    return ((kymo - kymo.mean(0)) * (w * np.exp(-2j * np.pi * frequency * t))[:, None]).sum(0)


def wave_phase_slope(centreline: object, time: object, frequency: float | None = None,
                     s_range: tuple[float, float] = (0.2, 0.8), n_points: int = 48) -> float:
    """Slope (rad per body length) of the undulation phase along the body; negative = the wave
    runs from head to tail."""
    kymo, s = kymograph(centreline, n_points)
    t = _time(time, kymo.shape[0])
    if frequency is None:
        frequency = undulation_frequency(curvature_at(centreline, 0.5), t)
    if not frequency > 0:
        return math.nan
    z = _demodulate(kymo, t, frequency)
    sel = (s >= s_range[0]) & (s <= s_range[1])
    ph = np.unwrap(np.angle(z[sel]))
    return float(np.polyfit(s[sel], ph, 1)[0])


def wavelength(centreline: object, time: object, frequency: float | None = None,
               s_range: tuple[float, float] = (0.2, 0.8)) -> float:
    """Wavelength (body lengths) from the phase gradient of the curvature wave over
    ``s_range`` at the undulation frequency (mid-body zero crossings if not given)."""
    slope = wave_phase_slope(centreline, time, frequency, s_range)
    return float(2 * np.pi / abs(slope)) if slope and math.isfinite(slope) else math.nan


def wave_direction(centreline: object, time: object, frequency: float | None = None) -> int:
    """+1 if the curvature wave runs head -> tail (forward crawling), -1 tail -> head."""
    slope = wave_phase_slope(centreline, time, frequency)
    return 0 if not math.isfinite(slope) else (1 if slope < 0 else -1)


def curvature_amplitude(centreline: object, s_range: tuple[float, float] = (0.2, 0.8)
                        ) -> float:
    """Curvature amplitude (1/mm): sqrt(2) x RMS over time, averaged over ``s_range``."""
    kymo, s = kymograph(centreline)
    sel = (s >= s_range[0]) & (s <= s_range[1])
    k = kymo[:, sel] - kymo[:, sel].mean(0)
    return float(np.sqrt(2.0) * np.sqrt((k ** 2).mean(0)).mean())


def lateral_amplitude(centreline: object) -> float:
    """Half the mean peak-to-peak extent of the body across its principal axis, in body
    lengths (posture amplitude)."""
    cl = _cl(centreline)
    L = body_length(cl)
    out = []
    for pts in cl:
        x = pts - pts.mean(0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        lat = x @ vt[1]
        out.append(0.5 * (lat.max() - lat.min()))
    return float(np.mean(out) / L)


def slip_ratio(speed: float, frequency: float, wavelength_mm: float) -> float:
    """``1 - speed / (frequency * wavelength)``: 0 = no slip (worm follows its own track)."""
    wave_speed = frequency * wavelength_mm
    return float(1.0 - speed / wave_speed) if wave_speed > 0 else math.nan


# --- eigenworms ------------------------------------------------------------------------------
def load_eigenworms(path: str | os.PathLike) -> np.ndarray:
    """An eigenworm basis from CSV, ``(n_angles, n_modes)`` columns = modes."""
    E = np.loadtxt(path, delimiter=",")
    if E.ndim != 2:
        raise MetricsInputError(f"{path}: expected a 2-D matrix")
    return E


def eigenworm_basis(centreline: object, n_modes: int = 5, n_angles: int = 100
                    ) -> tuple[np.ndarray, np.ndarray]:
    """PCA of mean-subtracted tangent angles: ``(basis (n_angles, n_modes), variance explained
    fraction (n_modes,))`` (Stephens et al. 2008 eigenworms)."""
    th = resample_angles(centreline, n_angles)
    th = th - th.mean(1, keepdims=True)
    cov = np.cov(th, rowvar=False)
    val, vec = np.linalg.eigh(cov)
    order = np.argsort(val)[::-1]
    val, vec = val[order], vec[:, order]
    return vec[:, :n_modes], val[:n_modes] / val.sum()


def eigenworm_projection(centreline: object, basis: np.ndarray, n_modes: int | None = None
                         ) -> np.ndarray:
    """``(T, n_modes)`` mode amplitudes of the mean-subtracted tangent angles, resampled to the
    basis' number of angles (rows)."""
    B = np.asarray(basis, dtype=float)
    if B.ndim != 2:
        raise MetricsInputError(f"basis: expected (n_angles, n_modes), got {B.shape}")
    n_modes = B.shape[1] if n_modes is None else n_modes
    th = resample_angles(centreline, B.shape[0])
    th = th - th.mean(1, keepdims=True)
    return th @ B[:, :n_modes]


# --- events ----------------------------------------------------------------------------------
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate(([False], mask, [False])).astype(int)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def detect_reversals(centreline: object, time: object, min_duration_s: float = 0.5,
                     window_s: float = 1.0) -> list[tuple[float, float]]:
    """Backward-movement episodes ``[(t_start, t_end)]`` lasting at least ``min_duration_s``."""
    cl = _cl(centreline)
    t = _time(time, cl.shape[0])
    d = movement_direction(cl, t, window_s)
    return [(float(t[a]), float(t[b])) for a, b in _runs(d < 0)
            if t[b] - t[a] >= min_duration_s]


def detect_turns(centreline: object, time: object, angle_deg: float = 90.0,
                 window_s: float = 3.0, omega_ratio: float = 0.35, smooth_s: float = 1.0
                 ) -> list[dict]:
    """Turn events: heading of the (smoothed) centroid path changing by >= ``angle_deg`` within
    ``window_s`` (``kind="turn"``), or nose-tail distance below ``omega_ratio`` body lengths
    (``kind="omega"``). Returns ``[{"t_start", "t_end", "kind", "angle_deg"}]``."""
    cl = _cl(centreline)
    t = _time(time, cl.shape[0])
    L = body_length(cl)
    events: list[dict] = []
    ends = np.linalg.norm(cl[:, 0] - cl[:, -1], axis=1) / L
    for a, b in _runs(ends < omega_ratio):
        events.append({"t_start": float(t[a]), "t_end": float(t[b]), "kind": "omega",
                       "angle_deg": math.nan})
    v = _window_velocity(centroid(cl), t, smooth_s)
    moving = np.linalg.norm(v, axis=1) > 1e-3
    heading = np.unwrap(np.arctan2(v[:, 1], v[:, 0]))
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    w = max(1, int(round(window_s / dt)))
    if len(t) > w:
        change = np.degrees(np.abs(heading[w:] - heading[:-w]))
        ok = moving[w:] & moving[:-w]
        for a, b in _runs((change >= angle_deg) & ok):
            events.append({"t_start": float(t[a]), "t_end": float(t[b + w]), "kind": "turn",
                           "angle_deg": float(change[a:b + 1].max())})
    return sorted(events, key=lambda e: e["t_start"])


def chemotaxis_index(positions: object, attractant: Sequence[float], control: Sequence[float],
                     radius: float) -> float:
    """Population chemotaxis index ``(A - C) / (A + C)`` (Bargmann & Horvitz 1991): ``A``/``C``
    worms (final positions ``(k, 2)`` mm) within ``radius`` of the attractant/control spot.
    NaN when none reached either spot."""
    p = np.atleast_2d(np.asarray(positions, dtype=float))
    a = np.sum(np.linalg.norm(p - np.asarray(attractant, float), axis=1) <= radius)
    c = np.sum(np.linalg.norm(p - np.asarray(control, float), axis=1) <= radius)
    return float((a - c) / (a + c)) if a + c else math.nan


def approach_index(positions: object, source: Sequence[float]) -> float:
    """Single-track chemotaxis index: (initial - final distance to ``source``) / path length,
    in [-1, 1] (1 = straight to the source)."""
    p = np.asarray(positions, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 2:
        raise MetricsInputError(f"positions: expected (T >= 2, 2) mm, got {p.shape}")
    src = np.asarray(source, dtype=float)
    path = np.linalg.norm(np.diff(p, axis=0), axis=1).sum()
    if path == 0:
        return 0.0
    return float((np.linalg.norm(p[0] - src) - np.linalg.norm(p[-1] - src)) / path)


# --- summary ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GaitSummary:
    """Headline gait numbers of a recording (units in the field names)."""

    speed_mm_s: float
    path_speed_mm_s: float
    frequency_hz: float
    wavelength_body_lengths: float
    wave_direction: int
    curvature_amplitude_per_mm: float
    curvature_amplitude_kappa_L: float
    lateral_amplitude_body_lengths: float
    slip_ratio: float
    forward_fraction: float
    body_length_mm: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


#: Smallest curvature amplitude (x body length, rad) that counts as undulation. Below it the
#: body is practically straight: zero crossings of its residual curvature (down to rounding
#: noise) would give a "frequency" and "wavelength" of nothing. Chosen, not measured: a quarter
#: of the weakest swimming amplitude of the default organism (kappa L ~ 4 in water) and far
#: above the noise of a straight body (< 1e-6). Bounds: [0, 2] are sensible.
MIN_UNDULATION_KAPPA_L = 1.0


def gait_summary(centreline: object, time: object, discard_s: float = 0.0,
                 whole_cycles: bool = True,
                 min_kappa_L: float = MIN_UNDULATION_KAPPA_L) -> GaitSummary:
    """All headline metrics, after discarding the first ``discard_s`` seconds; with
    ``whole_cycles`` the speed is measured over an integer number of undulation cycles.

    A body whose curvature amplitude (x body length) is below ``min_kappa_L`` does not
    undulate: frequency 0, wavelength and slip undefined (NaN), wave direction 0, and the speed
    is measured over the whole window."""
    cl = _cl(centreline)
    t = _time(time, cl.shape[0])
    keep = t >= t[0] + discard_s
    cl, t = cl[keep], t[keep]
    L = body_length(cl)
    amp = curvature_amplitude(cl)
    undulating = amp * L >= min_kappa_L
    f = undulation_frequency(curvature_at(cl, 0.5), t) if undulating else 0.0
    tt, cc = t, cl
    if whole_cycles and f > 0:
        n_cyc = math.floor((t[-1] - t[0]) * f)
        if n_cyc >= 1:
            sel = t <= t[0] + n_cyc / f + 1e-9
            tt, cc = t[sel], cl[sel]
    v = centroid_speed(cc, tt, "net")
    lam = wavelength(cl, t, f) if f > 0 else math.nan
    direction = movement_direction(cl, t)
    return GaitSummary(
        speed_mm_s=v, path_speed_mm_s=centroid_speed(cc, tt, "path"), frequency_hz=f,
        wavelength_body_lengths=lam,
        wave_direction=wave_direction(cl, t, f) if f > 0 else 0,
        curvature_amplitude_per_mm=amp, curvature_amplitude_kappa_L=amp * L,
        lateral_amplitude_body_lengths=lateral_amplitude(cl),
        slip_ratio=slip_ratio(v, f, lam * L) if f > 0 else math.nan,
        forward_fraction=float(np.mean(direction > 0)), body_length_mm=L)
