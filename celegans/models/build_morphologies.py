"""Build-time extraction of the c302 NeuroML morphologies into a compact table.

The ``c302`` package (OpenWorm, PyPI) ships one ``<NEURON>.cell.nml`` per neuron. This script
reads their ``<segment>`` elements (points and diameters, parent links) and ``soma_group`` /
``axon_group`` / ``dendrite_group`` membership, and writes them to
``celegans/models/data/morphologies.csv.gz`` plus ``morphologies.provenance.yaml`` (source
package and version, file hashes). The runtime reads only that table; c302 is needed only here::

    pip install c302            # build-time only
    python -m celegans.models.build_morphologies            # or --c302-dir <dir with *.cell.nml>
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import importlib.util
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from celegans.io import atomic_path, write_yaml
from celegans.models.base import DATA_DIR

TABLE = DATA_DIR / "morphologies.csv.gz"
PROVENANCE = DATA_DIR / "morphologies.provenance.yaml"
COLUMNS = ("cell", "segment", "parent", "group", "px", "py", "pz", "pd", "x", "y", "z", "d")
_NS = "{http://www.neuroml.org/schema/neuroml2}"


def find_c302_dir() -> tuple[Path, str]:
    """Directory of c302's NeuroML2 cell files and the c302 version."""
    spec = importlib.util.find_spec("c302")
    if spec is None or spec.origin is None:
        raise SystemExit("c302 is not installed: `pip install c302` (build-time only), or pass "
                         "--c302-dir")
    root = Path(spec.origin).parent
    version = "unknown"
    vfile = root / "__version__.py"
    if vfile.exists():
        for line in vfile.read_text().splitlines():
            if line.startswith("__version__"):
                version = line.split("=", 1)[1].strip().strip("'\"")
    return root / "NeuroML2", version


def parse_cell(path: Path) -> list[tuple]:
    """Rows of :data:`COLUMNS` for one ``.cell.nml`` file."""
    tree = ET.parse(path)
    cell = tree.getroot().find(f"{_NS}cell")
    if cell is None:
        raise ValueError(f"{path}: no <cell> element")
    name = cell.get("id")
    groups: dict[str, str] = {}
    for sg in cell.iter(f"{_NS}segmentGroup"):
        gid = sg.get("id", "")
        label = {"soma_group": "soma", "axon_group": "axon", "dendrite_group": "dendrite"}.get(gid)
        if label is None:
            continue
        for m in sg.iter(f"{_NS}member"):
            groups.setdefault(m.get("segment"), label)
        for inc in sg.iter(f"{_NS}include"):
            ref = inc.get("segmentGroup")
            for sg2 in cell.iter(f"{_NS}segmentGroup"):
                if sg2.get("id") == ref:
                    for m in sg2.iter(f"{_NS}member"):
                        groups.setdefault(m.get("segment"), label)
    rows = []
    distal: dict[str, tuple[float, ...]] = {}
    for seg in cell.iter(f"{_NS}segment"):
        sid = seg.get("id")
        par = seg.find(f"{_NS}parent")
        parent = par.get("segment") if par is not None else "-1"
        d = seg.find(f"{_NS}distal")
        p = seg.find(f"{_NS}proximal")
        dist = tuple(float(d.get(k)) for k in ("x", "y", "z", "diameter"))
        if p is not None:
            prox = tuple(float(p.get(k)) for k in ("x", "y", "z", "diameter"))
        elif parent in distal:
            prox = distal[parent]
        else:
            raise ValueError(f"{path}: segment {sid} has neither proximal point nor parent")
        distal[sid] = dist
        group = groups.get(sid, "soma" if parent == "-1" else "dendrite")
        rows.append((name, int(sid), int(parent), group, *prox, *dist))
    return rows


def build(c302_dir: Path | None = None) -> Path:
    """Write the morphology table and its provenance record; return the table path."""
    version = "unknown"
    if c302_dir is None:
        c302_dir, version = find_c302_dir()
    files = sorted(Path(c302_dir).glob("*.cell.nml"))
    if not files:
        raise SystemExit(f"no *.cell.nml files in {c302_dir}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    digest = hashlib.sha256()
    cells = []
    for f in files:
        digest.update(f.name.encode() + f.read_bytes())
        rows = parse_cell(f)
        cells.append(rows[0][0])
        for r in rows:
            w.writerow([r[0], r[1], r[2], r[3], *(f"{x:.4g}" for x in r[4:])])
    with atomic_path(TABLE) as tmp:
        with gzip.GzipFile(tmp, "wb", mtime=0) as fh:
            fh.write(buf.getvalue().encode())
    write_yaml(PROVENANCE, {
        "source": "c302 (OpenWorm) NeuroML2/*.cell.nml, https://pypi.org/project/c302/",
        "c302_version": version,
        "n_cells": len(cells),
        "files_sha256": digest.hexdigest(),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
        "columns": list(COLUMNS),
        "units": "um (x, y, z, diameter); parent -1 marks the root segment",
        "notes": "segment groups: soma_group/axon_group/dendrite_group of the NeuroML files",
    })
    return TABLE


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--c302-dir", type=Path, default=None,
                    help="directory with the c302 *.cell.nml files (default: installed c302)")
    args = ap.parse_args(argv)
    out = build(args.c302_dir)
    print(f"wrote {out} and {PROVENANCE}")


if __name__ == "__main__":
    main()
