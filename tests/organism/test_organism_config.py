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
    assert cfg.proprioception == {"VB": "ventral", "DB": "dorsal", "RMDDL": "dorsal",
                                  "RMDDR": "dorsal", "RMDVL": "ventral", "RMDVR": "ventral"}
    assert set(cfg.command["forward"]) == {"AVBL", "AVBR"}
    assert "syn_V_th" in cfg.network_overrides()


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(OrganismError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_ORGANISM_FILE.read_text().replace("coupling_dt_ms", "coupling_x"))
    with pytest.raises(OrganismError, match="coupling_dt_ms"):
        load_config(bad)


def test_multipliers_of_ablated_classes_are_dropped(con):
    """Ablating a class removes its connections, so its class-pair multipliers are left out
    of the network overrides (the network would reject them), and the network builds."""
    cfg = load_config()
    full = cfg.network_overrides()
    assert "mult.chemical.DB.VD" in full and "syn_V_th" in full
    keep = [n for n in con.neurons if con.neuron(n).cls not in ("VB", "DB")]
    classes = {con.neuron(n).cls for n in keep}
    reduced = cfg.network_overrides(classes)
    assert "mult.chemical.DB.VD" not in reduced and "mult.chemical.VD.VB" not in reduced
    assert reduced["syn_V_th"] == full["syn_V_th"]
    assert reduced["mult.chemical.RMD.RMD"] == full["mult.chemical.RMD.RMD"]
    with pytest.raises(ValueError, match="DB.VD"):
        NetworkSpec.from_connectome(con, "passive", full, neurons=keep)
    NetworkSpec.from_connectome(con, "passive", reduced, neurons=keep)


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
    b_type = {n for n in con.neurons if con.neuron(n).cls in ("VB", "DB")}
    assert set(tr.proprioceptive) == b_type | {"RMDDL", "RMDDR", "RMDVL", "RMDVR"}
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


@pytest.mark.parametrize("p_tail", [0.0, 0.5, 1.0])
def test_receptive_fields_cut_by_the_tail(con, p_tail):
    """A field cut short by the tail (rows that exist n < width w) gets the per-row weight
    gain/w x (w/n)^p: p = 1 reads the mean strain, p = 0 the sum of the rows that exist."""
    cfg = load_config().updated({"stretch_tail_compensation": p_tail})
    tr = Transducer(cfg, con, con.neurons)
    gain, width = cfg.value("stretch_gain_pA"), int(cfg.value("stretch_field_rows"))
    strain = 0.05
    uniform = {"stretch_dorsal": np.full(24, strain), "stretch_ventral": np.full(24, strain)}
    cur = tr.proprioceptive_current(uniform)
    for name in tr.proprioceptive:
        r0 = int(round(tr.positions[name])) - 1
        n = min(r0 + width, 24) - r0
        expected = gain * strain * (n / width) ** (1.0 - p_tail)
        assert cur[con.neurons.index(name)] == pytest.approx(expected), name
    # the most posterior B-type neurons have cut fields: they only differ when p < 1
    tail = max(tr.proprioceptive, key=lambda nm: tr.positions[nm])
    full = min(tr.proprioceptive, key=lambda nm: tr.positions[nm])
    ratio = cur[con.neurons.index(tail)] / cur[con.neurons.index(full)]
    assert (ratio < 0.99) if p_tail < 1 else ratio == pytest.approx(1.0)


def _quiet_obs():
    return {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24),
            "touch_anterior": np.zeros(1), "touch_posterior": np.zeros(1)}


