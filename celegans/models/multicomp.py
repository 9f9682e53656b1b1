"""``multicomp``: soma with channels plus passive neurites on the published morphology.

Morphologies come from the c302 NeuroML cells, extracted at build time into
``data/morphologies.csv.gz`` (see :mod:`celegans.models.build_morphologies`; provenance in
``data/morphologies.provenance.yaml``); c302 is not needed at run time.

The soma is the ``hh`` cell chosen by the ``cell`` option (or a passive soma with
``cell="passive"``), with that cell's parameters and geometry; the neurites (axon and dendrite
segments of the morphology, unbranched runs merged into sections) are passive, with the
``neurite_*`` parameters of ``data/multicomp.yaml``. The morphology is the neuron's own unless
the ``morphology`` option names another neuron.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from celegans.models.base import DATA_DIR, ModelError, NeuronModel, NrnCell, validate_parameters
from celegans.parameters import ParameterSet

MORPHOLOGY_TABLE = DATA_DIR / "morphologies.csv.gz"
DEFAULT_CELL = "RMD"


@dataclass(frozen=True)
class Morphology:
    """Segments of one neuron: ``parent[i]`` (-1 root), group, proximal/distal points (um)."""

    cell: str
    segment: np.ndarray
    parent: np.ndarray
    group: tuple[str, ...]
    proximal: np.ndarray  # (n, 4): x, y, z, diameter
    distal: np.ndarray

    def cables(self) -> list[tuple[int, list[int]]]:
        """Unbranched runs of non-soma segments: ``(parent_cable_index or -1, [segment ids])``;
        ``-1`` means attached to the soma. Cables are in topological order."""
        idx = {int(s): i for i, s in enumerate(self.segment)}
        children: dict[int, list[int]] = defaultdict(list)
        for s, p in zip(self.segment, self.parent, strict=True):
            children[int(p)].append(int(s))
        soma = {int(s) for s, g in zip(self.segment, self.group, strict=True) if g == "soma"}
        cables: list[tuple[int, list[int]]] = []
        stack: list[tuple[int, int]] = []  # (first segment, parent cable)
        for s in self.segment:
            s = int(s)
            if s not in soma and int(self.parent[idx[s]]) in soma | {-1}:
                stack.append((s, -1))
        while stack:
            first, pc = stack.pop(0)
            run = [first]
            while len(children.get(run[-1], [])) == 1:
                run.append(children[run[-1]][0])
            cables.append((pc, run))
            me = len(cables) - 1
            for c in children.get(run[-1], []):
                stack.append((c, me))
        return cables

    @property
    def total_length_um(self) -> float:
        return float(np.linalg.norm(self.distal[:, :3] - self.proximal[:, :3], axis=1).sum())


@lru_cache(maxsize=1)
def _table() -> dict[str, list[list[str]]]:
    if not MORPHOLOGY_TABLE.exists():
        raise ModelError(f"{MORPHOLOGY_TABLE} missing: run `python -m "
                         "celegans.models.build_morphologies` (needs c302 at build time)")
    with gzip.open(MORPHOLOGY_TABLE, "rt") as fh:
        reader = csv.reader(io.StringIO(fh.read()))
        header = next(reader)
        if header[:4] != ["cell", "segment", "parent", "group"]:
            raise ModelError(f"{MORPHOLOGY_TABLE}: unexpected header {header}")
        rows: dict[str, list[list[str]]] = defaultdict(list)
        for r in reader:
            rows[r[0]].append(r)
    return dict(rows)


def list_morphologies() -> list[str]:
    """Neurons with a stored morphology."""
    return sorted(_table())


def load_morphology(cell: str) -> Morphology:
    """The stored morphology of neuron ``cell``."""
    rows = _table().get(cell)
    if rows is None:
        raise ModelError(f"no morphology for {cell!r} in {MORPHOLOGY_TABLE.name} "
                         f"({len(_table())} cells, e.g. {list_morphologies()[:3]}); a single "
                         "multicomp cell needs the option morphology=<neuron name>")
    arr = np.array([[float(x) for x in r[4:]] for r in rows])
    seg = np.array([int(r[1]) for r in rows])
    parent = np.array([int(r[2]) for r in rows])
    return Morphology(cell, seg, parent, tuple(r[3] for r in rows), arr[:, :4], arr[:, 4:])


class MulticompModel(NeuronModel):
    """Soma with channels (``hh`` cell) and passive neurites on the c302 morphology."""

    name = "multicomp"
    description = "soma with channel-library channels + passive neurites on c302 morphology"
    data_file = "multicomp.yaml"
    option_names = ("cell", "morphology")
    state_vars = ("v",)

    def _soma_model(self, options: Mapping[str, Any]) -> tuple[NeuronModel, dict[str, Any]]:
        from celegans.models.hh import HHModel
        from celegans.models.reduced import PassiveModel

        cell = options.get("cell", DEFAULT_CELL)
        if cell == "passive":
            return PassiveModel(), {}
        return HHModel(), {"cell": cell}

    def default_parameters(self, **options: Any) -> ParameterSet:
        self.check_options(options)
        neurite = ParameterSet.load(DATA_DIR / self.data_file)
        soma_model, soma_opts = self._soma_model(options)
        soma = soma_model.default_parameters(**soma_opts)
        merged = ParameterSet(dict(neurite.parameters), name="multicomp",
                              description=neurite.description)
        for k, p in soma.parameters.items():
            if k in merged:
                raise ModelError(f"model 'multicomp': soma parameter {k!r} clashes with a "
                                 "neurite parameter")
            merged.add(p)
        return merged

    def parameters(self, overrides: Mapping[str, Any] | None = None,
                   **options: Any) -> dict[str, float]:
        return validate_parameters(self.default_parameters(**options), overrides,
                                   where=f"model 'multicomp:{options.get('cell', DEFAULT_CELL)}'")

    def build_nrn(self, params: Mapping[str, float], name: str, *, dt_ms: float = 0.025,
                  **options: Any) -> NrnCell:
        from neuron import h

        self.check_options(options)
        morph = load_morphology(options.get("morphology", name))
        soma_model, soma_opts = self._soma_model(options)
        soma_keys = set(soma_model.default_parameters(**soma_opts))
        soma_params = {k: v for k, v in params.items() if k in soma_keys}
        soma_cell = soma_model.build_nrn(soma_params, name, dt_ms=dt_ms, **soma_opts)
        soma = soma_cell.soma
        max_len = params["neurite_max_section_um"]
        idx = {int(s): i for i, s in enumerate(morph.segment)}
        sections = [soma]
        for k, (pc, run) in enumerate(morph.cables()):
            sec = h.Section(name=f"{name}_neurite{k}")
            first = idx[run[0]]
            pts = [morph.proximal[first]] + [morph.distal[idx[s]] for s in run]
            for x, y, z, d in pts:
                sec.pt3dadd(float(x), float(y), float(z), max(float(d), 0.05))
            sec.Ra = params["neurite_Ra"]
            sec.cm = params["neurite_cm"]
            sec.insert("pas")
            sec.g_pas = params["neurite_g_L"] * 1e-3  # mS/cm2 -> S/cm2
            sec.e_pas = params["neurite_E_L"]
            sec.nseg = 2 * int(math.ceil(sec.L / max_len / 2.0)) + 1 if sec.L > max_len else 1
            parent = soma if pc < 0 else sections[pc + 1]
            sec.connect(parent(1.0 if pc >= 0 else 0.5), 0.0)
            sections.append(sec)
        cell = NrnCell(name, self.name, soma, sections, keep=dict(soma_cell.keep),
                       capacitance_pF=soma_cell.capacitance_pF, aliases=dict(soma_cell.aliases))
        cell.keep["soma_cell"] = soma_cell
        return cell
