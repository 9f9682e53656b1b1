"""Per-connection weights in Level 2: selection from the config, errors, and the way from the
fit (checkpoint, ``network_fitted.yaml``) to the network the organism simulates."""

from __future__ import annotations

import numpy as np
import pytest

from celegans.organism import load_config
from fitting.level2.behaviour import BehaviourError, apply_values
from fitting.level2.fit import fit_level2, level2_config_from_dict
from fitting.level2.space import level2_parameters

STANDIN = "standin:standin_trace"
CONN = {"kinds": ["chemical", "gap", "nmj"],
        "pairs": [["AVBL", "VB2"], ["VB1", "AVBL"], ["VB1", "MVL07"]],
        "bounds": [0.25, 4.0], "transform": "log"}


def test_connections_section_selects_pairs_and_neurons():
    ps = level2_parameters({"connections": CONN})
    assert list(ps) == ["network.conn.chemical.AVBL.VB2", "network.conn.gap.AVBL.VB2",
                        "network.conn.gap.AVBL.VB1", "network.conn.nmj.VB1.MVL07"]
    for n in ps:
        assert ps[n].value == 1.0 and ps[n].bounds == (0.25, 4.0) and ps[n].transform == "log"
    ps2 = level2_parameters({"connections": {"kinds": ["gap"], "neurons": ["AVBL", "AVBR",
                                                                          "VB1", "VB2"]}})
    assert "network.conn.gap.AVBL.VB1" in ps2 and "network.conn.gap.AVBL.AVBR" in ps2
    assert all(n.startswith("network.conn.gap.") for n in ps2)
    # combined with class multipliers: both kinds of names, the per-connection on top
    ps3 = level2_parameters({"multipliers": {"kinds": ["gap"], "classes": ["AVB", "VB"]},
                             "connections": {"names": ["conn.gap.AVBL.VB1"]}})
    assert "network.mult.gap.AVB.VB" in ps3 and "network.conn.gap.AVBL.VB1" in ps3


@pytest.mark.parametrize("section, match", [
    ({"pairs": [["AVBL", "XYZ1"]]}, "unknown neurons"),
    ({"kinds": ["chemical"], "pairs": [["VB1", "AVBL"]]}, "no \\['chemical'\\] connection"),
    ({"pairs": [["AVBL"]]}, "expected \\[pre, post\\]"),
    ({"kinds": ["dense"], "pairs": [["AVBL", "VB2"]]}, "kinds: unknown"),
    ({"kinds": ["gap"]}, "give pairs, neurons and/or names"),
    ({"names": ["conn.gap.VB1.AVBL"]}, "sorted"),
    ({"names": ["mult.gap.AVB.VB"]}, "is not conn"),
    ({"neurons": ["ASHL", "VB1"], "kinds": ["gap"]}, "no \\['gap'\\] connections"),
])
def test_bad_connection_sections_name_the_field(section, match):
    with pytest.raises(BehaviourError, match=match):
        level2_parameters({"connections": section})


