"""``celegans fit neuron`` (fitting.cli): a small run and the exit-2 error path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fitting.cli import main
from fitting.targets import save_npz


def test_cli_errors_exit_2_without_traceback(tmp_path, capsys):
    t = np.arange(0, 100.0, 1.0)
    np.savez(tmp_path / "noprot.npz", time_ms=t, voltage_mV=np.zeros((2, t.size)))
    rc = main(["fit", "neuron", "--recording", str(tmp_path / "noprot.npz"),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "protocol incomplete" in err and "Traceback" not in err
    rc = main(["fit", "neuron", "--recording", str(tmp_path / "missing.npz"),
               "--out", str(tmp_path / "o")])
    assert rc == 2 and "file not found" in capsys.readouterr().err


def test_cli_unknown_algorithm_exit_2(tmp_path, target, capsys):
    save_npz(target, tmp_path / "t.npz")
    rc = main(["fit", "neuron", "--recording", str(tmp_path / "t.npz"), "--algorithm", "foo",
               "--out", str(tmp_path / "o"), "--no-progress"])
    assert rc == 2 and "algorithm: unknown 'foo'" in capsys.readouterr().err


def test_cli_fits_with_torch_backend(tmp_path, target, capsys):
    pytest.importorskip("celegans.torchsim.cell")
    save_npz(target, tmp_path / "t.npz")
    rc = main(["fit", "neuron", "--recording", str(tmp_path / "t.npz"), "--model", "passive",
               "--algorithm", "cmaes", "--pop-size", "12", "--max-evals", "48",
               "--dt", "0.5", "--test-sweeps", "5", "--out", str(tmp_path / "run"),
               "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0, out
    summary = json.loads(out)
    assert set(summary["best"]) == {"C", "g_L", "E_L"}
    assert (tmp_path / "run" / "fitted.yaml").exists()
