"""Organism configuration, perturbations and sensing (no simulation)."""

from __future__ import annotations

import numpy as np
import pytest

import connectome_data as cd
from celegans.network import NetworkSpec
from celegans.organism import OrganismError, Perturbation, load_config
from celegans.organism.config import DEFAULT_ORGANISM_FILE
from celegans.organism.perturb import (
    ConnectionScale,
    apply_connection_changes,
    resolve_ablation,
)
from celegans.organism.sensing import Transducer, motor_positions


@pytest.fixture(scope="module")
def con():
    return cd.load("cook2019_herm")


def test_default_config_has_provenance():
    cfg = load_config()
    assert cfg.dataset == "cook2019_herm"
    for name, p in cfg.parameters.parameters.items():
        assert p.source, f"{name} lacks a source"
        assert p.unit, f"{name} lacks a unit"
    assert cfg.proprioception == {"VB": "ventral", "DB": "dorsal"}
    assert set(cfg.command["forward"]) == {"AVBL", "AVBR"}
    assert "syn_V_th" in cfg.network_overrides()


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(OrganismError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_ORGANISM_FILE.read_text().replace("coupling_dt_ms", "coupling_x"))
    with pytest.raises(OrganismError, match="coupling_dt_ms"):
        load_config(bad)


def test_unknown_parameter_update_rejected():
    with pytest.raises(OrganismError, match="unknown"):
        load_config().updated({"no_such_thing": 1.0})


def test_ablation_resolves_classes_and_neurons(con):
    assert resolve_ablation(con, ["AVB"]) == ["AVBL", "AVBR"]
    names = resolve_ablation(con, ["VB", "DB1"])
    assert len(names) == 12 and "DB1" in names and "VB11" in names
    with pytest.raises(OrganismError, match="XYZ"):
        resolve_ablation(con, ["XYZ"])


def test_connection_changes(con):
    spec = NetworkSpec.from_connectome(con)
    no_gap = apply_connection_changes(spec, Perturbation(remove=("gap",)))
    assert len(no_gap.gap_a) == 0 and len(no_gap.chem_pre) == len(spec.chem_pre)
    scaled = apply_connection_changes(spec, Perturbation(scale=("gap:AVB:VB=0",)))
    cls = np.array(spec.classes)
    pair = ((cls[spec.gap_a] == "AVB") & (cls[spec.gap_b] == "VB")) | (
        (cls[spec.gap_b] == "AVB") & (cls[spec.gap_a] == "VB"))
    assert pair.any()
    assert np.all(scaled.gap_contacts[pair] == 0)
    assert np.all(scaled.gap_contacts[~pair] == spec.gap_contacts[~pair])
    nmj = apply_connection_changes(spec, Perturbation(scale=(ConnectionScale("nmj", "DD", "*",
                                                                             2.0),)))
    dd = cls[spec.nmj_pre] == "DD"
    assert np.allclose(nmj.nmj_contacts[dd], 2 * spec.nmj_contacts[dd])
    for bad in ("gap:AVB", "foo:AVB=1", "gap:AVB=-1", "gap:AVB=x"):
        with pytest.raises(OrganismError):
            Perturbation(scale=(bad,))
    with pytest.raises(OrganismError, match="kinds"):
        Perturbation(remove=("electrical",))
    with pytest.raises(OrganismError, match="class"):
        apply_connection_changes(spec, Perturbation(scale=("chemical:NOPE=2",)))


def test_motor_positions_follow_the_cord(con):
    pos = motor_positions(con, [f"VB{i}" for i in range(1, 12)])
    rows = [pos[f"VB{i}"] for i in range(1, 12)]
    assert rows[0] < 10 < rows[-1]
    assert np.corrcoef(np.arange(11), rows)[0, 1] > 0.95


def test_proprioception_reads_own_side_posteriorly(con):
    cfg = load_config()
    tr = Transducer(cfg, con, con.neurons)
    assert set(tr.proprioceptive) == {n for n in con.neurons if con.neuron(n).cls in ("VB", "DB")}
    zero = {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24)}
    base = tr.proprioceptive_current(zero)
    assert np.all(base == 0)
    i_db = con.neurons.index("DB4")
    i_vb = con.neurons.index("VB6")
    row = int(round(tr.positions["DB4"])) - 1
    dorsal = dict(zero, stretch_dorsal=np.eye(24)[row] * 0.1)
    cur = tr.proprioceptive_current(dorsal)
    assert cur[i_db] > 0 and cur[i_vb] == 0
    anterior = dict(zero, stretch_dorsal=np.eye(24)[max(row - 2, 0)] * 0.1)
    assert tr.proprioceptive_current(anterior)[i_db] == 0  # field is posterior only


def test_command_and_touch_inputs(con):
    cfg = load_config()
    tr = Transducer(cfg, con, con.neurons)
    obs = {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24),
           "touch_anterior": np.array([5.0]), "touch_posterior": np.array([0.0])}
    cur = tr.inputs(obs, 1e-3)
    assert cur[con.neurons.index("AVBL")] == cfg.value("command_forward_pA")
    assert cur[con.neurons.index("ALML")] == pytest.approx(5.0 * 1.0)
    assert cur[con.neurons.index("PLML")] == 0


def test_chemosensory_derivative_channels(con):
    cfg = load_config()
    tr = Transducer(cfg, con, con.neurons, field_names=("salt",))
    assert "salt" in tr.active_sensors
    base = {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24),
            "touch_anterior": np.zeros(1), "touch_posterior": np.zeros(1)}
    first = tr.inputs(dict(base, salt=np.array([1.0])), 1e-3)
    rising = tr.inputs(dict(base, salt=np.array([1.001])), 1e-3)  # +1 mM/s
    asel, aser = con.neurons.index("ASEL"), con.neurons.index("ASER")
    assert first[asel] == 0
    assert rising[asel] == pytest.approx(20.0) and rising[aser] == pytest.approx(-20.0)
    tr_nofield = Transducer(cfg, con, con.neurons)
    assert "salt" not in tr_nofield.active_sensors
