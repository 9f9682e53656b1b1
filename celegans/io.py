"""Atomic file writing: results are either complete or absent, never half-written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give files the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | os.PathLike, writer: Callable[[IO[str]], Any] | str) -> Path:
    """Write text to ``path`` atomically; ``writer`` is a string or a callable taking a file."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            if callable(writer):
                writer(fh)
            else:
                fh.write(writer)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def to_jsonable(x: Any) -> Any:
    """Plain JSON types for nested mappings/sequences of numpy values; non-finite floats -> None."""
    import math

    import numpy as np

    if isinstance(x, dict) or hasattr(x, "items"):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return atomic_write(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_yaml(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as YAML (block style, key order kept), atomically."""
    return atomic_write(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def read_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file; errors name the file."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: file not found") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML ({exc})") from None
