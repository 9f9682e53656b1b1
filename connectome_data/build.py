"""Regenerate the shipped connectome tables from the ``cect`` package.

Usage::

    python -m connectome_data.build                 # all datasets, write tables + provenance
    python -m connectome_data.build --check         # regenerate in memory, compare, exit 1 on diff
    python -m connectome_data.build --dataset cook2019_herm

``cect`` (C. elegans Connectome Toolbox) is a build-time dependency only: it holds the publication
supplements (spreadsheets) and readers for them. The runtime reads the compact CSV tables written
here. Output is deterministic (sorted rows, no timestamps), so a fresh build equals the shipped one.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from connectome_data.datasets import DATASETS, DatasetInfo
from connectome_data.muscles import BODY_WALL_MUSCLES, normalise_muscle_name
from connectome_data.neurons import SIGN_RULE, neuron_class, synapse_sign
from connectome_data.tables import TABLES_DIR, format_csv

TABLE_FORMAT_VERSION = 1


class BuildError(RuntimeError):
    """The source data could not be turned into valid tables."""


def _require_cect():
    try:
        import cect  # noqa: F401
    except ImportError:  # pragma: no cover - depends on environment
        raise BuildError(
            "regenerating the tables needs the 'cect' package: pip install 'celegans[test]' "
            "(or pip install cect)") from None
    return sys.modules["cect"]


@contextlib.contextmanager
def _quiet():
    """Silence cect's chatty prints and openpyxl warnings while reading sources."""
    import warnings

    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
        warnings.simplefilter("ignore")
        yield


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cect_data_file(name: str) -> dict[str, str]:
    cect = _require_cect()
    path = Path(cect.__file__).parent / "data" / name
    return {"file": f"cect/data/{name}", "sha256": _sha256(path)}


def _source_files(module: Any, reader: Any) -> list[dict[str, str]]:
    names: list[str] = []
    for cand in (getattr(reader, "filename", None), getattr(module, "filename", None),
                 getattr(module, "SRC_FILENAME", None)):
        if isinstance(cand, str):
            base = os.path.basename(cand)
            if base not in names:
                names.append(base)
    if not names:
        raise BuildError(f"cannot find the source file of cect reader {module.__name__}")
    return [_cect_data_file(n) for n in names[:1]]


def _count(number: Any, where: str) -> int:
    x = float(number)
    if x != int(x) or x < 0:
        raise BuildError(f"{where}: contact count {number!r} is not a non-negative integer")
    return int(x)


def herm_neurons() -> list[str]:
    """The 302 hermaphrodite neurons, alphabetical (the stated neuron order)."""
    _require_cect()
    from cect.Cells import PREFERRED_HERM_NEURON_NAMES

    names = sorted(PREFERRED_HERM_NEURON_NAMES)
    if len(names) != 302:
        raise BuildError(f"expected 302 hermaphrodite neurons in cect, found {len(names)}")
    return names


