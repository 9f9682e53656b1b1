"""Reading and validating the shipped CSV tables.

Every problem is reported as :class:`TableError` naming the file, the row (1-based line number in
the file, header = line 1) and what was expected. A table is parsed and checked completely before
anything is returned, so nothing is ever loaded half.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

TABLES_DIR = Path(__file__).parent / "tables"


class TableError(ValueError):
    """A connectome table is malformed; ``file`` and ``row`` say where."""

    def __init__(self, file: str | Path, problem: str, row: int | None = None) -> None:
        self.file = str(file)
        self.row = row
        self.problem = problem
        where = f"{self.file}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {problem}")


def format_csv(columns: Sequence[str], rows: Iterable[dict[str, str]]) -> str:
    """Deterministic CSV text (``\\n`` line endings, header first)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def read_csv(path: Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV with exactly the expected ``columns``: ``[(line number, row dict)]``."""
    if not path.exists():
        raise TableError(path, "file not found")
    text = path.read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise TableError(path, f"empty file; expected a header {','.join(columns)}") from None
    header = [h.strip() for h in header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise TableError(path, f"missing column(s) {missing}; expected {list(columns)}", row=1)
    extra = [c for c in header if c not in columns]
    if extra:
        raise TableError(path, f"unexpected column(s) {extra}; expected {list(columns)}", row=1)
    out = []
    for lineno, fields in enumerate(reader, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise TableError(path, f"{len(fields)} fields, expected {len(header)}", row=lineno)
        out.append((lineno, {h: f.strip() for h, f in zip(header, fields, strict=True)}))
    return out


def parse_count(path: Path, lineno: int, value: str, field: str = "contacts") -> int:
    """A positive integer contact count, or a TableError naming file and row."""
    try:
        x = float(value)
    except ValueError:
        raise TableError(path, f"{field} {value!r} is not a number", row=lineno) from None
    if x != x or x in (float("inf"), float("-inf")):
        raise TableError(path, f"{field} {value!r} is not finite", row=lineno)
    if x != int(x):
        raise TableError(path, f"{field} {value!r} is not an integer", row=lineno)
    if x <= 0:
        raise TableError(path, f"{field} {value!r} must be a positive integer", row=lineno)
    return int(x)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_provenance(path: Path) -> dict[str, Any]:
    """A dataset's provenance record."""
    if not path.exists():
        raise TableError(path, "provenance record not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TableError(path, f"not valid JSON ({exc})") from None


def verify_checksum(path: Path, expected: str | None) -> None:
    """Raise if the file's sha256 differs from its provenance record (an edited table)."""
    if expected is None:
        raise TableError(path, "no checksum recorded in provenance.json")
    actual = sha256_file(path)
    if actual != expected:
        raise TableError(
            path, "edited table: sha256 differs from provenance.json; regenerate with "
                  "'python -m connectome_data.build' or load with verify=False")
