"""Where celegans keeps what it builds on first use (compiled mechanisms, native kernels)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """``$CELEGANS_CACHE/<kind>`` if set, else ``$XDG_CACHE_HOME/celegans/<kind>`` (default
    ``~/.cache/celegans/<kind>``)."""
    env = os.environ.get("CELEGANS_CACHE")
    if env:
        return Path(env).expanduser() / kind
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "celegans" / kind
