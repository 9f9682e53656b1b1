"""Model assignment by configuration: precedence, YAML, errors."""

import pytest

from celegans.models.assignment import Assignment, AssignmentError, as_assignment


def test_precedence_neuron_class_type_default(toy):
    a = Assignment.from_dict({"default": "passive", "types": {"motor": "morris_lecar"},
                              "classes": {"AVA": "glif"}, "neurons": {"AVAL": "morris_lecar"}})
    r = a.resolve(toy)
    assert list(r) == list(toy.neurons)
    assert (r["AVAL"].model, r["AVAL"].rule) == ("morris_lecar", "neuron:AVAL")
    assert (r["AVAR"].model, r["AVAR"].rule) == ("glif", "class:AVA")
    assert (r["DD1"].model, r["DD1"].rule) == ("morris_lecar", "type:motor")
    assert (r["ASEL"].model, r["ASEL"].rule) == ("passive", "default")


def test_one_line_changes_only_those_neurons(toy):
    base = {"default": "passive", "classes": {"AVA": "passive"}}
    r1 = Assignment.from_dict(base).resolve(toy)
    r2 = Assignment.from_dict({**base, "classes": {"AVA": "glif"}}).resolve(toy)
    changed = {n for n in r1 if r1[n].model != r2[n].model}
    assert changed == {"AVAL", "AVAR"}


def test_parameter_overrides_per_model_and_per_neuron(toy):
    a = Assignment.from_dict({
        "default": "passive",
        "neurons": {"DD1": {"model": "passive", "params": {"g_L": 0.7}}},
        "params": {"passive": {"g_L": 0.3}},
    })
    r = a.resolve(toy)
    assert r["AVAL"].params["g_L"] == 0.3
    assert r["DD1"].params["g_L"] == 0.7
    assert r["AVAL"].params["C"] == 1.5  # untouched default


def test_yaml_round_trip(toy, tmp_path):
    path = tmp_path / "assign.yaml"
    path.write_text("default: passive\ntypes:\n  motor: glif\nparams:\n  glif:\n    V_th: -45\n")
    a = as_assignment(str(path))
    r = a.resolve(toy)
    assert r["VB1"].model == "glif" and r["VB1"].params["V_th"] == -45
    a.save(tmp_path / "again.yaml")
    assert Assignment.load(tmp_path / "again.yaml").resolve(toy)["VB1"].params["V_th"] == -45


@pytest.mark.parametrize("cfg, match", [
    ({"default": "nosuch"}, "unknown neuron model 'nosuch'"),
    ({"classes": {"AVA": "lif"}}, "classes.AVA: unknown neuron model"),
    ({"default": "passive", "colour": 1}, "unknown keys"),
    ({"params": {"passive": {"g_L": -0.1}}}, "negative"),
    ({"params": {"passive": {"g_L": float("nan")}}}, "nan"),
    ({"params": {"passive": {"tau": 3}}}, "unknown parameter 'tau'"),
])
def test_bad_config_errors(toy, cfg, match):
    with pytest.raises(AssignmentError, match=match):
        Assignment.from_dict(cfg).resolve(toy)


@pytest.mark.parametrize("cfg, match", [
    ({"neurons": {"AVAX": "glif"}}, r"neurons: unknown neuron name\(s\) \['AVAX'\]"),
    ({"classes": {"XYZ": "glif"}}, r"classes: unknown class name\(s\) \['XYZ'\]"),
    ({"types": {"muscle": "glif"}}, r"types: unknown type name\(s\) \['muscle'\]"),
])
def test_unknown_names_errors(toy, cfg, match):
    with pytest.raises(AssignmentError, match=match):
        Assignment.from_dict(cfg).resolve(toy)
