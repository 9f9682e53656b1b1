"""The shipped tables equal a fresh regeneration from cect (whenever cect is installed)."""

from __future__ import annotations

import pytest

pytest.importorskip("cect")

from connectome_data.build import compare, main, render_all  # noqa: E402


def test_shipped_tables_equal_fresh_build():
    files = render_all()
    assert "cook2019_herm/chemical.csv" in files and "neurons.csv" in files
    assert compare(files) == []


def test_build_check_cli_reports_identical(capsys):
    assert main(["--check", "--dataset", "varshney2011"]) == 0
    assert "identical" in capsys.readouterr().out


def test_any_cect_dataset_loads_on_demand():
    import connectome_data as cd

    c = cd.load("cect:White_L4")
    assert c.n_neurons == 302 and c.chemical.nnz > 0
    with pytest.raises(KeyError, match="unknown cect reader"):
        cd.load("cect:NoSuchReader")
