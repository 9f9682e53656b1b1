"""The :class:`Connectome`: wiring as sparse matrices over a stated neuron and muscle order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from connectome_data.muscles import BODY_WALL_MUSCLES, normalise_muscle_name
from connectome_data.neurons import NEURON_TYPES, SIGNS
from connectome_data.tables import (
    TableError,
    parse_count,
    read_csv,
    read_provenance,
    verify_checksum,
)


@dataclass(frozen=True)
class Neuron:
    """One neuron: name, class (e.g. AVA), type, transmitters (Wang et al. 2024), synapse sign."""

    name: str
    cls: str
    type: str
    transmitters: tuple[str, ...]
    sign: str


@dataclass
class Connectome:
    """A connectome dataset.

    ``neurons`` is the stated order of every neuron-indexed axis (the 302 hermaphrodite neurons,
    alphabetical); ``muscles`` the 95 body-wall muscles in named order. ``chemical[pre, post]``
    and ``gap[a, b]`` (symmetric) hold contact counts; ``neuron_muscle[neuron, muscle]`` holds
    neuron->body-wall-muscle contacts. Synapses onto other muscles (pharyngeal, ...) are kept
    apart in ``other_muscle_inputs``.
    """

    name: str
    neurons: tuple[str, ...]
    neuron_info: dict[str, Neuron]
    chemical: sp.csr_matrix
    gap: sp.csr_matrix
    neuron_muscle: sp.csr_matrix
    muscles: tuple[str, ...] = BODY_WALL_MUSCLES
    other_muscle_inputs: dict[tuple[str, str], int] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {n: i for i, n in enumerate(self.neurons)}

    # --- lookup -------------------------------------------------------------------------------
    @property
    def n_neurons(self) -> int:
        return len(self.neurons)

    def index(self, name: str) -> int:
        """Position of a neuron in :attr:`neurons`."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown neuron {name!r} in dataset {self.name}") from None

    def neuron(self, name: str) -> Neuron:
        """Identity record of a neuron."""
        self.index(name)
        return self.neuron_info[name]

    @property
    def classes(self) -> dict[str, tuple[str, ...]]:
        """``{class: neurons}`` in neuron order."""
        out: dict[str, list[str]] = {}
        for n in self.neurons:
            out.setdefault(self.neuron_info[n].cls, []).append(n)
        return {k: tuple(v) for k, v in out.items()}

    def select(self, neurons: Iterable[str] = (), classes: Iterable[str] = (),
               types: Iterable[str] = ()) -> list[str]:
        """Neurons matching any of the given names, classes or types (in neuron order)."""
        names, cls, tys = set(neurons), set(classes), set(types)
        for n in names:
            self.index(n)
        known_cls = {i.cls for i in self.neuron_info.values()}
        for c in cls - known_cls:
            raise KeyError(f"unknown neuron class {c!r} in dataset {self.name}")
        for t in tys - set(NEURON_TYPES):
            raise KeyError(f"unknown neuron type {t!r}; expected one of {NEURON_TYPES}")
        return [n for n in self.neurons
                if n in names or self.neuron_info[n].cls in cls or self.neuron_info[n].type in tys]

    def signs(self) -> np.ndarray:
        """Synapse sign of each neuron (array of strings, neuron order)."""
        return np.array([self.neuron_info[n].sign for n in self.neurons])

    def subnetwork(self, names: Iterable[str]) -> tuple[list[str], sp.csr_matrix, sp.csr_matrix]:
        """``(names, chemical, gap)`` restricted to ``names`` (in neuron order)."""
        keep = self.select(neurons=names)
        idx = [self.index(n) for n in keep]
        return keep, self.chemical[idx][:, idx].tocsr(), self.gap[idx][:, idx].tocsr()

    # --- views --------------------------------------------------------------------------------
    def graph(self):
        """A ``networkx.MultiDiGraph``: nodes = neurons and body-wall muscles with attributes;
        edges carry ``type`` (chemical | gap | neuromuscular) and ``contacts``."""
        import networkx as nx

        g = nx.MultiDiGraph(name=self.name)
        for n in self.neurons:
            i = self.neuron_info[n]
            g.add_node(n, kind="neuron", cls=i.cls, type=i.type, sign=i.sign,
                       transmitters=i.transmitters)
        for m in self.muscles:
            g.add_node(m, kind="muscle")
        for mat, kind, cols in ((self.chemical, "chemical", self.neurons),
                                (self.gap, "gap", self.neurons),
                                (self.neuron_muscle, "neuromuscular", self.muscles)):
            coo = mat.tocoo()
            for a, b, w in zip(coo.row, coo.col, coo.data, strict=True):
                g.add_edge(self.neurons[a], cols[b], type=kind, contacts=int(w))
        return g

    def summary(self) -> dict[str, Any]:
        """Counts that describe the dataset (what ``celegans connectome info`` prints)."""
        gap_diag = int(self.gap.diagonal().astype(bool).sum())
        chem_diag = int(self.chemical.diagonal().astype(bool).sum())
        types = Counter(self.neuron_info[n].type for n in self.neurons)
        signs = Counter(self.neuron_info[n].sign for n in self.neurons)
        connected = np.asarray(self.chemical.sum(0) + self.chemical.sum(1).T
                                + self.gap.sum(0)).ravel() > 0
        return {
            "dataset": self.name,
            "neurons": self.n_neurons,
            "neurons_with_connections": int(connected.sum()),
            "classes": len(self.classes),
            "types": dict(sorted(types.items())),
            "signs": {s: signs.get(s, 0) for s in SIGNS},
            "chemical_pairs": int(self.chemical.nnz),
            "chemical_contacts": int(self.chemical.sum()),
            "chemical_self_pairs": chem_diag,
            "gap_entries": int(self.gap.nnz),
            "gap_contacts": int(self.gap.sum()),
            "gap_diagonal_entries": gap_diag,
            "gap_pairs": int((self.gap.nnz - gap_diag) // 2 + gap_diag),
            "body_wall_muscles": len(self.muscles),
            "neuron_muscle_pairs": int(self.neuron_muscle.nnz),
            "neuron_muscle_contacts": int(self.neuron_muscle.sum()),
            "muscles_innervated": int((np.asarray(self.neuron_muscle.sum(0)).ravel() > 0).sum()),
        }


# --- loading from tables ------------------------------------------------------------------------
def read_neuron_table(path: Path) -> dict[str, Neuron]:
    rows = read_csv(path, ["name", "class", "type", "transmitters", "sign"])
    out: dict[str, Neuron] = {}
    for lineno, r in rows:
        name = r["name"]
        if not name:
            raise TableError(path, "empty neuron name", row=lineno)
        if name in out:
            raise TableError(path, f"duplicate neuron {name!r}", row=lineno)
        if r["type"] not in NEURON_TYPES:
            raise TableError(path, f"type {r['type']!r} not one of {NEURON_TYPES}", row=lineno)
        if r["sign"] not in SIGNS:
            raise TableError(path, f"sign {r['sign']!r} not one of {SIGNS}", row=lineno)
        if not r["class"]:
            raise TableError(path, f"neuron {name!r} has no class", row=lineno)
        tx = tuple(t for t in r["transmitters"].split(";") if t)
        out[name] = Neuron(name, r["class"], r["type"], tx, r["sign"])
    if not out:
        raise TableError(path, "no neurons")
    return out


def _pair_matrix(path: Path, cols: tuple[str, str], index: Mapping[str, int],
                 n_cols_index: Mapping[str, int] | None = None) -> sp.csr_matrix:
    col_index = index if n_cols_index is None else n_cols_index
    rows = read_csv(path, [cols[0], cols[1], "contacts"])
    seen: dict[tuple[str, str], int] = {}
    r_idx, c_idx, vals = [], [], []
    for lineno, r in rows:
        a, b = r[cols[0]], r[cols[1]]
        if a not in index:
            raise TableError(path, f"unknown neuron {a!r} in column {cols[0]!r}", row=lineno)
        if b not in col_index:
            what = "neuron" if n_cols_index is None else "body-wall muscle"
            raise TableError(path, f"unknown {what} {b!r} in column {cols[1]!r}", row=lineno)
        if (a, b) in seen:
            raise TableError(path, f"duplicate row {a},{b} (first at row {seen[(a, b)]})",
                             row=lineno)
        seen[(a, b)] = lineno
        r_idx.append(index[a])
        c_idx.append(col_index[b])
        vals.append(parse_count(path, lineno, r["contacts"]))
    shape = (len(index), len(col_index))
    return sp.csr_matrix((np.array(vals, dtype=np.int64), (r_idx, c_idx)), shape=shape)


def load_from_directory(directory: str | Path, neuron_table: str | Path,
                        name: str | None = None, verify: bool = True) -> Connectome:
    """Load a connectome from a directory of tables (``chemical.csv``, ``gap.csv``,
    ``neuron_muscle.csv``, ``provenance.json``) and a neuron table.

    With ``verify`` the sha256 of each table must match its provenance record.
    """
    d = Path(directory)
    ntab = Path(neuron_table)
    prov = read_provenance(d / "provenance.json") if (verify or (d / "provenance.json").exists()) \
        else {}
    if verify:
        recorded = prov.get("tables", {})
        for fname in ("chemical.csv", "gap.csv", "neuron_muscle.csv"):
            verify_checksum(d / fname, recorded.get(fname, {}).get("sha256"))
    info = read_neuron_table(ntab)
    neurons = tuple(sorted(info))
    index = {n: i for i, n in enumerate(neurons)}
    chem = _pair_matrix(d / "chemical.csv", ("pre", "post"), index)
    gap = _pair_matrix(d / "gap.csv", ("a", "b"), index)
    asym = (gap != gap.T).tocoo()
    if asym.nnz:
        a, b = neurons[asym.row[0]], neurons[asym.col[0]]
        raise TableError(d / "gap.csv", f"asymmetric gap junction {a}-{b}: "
                         f"{gap[index[a], index[b]]} vs {gap[index[b], index[a]]} contacts; "
                         "gap junctions must be listed in both directions with equal counts")
    # neuron -> muscle: body-wall muscles into the matrix, the rest kept apart
    path = d / "neuron_muscle.csv"
    rows = read_csv(path, ["neuron", "muscle", "contacts"])
    m_index = {m: i for i, m in enumerate(BODY_WALL_MUSCLES)}
    r_idx, c_idx, vals = [], [], []
    other: dict[tuple[str, str], int] = {}
    seen: dict[tuple[str, str], int] = {}
    for lineno, r in rows:
        a, m = r["neuron"], r["muscle"]
        if a not in index:
            raise TableError(path, f"unknown neuron {a!r} in column 'neuron'", row=lineno)
        if not m:
            raise TableError(path, "empty muscle name", row=lineno)
        if (a, m) in seen:
            raise TableError(path, f"duplicate row {a},{m} (first at row {seen[(a, m)]})",
                             row=lineno)
        seen[(a, m)] = lineno
        n = parse_count(path, lineno, r["contacts"])
        norm = normalise_muscle_name(m)
        if norm is None:
            if m.upper().startswith(("MDL", "MDR", "MVL", "MVR")):
                raise TableError(path, f"unknown body-wall muscle {m!r} (MDL/MDR/MVR 1-24, "
                                       "MVL 1-23)", row=lineno)
            other[(a, m)] = n
            continue
        r_idx.append(index[a])
        c_idx.append(m_index[norm])
        vals.append(n)
    nm = sp.csr_matrix((np.array(vals, dtype=np.int64), (r_idx, c_idx)),
                       shape=(len(neurons), len(BODY_WALL_MUSCLES)))
    return Connectome(
        name=name or prov.get("dataset", d.name), neurons=neurons, neuron_info=info,
        chemical=chem, gap=gap, neuron_muscle=nm, other_muscle_inputs=other, provenance=prov)
