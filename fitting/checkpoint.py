"""Checkpoints: the optimiser, the evaluation history and every RNG state, written atomically.

A checkpoint is a (cloud)pickle (``checkpoint.pkl`` in the run folder) replaced atomically
after every generation, so a killed run resumes from the last completed generation and, because
the RNG states (the optimiser's own generator, numpy's and Python's global ones) are restored,
continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import os
import pickle
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

from celegans.io import atomic_path

CHECKPOINT_NAME = "checkpoint.pkl"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """Unreadable or incompatible checkpoint; the message names the file."""


@dataclass
class History:
    """All evaluations of a run, in order (unit-cube X, objectives, failures, deviations)."""

    X: list[np.ndarray] = field(default_factory=list)
    F: list[np.ndarray] = field(default_factory=list)
    failed: list[np.ndarray] = field(default_factory=list)
    z: list[np.ndarray] = field(default_factory=list)

    def add(self, X: np.ndarray, F: np.ndarray, failed: np.ndarray, z: np.ndarray) -> None:
        self.X.append(np.asarray(X, float))
        self.F.append(np.asarray(F, float))
        self.failed.append(np.asarray(failed, bool))
        self.z.append(np.asarray(z, float))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.X:
            return (np.zeros((0, 0)),) * 2 + (np.zeros(0, bool), np.zeros((0, 0)))
        return (np.vstack(self.X), np.vstack(self.F), np.concatenate(self.failed),
                np.vstack(self.z))

    @property
    def n(self) -> int:
        return int(sum(len(x) for x in self.X))


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` plus the global RNG states atomically."""
    payload = dict(state)
    payload["_version"] = FORMAT_VERSION
    payload["_np_global"] = np.random.get_state()  # noqa: NPY002 - legacy global RNG (cma uses it)
    payload["_py_random"] = random.getstate()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            cloudpickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint and restore the global RNG states."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            payload = pickle.load(fh)
    except FileNotFoundError:
        raise CheckpointError(f"{p}: no checkpoint to resume from") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling error
        raise CheckpointError(f"{p}: unreadable checkpoint ({exc})") from None
    if not isinstance(payload, dict) or payload.get("_version") != FORMAT_VERSION:
        raise CheckpointError(f"{p}: not a level-1 checkpoint of version {FORMAT_VERSION}")
    np.random.set_state(payload.pop("_np_global"))  # noqa: NPY002
    random.setstate(payload.pop("_py_random"))
    return payload
