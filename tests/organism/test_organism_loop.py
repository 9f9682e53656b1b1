"""The closed loop: clocks, short runs, outputs, errors (fast)."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

from celegans.cli import main
from celegans.organism import (
    ClockMismatchError,
    Organism,
    OrganismError,
    SimulationBlowUp,
    load_config,
    simulate,
)

_CACHE: dict[str, Organism] = {}


@pytest.fixture
def organism():
    """A shared agar organism, rebuilt when another test's NEURON network superseded it (one
    live NEURON network per process)."""
    org = _CACHE.get("agar")
    if org is None or not getattr(org.net, "_alive", True):
        org = _CACHE["agar"] = Organism(load_config(), "agar")
    org.reset()
    return org


def test_clocks_agree(organism):
    org = organism
    org.reset()
    n_neural = round(org.coupling_ms / org.neural_dt_ms)
    for k in range(1, 41):
        org.step()
        assert org.time_ms == pytest.approx(k * org.coupling_ms)
        assert org.net.t_ms == pytest.approx(k * org.coupling_ms, abs=1e-9)
        assert org.world.time * 1e3 == pytest.approx(k * org.coupling_ms, abs=1e-6)
    assert n_neural >= 1


def test_clock_mismatch_detected(organism):
    org = organism
    org.reset()
    org.step()
    org.world.worm.time += 0.01  # a body that ran ahead
    with pytest.raises(ClockMismatchError, match="body clock"):
        org.step()
    org.reset()


def test_coupling_must_be_multiple_of_steps():
    cfg = load_config().updated({"neural_dt_ms": 0.3})
    with pytest.raises(OrganismError, match="integer multiple"):
        Organism(cfg, "agar")


def test_proprioception_reaches_b_neurons(organism):
    org = organism
    org.reset()
    org.world.worm.q[3:] = 0.05  # bend dorsally: dorsal wall compressed, ventral stretched
    org.step()
    idx = {n: i for i, n in enumerate(org.spec.neurons)}
    cur = org.last_inputs
    assert cur[idx["VB5"]] > 0 > cur[idx["DB4"]]
    org.reset()


def test_short_run_writes_valid_outputs(tmp_path):
    out = tmp_path / "run"
    res = simulate("agar", 0.3, out=out, seed=1)
    assert not res.failed
    for name in ("run.h5", "summary.json", "trajectory.png", "kymograph.png",
                 "motor_raster.png", "worm.gif"):
        assert (out / name).stat().st_size > 0, name
    assert not [p for p in os.listdir(out) if p.endswith((".tmp", ".partial"))]
    with h5py.File(out / "run.h5") as f:
        t = f["time"][:]
        assert f["voltage"].shape == (len(t), 302)
        assert f["muscle_activation"].shape == (len(t), 95)
        assert f["centreline"].shape[1:] == (26, 2)
        assert f["centreline"].attrs["unit"] == "mm"
        assert len(f.attrs["neurons"]) == 302
    assert t[0] == 0 and t[-1] == pytest.approx(0.3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["neurons_simulated"] == 302 and summary["muscles"] == 95
    assert summary["realtime_factor"] > 0
    assert "gait" in summary and summary["published"]["frequency_hz"] == 0.30
    assert res.voltage("AVBL").shape == t.shape


def test_ablation_removes_neurons_and_records_nan():
    res = simulate("water", 0.05, ablate=["AVB", "VB1"])
    assert res.summary["neurons_simulated"] == 299
    assert np.all(np.isnan(res.voltage("AVBL")))
    assert np.all(np.isfinite(res.voltage("AVAL")))


def test_blow_up_keeps_valid_files(tmp_path, monkeypatch):
    from env import World

    calls = {"n": 0}
    orig = World.step

    def flaky(self, a=None):
        calls["n"] += 1
        if calls["n"] > 120:
            from body import BodyInstabilityError

            raise BodyInstabilityError("injected test failure", self.time)
        return orig(self, a)

    monkeypatch.setattr(World, "step", flaky)
    res = simulate("agar", 1.0, out=tmp_path, figures=False, animation=False)
    assert res.failed and "injected" in res.summary["failed"]
    with h5py.File(tmp_path / "run.h5") as f:
        t = f["time"][:]
        assert 0.1 <= t[-1] < 0.13
        assert "injected" in f.attrs["failed"]
    assert json.loads((tmp_path / "summary.json").read_text())["failed"]


@pytest.mark.parametrize("kwargs, match", [
    ({"duration_s": 0}, "duration"),
    ({"duration_s": -1.0}, "duration"),
    ({"duration_s": float("nan")}, "duration"),
    ({"backend": "cuda"}, "backend"),
])
def test_bad_simulate_arguments(kwargs, match):
    args = {"medium": "agar", "duration_s": 0.1, **kwargs}
    with pytest.raises(OrganismError, match=match):
        simulate(**args)


def test_unknown_medium_and_unwritable_out(tmp_path):
    with pytest.raises(ValueError, match="medium"):
        simulate("honey", 0.1)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OrganismError, match="out"):
        simulate("agar", 0.1, out=blocker / "sub")


@pytest.mark.parametrize("argv, needle", [
    (["--duration", "0"], "--duration"),
    (["--duration", "-2"], "--duration"),
    (["--medium", "honey"], "--medium"),
    (["--ablate", "NOTANEURON", "--duration", "0.01"], "NOTANEURON"),
    (["--scale", "gap:AVB", "--duration", "0.01"], "scale"),
    (["--arena", "circle:3"], "--arena"),
    (["--field", "salt=weird:1"], "--field"),
])
def test_cli_bad_input_exits_2(argv, needle, tmp_path, capsys):
    rc = main(["simulate", "--out", str(tmp_path / "o"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and "Traceback" not in err


def test_cli_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["simulate", "--out", str(blocker / "x"), "--duration", "0.1", "--quiet"])
    assert rc == 2 and "out" in capsys.readouterr().err


def test_cli_bad_choice_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--backend", "gpu"])
    assert exc.value.code == 2


def test_cli_short_run(tmp_path, capsys):
    rc = main(["simulate", "--medium", "water", "--duration", "0.1", "--out", str(tmp_path),
               "--quiet", "--no-animation", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["medium"] == "water"
    assert (tmp_path / "run.h5").exists() and not (tmp_path / "worm.gif").exists()


def test_blow_up_is_reported_by_loop(organism, monkeypatch):
    org = organism
    org.reset()
    monkeypatch.setattr(org.net, "muscle_activation", lambda: np.full(95, np.nan))
    with pytest.raises(SimulationBlowUp, match="non-finite"):
        org.step()
    monkeypatch.undo()
    org.reset()


def test_torch_and_neuron_backends_agree():
    pytest.importorskip("torch")
    traces = {}
    for backend in ("neuron", "torch"):
        org = Organism(load_config(), "agar", backend=backend, seed=3)
        org.run(0.1)
        traces[backend] = (org.voltages_full(), org.world.worm.centreline())
    v_n, cl_n = traces["neuron"]
    v_t, cl_t = traces["torch"]
    assert np.nanmax(np.abs(v_n - v_t)) < 1.0  # mV
    assert np.max(np.abs(cl_n - cl_t)) < 1e-3  # mm