def build_neuron_table() -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Neurons: name, class, type, transmitters (Wang et al. 2024), sign."""
    _require_cect()
    from cect.Cells import (
        INTERNEURONS_NONPHARYNGEAL_COOK,
        MOTORNEURONS_NONPHARYNGEAL_COOK,
        PHARYNGEAL_NEURONS,
        SENSORY_NEURONS_COOK,
    )
    from cect.readers.Wang2024HermReader import get_instance

    names = herm_neurons()
    with _quiet():
        wang = get_instance(from_cache=False)
    nts = wang.all_neurotransmitters
    groups = [("pharyngeal", PHARYNGEAL_NEURONS), ("sensory", SENSORY_NEURONS_COOK),
              ("motor", MOTORNEURONS_NONPHARYNGEAL_COOK),
              ("inter", INTERNEURONS_NONPHARYNGEAL_COOK)]
    rows = []
    for n in names:
        types = [t for t, members in groups if n in members]
        if len(types) > 1:
            raise BuildError(f"neuron {n} is in several Cook 2019 groups: {types}")
        transmitters = [t for t in nts.get(n, []) if t]
        rows.append({
            "name": n,
            "class": neuron_class(n, names),
            "type": types[0] if types else "other",
            "transmitters": ";".join(transmitters),
            "sign": synapse_sign(transmitters),
        })
    prov = {
        "table": "neurons.csv",
        "columns": {"name": "neuron name", "class": "neuron class (White et al. 1986 families)",
                    "type": "sensory|inter|motor|pharyngeal|other (Cook et al. 2019 groups)",
                    "transmitters": "';'-separated transmitter identity, Wang et al. 2024",
                    "sign": "synapse sign by the rule in sign_rule"},
        "sources": [
            {"what": "neuron list and type", "package": "cect", "object":
             "cect.Cells.PREFERRED_HERM_NEURON_NAMES and Cook 2019 groups"},
            {"what": "transmitters", "package": "cect", "reader": "Wang2024HermReader",
             **_cect_data_file("elife-95402-supp2-v1.xlsx"),
             "citation": "Wang et al. 2024, eLife 13:RP95402, Supplementary File 2"},
        ],
        "sign_rule": SIGN_RULE,
        "class_rule": "strip L/R when the contralateral partner exists, then D/V when the "
                      "opposite quadrant exists; ventral cord AS/DA/DB/DD/VA/VB/VC/VD + number -> "
                      "prefix; SABD/SABVL/SABVR -> SAB",
    }
    return rows, prov


def build_muscle_table(all_muscles: set[str]) -> list[dict[str, str]]:
    """Muscles: the 95 body-wall muscles (named order) then every other muscle seen, sorted."""
    _require_cect()
    from cect.Cells import PHARYNGEAL_MUSCLE_NAMES

    rows = [{"name": m, "category": "body_wall", "quadrant": m[1:3], "row": str(int(m[3:]))}
            for m in BODY_WALL_MUSCLES]
    for m in sorted(all_muscles - set(BODY_WALL_MUSCLES)):
        cat = "pharyngeal" if m in PHARYNGEAL_MUSCLE_NAMES else "other"
        rows.append({"name": m, "category": cat, "quadrant": "", "row": ""})
    return rows


def build_dataset(info: DatasetInfo) -> tuple[dict[str, list[dict[str, str]]], dict[str, Any]]:
    """Read one dataset through its cect reader; return its tables and provenance."""
    cect = _require_cect()
    neurons = set(herm_neurons())
    module = importlib.import_module(f"cect.readers.{info.reader}")
    with _quiet():
        reader = module.get_instance(from_cache=False)
        _cells, conns = reader.read_data()
        _n2m, _muscles, mconns = reader.read_muscle_data()

    chem: dict[tuple[str, str], int] = defaultdict(int)
    gap: dict[tuple[str, str], int] = defaultdict(int)
    nmj: dict[tuple[str, str], int] = defaultdict(int)
    dropped: dict[str, int] = defaultdict(int)
    duplicates = 0
    for c in conns:
        where = f"{info.reader}: {c.pre_cell}->{c.post_cell} ({c.syntype})"
        n = _count(c.number, where)
        pre, post = c.pre_cell, c.post_cell
        if pre not in neurons or post not in neurons:
            dropped[f"{c.syntype} with a non-neuron partner"] += 1
            continue
        table = {"Chemical": chem, "GapJunction": gap}.get(c.syntype)
        if table is None:
            dropped[f"synapse type {c.syntype}"] += 1
            continue
        if (pre, post) in table:
            duplicates += 1
        table[(pre, post)] += n
    muscles_seen: set[str] = set()
    for c in mconns:
        where = f"{info.reader}: {c.pre_cell}->{c.post_cell} ({c.syntype})"
        n = _count(c.number, where)
        if c.pre_cell not in neurons:
            dropped[f"muscle input from non-neuron {c.pre_cell}"] += 1
            continue
        if c.syntype != "Chemical":
            dropped[f"neuron->muscle {c.syntype}"] += 1
            continue
        m = normalise_muscle_name(c.post_cell) or c.post_cell
        muscles_seen.add(m)
        nmj[(c.pre_cell, m)] += n

    # Gap junctions must be symmetric in the source; fail loudly if not.
    for (a, b), n in gap.items():
        if gap.get((b, a)) != n:
            raise BuildError(f"{info.reader}: gap junction {a}-{b} is asymmetric in the source "
                             f"({n} vs {gap.get((b, a))})")

    tables = {
        "chemical": [{"pre": a, "post": b, "contacts": str(n)}
                     for (a, b), n in sorted(chem.items()) if n > 0],
        "gap": [{"a": a, "b": b, "contacts": str(n)} for (a, b), n in sorted(gap.items()) if n > 0],
        "neuron_muscle": [{"neuron": a, "muscle": m, "contacts": str(n)}
                          for (a, m), n in sorted(nmj.items()) if n > 0],
    }
    reconstructed = sorted({r["pre"] for r in tables["chemical"]} | {r["post"] for r in
                           tables["chemical"]} | {r["a"] for r in tables["gap"]})
    prov = {
        "dataset": info.name,
        "citation": info.citation,
        "description": info.description,
        "stage": info.stage,
        "whole_animal": info.whole_animal,
        "source_package": "cect",
        "source_package_version": cect.__version__,
        "reader": f"cect.readers.{info.reader}",
        "source_files": _source_files(module, reader),
        "dropped_connections": dict(sorted(dropped.items())),
        "merged_duplicate_rows": duplicates,
        "neurons_with_connections": len(reconstructed),
        "muscles": sorted(muscles_seen),
        "self_contacts": "kept as in the source (diagonal entries); a gap junction of a cell "
                         "with itself carries no current and the network builder skips it",
    }
    return tables, prov


COLUMNS = {
    "neurons": ["name", "class", "type", "transmitters", "sign"],
    "muscles": ["name", "category", "quadrant", "row"],
    "chemical": ["pre", "post", "contacts"],
    "gap": ["a", "b", "contacts"],
    "neuron_muscle": ["neuron", "muscle", "contacts"],
}


def render_all(names: list[str] | None = None, progress: bool = False) -> dict[str, str]:
    """Build every table in memory: ``{relative path: file text}`` (deterministic)."""
    from tqdm import tqdm

    names = list(DATASETS) if names is None else names
    files: dict[str, str] = {}
    all_muscles: set[str] = set()
    for name in tqdm(names, desc="reading cect sources", unit="dataset", disable=not progress):
        info = DATASETS[name]
        tables, prov = build_dataset(info)
        prov["tables"] = {}
        for key, rows in tables.items():
            text = format_csv(COLUMNS[key], rows)
            rel = f"{name}/{key}.csv"
            files[rel] = text
            prov["tables"][f"{key}.csv"] = {"rows": len(rows), "sha256": _sha256_text(text)}
        all_muscles.update(prov["muscles"])
        prov["table_format_version"] = TABLE_FORMAT_VERSION
        files[f"{name}/provenance.json"] = json.dumps(prov, indent=2) + "\n"
    neuron_rows, neuron_prov = build_neuron_table()
    files["neurons.csv"] = format_csv(COLUMNS["neurons"], neuron_rows)
    if names == list(DATASETS):
        files["muscles.csv"] = format_csv(COLUMNS["muscles"], build_muscle_table(all_muscles))
    cect = _require_cect()
    neuron_prov.update({
        "source_package_version": cect.__version__,
        "sha256": _sha256_text(files["neurons.csv"]),
        "table_format_version": TABLE_FORMAT_VERSION,
    })
    files["neurons.provenance.json"] = json.dumps(neuron_prov, indent=2) + "\n"
    return files


def write_files(files: dict[str, str], root: Path = TABLES_DIR) -> None:
    """Write tables atomically (temp file + rename per file)."""
    from celegans.io import atomic_write

    for rel, text in files.items():
        atomic_write(root / rel, text)


def compare(files: dict[str, str], root: Path = TABLES_DIR) -> list[str]:
    """Relative paths whose shipped content differs from ``files`` (or is missing)."""
    diffs = []
    for rel, text in files.items():
        p = root / rel
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            diffs.append(rel)
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m connectome_data.build", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", choices=sorted(DATASETS),
                    help="build only this dataset (repeatable); default: all")
    ap.add_argument("--check", action="store_true",
                    help="compare a fresh build with the shipped tables; exit 1 on difference")
    args = ap.parse_args(argv)
    try:
        files = render_all(args.dataset or None, progress=True)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        diffs = compare(files)
        if diffs:
            print("tables differ from a fresh build: " + ", ".join(diffs), file=sys.stderr)
            return 1
        print(f"ok: {len(files)} files identical to a fresh build from cect")
        return 0
    write_files(files)
    print(f"wrote {len(files)} files under {TABLES_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
