"""Recordings and protocols: loaders (NPZ, CSV, NWB, real data) and their input errors."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from celegans.protocols import CurrentClamp, VoltageClamp
from fitting.targets import (
    Recording,
    TargetError,
    load_csv,
    load_npz,
    load_nwb,
    load_recording,
    save_npz,
)

EPHYS = Path(__file__).resolve().parents[3] / "shared" / "data" / "ephys"


def _rec(n_sweeps=3):
    t = np.arange(0, 300.0, 0.5)
    p = CurrentClamp(tuple(np.linspace(-10, 10, n_sweeps)), 50.0, 250.0, 300.0)
    v = -60 + np.outer(p.amplitudes_pA, (t >= 50) & (t < 250)) * 0.5
    return Recording(p, t, v, name="toy")


def test_recording_without_protocol_is_rejected(tmp_path):
    t = np.arange(100.0)
    with pytest.raises(TargetError, match="no protocol given"):
        Recording(None, t, np.zeros((2, 100)))
    np.savez(tmp_path / "noprot.npz", time_ms=t, voltage_mV=np.zeros((2, 100)))
    with pytest.raises(TargetError, match=r"noprot.npz: protocol incomplete, missing"):
        load_npz(tmp_path / "noprot.npz")


def test_sweep_amplitude_mismatch_and_nan_are_rejected(tmp_path):
    t = np.arange(0, 300.0, 0.5)
    p = CurrentClamp((-10.0, 0.0, 10.0), 50.0, 250.0, 300.0)
    with pytest.raises(TargetError, match="2 sweeps but the protocol has 3"):
        Recording(p, t, np.zeros((2, t.size)))
    v = np.zeros((3, t.size))
    v[1, 17] = np.nan
    with pytest.raises(TargetError, match="non-finite .* sweep 1 at t=8.500 ms"):
        Recording(p, t, v)
    np.savez(tmp_path / "bad.npz", time_ms=t, voltage_mV=np.zeros((3, t.size)),
             amplitudes_pA=[1.0, 2.0], t_on_ms=50.0, t_off_ms=250.0)
    with pytest.raises(TargetError, match="3 sweeps but the protocol has 2"):
        load_npz(tmp_path / "bad.npz")
    with pytest.raises(TargetError, match="unknown recording format"):
        load_recording(tmp_path / "x.abf")


def test_npz_and_csv_round_trip(tmp_path):
    rec = _rec()
    save_npz(rec, tmp_path / "r.npz")
    back = load_npz(tmp_path / "r.npz")
    np.testing.assert_allclose(back.data, rec.data)
    assert back.protocol == rec.protocol
    cols = np.column_stack([rec.time_ms, rec.data.T])
    np.savetxt(tmp_path / "r.csv", cols, delimiter=",", header="time_ms,s0,s1,s2", comments="")
    (tmp_path / "r.json").write_text(json.dumps({"protocol": {
        "amplitudes_pA": list(rec.protocol.amplitudes_pA), "t_on_ms": 50, "t_off_ms": 250}}))
    c = load_csv(tmp_path / "r.csv")
    np.testing.assert_allclose(c.data, rec.data)
    assert c.protocol.amplitudes_pA == rec.protocol.amplitudes_pA
    # voltage clamp
    pv = VoltageClamp((-80.0, -40.0), 50.0, 250.0, 300.0, -70.0)
    vc = Recording(pv, rec.time_ms, np.zeros((2, rec.time_ms.size)))
    save_npz(vc, tmp_path / "vc.npz")
    assert load_npz(tmp_path / "vc.npz").kind == "vc"


def test_select_and_resample():
    rec = _rec(5)
    sub = rec.select([0, 4])
    assert sub.n_sweeps == 2 and sub.protocol.amplitudes_pA == (-10.0, 10.0)
    with pytest.raises(TargetError, match="sweep 7 out of range"):
        rec.select([7])
    r2 = rec.resample(2.0)
    assert r2.data.shape[1] == rec.data.shape[1] // 4


def test_nwb_round_trip(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from datetime import datetime

    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    nwb = pynwb.NWBFile(session_description="test", identifier="t1",
                        session_start_time=datetime(2026, 1, 1, tzinfo=UTC))
    dev = nwb.create_device(name="amp")
    elec = nwb.create_icephys_electrode(name="e0", description="patch", device=dev)
    rate = 2000.0
    n = 1000
    t = np.arange(n) / rate * 1000.0
    amps = [-10.0, 0.0, 10.0]
    for k, a in enumerate(amps):
        stim = np.where((t >= 100) & (t < 400), a, 0.0) * 1e-12   # A
        v = (-60.0 + 0.5 * stim * 1e12) * 1e-3                    # V
        nwb.add_stimulus(CurrentClampStimulusSeries(
            name=f"stim{k}", data=stim, rate=rate, electrode=elec,
            gain=1.0, sweep_number=np.uint32(k)))
        nwb.add_acquisition(CurrentClampSeries(
            name=f"resp{k}", data=v, rate=rate, electrode=elec,
            gain=1.0, sweep_number=np.uint32(k)))
    path = tmp_path / "cc.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    rec = load_nwb(path)
    assert rec.protocol.amplitudes_pA == pytest.approx(amps)
    assert rec.protocol.t_on_ms == pytest.approx(100.0)
    assert rec.protocol.t_off_ms == pytest.approx(400.0)
    assert rec.data[2, 300] == pytest.approx(-55.0)
    assert load_recording(path).n_sweeps == 3


@pytest.mark.skipif(not (EPHYS / "AIYL_current_clamp.npz").exists(),
                    reason="shared ephys data absent")
def test_real_recordings_load_with_protocol():
    for cell, n in (("AIYL", 11), ("RIML", 9)):
        rec = load_npz(EPHYS / f"{cell}_current_clamp.npz")
        assert rec.n_sweeps == n and rec.kind == "cc"
        assert rec.protocol.t_on_ms == pytest.approx(978.0)
        assert rec.protocol.t_off_ms == pytest.approx(5978.0)
        assert rec.amplitudes[0] == -15.0
        assert rec.name == cell
