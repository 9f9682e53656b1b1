"""Open-loop muscle drive patterns (no neurons), e.g. a travelling wave of activation."""

from __future__ import annotations

import numpy as np

from body.errors import BodyInputError
from body.geometry import MUSCLES
from connectome_data.muscles import muscle_quadrant, muscle_row

_ROW_S = np.array([(muscle_row(m) - 0.5) / 24 for m in MUSCLES])
_DORSAL = np.array([muscle_quadrant(m)[0] == "D" for m in MUSCLES])


def travelling_wave(t: float, frequency: float, wavelength: float, amplitude: float = 1.0,
                    direction: int = 1) -> np.ndarray:
    """Activations (95,) of a sinusoidal dorsal/ventral wave at time ``t`` (s).

    ``frequency`` Hz, ``wavelength`` in body lengths, ``amplitude`` in [0, 1]; dorsal muscles
    get ``(1 + A sin(phase))/2``, ventral ``(1 - A sin(phase))/2`` with
    ``phase = 2 pi (f t - direction * s / wavelength)``: ``direction=+1`` sends the wave from
    head to tail (forward crawling), ``-1`` tail to head (reversal).
    """
    if not wavelength > 0 or not np.isfinite(wavelength):
        raise BodyInputError(f"wavelength: expected > 0 body lengths, got {wavelength!r}")
    if not 0.0 <= amplitude <= 1.0:
        raise BodyInputError(f"amplitude: expected a value in [0, 1], got {amplitude!r}")
    if direction not in (1, -1):
        raise BodyInputError(f"direction: expected +1 or -1, got {direction!r}")
    phase = 2 * np.pi * (frequency * t - direction * _ROW_S / wavelength)
    sgn = np.where(_DORSAL, 1.0, -1.0)
    return 0.5 * (1.0 + amplitude * sgn * np.sin(phase))