def test_start_pulse_switches_units_on_then_stops(con):
    cfg = load_config().updated({"start_pulse_pA": 150.0, "start_pulse_ms": 2.0})
    cfg.bias = {}
    cfg.start_pulse_neurons = ("VB",)  # a class name
    tr = Transducer(cfg, con, con.neurons)
    i_db, i_vb = con.neurons.index("DB3"), con.neurons.index("VB3")
    first = [tr.inputs(_quiet_obs(), 1e-3) for _ in range(3)]
    assert [c[i_vb] for c in first] == [150.0, 150.0, 0.0]
    assert all(c[i_db] == 0.0 for c in first)
    tr.reset()
    assert tr.inputs(_quiet_obs(), 1e-3)[i_vb] == 150.0
    cfg.start_pulse_neurons = ()  # without targets: the dorsal proprioceptive neurons
    dorsal = Transducer(cfg, con, con.neurons).inputs(_quiet_obs(), 1e-3)
    assert dorsal[i_db] == 150.0 and dorsal[i_vb] == 0.0
    cfg.start_pulse_neurons = ("NOPE",)
    with pytest.raises(OrganismError, match="start_pulse_neurons"):
        Transducer(cfg, con, con.neurons)


def test_head_units_sense_the_neck(con):
    """The RMDD/RMDV head motor neurons are proprioceptive units (per-neuron entries of
    meta.proprioception) whose fields cover the neck; the lateral RMDL/R are not."""
    cfg = load_config()
    tr = Transducer(cfg, con, con.neurons)
    zero = {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24)}
    for name, side in (("RMDDL", "dorsal"), ("RMDVR", "ventral")):
        assert tr.positions[name] < 6  # innervates head/neck rows
        row = int(round(tr.positions[name])) - 1
        own = tr.proprioceptive_current(dict(zero, **{f"stretch_{side}": np.eye(24)[row]}))
        other = "ventral" if side == "dorsal" else "dorsal"
        opp = tr.proprioceptive_current(dict(zero, **{f"stretch_{other}": np.eye(24)[row]}))
        assert own[con.neurons.index(name)] > 0 and opp[con.neurons.index(name)] == 0
    assert "RMDL" not in tr.proprioceptive and "RMDR" not in tr.proprioceptive
    # a per-neuron entry wins over its class entry; unknown names are a clear error
    cfg.proprioception = {"VB": "ventral", "VB3": "dorsal"}
    tr = Transducer(cfg, con, con.neurons)
    i3, i4 = con.neurons.index("VB3"), con.neurons.index("VB4")
    dorsal = tr.proprioceptive_current(dict(zero, stretch_dorsal=np.full(24, 0.1)))
    assert dorsal[i3] > 0 and dorsal[i4] == 0
    cfg.proprioception = {"NOPE": "dorsal"}
    with pytest.raises(OrganismError, match="proprioception"):
        Transducer(cfg, con, con.neurons)


def test_bias_currents(con):
    cfg = load_config()
    assert set(cfg.bias) == ({n for n in con.neurons if con.neuron(n).cls in ("VB", "DB")}
                             | {"RMDDL", "RMDDR", "RMDVL", "RMDVR"})
    cfg = cfg.updated({"start_pulse_pA": 0.0})
    cfg.bias = {"VB2": -80.0, "DB1": 40.0}
    cur = Transducer(cfg, con, con.neurons).inputs(_quiet_obs(), 1e-3)
    assert cur[con.neurons.index("VB2")] == -80.0 and cur[con.neurons.index("DB1")] == 40.0
    assert cur[con.neurons.index("VB3")] == 0.0
    cfg.bias = {"XYZ": 1.0}
    with pytest.raises(OrganismError, match="bias_pA"):
        Transducer(cfg, con, con.neurons)


def test_command_and_touch_inputs(con):
    cfg = load_config().updated({"start_pulse_pA": 0.0})  # constant inputs only
    tr = Transducer(cfg, con, con.neurons)
    obs = {"stretch_dorsal": np.zeros(24), "stretch_ventral": np.zeros(24),
           "touch_anterior": np.array([5.0]), "touch_posterior": np.array([0.0])}
    cur = tr.inputs(obs, 1e-3)
    assert cur[con.neurons.index("AVBL")] == cfg.value("command_forward_pA")
    assert cur[con.neurons.index("ALML")] == pytest.approx(5.0 * 1.0)
    assert cur[con.neurons.index("PLML")] == 0
    pulsed = Transducer(load_config(), con, con.neurons)  # default: forward-command onset
    assert pulsed.inputs(obs, 1e-3)[con.neurons.index("AVBL")] == pytest.approx(
        cfg.value("command_forward_pA") + load_config().value("start_pulse_pA"))


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
