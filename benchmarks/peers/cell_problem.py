"""The single-cell benchmark problem for peers running a C. elegans ``hh`` cell (e.g. RMD).

Shared by both sides of the process boundary:

* the project side (:func:`write_problem`, run by ``run_cell_peers.py`` with the project's
  Python) turns a cell of ``celegans/cells`` and the conductance sets into one JSON file: the
  cell's channels, calcium model and every value of its equations (flat names as in
  ``CellSpec.values``), the protocol, the step and the sets, plus the path of the project's
  array-agnostic ``kinetics.py`` and of the compiled NEURON mechanism library;
* the peer side (:func:`read_problem`, :func:`load_kinetics`, :func:`require`), imported by the
  peer scripts inside their own venvs, where only numpy (and the peer package) is available.

This module imports nothing beyond the standard library and numpy at module level.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
KINETICS_PATH = ROOT / "celegans" / "channels" / "kinetics.py"


class PeerProblemError(ValueError):
    """The problem file is missing a field or holds a value of the wrong kind."""


@dataclass(frozen=True)
class CellLike:
    """What :mod:`celegans.channels.kinetics` needs of a cell (a stand-in for ``CellSpec``)."""

    name: str
    channels: tuple[str, ...]
    calcium: str
    values: dict[str, float]


def write_problem(path: str | os.PathLike, cell_name: str, g_sets: Mapping[str, Any],
                  protocol: Any, dt_ms: float, n_keep: int = 4,
                  with_mechanisms: bool = False) -> Path:
    """Write the peer problem (JSON, atomically) for ``cell_name`` and conductance sets.

    Args:
        path: output file.
        cell_name: a published cell (``"RMD"``).
        g_sets: ``{"g_<channel>": array(B)}`` in nS (``conductance_sets`` of the benchmark).
        protocol: a one-sweep ``celegans.protocols.CurrentClamp``.
        dt_ms: the peers' fixed step (ms).
        n_keep: traces the peers send back (the first sets).
        with_mechanisms: also compile (if needed) the project's NEURON mechanisms and record
            the library path (for the BluePyOpt peer).
    """
    from celegans.cells import load_cell
    from celegans.io import atomic_path
    from celegans.protocols import CurrentClamp, n_steps

    if not isinstance(protocol, CurrentClamp) or protocol.n_sweeps != 1:
        raise PeerProblemError("protocol: the cell peers take a CurrentClamp with one sweep")
    cell = load_cell(cell_name)
    names = sorted(g_sets)
    unknown = [k for k in names if not k.startswith("g_") or k not in cell.values]
    if unknown:
        raise PeerProblemError(f"g_sets: {unknown} are not conductances of cell {cell_name!r}")
    sets = np.stack([np.asarray(g_sets[k], dtype=float) for k in names], axis=1)
    lib = None
    if with_mechanisms:
        from celegans.nrn.mechanisms import compile_mechanisms

        lib = compile_mechanisms()
    prob = {
        "cell": cell.name, "channels": list(cell.channels), "calcium": cell.calcium,
        "values": {k: float(v) for k, v in cell.values.items()},
        "g_names": names, "g_sets_nS": sets.tolist(),
        "dt": float(dt_ms), "duration": float(protocol.duration_ms),
        "n_steps": n_steps(protocol.duration_ms, dt_ms),
        "t_on": float(protocol.t_on_ms), "t_off": float(protocol.t_off_ms),
        "amp_pA": float(protocol.amplitudes_pA[0]), "holding_pA": float(protocol.holding_pA),
        "n_keep": int(n_keep), "kinetics_path": str(KINETICS_PATH),
        "nrn_mech_lib": str(lib) if lib else None,
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(prob))
    return path


_REQUIRED = ("cell", "channels", "calcium", "values", "g_names", "g_sets_nS", "dt", "duration",
             "n_steps", "t_on", "t_off", "amp_pA", "holding_pA", "n_keep", "kinetics_path")


def read_problem(path: str | os.PathLike) -> dict[str, Any]:
    """Read a problem written by :func:`write_problem` (clear error on a missing field)."""
    try:
        prob = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PeerProblemError(f"{path}: cannot read the problem file ({exc})") from None
    missing = [k for k in _REQUIRED if k not in prob]
    if missing:
        raise PeerProblemError(f"{path}: problem lacks field(s) {missing}")
    prob["g_sets_nS"] = np.asarray(prob["g_sets_nS"], dtype=float).reshape(
        -1, len(prob["g_names"]))
    return prob


def cell_like(prob: Mapping[str, Any], g_nS: Mapping[str, float] | None = None) -> CellLike:
    """The problem's cell as a :class:`CellLike` (conductances optionally replaced)."""
    vals = dict(prob["values"])
    if g_nS:
        vals.update({k: float(v) for k, v in g_nS.items()})
    return CellLike(prob["cell"], tuple(prob["channels"]), prob["calcium"], vals)


def load_kinetics(path: str | os.PathLike) -> ModuleType:
    """Import the project's ``kinetics.py`` by path (it needs only the standard library and an
    array namespace passed in by the caller)."""
    path = Path(path)
    if not path.is_file():
        raise PeerProblemError(f"kinetics_path: {path} does not exist")
    spec = importlib.util.spec_from_file_location("celegans_kinetics_peer", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def current_trace_pA(prob: Mapping[str, Any]) -> np.ndarray:
    """Injected current (pA) at ``t = n dt``, n = 0..n_steps: ``holding + amp`` for
    ``t_on <= t < t_off`` (as ``CurrentClamp.current_at``)."""
    t = np.arange(prob["n_steps"] + 1) * prob["dt"]
    on = (t >= prob["t_on"]) & (t < prob["t_off"])
    return prob["holding_pA"] + prob["amp_pA"] * on.astype(float)


def require(module: str, peer: str) -> ModuleType:
    """Import ``module`` or exit with a message naming the peer venv that lacks it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        sys.exit(f"{peer} peer: cannot import {module!r} in {sys.executable} ({exc}); run this "
                 f"script with the {peer} venv (e.g. ~/.cache/celegans/bench_peers/{peer}/bin/"
                 f"python, created by benchmarks/bench_single_cell.py) or pip install it there")
