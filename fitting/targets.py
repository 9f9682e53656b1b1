"""Fitting targets: recordings with their protocol, loaded from NPZ, CSV or NWB, or synthetic.

A :class:`Recording` holds sweeps sampled on one time grid together with the protocol that
produced them (current clamp: voltage in mV; voltage clamp: current in pA). Every loader checks
that the protocol is present and consistent with the sweeps, and that samples are finite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from celegans.protocols import CurrentClamp, ProtocolError, TraceResult, VoltageClamp

Protocol = CurrentClamp | VoltageClamp


class TargetError(ValueError):
    """A recording or target is malformed; the message names the file and field."""


@dataclass(frozen=True)
class Recording:
    """Sweeps recorded (or simulated) under one protocol.

    Attributes:
        protocol: the current- or voltage-clamp protocol (ms, pA, mV).
        time_ms: sample times, shape ``(n_time,)``, increasing.
        data: ``(n_sweeps, n_time)``; membrane potential (mV) for current clamp, clamp current
            (pA) for voltage clamp.
        name: what was recorded (cell name, file).
        feature_sd: experimental SD of features where known (``{feature: sd}``); used to scale
            feature errors (Druckmann et al. 2007).
        meta: provenance.
    """

    protocol: Protocol
    time_ms: np.ndarray
    data: np.ndarray
    name: str = ""
    feature_sd: Mapping[str, float] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"recording {self.name!r}" if self.name else "recording"
        if self.protocol is None:
            raise TargetError(f"{where}: no protocol given (need step amplitudes/levels, "
                              "on/off times and holding)")
        if not isinstance(self.protocol, CurrentClamp | VoltageClamp):
            raise TargetError(f"{where}: protocol must be CurrentClamp or VoltageClamp, got "
                              f"{type(self.protocol).__name__}")
        t = np.asarray(self.time_ms, dtype=float)
        d = np.asarray(self.data, dtype=float)
        if d.ndim == 1:
            d = d[None, :]
        if t.ndim != 1 or t.size < 3:
            raise TargetError(f"{where}: time_ms must be 1-D with >= 3 samples, got {t.shape}")
        if d.ndim != 2 or d.shape[1] != t.size:
            raise TargetError(f"{where}: data must be (n_sweeps, n_time={t.size}), got {d.shape}")
        if d.shape[0] != self.protocol.n_sweeps:
            raise TargetError(
                f"{where}: {d.shape[0]} sweeps but the protocol has {self.protocol.n_sweeps} "
                "amplitudes/levels (one per sweep expected)")
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise TargetError(f"{where}: time_ms must be finite and strictly increasing")
        bad = ~np.isfinite(d)
        if bad.any():
            s, i = np.argwhere(bad)[0]
            raise TargetError(f"{where}: {int(bad.sum())} non-finite (NaN/inf) samples, first in "
                              f"sweep {int(s)} at t={t[i]:.3f} ms")
        object.__setattr__(self, "time_ms", t)
        object.__setattr__(self, "data", d)
        object.__setattr__(self, "feature_sd", dict(self.feature_sd))
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def kind(self) -> str:
        """``"cc"`` (current clamp) or ``"vc"`` (voltage clamp)."""
        return "cc" if isinstance(self.protocol, CurrentClamp) else "vc"

    @property
    def n_sweeps(self) -> int:
        return int(self.data.shape[0])

    @property
    def dt_ms(self) -> float:
        return float(np.median(np.diff(self.time_ms)))

    @property
    def amplitudes(self) -> np.ndarray:
        """Step amplitudes (pA) or levels (mV) per sweep."""
        p = self.protocol
        return np.asarray(p.amplitudes_pA if isinstance(p, CurrentClamp) else p.levels_mV)

    def select(self, sweeps: Sequence[int]) -> Recording:
        """A recording with only the given sweeps (protocol reduced accordingly)."""
        idx = [int(i) for i in sweeps]
        if not idx:
            raise TargetError(f"recording {self.name!r}: sweep selection is empty")
        for i in idx:
            if not 0 <= i < self.n_sweeps:
                raise TargetError(f"recording {self.name!r}: sweep {i} out of range "
                                  f"0..{self.n_sweeps - 1}")
        p = self.protocol
        if isinstance(p, CurrentClamp):
            newp: Protocol = replace(p, amplitudes_pA=tuple(p.amplitudes_pA[i] for i in idx))
        else:
            newp = replace(p, levels_mV=tuple(p.levels_mV[i] for i in idx))
        return replace(self, protocol=newp, data=self.data[idx])

    def resample(self, dt_ms: float) -> Recording:
        """Block-average (when coarser) or interpolate onto a uniform grid of step ``dt_ms``."""
        if dt_ms <= 0:
            raise TargetError(f"resample: dt_ms must be > 0, got {dt_ms}")
        t0, t1 = self.time_ms[0], self.time_ms[-1]
        new_t = np.arange(t0, t1 + 1e-9, dt_ms)
        k = dt_ms / self.dt_ms
        if k > 1.5 and abs(k - round(k)) < 1e-6:
            k = int(round(k))
            n = (self.data.shape[1] // k) * k
            data = self.data[:, :n].reshape(self.n_sweeps, -1, k).mean(axis=2)
            new_t = self.time_ms[:n].reshape(-1, k).mean(axis=1)
        else:
            data = np.stack([np.interp(new_t, self.time_ms, d) for d in self.data])
        return replace(self, time_ms=new_t, data=data)

    def crop(self, t_start_ms: float, t_stop_ms: float) -> Recording:
        """Keep samples in ``[t_start, t_stop]``; the protocol keeps its own time axis."""
        m = (self.time_ms >= t_start_ms) & (self.time_ms <= t_stop_ms)
        return replace(self, time_ms=self.time_ms[m], data=self.data[:, m])


# ------------------------------------------------------------------------------------------
# Loaders
# ------------------------------------------------------------------------------------------

_PROTOCOL_KEYS_CC = ("amplitudes_pA", "t_on_ms", "t_off_ms")


def protocol_from_dict(d: Mapping[str, Any], n_time_ms: float, origin: str) -> Protocol:
    """Build a protocol from a plain mapping (sidecar JSON, NPZ arrays, CLI).

    Accepted keys (ms/pA/mV, or the ``_s`` variants in seconds): ``amplitudes_pA`` (or
    ``step_amplitudes_pA``/``stimulus_pA``) for current clamp, ``levels_mV`` for voltage clamp;
    ``t_on_ms``/``stim_on_s``; ``t_off_ms``/``stim_off_s``; optional ``holding_pA`` /
    ``holding_mV``; ``duration_ms`` (default: the recording length).
    """
    def get(*names: str) -> Any:
        for n in names:
            if n in d and d[n] is not None:
                v = d[n]
                return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v
        return None

    amps = get("amplitudes_pA", "step_amplitudes_pA", "stimulus_pA")
    levels = get("levels_mV", "step_levels_mV")
    t_on = get("t_on_ms")
    if t_on is None and get("stim_on_s") is not None:
        t_on = 1000.0 * float(get("stim_on_s"))
    t_off = get("t_off_ms")
    if t_off is None and get("stim_off_s") is not None:
        t_off = 1000.0 * float(get("stim_off_s"))
    missing = [k for k, v in (("amplitudes_pA or levels_mV", amps if amps is not None else levels),
                              ("t_on_ms", t_on), ("t_off_ms", t_off)) if v is None]
    if missing:
        raise TargetError(f"{origin}: protocol incomplete, missing {missing} (a recording needs "
                          "its protocol: step amplitudes, on/off times, holding)")
    duration = float(get("duration_ms") or n_time_ms)
    try:
        if amps is not None:
            return CurrentClamp(tuple(np.atleast_1d(amps).astype(float)), float(t_on),
                                float(t_off), duration, float(get("holding_pA") or 0.0))
        return VoltageClamp(tuple(np.atleast_1d(levels).astype(float)), float(t_on),
                            float(t_off), duration, float(get("holding_mV") or -70.0))
    except ProtocolError as exc:
        raise TargetError(f"{origin}: protocol invalid: {exc}") from None


def load_npz(path: str | os.PathLike, protocol: Protocol | None = None,
             sidecar: str | os.PathLike | None = None) -> Recording:
    """Load a recording from NPZ.

    Arrays: ``time_ms`` or ``time_s``; ``voltage_mV`` (current clamp) or ``current_pA``
    (voltage clamp), shape ``(sweeps, n)``; protocol arrays (see :func:`protocol_from_dict`)
    unless ``protocol`` is given. A JSON sidecar with the same stem is read for the protocol
    (``protocol`` block) and feature SDs (``feature_sd``) when present.
    """
    p = Path(path)
    if not p.exists():
        raise TargetError(f"{p}: file not found")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrs = {k: z[k] for k in z.files}
    except Exception as exc:  # noqa: BLE001 - any reader error becomes a TargetError
        raise TargetError(f"{p}: not a readable NPZ file ({exc})") from None
    side = _read_sidecar(p, sidecar)
    if "time_ms" in arrs:
        t = np.asarray(arrs["time_ms"], float)
    elif "time_s" in arrs:
        t = 1000.0 * np.asarray(arrs["time_s"], float)
    else:
        raise TargetError(f"{p}: needs a 'time_ms' or 'time_s' array; has {sorted(arrs)}")
    if "voltage_mV" in arrs:
        data = arrs["voltage_mV"]
    elif "current_pA" in arrs:
        data = arrs["current_pA"]
    else:
        raise TargetError(f"{p}: needs a 'voltage_mV' or 'current_pA' array; has {sorted(arrs)}")
    data = np.atleast_2d(np.asarray(data, float))
    if protocol is None:
        src: dict[str, Any] = {k: v for k, v in arrs.items() if np.asarray(v).size < 10_000}
        src.update(side.get("protocol", {}) or {})
        if "current_pA" in arrs and "voltage_mV" not in arrs:
            src.pop("stimulus_pA", None)
        protocol = protocol_from_dict(src, float(t[-1] + (t[1] - t[0])), str(p))
    return Recording(protocol, t, data, name=str(side.get("cell", p.stem)),
                     feature_sd=side.get("feature_sd", {}) or {},
                     meta={"file": str(p)})


def _read_sidecar(p: Path, sidecar: str | os.PathLike | None) -> dict[str, Any]:
    sc = Path(sidecar) if sidecar is not None else p.with_suffix(".json")
    if not sc.exists():
        if sidecar is not None:
            raise TargetError(f"{sc}: sidecar file not found")
        return {}
    try:
        return json.loads(sc.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TargetError(f"{sc}: not valid JSON ({exc})") from None


def load_csv(path: str | os.PathLike, protocol: Protocol | None = None,
             sidecar: str | os.PathLike | None = None) -> Recording:
    """Load a recording from CSV: first column time (ms), one column per sweep.

    The header names the time column ``time_ms`` (or ``time_s``); the protocol comes from
    ``protocol`` or a JSON sidecar with the same stem (``protocol`` block). Voltage-clamp files
    declare ``"kind": "vc"`` in the sidecar.
    """
    p = Path(path)
    if not p.exists():
        raise TargetError(f"{p}: file not found")
    with open(p, encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    try:
        arr = np.loadtxt(p, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise TargetError(f"{p}: not numeric CSV after the header ({exc})") from None
    if arr.shape[1] < 2:
        raise TargetError(f"{p}: need a time column and at least one sweep column")
    t = arr[:, 0] * (1000.0 if header[0].strip().lower() == "time_s" else 1.0)
    side = _read_sidecar(p, sidecar)
    if protocol is None:
        protocol = protocol_from_dict(side.get("protocol", {}) or {},
                                      float(t[-1] + (t[1] - t[0])), str(p))
    return Recording(protocol, t, arr[:, 1:].T, name=str(side.get("cell", p.stem)),
                     feature_sd=side.get("feature_sd", {}) or {}, meta={"file": str(p)})


def load_nwb(path: str | os.PathLike, *, t_on_ms: float | None = None,
             t_off_ms: float | None = None) -> Recording:
    """Load current-clamp (or voltage-clamp) sweeps from an NWB file (needs ``pynwb``).

    Each ``CurrentClampSeries`` (``VoltageClampSeries``) in acquisition is a sweep; its paired
    stimulus series (same sweep number, or same order) gives the step amplitude (and on/off
    times: first and last sample where the stimulus departs from its initial value).
    """
    try:
        from pynwb import NWBHDF5IO
        from pynwb.icephys import (
            CurrentClampSeries,
            CurrentClampStimulusSeries,
            VoltageClampSeries,
            VoltageClampStimulusSeries,
        )
    except ImportError:
        raise TargetError("NWB support needs pynwb: pip install 'celegans[nwb]'") from None
    p = Path(path)
    if not p.exists():
        raise TargetError(f"{p}: file not found")
    with NWBHDF5IO(str(p), "r") as io:
        nwb = io.read()
        acq = [s for s in nwb.acquisition.values()
               if isinstance(s, CurrentClampSeries | VoltageClampSeries)]
        if not acq:
            raise TargetError(f"{p}: no CurrentClampSeries/VoltageClampSeries in acquisition")
        stims = [s for s in nwb.stimulus.values()
                 if isinstance(s, CurrentClampStimulusSeries | VoltageClampStimulusSeries)]
        if len(stims) != len(acq):
            raise TargetError(f"{p}: {len(acq)} response sweeps but {len(stims)} stimulus series "
                              "(the protocol needs one stimulus per sweep)")
        acq.sort(key=_sweep_key)
        stims.sort(key=_sweep_key)
        vc = isinstance(acq[0], VoltageClampSeries)
        data, amps, ons, offs, holds, t = [], [], [], [], [], None
        for resp, stim in zip(acq, stims, strict=True):
            y = np.asarray(resp.data[:], float) * float(resp.conversion)
            s = np.asarray(stim.data[:], float) * float(stim.conversion)
            rate = float(resp.rate)
            tt = 1000.0 * (float(resp.starting_time or 0.0) + np.arange(y.size) / rate)
            if t is None:
                t = tt
            elif tt.size != t.size:
                raise TargetError(f"{p}: sweep {resp.name} has {tt.size} samples, expected "
                                  f"{t.size} (all sweeps must share one time grid)")
            scale = 1e3 if vc else 1e12  # SI (V or A) -> mV or pA
            y = y * (1e12 if vc else 1e3)
            s = s * scale
            base = s[0]
            on = np.flatnonzero(np.abs(s - base) > 1e-9 * max(1.0, abs(base)))
            holds.append(base)
            amps.append(float(s[on[0]] - base) if on.size else 0.0)
            ons.append(float(tt[on[0]]) if on.size else np.nan)
            offs.append(float(tt[on[-1]] + 1000.0 / rate) if on.size else np.nan)
            data.append(y)
    ons_f = [x for x in ons if np.isfinite(x)]
    offs_f = [x for x in offs if np.isfinite(x)]
    t_on = t_on_ms if t_on_ms is not None else (float(np.median(ons_f)) if ons_f else None)
    t_off = t_off_ms if t_off_ms is not None else (float(np.median(offs_f)) if offs_f else None)
    if t_on is None or t_off is None:
        raise TargetError(f"{p}: every stimulus is flat; pass t_on_ms/t_off_ms explicitly")
    assert t is not None
    dur = float(t[-1] + (t[1] - t[0]))
    prot: Protocol
    if vc:
        prot = VoltageClamp(tuple(np.add(amps, holds[0])), t_on, t_off, dur, holds[0])
    else:
        prot = CurrentClamp(tuple(amps), t_on, t_off, dur, holds[0])
    return Recording(prot, t, np.stack(data), name=p.stem, meta={"file": str(p)})


def _sweep_key(series: Any) -> tuple[int, str]:
    return (int(getattr(series, "sweep_number", None) or 0), str(series.name))


def load_recording(path: str | os.PathLike, protocol: Protocol | None = None) -> Recording:
    """Load a recording by extension: ``.npz``, ``.csv`` or ``.nwb``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return load_npz(path, protocol)
    if suffix == ".csv":
        return load_csv(path, protocol)
    if suffix == ".nwb":
        return load_nwb(path)
    raise TargetError(f"{path}: unknown recording format {suffix!r} (expected .npz, .csv, .nwb)")


