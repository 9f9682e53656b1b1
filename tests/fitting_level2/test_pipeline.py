"""The hierarchical pipeline end to end: a stand-in closed loop for the fast checks, and the
shipped example with the real closed loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from celegans.organism import load_config
from celegans.parameters import ParameterSet
from fitting.pipeline import PipelineError, load_pipeline_config, run_pipeline
from fitting.pipeline_cli import main as pipeline_main

PROTOCOL = {"amplitudes_pA": [-10, -5, 5, 10], "t_on_ms": 50, "t_off_ms": 250,
            "duration_ms": 300}
SMALL_ENS = {"n_members": 3, "hidden": [32, 32], "epochs": 300}


def _config(tmp_path: Path) -> dict:
    return {
        "name": "tiny", "seed": 0,
        "level1": {"neurons": [{
            "name": "AIY", "class": "AIY", "model": "passive",
            "target": {"published": {"model": "passive", "backend": "torch", "dt_ms": 0.5,
                                     "params": {"C": 12.0, "g_L": 0.8, "E_L": -55.0}}},
            "protocol": PROTOCOL, "fit": ["C", "g_L", "E_L"], "dt_ms": 0.5,
            "pop_size": 12, "max_evals": 72}]},
        "level2": {"parameters": {"multipliers": {"kinds": ["gap"],
                                                  "classes": ["AVB", "VB", "DB"],
                                                  "bounds": [0.2, 5.0]}},
                   "conditions": [{"name": "agar", "medium": "agar"},
                                  {"name": "water", "medium": "water"}],
                   "pop_size": 8, "max_evals": 56, "function": "standin:standin_trace",
                   "executor": "serial"},
        "estimate": [
            {"name": "ml_channels", "kind": "cell", "model": "morris_lecar",
             "parameters": {"g_Ca": [0.2, 0.6], "g_K": [0.3, 1.2]}, "protocol": PROTOCOL,
             "dt_ms": 0.5, "n_sims": 256, "observed": {"values": {"g_Ca": 0.33, "g_K": 0.6}},
             "ensemble": SMALL_ENS},
            {"name": "gap", "kind": "level2", "parameters": ["network.mult.gap.AVB.VB"],
             "ensemble": SMALL_ENS}],
    }


def test_pipeline_runs_every_stage_with_loadable_outputs(tmp_path):
    run = tmp_path / "run"
    status = run_pipeline(_config(tmp_path), run, progress=False)
    assert status["finished"]
    st = json.loads((run / "status.json").read_text())
    assert {k: v["state"] for k, v in st["stages"].items()} == {
        "level1": "done", "level2": "done", "estimate": "done"}
    # level 1: cell file with provenance, organism with the fitted class model
    cell = ParameterSet.load(run / "level1" / "AIY" / "fitted.yaml")
    assert cell.meta["provenance"]["stage"] == "level1"
    assert "fitted by level1" in cell["C"].source
    assert cell["C"].value == pytest.approx(12.0, rel=0.3)
    org = load_config(run / "level1" / "organism.yaml")
    assert org.assignment["classes"]["AIY"]["params"]["C"] == pytest.approx(cell["C"].value)
    # level 2: started from the level-1 organism, lowered the behaviour error
    l2 = st["stages"]["level2"]["outputs"]
    assert l2["best_error"] < l2["start_error"]
    net = load_config(l2["network"])
    assert net.assignment["classes"]["AIY"]["params"]["C"] == pytest.approx(cell["C"].value)
    assert "level1" in net.parameters.meta["provenance"]
    # estimates with intervals and held-out coverage
    for name in ("ml_channels", "gap"):
        est = ParameterSet.load(run / "estimate" / f"{name}.yaml")
        for p in est.values():
            iv = est.meta["intervals"][p]
            assert iv["lower"] <= est[p].value <= iv["upper"]
            assert est[p].certainty == "estimated"
        chk = json.loads((run / "estimate" / f"{name}_check.json").read_text())
        assert 0.0 <= chk["check"]["coverage_mean"] <= 1.0
    ml = ParameterSet.load(run / "estimate" / "ml_channels.yaml")
    assert ml["g_Ca"].unit == "nS"
    lo, hi = ml.meta["intervals"]["g_Ca"]["lower"], ml.meta["intervals"]["g_Ca"]["upper"]
    assert hi - lo < 0.4                          # narrower than the prior box
    figs = {p.name for p in (run / "figures").glob("*.png")}
    assert any("pareto" in f for f in figs) and any("accuracy" in f for f in figs)
    # resume: everything done, nothing recomputed
    mtime = (run / "level2" / "network_fitted.yaml").stat().st_mtime
    run_pipeline(_config(tmp_path), run, progress=False)
    assert (run / "level2" / "network_fitted.yaml").stat().st_mtime == mtime


def test_pipeline_config_errors(tmp_path):
    with pytest.raises(PipelineError, match="unknown keys"):
        load_pipeline_config({"level3": {}})
    with pytest.raises(PipelineError, match="no stage"):
        load_pipeline_config({"name": "x"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"level1": {"neurons": [{"name": "AIY"}]}}))
    assert pipeline_main([str(bad), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    st = json.loads((tmp_path / "o" / "status.json").read_text())
    assert st["stages"]["level1"]["state"] == "failed" and "target" in \
        st["stages"]["level1"]["error"]


def test_example_pipeline_small_end_to_end(tmp_path):
    """examples/pipeline_small.yaml with the real closed loop (~40 s; in the default suite so CI
    runs the whole hierarchy: Level 1 -> Level 2 -> estimation)."""
    root = Path(__file__).resolve().parents[2]
    status = run_pipeline(root / "examples" / "pipeline_small.yaml", tmp_path / "small",
                          progress=False)
    assert status["finished"]
    l2 = status["stages"]["level2"]["outputs"]
    assert l2["best_error"] < l2["start_error"]
    assert np.isfinite(l2["best_error"])
    # the fitted network (class multipliers and the per-connection scale) loads straight into
    # the organism simulator
    from celegans.organism import simulate

    assert "network.conn.gap.AVBL.VB1" in load_config(l2["network"]).parameters

    res = simulate("water", 0.05, config=l2["network"], figures=False, animation=False)
    assert res is not None
