"""Device and dtype selection for the torch backend (CPU everywhere, CUDA when present)."""

from __future__ import annotations

from typing import Any

import torch

DEFAULT_DTYPE = torch.float64


class TorchSimError(ValueError):
    """Bad input to the torch backend (shapes, parameters, step size); names the field."""


class UnstableStepError(TorchSimError):
    """The requested time step is outside the range where the integrator is accurate/stable."""


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available else CPU; ``"cpu"``/``"cuda[:i]"``/torch.device pass."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise TorchSimError(f"device: cannot parse {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TorchSimError(f"device: {device!r} requested but CUDA is not available")
    return dev


def resolve_dtype(dtype: Any = None) -> torch.dtype:
    """``None``/``"float64"``/``"float32"``/torch dtype -> torch dtype (float64 default)."""
    if dtype is None:
        return DEFAULT_DTYPE
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise TorchSimError(f"dtype: need a floating dtype, got {dtype}")
        return dtype
    table = {"float64": torch.float64, "double": torch.float64, "float32": torch.float32,
             "float": torch.float32}
    try:
        return table[str(dtype)]
    except KeyError:
        raise TorchSimError(f"dtype: unknown {dtype!r}; use float64 or float32") from None


class flush_denormals:
    """Context manager: flush denormal floats to zero on CPU while simulating.

    States that relax geometrically to a fixed point (``x - x_inf`` -> 1e-310 ...) otherwise hit
    the CPU's very slow denormal path (10x slower arithmetic); values below ~1e-308 do not
    matter to any trace. XLA (Jaxley's backend) flushes them by default too."""

    def __enter__(self) -> flush_denormals:
        self.ok = torch.set_flush_denormal(True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.ok:
            torch.set_flush_denormal(False)
