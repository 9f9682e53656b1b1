"""Named parameters, parameter sets and their YAML files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from celegans.parameters import Parameter, ParameterError, ParameterSet


def _set() -> ParameterSet:
    ps = ParameterSet(name="demo")
    ps.add(Parameter("g_L", 0.5, "nS", (0.0, 10.0), source="assumed", certainty="assumed",
                     transform="log"))
    ps.add(Parameter("E_L", -65.0, "mV", (-90.0, -30.0), source="Nicoletti 2019, Table 1"))
    ps.add(Parameter("p", 0.2, "1", (0.0, 1.0), transform="logit", frozen=True))
    return ps


def test_yaml_round_trip(tmp_path):
    ps = _set()
    path = ps.save(tmp_path / "p.yaml")
    back = ParameterSet.load(path)
    assert back.values() == ps.values()
    assert back["g_L"].unit == "nS" and back["g_L"].transform == "log"
    assert back.free() == ["g_L", "E_L"]
    assert back.bounds_array().shape == (2, 2)


def test_infinite_bounds_round_trip(tmp_path):
    ps = ParameterSet(name="x")
    ps.add(Parameter("v", 1.0, "mV"))
    back = ParameterSet.load(ps.save(tmp_path / "x.yaml"))
    assert back["v"].bounds == (-math.inf, math.inf)


@pytest.mark.parametrize("name", ["g_L", "E_L", "p"])
def test_transforms_invert(name):
    p = _set()[name]
    x = np.linspace(p.bounds[0] + 1e-3, p.bounds[1] - 1e-3, 7)
    assert np.allclose(p.from_unconstrained(p.to_unconstrained(x)), x)


@pytest.mark.parametrize("kwargs,match", [
    ({"value": float("nan")}, "NaN"),
    ({"bounds": (2.0, 1.0)}, "lower <= upper"),
    ({"value": 20.0}, "outside bounds"),
    ({"transform": "sqrt"}, "transform"),
    ({"certainty": "guess"}, "certainty"),
])
def test_invalid_parameters(kwargs, match):
    base = dict(name="g", value=1.0, unit="nS", bounds=(0.0, 10.0))
    base.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        Parameter(**base)


def test_file_errors_name_file_and_parameter(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("parameters:\n  g_L: {value: -1, unit: nS, bounds: [0, 10]}\n")
    with pytest.raises(ParameterError, match=r"bad\.yaml: parameter 'g_L'.*outside bounds"):
        ParameterSet.load(f)
    f.write_text("parameters:\n  g_L: {value: 1}\n")
    with pytest.raises(ParameterError, match="missing field 'unit'"):
        ParameterSet.load(f)
    f.write_text("parameters:\n  g_L: {value: 1, unit: nS, colour: red}\n")
    with pytest.raises(ParameterError, match="unknown fields"):
        ParameterSet.load(f)


def test_updated_records_source():
    ps = _set().updated({"g_L": 2.0}, source="fitted by level1 test")
    assert ps["g_L"].value == 2.0 and ps["g_L"].source == "fitted by level1 test"
    with pytest.raises(ParameterError):
        _set().updated({"g_L": -1.0})
    with pytest.raises(KeyError, match="unknown parameter 'nope'"):
        _set()["nope"]
