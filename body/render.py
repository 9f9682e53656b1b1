"""PyBullet TinyRenderer snapshots of the worm (headless, CPU).

The body's capsule collision shapes are rendered from above; the camera follows the centroid
unless ``centre`` (mm) is given. For drawings of recorded runs use ``env.plots``.
"""

from __future__ import annotations

import numpy as np

from body.errors import BodyInputError
from body.worm import PYBULLET_SCALE, Worm


def pybullet_frame(worm: Worm, size_px: int = 240, span_mm: float = 1.5,
                   centre: tuple[float, float] | None = None) -> np.ndarray:
    """RGB image ``(size_px, size_px, 3) uint8`` of the current posture seen from above,
    covering about ``span_mm`` mm."""
    import pybullet as p

    cid = worm.pybullet_client
    if cid is None:
        raise BodyInputError("use_pybullet: this Worm was built without PyBullet")
    if not (isinstance(size_px, int) and 16 <= size_px <= 2048):
        raise BodyInputError(f"size_px: expected an integer in [16, 2048], got {size_px!r}")
    if not span_mm > 0:
        raise BodyInputError(f"span_mm: expected > 0 mm, got {span_mm!r}")
    worm.sync_pybullet()
    S = PYBULLET_SCALE
    c = worm.centroid() if centre is None else np.asarray(centre, dtype=float)
    fov = 45.0
    height = 0.5 * span_mm * S / np.tan(np.radians(fov / 2))
    view = p.computeViewMatrix(cameraEyePosition=[c[0] * S, c[1] * S, height],
                               cameraTargetPosition=[c[0] * S, c[1] * S, 0.0],
                               cameraUpVector=[0, 1, 0], physicsClientId=cid)
    proj = p.computeProjectionMatrixFOV(fov=fov, aspect=1.0, nearVal=0.01 * height,
                                        farVal=10 * height, physicsClientId=cid)
    img = p.getCameraImage(size_px, size_px, view, proj, renderer=p.ER_TINY_RENDERER,
                           physicsClientId=cid)
    return np.reshape(np.asarray(img[2], dtype=np.uint8), (size_px, size_px, 4))[..., :3].copy()
