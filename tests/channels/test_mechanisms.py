"""Mechanism compilation cache: compiled once, keyed by content, clear errors, any cwd."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("neuron")

from celegans.nrn import mechanisms as mech  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

GOOD_MOD = """NEURON {
    THREADSAFE
    SUFFIX cetest_leak
    NONSPECIFIC_CURRENT i
    RANGE g, e
}
UNITS { (mA) = (milliamp) (mV) = (millivolt) (S) = (siemens) }
PARAMETER { g = 0.001 (S/cm2) e = -65 (mV) }
ASSIGNED { v (mV) i (mA/cm2) }
BREAKPOINT { i = g * (v - e) }
"""


def test_compile_cached_and_keyed_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("CELEGANS_CACHE", str(tmp_path / "cache"))
    moddir = tmp_path / "mod"
    moddir.mkdir()
    (moddir / "cetest_leak.mod").write_text(GOOD_MOD)
    # two concurrent callers: one builds, the other waits on the lock and reuses it
    with ThreadPoolExecutor(2) as ex:
        libs = list(ex.map(lambda _: mech.compile_mechanisms([moddir]), range(2)))
    assert libs[0] == libs[1] and libs[0].exists()
    entries = [p for p in (tmp_path / "cache" / "nrnmech").iterdir() if p.is_dir()]
    assert len(entries) == 1  # no leftover temp build dirs
    mtime = libs[0].stat().st_mtime
    assert mech.compile_mechanisms([moddir]) == libs[0]
    assert libs[0].stat().st_mtime == mtime  # not rebuilt
    # changing the content changes the key
    (moddir / "cetest_leak.mod").write_text(GOOD_MOD.replace("-65", "-60"))
    lib2 = mech.compile_mechanisms([moddir])
    assert lib2 != libs[0] and lib2.exists()


def test_compile_error_shows_nrnivmodl_output(tmp_path, monkeypatch):
    monkeypatch.setenv("CELEGANS_CACHE", str(tmp_path / "cache"))
    moddir = tmp_path / "mod"
    moddir.mkdir()
    (moddir / "broken.mod").write_text(GOOD_MOD.replace("BREAKPOINT {", "BREAKPOINT { q = ("))
    with pytest.raises(mech.MechanismBuildError, match="nrnivmodl failed") as info:
        mech.compile_mechanisms([moddir])
    assert "broken" in str(info.value)
    # nothing half-built is left in the cache
    assert not [p for p in (tmp_path / "cache" / "nrnmech").iterdir() if p.is_dir()]


def test_load_mechanisms_from_any_cwd(tmp_path):
    code = (
        "from celegans.nrn.mechanisms import load_mechanisms, mechanism_names\n"
        "load_mechanisms(); load_mechanisms()\n"
        "from neuron import h\n"
        "names = mechanism_names()\n"
        "assert names and all(hasattr(h, n) for n in names), names\n"
        "print('OK', len(names))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "OK" in out.stdout
