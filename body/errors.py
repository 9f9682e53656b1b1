"""Errors raised by the worm body (all ``ValueError`` or ``RuntimeError`` subclasses)."""

from __future__ import annotations


class BodyInputError(ValueError):
    """Invalid input to the body (activations, geometry, state); the message names the field."""


class InvalidActivationError(BodyInputError):
    """Muscle activations of the wrong length, non-finite, or outside ``[0, 1]``."""


class BodyInstabilityError(RuntimeError):
    """The body integration blew up (non-finite state or runaway velocity).

    Raised instead of returning NaN; ``time_s`` and ``reason`` say when and why.
    """

    def __init__(self, reason: str, time_s: float | None = None) -> None:
        self.reason = reason
        self.time_s = time_s
        where = f" at t = {time_s:.4f} s" if time_s is not None else ""
        super().__init__(f"body integration failed{where}: {reason}")
