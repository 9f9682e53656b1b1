"""Protocols: validation and the stimulus they describe."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.protocols import CurrentClamp, ProtocolError, VoltageClamp


def test_current_clamp_waveform():
    p = CurrentClamp((-10.0, 20.0), t_on_ms=10, t_off_ms=20, duration_ms=30, holding_pA=1.0)
    t = np.arange(0, 30, 1.0)
    i = p.current_at(t)
    assert i.shape == (2, 30)
    assert i[0, 9] == 1.0 and i[0, 10] == -9.0 and i[1, 19] == 21.0 and i[1, 20] == 1.0


def test_voltage_clamp_waveform():
    p = VoltageClamp((-40.0, 0.0), t_on_ms=5, t_off_ms=10, duration_ms=15, holding_mV=-70)
    v = p.voltage_at(np.arange(15.0))
    assert v[1, 4] == -70 and v[1, 5] == 0 and v[0, 10] == -70


@pytest.mark.parametrize("kwargs,match", [
    (dict(amplitudes_pA=(), t_on_ms=1, t_off_ms=2, duration_ms=3), "at least one"),
    (dict(amplitudes_pA=(1,), t_on_ms=5, t_off_ms=2, duration_ms=3), "t_on"),
    (dict(amplitudes_pA=(1,), t_on_ms=1, t_off_ms=2, duration_ms=0), "duration_ms"),
    (dict(amplitudes_pA=(float("nan"),), t_on_ms=1, t_off_ms=2, duration_ms=3), "finite"),
])
def test_bad_protocols(kwargs, match):
    with pytest.raises(ProtocolError, match=match):
        CurrentClamp(**kwargs)
