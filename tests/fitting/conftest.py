"""Fixtures for the level-1 fitting tests: a small synthetic passive target."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fitting_passive_analytic import PASSIVE_YAML, TRUE, simulate_passive  # noqa: E402

from celegans.parameters import ParameterSet  # noqa: E402
from celegans.protocols import CurrentClamp  # noqa: E402
from fitting.simulator import SimSpec  # noqa: E402
from fitting.targets import synthetic_recording  # noqa: E402


@pytest.fixture
def protocol() -> CurrentClamp:
    return CurrentClamp((-15.0, -10.0, -5.0, 0.0, 5.0, 10.0), 100.0, 600.0, 900.0)


@pytest.fixture
def passive_params(tmp_path) -> ParameterSet:
    p = tmp_path / "passive.yaml"
    p.write_text(PASSIVE_YAML)
    return ParameterSet.load(p)


@pytest.fixture
def target(protocol):
    spec = SimSpec("passive", function=simulate_passive, dt_ms=0.2)
    return synthetic_recording(spec, TRUE, protocol, sample_dt_ms=1.0)
