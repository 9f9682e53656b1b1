"""Errors of the closed-loop organism (``ValueError``/``RuntimeError`` subclasses)."""

from __future__ import annotations


class OrganismError(ValueError):
    """Invalid organism input (options, parameters, names); the message names the field."""


class ClockMismatchError(RuntimeError):
    """The network and body clocks disagree at an exchange (a bug, never expected)."""


class SimulationBlowUp(RuntimeError):
    """The closed loop became numerically invalid (non-finite voltages or a body blow-up)."""

    def __init__(self, reason: str, time_s: float) -> None:
        self.reason = reason
        self.time_s = time_s
        super().__init__(f"simulation stopped at t = {time_s:.3f} s: {reason}")
