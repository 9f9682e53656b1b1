"""Published cell files: contents, units, and clear errors for bad files."""

from __future__ import annotations

import math

import pytest
import yaml

from celegans.cells import DATA_DIR, CellError, list_cells, load_cell
from celegans.channels.kinetics import CHANNELS


def test_required_cells_present():
    assert {"RMD", "AWCon", "AIY", "RIM", "AVA", "VA", "VB", "VD", "HH1952"} <= set(list_cells())


@pytest.mark.parametrize("name", list_cells())
def test_cell_loads_with_units_and_sources(name):
    cell = load_cell(name)
    assert cell.channels and all(c in CHANNELS for c in cell.channels)
    for k, p in cell.parameters.items():
        assert math.isfinite(p.value), k
        assert p.unit, f"{name}: {k} has no unit"
        assert p.source, f"{name}: {k} has no source"
    for c, g in cell.conductances().items():
        assert g >= 0 and cell.parameters[f"g_{c}"].unit == "nS"
    assert cell.values["C_pF"] > 0 and cell.parameters["C_pF"].unit == "pF"


def test_published_numbers():
    rmd = load_cell("RMD")
    assert rmd.values["C_pF"] == 1.2 and rmd.values["g_shl1"] == 2.48
    assert rmd.values["g_cca1"] == 3.1 and rmd.calcium == "pool"
    awc = load_cell("AWCon")
    assert awc.values["C_pF"] == 3.1 and awc.values["g_egl19"] == 1.55
    aiy = load_cell("AIY")
    assert aiy.values["C_pF"] == pytest.approx(1.6 * 65.89e-8 * 1e6)  # 1.6 uF/cm2 on 65.89 um2
    assert aiy.values["E_leak"] == -89.57 and "shl1_2024" in aiy.channels
    rim = load_cell("RIM")  # 2024 values published in S/cm2 on 103.34 um2
    assert rim.values["g_unc2"] == pytest.approx(9.676795045480941e-05 * 103.34e-8 * 1e9)
    vb = load_cell("VB")  # 2024 motor neuron: Ca shell, 2024 SHK-1 activation
    assert vb.calcium == "shell" and vb.values["shk1.va"] == 2.0
    assert vb.values["g_slo2_egl19"] == 1.75 and vb.values["E_leak"] == -52.0
    assert load_cell("AVA").values["g_egl19"] == 0.104385
    hh = load_cell("HH1952")
    assert hh.values["g_hh_na"] / hh.values["area_um2"] == pytest.approx(1.2)  # 120 mS/cm2
    assert hh.values["hh_na.temp"] == 6.3


def _write(tmp_path, mutate):
    data = yaml.safe_load((DATA_DIR / "RMD.yaml").read_text())
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_errors_are_clear(tmp_path):
    with pytest.raises(CellError, match="unknown cell 'XYZ'.*RMD"):
        load_cell("XYZ")

    def unknown_channel(d):
        d["meta"]["channels"].append("kv99")
    with pytest.raises(CellError, match="unknown channel 'kv99'"):
        load_cell(_write(tmp_path, unknown_channel))

    def negative(d):
        d["parameters"]["g_shl1"]["value"] = -1.0
        d["parameters"]["g_shl1"]["bounds"] = ["-.inf", ".inf"]
    with pytest.raises(CellError, match="g_shl1.*>= 0"):
        load_cell(_write(tmp_path, negative))

    def nan(d):
        d["parameters"]["E_K"]["value"] = float("nan")
    with pytest.raises(CellError, match="E_K.*NaN"):
        load_cell(_write(tmp_path, nan))

    def missing_g(d):
        del d["parameters"]["g_irk"]
    with pytest.raises(CellError, match="missing parameter.*g_irk"):
        load_cell(_write(tmp_path, missing_g))

    def orphan_slo(d):
        d["meta"]["channels"].remove("egl19")
        del d["parameters"]["g_egl19"]
    with pytest.raises(CellError, match="coupled to 'egl19'"):
        load_cell(_write(tmp_path, orphan_slo))

    def bad_override(d):
        d["parameters"]["shl1.nonexistent"] = {"value": 1.0, "unit": "mV"}
    with pytest.raises(CellError, match="shl1.nonexistent"):
        load_cell(_write(tmp_path, bad_override))


def test_overrides():
    cell = load_cell("RMD")
    c2 = cell.with_values({"g_shl1": 5.0, "shl1.va": 12.0})
    assert c2.values["g_shl1"] == 5.0 and c2.values["shl1.va"] == 12.0
    assert cell.values["g_shl1"] == 2.48  # original untouched
    with pytest.raises(CellError, match="unknown parameter"):
        cell.with_values({"g_nope": 1.0})
    with pytest.raises(CellError, match="g_leak.*>= 0"):
        cell.with_values({"g_leak": -0.1})
    with pytest.raises(CellError, match="finite"):
        cell.with_values({"C_pF": float("nan")})


def test_cell_specific_kinetics_override(tmp_path):
    def shift(d):
        d["parameters"]["shl1.va"] = {"value": 20.0, "unit": "mV", "source": "test"}
    cell = load_cell(_write(tmp_path, shift))
    assert cell.values["shl1.va"] == 20.0
    assert cell.parameters["shl1.va"].source == "test"