def save_npz(rec: Recording, path: str | os.PathLike) -> Path:
    """Write a recording (with its protocol) to NPZ atomically; :func:`load_npz` reads it."""
    from celegans.io import atomic_path

    p = rec.protocol
    arrays: dict[str, Any] = {"time_ms": rec.time_ms, "t_on_ms": p.t_on_ms,
                              "t_off_ms": p.t_off_ms, "duration_ms": p.duration_ms}
    if isinstance(p, CurrentClamp):
        arrays.update(voltage_mV=rec.data, amplitudes_pA=np.asarray(p.amplitudes_pA),
                      holding_pA=p.holding_pA)
    else:
        arrays.update(current_pA=rec.data, levels_mV=np.asarray(p.levels_mV),
                      holding_mV=p.holding_mV)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return Path(path)


# ------------------------------------------------------------------------------------------
# Synthetic targets
# ------------------------------------------------------------------------------------------

SimulateFn = Callable[[Mapping[str, Any], Protocol], TraceResult]


def synthetic_recording(simulate: SimulateFn, params: Mapping[str, float], protocol: Protocol,
                        *, noise_mV: float = 0.0, seed: int = 0, name: str = "synthetic",
                        sample_dt_ms: float | None = None) -> Recording:
    """A target generated by a known model (parameter recovery, model reduction).

    ``simulate(params, protocol) -> TraceResult`` is e.g. a :class:`fitting.simulator.SimSpec`.
    The true parameters are kept in ``meta['true_params']``.
    """
    res = simulate(dict(params), protocol)
    var = "v" if isinstance(protocol, CurrentClamp) else ("i" if "i" in res.data else "v")
    y = np.asarray(res.data[var], float)
    y = y.reshape(protocol.n_sweeps, -1)
    if res.failed is not None and np.any(res.failed):
        raise TargetError(f"{name}: the generating simulation failed for {dict(params)}")
    t = np.asarray(res.time_ms, float)
    if noise_mV > 0:
        y = y + np.random.default_rng(seed).normal(0.0, noise_mV, y.shape)
    rec = Recording(protocol, t, y, name=name,
                    meta={"true_params": {k: float(v) for k, v in params.items()}})
    return rec.resample(sample_dt_ms) if sample_dt_ms else rec
