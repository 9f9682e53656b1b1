"""Load any cect dataset on demand (needs the optional ``cect`` package)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from connectome_data.connectome import Connectome, load_from_directory
from connectome_data.datasets import DatasetInfo
from connectome_data.tables import TABLES_DIR, format_csv


def load_cect(reader: str) -> Connectome:
    """Read ``cect.readers.<reader>`` and return it as a :class:`Connectome` on the 302-neuron
    axes (connections to non-neurons are dropped, as in the shipped tables)."""
    from connectome_data.build import COLUMNS, build_dataset

    info = DatasetInfo(f"cect:{reader}", reader, f"cect reader {reader}", "loaded on demand")
    try:
        tables, prov = build_dataset(info)
    except ModuleNotFoundError as exc:
        raise KeyError(f"unknown cect reader {reader!r} ({exc})") from None
    with tempfile.TemporaryDirectory() as tmp:
        for key, rows in tables.items():
            (Path(tmp) / f"{key}.csv").write_text(format_csv(COLUMNS[key], rows))
        c = load_from_directory(tmp, TABLES_DIR / "neurons.csv", name=info.name, verify=False)
    c.provenance = prov
    return c
