"""Malformed or edited tables give errors naming the file, row and problem; nothing half-loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import connectome_data as cd
from connectome_data.tables import TABLES_DIR, TableError


@pytest.fixture()
def tables(tmp_path: Path) -> Path:
    d = tmp_path / "cook"
    shutil.copytree(TABLES_DIR / "cook2019_herm", d)
    shutil.copy(TABLES_DIR / "neurons.csv", tmp_path / "neurons.csv")
    return d


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def _append(path: Path, line: str) -> None:
    with open(path, "a") as fh:
        fh.write(line + "\n")


def _load(d: Path, verify: bool = False):
    return cd.load_tables(d, d.parent / "neurons.csv", verify=verify)


def test_unedited_copy_loads(tables):
    c = _load(tables, verify=True)
    assert c.chemical.sum() == 20965


def test_missing_column(tables):
    _edit(tables / "chemical.csv", "pre,post,contacts", "pre,contacts")
    with pytest.raises(TableError, match=r"chemical\.csv, row 1: missing column\(s\) \['post'\]"):
        _load(tables)


def test_unexpected_column(tables):
    _edit(tables / "gap.csv", "a,b,contacts", "a,b,contacts,weight")
    with pytest.raises(TableError, match=r"gap\.csv, row 1: unexpected column"):
        _load(tables)


def test_unknown_neuron_name(tables):
    _edit(tables / "chemical.csv", "\nADAL,", "\nADAX,")
    with pytest.raises(TableError, match=r"chemical\.csv, row 2: unknown neuron 'ADAX'"):
        _load(tables)


def test_negative_count(tables):
    _append(tables / "chemical.csv", "CANL,CANR,-3")
    with pytest.raises(TableError, match=r"row \d+: contacts '-3' must be a positive integer"):
        _load(tables)


def test_non_integer_count(tables):
    _append(tables / "neuron_muscle.csv", "AVAL,MDL01,2.5")
    with pytest.raises(TableError, match=r"neuron_muscle\.csv, row \d+: contacts '2.5' is not an"):
        _load(tables)


def test_non_numeric_count(tables):
    _append(tables / "chemical.csv", "CANL,CANR,many")
    with pytest.raises(TableError, match="is not a number"):
        _load(tables)


def test_asymmetric_gap_junction(tables):
    _append(tables / "gap.csv", "AVAL,PHAL,2")
    with pytest.raises(TableError, match=r"gap\.csv: asymmetric gap junction AVAL-PHAL"):
        _load(tables)


def test_duplicate_row(tables):
    first = (tables / "chemical.csv").read_text().splitlines()[1]
    _append(tables / "chemical.csv", first)
    with pytest.raises(TableError, match=r"duplicate row .* \(first at row 2\)"):
        _load(tables)


def test_unknown_dataset_name():
    with pytest.raises(KeyError, match="unknown dataset 'cook2020'.*cook2019_herm"):
        cd.load("cook2020")


def test_unknown_body_wall_muscle(tables):
    _append(tables / "neuron_muscle.csv", "VB3,MVL24,1")
    with pytest.raises(TableError, match="unknown body-wall muscle 'MVL24'"):
        _load(tables)


def test_wrong_field_count(tables):
    _append(tables / "chemical.csv", "CANL,CANR")
    with pytest.raises(TableError, match="2 fields, expected 3"):
        _load(tables)


def test_missing_file(tables):
    (tables / "gap.csv").unlink()
    with pytest.raises(TableError, match=r"gap\.csv: file not found"):
        _load(tables)


def test_empty_file(tables):
    (tables / "gap.csv").write_text("")
    with pytest.raises(TableError, match="empty file"):
        _load(tables)


def test_edited_table_fails_checksum(tables):
    _edit(tables / "chemical.csv", "\nADAL,AIBL,2", "\nADAL,AIBL,3")
    with pytest.raises(TableError, match="edited table: sha256 differs"):
        _load(tables, verify=True)


def test_neuron_table_errors(tables):
    nt = tables.parent / "neurons.csv"
    _edit(nt, "AVAL,AVA,inter", "AVAL,AVA,glia")
    with pytest.raises(TableError, match=r"neurons\.csv, row \d+: type 'glia'"):
        _load(tables)
    shutil.copy(TABLES_DIR / "neurons.csv", nt)
    first = nt.read_text().splitlines()[1]
    _append(nt, first)
    with pytest.raises(TableError, match="duplicate neuron"):
        _load(tables)


def test_nothing_half_loaded_after_error(tables):
    _append(tables / "neuron_muscle.csv", "VB3,MVL24,1")
    with pytest.raises(TableError):
        _load(tables)
    # the shipped dataset is untouched and loads whole
    assert cd.load("cook2019_herm").chemical.sum() == 20965
