"""Errors raised by the environment (``ValueError`` subclasses naming the offending field)."""

from __future__ import annotations


class EnvInputError(ValueError):
    """Invalid environment input; the message names the field and what was expected."""


class UnknownMediumError(EnvInputError):
    """A medium preset name that does not exist."""


class InvalidMediumError(EnvInputError):
    """Negative/non-finite viscosity or drag coefficients."""


class InvalidFieldError(EnvInputError):
    """A chemical/temperature field or food patch with invalid geometry or values."""


class InvalidArenaError(EnvInputError):
    """An arena, wall or obstacle with invalid geometry."""
