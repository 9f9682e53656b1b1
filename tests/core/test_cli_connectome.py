"""The ``celegans`` CLI: connectome commands and error exits."""

from __future__ import annotations

import subprocess
import sys

from celegans.cli import main


def test_connectome_info_prints_cook_counts(capsys):
    assert main(["connectome", "info", "--dataset", "cook2019_herm"]) == 0
    out = capsys.readouterr().out
    for number in ("302", "3709", "20965", "2196", "11523", "14 on the diagonal", "95"):
        assert number in out


def test_connectome_info_other_datasets(capsys):
    assert main(["connectome", "info", "--dataset", "witvliet2021_adult"]) == 0
    assert "witvliet2021_8" in capsys.readouterr().out
    assert main(["connectome", "info", "--dataset", "varshney2011", "--json"]) == 0
    assert '"dataset": "varshney2011"' in capsys.readouterr().out


def test_unknown_dataset_exits_2_without_traceback():
    r = subprocess.run([sys.executable, "-m", "celegans", "connectome", "info", "--dataset",
                        "nope"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "error: unknown dataset 'nope'" in r.stderr
    assert "Traceback" not in r.stderr


def test_help_and_list(capsys):
    r = subprocess.run([sys.executable, "-m", "celegans", "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "connectome" in r.stdout
    assert main(["connectome", "list"]) == 0
    assert "cook2019_herm" in capsys.readouterr().out
