"""Stimulation protocols shared by every backend and by fitting.

Units at this boundary: time in ms, current in pA, voltage in mV. A protocol describes one or
more *sweeps*; every backend returns one trace per sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


class ProtocolError(ValueError):
    """A protocol is malformed; the message names the field."""


def _check_finite(name: str, values: Sequence[float]) -> None:
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ProtocolError(f"{name}: values must be finite, got {list(values)}")


@dataclass(frozen=True)
class CurrentClamp:
    """Current-clamp steps: one sweep per amplitude.

    Attributes:
        amplitudes_pA: step amplitude of each sweep (pA), added to ``holding_pA``.
        t_on_ms, t_off_ms: step onset and offset (ms).
        duration_ms: total simulated time per sweep (ms).
        holding_pA: constant current applied during the whole sweep (pA).
    """

    amplitudes_pA: tuple[float, ...]
    t_on_ms: float
    t_off_ms: float
    duration_ms: float
    holding_pA: float = 0.0

    def __post_init__(self) -> None:
        amps = tuple(float(a) for a in np.atleast_1d(self.amplitudes_pA))
        object.__setattr__(self, "amplitudes_pA", amps)
        if not amps:
            raise ProtocolError("amplitudes_pA: need at least one sweep")
        _check_finite("amplitudes_pA", amps)
        _check_finite("t_on_ms/t_off_ms/duration_ms/holding_pA",
                      [self.t_on_ms, self.t_off_ms, self.duration_ms, self.holding_pA])
        if self.duration_ms <= 0:
            raise ProtocolError(f"duration_ms: must be > 0, got {self.duration_ms}")
        if not 0 <= self.t_on_ms <= self.t_off_ms <= self.duration_ms:
            raise ProtocolError(
                f"t_on_ms/t_off_ms: need 0 <= t_on ({self.t_on_ms}) <= t_off ({self.t_off_ms}) "
                f"<= duration ({self.duration_ms})")

    @property
    def n_sweeps(self) -> int:
        return len(self.amplitudes_pA)

    def current_at(self, t_ms: np.ndarray) -> np.ndarray:
        """Injected current (pA), shape ``(n_sweeps, len(t_ms))``; the step is on for
        ``t_on <= t < t_off``."""
        t = np.asarray(t_ms, dtype=float)
        on = ((t >= self.t_on_ms) & (t < self.t_off_ms)).astype(float)
        return self.holding_pA + np.outer(self.amplitudes_pA, on)


@dataclass(frozen=True)
class VoltageClamp:
    """Voltage-clamp steps: hold at ``holding_mV``, step to each level, return to holding."""

    levels_mV: tuple[float, ...]
    t_on_ms: float
    t_off_ms: float
    duration_ms: float
    holding_mV: float = -70.0

    def __post_init__(self) -> None:
        lv = tuple(float(a) for a in np.atleast_1d(self.levels_mV))
        object.__setattr__(self, "levels_mV", lv)
        if not lv:
            raise ProtocolError("levels_mV: need at least one sweep")
        _check_finite("levels_mV", lv)
        if self.duration_ms <= 0:
            raise ProtocolError(f"duration_ms: must be > 0, got {self.duration_ms}")
        if not 0 <= self.t_on_ms <= self.t_off_ms <= self.duration_ms:
            raise ProtocolError("t_on_ms/t_off_ms: need 0 <= t_on <= t_off <= duration")

    @property
    def n_sweeps(self) -> int:
        return len(self.levels_mV)

    def voltage_at(self, t_ms: np.ndarray) -> np.ndarray:
        """Command voltage (mV), shape ``(n_sweeps, len(t_ms))``."""
        t = np.asarray(t_ms, dtype=float)
        on = (t >= self.t_on_ms) & (t < self.t_off_ms)
        out = np.full((self.n_sweeps, t.size), self.holding_mV)
        out[:, on] = np.asarray(self.levels_mV)[:, None]
        return out


@dataclass
class TraceResult:
    """Simulated traces with their axes named.

    ``data[var]`` has shape ``(*batch, n_sweeps, n_names, n_time)``; ``batch`` is ``()`` for a
    single parameter set and ``(B,)`` for a batch. ``failed`` flags parameter sets that blew up
    (non-finite state), shape ``batch``.
    """

    time_ms: np.ndarray
    names: list[str]
    data: dict[str, np.ndarray] = field(default_factory=dict)
    failed: np.ndarray | None = None

    @property
    def v(self) -> np.ndarray:
        """Membrane potential (mV)."""
        return self.data["v"]

    def trace(self, name: str, var: str = "v") -> np.ndarray:
        """Traces of one named cell: shape ``(*batch, n_sweeps, n_time)``."""
        try:
            i = self.names.index(name)
        except ValueError:
            raise KeyError(f"no recorded cell {name!r}; recorded: {self.names[:10]}...") from None
        return self.data[var][..., i, :]


def n_steps(duration_ms: float, dt_ms: float) -> int:
    """Number of integration steps for a duration (checked to divide evenly within 1e-9)."""
    n = duration_ms / dt_ms
    if not math.isfinite(n) or dt_ms <= 0:
        raise ProtocolError(f"dt_ms: must be > 0 and finite, got {dt_ms}")
    return int(round(n))
