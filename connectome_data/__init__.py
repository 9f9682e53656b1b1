"""The published C. elegans wiring as compact, versioned tables.

>>> import connectome_data as cd
>>> c = cd.load("cook2019_herm")
>>> c.chemical.shape
(302, 302)

Tables ship inside the package (``connectome_data/tables``) with a provenance record each; they
are regenerated from the ``cect`` package by ``python -m connectome_data.build``. Any other cect
dataset can be loaded on demand with ``load("cect:<ReaderName>")`` when cect is installed.
"""

from __future__ import annotations

from pathlib import Path

from connectome_data.connectome import Connectome, Neuron, load_from_directory
from connectome_data.datasets import ALIASES, DATASETS, DEFAULT_DATASET, resolve_name
from connectome_data.muscles import BODY_WALL_MUSCLES, muscle_quadrant, muscle_row
from connectome_data.tables import TABLES_DIR, TableError

__all__ = [
    "ALIASES", "BODY_WALL_MUSCLES", "Connectome", "DATASETS", "DEFAULT_DATASET", "Neuron",
    "TableError", "list_datasets", "load", "load_tables", "muscle_quadrant", "muscle_row",
]

_CACHE: dict[str, Connectome] = {}


def list_datasets() -> list[str]:
    """Names of the shipped datasets."""
    return list(DATASETS)


def load(name: str = DEFAULT_DATASET, *, verify: bool = True) -> Connectome:
    """Load a shipped dataset by name (aliases such as ``witvliet2021_adult`` allowed), or any
    cect dataset as ``"cect:<ReaderName>"`` (needs cect). Results are cached per process;
    treat them as read-only."""
    if name.startswith("cect:"):
        from connectome_data.from_cect import load_cect

        return load_cect(name.split(":", 1)[1])
    key = resolve_name(name)
    if key not in _CACHE:
        _CACHE[key] = load_from_directory(TABLES_DIR / key, TABLES_DIR / "neurons.csv",
                                          name=key, verify=verify)
    return _CACHE[key]


def load_tables(directory: str | Path, neuron_table: str | Path | None = None, *,
                verify: bool = False) -> Connectome:
    """Load a user-supplied table directory (same layout as the shipped tables)."""
    nt = Path(neuron_table) if neuron_table else TABLES_DIR / "neurons.csv"
    return load_from_directory(directory, nt, verify=verify)
