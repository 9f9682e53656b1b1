"""Model registry, default parameter files and parameter validation."""

import math

import pytest

from celegans.models import ModelError, get_model, list_models, parse_model_spec
from celegans.models.base import DATA_DIR
from celegans.parameters import ParameterSet

REDUCED = ("passive", "morris_lecar", "glif")


def test_registry_lists_all_models():
    assert set(list_models()) >= {"passive", "morris_lecar", "glif", "hh", "multicomp"}
    for name in list_models():
        assert get_model(name).name == name


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown neuron model 'lif2'"):
        get_model("lif2")
    with pytest.raises(ModelError, match="unknown options"):
        parse_model_spec({"model": "passive", "colour": "red"})


def test_parse_model_spec():
    assert parse_model_spec("hh:RMD") == ("hh", {"cell": "RMD"})
    assert parse_model_spec("passive") == ("passive", {})
    assert parse_model_spec({"model": "multicomp", "cell": "passive"}) == (
        "multicomp", {"cell": "passive"})
    with pytest.raises(ModelError, match="unknown options"):
        parse_model_spec("passive:RMD")


@pytest.mark.parametrize("name", REDUCED + ("multicomp",))
def test_yaml_defaults_have_units_bounds_sources(name):
    fname = get_model(name).data_file
    ps = ParameterSet.load(DATA_DIR / fname)
    assert len(ps) >= 3
    for p in ps.values() and ps.parameters.values():
        assert p.unit and p.source, p.name
        assert p.bounds[0] <= p.value <= p.bounds[1]


@pytest.mark.parametrize("name", REDUCED)
def test_parameter_overrides_and_errors(name):
    m = get_model(name)
    d = m.parameters()
    assert d["C"] > 0 and math.isfinite(d["g_L"])
    assert m.parameters({"g_L": 0.5})["g_L"] == 0.5
    with pytest.raises(ModelError, match="unknown parameter 'g_foo'"):
        m.parameters({"g_foo": 1.0})
    with pytest.raises(ModelError, match="'g_L' is nan"):
        m.parameters({"g_L": float("nan")})
    with pytest.raises(ModelError, match="conductance 'g_L' = -1.0 nS is negative"):
        m.parameters({"g_L": -1.0})
    with pytest.raises(ModelError, match="outside bounds"):
        m.parameters({"C": 1e9})
    with pytest.raises(ModelError, match="must be a number"):
        m.parameters({"C": "big"})
