"""Body geometry: segment taper and the mapping of the 95 body-wall muscles onto joints.

Positions along the body are fractions ``s`` of the body length, 0 at the nose, 1 at the tail.
The 24 muscle rows are assumed to tile the body evenly (row ``r`` spans
``[(r-1)/24, r/24]``); joint ``j`` (between segments ``j`` and ``j+1``) represents the stretch
of body ``[s_j - h/2, s_j + h/2]`` around it, ``h`` = segment fraction. A muscle acts on every
joint whose stretch overlaps its row, weighted by the overlap.
"""

from __future__ import annotations

import numpy as np

from connectome_data.muscles import BODY_WALL_MUSCLES, N_ROWS, muscle_quadrant, muscle_row

MUSCLES: tuple[str, ...] = BODY_WALL_MUSCLES
N_MUSCLES: int = len(MUSCLES)


def taper_radius(s: np.ndarray, max_radius: float, end_padding: float) -> np.ndarray:
    """Elliptical taper (Boyle, Berri & Cohen 2012): radius (mm) at body fractions ``s``."""
    u = (2.0 * np.asarray(s, dtype=float) - 1.0) / (1.0 + end_padding)
    return max_radius * np.sqrt(np.clip(1.0 - u * u, 0.0, None))


def joint_fractions(n_segments: int) -> np.ndarray:
    """Body fractions of the ``n_segments - 1`` joints (equal segments)."""
    return np.arange(1, n_segments) / n_segments


def row_overlap(n_segments: int, n_rows: int = N_ROWS) -> np.ndarray:
    """``(n_joints, n_rows)`` overlap of each joint's stretch of body with each muscle row.

    Rows sum to 1 (every joint's stretch lies inside the body).
    """
    h = 1.0 / n_segments
    sj = joint_fractions(n_segments)
    lo, hi = sj - h / 2, sj + h / 2
    r0 = np.arange(n_rows) / n_rows
    r1 = (np.arange(n_rows) + 1) / n_rows
    ov = np.clip(np.minimum(hi[:, None], r1[None, :]) - np.maximum(lo[:, None], r0[None, :]),
                 0.0, None)
    return ov / ov.sum(axis=1, keepdims=True)


def muscle_joint_matrices(n_segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Dorsal and ventral ``(n_joints, 95)`` matrices: side activation at each joint.

    ``dorsal @ a`` is the mean activation of the dorsal muscles (DL, DR) over the stretch of each
    joint, in ``[0, 1]``; likewise ``ventral @ a``. Row 24 ventral has only MVR24 (there is no
    MVL24), which then carries the whole ventral share of that row (assumption: the body is
    left-right symmetric in its mechanics).
    """
    W = row_overlap(n_segments)
    dorsal = np.zeros((W.shape[0], N_MUSCLES))
    ventral = np.zeros_like(dorsal)
    per_side: dict[tuple[str, int], int] = {}
    for name in MUSCLES:
        key = (muscle_quadrant(name)[0], muscle_row(name))
        per_side[key] = per_side.get(key, 0) + 1
    for k, name in enumerate(MUSCLES):
        side, row = muscle_quadrant(name)[0], muscle_row(name)
        target = dorsal if side == "D" else ventral
        target[:, k] = W[:, row - 1] / per_side[(side, row)]
    return dorsal, ventral


def row_fractions(n_rows: int = N_ROWS) -> np.ndarray:
    """Body fraction of the centre of each muscle row."""
    return (np.arange(n_rows) + 0.5) / n_rows