def test_fit_with_connection_scales_reaches_the_simulated_network(tmp_path):
    cfg = level2_config_from_dict({
        "parameters": {"connections": CONN, "names": {"muscle_gain": {"bounds": [0.5, 3.0]}}},
        "conditions": [{"name": "agar", "medium": "agar"}, {"name": "water", "medium": "water"}],
        "pop_size": 8, "max_evals": 16, "seed": 3, "function": STANDIN, "executor": "serial"})
    res = fit_level2(cfg, tmp_path / "l2", progress=False)
    assert res.best_error <= res.start_error
    conn = {k: v for k, v in res.best.items() if k.startswith("network.conn.")}
    assert len(conn) == 4 and any(abs(v - 1.0) > 1e-3 for v in conn.values())
    # resume from the checkpoint continues the same run with the same names
    more = fit_level2(level2_config_from_dict({**cfg.__dict__, "max_evals": 24}),
                      tmp_path / "l2", resume=True, progress=False)
    assert more.optim.n_evals == 24 and set(more.best) == set(res.best)
    # the fitted file loads as an organism (what `celegans simulate --config` reads) and the
    # scales reach exactly those connections of the network it builds
    fitted = load_config(tmp_path / "l2" / "network_fitted.yaml")
    from celegans.network import NetworkSpec

    base = NetworkSpec.from_connectome(fitted.dataset, "passive",
                                       {k: v for k, v in fitted.network_overrides().items()
                                        if not k.startswith("conn.")})
    spec = NetworkSpec.from_connectome(fitted.dataset, "passive", fitted.network_overrides())
    gv = more.best["network.conn.gap.AVBL.VB1"]
    ratio = spec.gap_g / base.gap_g
    k = [i for i, (a, b) in enumerate(zip(spec.gap_a, spec.gap_b, strict=True))
         if {spec.neurons[a], spec.neurons[b]} == {"AVBL", "VB1"}]
    assert len(k) == 1 and ratio[k[0]] == pytest.approx(gv)
    changed = np.flatnonzero(~np.isclose(ratio, 1.0))
    assert set(changed) <= set(k) | {i for i, (a, b) in enumerate(zip(spec.gap_a, spec.gap_b,
                                                                      strict=True))
                                     if {spec.neurons[a], spec.neurons[b]} == {"AVBL", "VB2"}}
    p = fitted.parameters["network.conn.gap.AVBL.VB1"]
    assert p.certainty == "fitted" and p.source.startswith("fitted by level2")


def test_organism_builds_with_connection_scales():
    pytest.importorskip("torch")
    pytest.importorskip("pybullet")
    from celegans.organism import Organism

    cfg = apply_values(load_config(), {"network.conn.gap.AVBL.VB1": 2.0})
    ref = Organism(load_config(), "agar", backend="torch").spec
    org = Organism(cfg, "agar", backend="torch")
    ratio = org.spec.gap_g / ref.gap_g
    assert np.sum(~np.isclose(ratio, 1.0)) == 1 and np.max(ratio) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no gap contacts"):
        Organism(apply_values(load_config(), {"network.conn.gap.ASHL.VB1": 2.0}), "agar",
                 backend="torch")


def test_apply_values_keeps_every_other_organism_setting():
    import dataclasses

    base = load_config()
    cfg = apply_values(base, {"network.conn.gap.AVBL.VB1": 2.0, "muscle_gain": 1.5})
    for f in dataclasses.fields(base):
        if f.name != "parameters":
            assert getattr(cfg, f.name) == getattr(base, f.name), f.name
    assert cfg.parameters["muscle_gain"].value == 1.5
    assert cfg.network_overrides()["conn.gap.AVBL.VB1"] == 2.0


def test_prior_centred_initial_population():
    """``init_spread``: the first generation lies around the start, not all over the box."""
    d = {"parameters": {"connections": CONN}, "conditions": [{"name": "agar", "medium": "agar"}],
         "targets": {"agar": {"frequency_hz": {"mean": 0.3, "sd": 0.06}}},
         "pop_size": 8, "max_evals": 8, "seed": 0, "function": STANDIN, "executor": "serial"}
    near = fit_level2(level2_config_from_dict({**d, "init_spread": 0.05}), None, progress=False)
    wide = fit_level2(level2_config_from_dict(d), None, progress=False)
    x0 = near.optim.X[0]
    assert np.allclose(x0, wide.optim.X[0])                 # the start comes first in both
    dn = np.abs(near.optim.X[1:] - x0).max()
    dw = np.abs(wide.optim.X[1:] - x0).max()
    assert dn < 0.3 < dw


def test_start_value_outside_bounds_names_the_fix():
    """The organism file starts VD->VB at 10: bounds that exclude it say which bounds to widen."""
    from fitting.level2.behaviour import BehaviourError
    from fitting.level2.space import level2_parameters

    section = {"multipliers": {"kinds": ["chemical"], "classes": ["VD", "VB"],
                               "bounds": [0.2, 5.0]}}
    with pytest.raises(BehaviourError, match=r"widen parameters\.multipliers\.bounds.*start "
                                             r"value 10"):
        level2_parameters(section)
    section["multipliers"]["bounds"] = [0.1, 20.0]
    ps = level2_parameters(section)
    assert ps["network.mult.chemical.VD.VB"].value == 10.0
    assert "organism file" in ps["network.mult.chemical.VD.VB"].source
