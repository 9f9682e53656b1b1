"""The 95 body-wall muscles of C. elegans in their named order.

Four quadrants (dorsal/ventral × left/right) of 24 rows each, except that the ventral-left
quadrant has 23 (there is no MVL24; Sulston et al. 1983). Named order: MDL01–24, MDR01–24,
MVL01–23, MVR01–24. Arrays over muscles always travel in this order.
"""

from __future__ import annotations

import re

QUADRANTS: tuple[str, ...] = ("DL", "DR", "VL", "VR")
N_ROWS = 24

BODY_WALL_MUSCLES: tuple[str, ...] = tuple(
    f"M{q}{row:02d}"
    for q in QUADRANTS
    for row in range(1, N_ROWS + 1)
    if not (q == "VL" and row == 24)
)

_MUSCLE_RE = re.compile(r"^M(DL|DR|VL|VR)(\d{1,2})$")


def normalise_muscle_name(name: str) -> str | None:
    """``"MDL1"``/``"MDL01"`` -> ``"MDL01"``; ``None`` if not a body-wall muscle name."""
    m = _MUSCLE_RE.match(name.strip().upper())
    if not m:
        return None
    q, row = m.group(1), int(m.group(2))
    if not 1 <= row <= N_ROWS or (q == "VL" and row == 24):
        return None
    return f"M{q}{row:02d}"


def is_body_wall_muscle(name: str) -> bool:
    """True for the 95 body-wall muscles (either spelling of the row number)."""
    return normalise_muscle_name(name) is not None


def _parse(name: str) -> tuple[str, int]:
    norm = normalise_muscle_name(name)
    if norm is None:
        raise KeyError(f"{name!r} is not a body-wall muscle (expected e.g. MDL01..MVR24, no MVL24)")
    return norm[1:3], int(norm[3:])


def muscle_quadrant(name: str) -> str:
    """Quadrant ``"DL"``, ``"DR"``, ``"VL"`` or ``"VR"`` of a body-wall muscle."""
    return _parse(name)[0]


def muscle_row(name: str) -> int:
    """Row 1 (head) … 24 (tail) of a body-wall muscle."""
    return _parse(name)[1]


def muscle_side(name: str) -> str:
    """``"dorsal"`` or ``"ventral"``."""
    return "dorsal" if muscle_quadrant(name)[0] == "D" else "ventral"
