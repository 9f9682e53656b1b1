"""Compile and load the package's NEURON mechanisms (.mod files) on demand.

Users never run ``nrnivmodl`` by hand: :func:`load_mechanisms` gathers every ``.mod`` file
under ``celegans/channels/mod/``, ``celegans/models/mod/`` and ``celegans/network/mod/``
(whichever exist), compiles them together once into a cache directory keyed by a hash of their
contents (and of the NEURON version), and loads the library into this process exactly once.

Cache location: ``$CELEGANS_CACHE/nrnmech/<hash>/`` if ``CELEGANS_CACHE`` is set, else
``$XDG_CACHE_HOME/celegans/nrnmech/<hash>/`` (default ``~/.cache/celegans/nrnmech/<hash>/``).
A file lock serialises concurrent builds; each build happens in a temporary directory that is
renamed into place only when it succeeded, so a cache entry is either complete or absent.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
MOD_DIRS: tuple[Path, ...] = (
    PACKAGE_ROOT / "channels" / "mod",
    PACKAGE_ROOT / "models" / "mod",
    PACKAGE_ROOT / "network" / "mod",
)
_LIB_NAMES = ("libnrnmech.so", "libnrnmech.dylib", "nrnmech.dll")

_loaded: dict[str, Path] = {}  # hash -> library path loaded in this process


class MechanismBuildError(RuntimeError):
    """nrnivmodl failed or produced no library; the message carries its output."""


def mod_files(dirs: Iterable[Path] = MOD_DIRS) -> list[Path]:
    """All ``.mod`` files in ``dirs`` (sorted); duplicate file names across dirs are an error."""
    files: list[Path] = []
    seen: dict[str, Path] = {}
    for d in dirs:
        if not Path(d).is_dir():
            continue
        for f in sorted(Path(d).glob("*.mod")):
            if f.name in seen:
                raise MechanismBuildError(
                    f"duplicate mechanism file name {f.name!r}: {seen[f.name]} and {f}")
            seen[f.name] = f
            files.append(f)
    return files


def _neuron_version() -> str:
    try:
        import neuron

        return str(neuron.__version__)
    except Exception:  # pragma: no cover - neuron missing is reported later
        return "unknown"


def mod_hash(files: Iterable[Path]) -> str:
    """Hash of the mod files' names and contents, the NEURON version and the platform."""
    h = hashlib.sha256()
    h.update(f"neuron={_neuron_version()};platform={sys.platform};".encode())
    for f in sorted(files, key=lambda p: p.name):
        h.update(f.name.encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    """Directory holding compiled mechanism libraries (one subdirectory per hash)."""
    from celegans.cache import cache_dir

    return cache_dir("nrnmech")


def _find_library(build_dir: Path) -> Path | None:
    for name in _LIB_NAMES:
        hits = sorted(build_dir.rglob(name))
        if hits:
            return hits[0]
    return None


def _nrnivmodl() -> str:
    exe = shutil.which("nrnivmodl")
    if exe:
        return exe
    cand = Path(sys.executable).parent / "nrnivmodl"
    if cand.exists():
        return str(cand)
    raise MechanismBuildError(
        "nrnivmodl not found on PATH or next to the Python interpreter; install NEURON "
        "(pip install neuron) to compile the mechanisms")


def _build(files: list[Path], target: Path) -> None:
    """Compile ``files`` into ``target`` (atomic: temp dir, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        moddir = tmp / "mod"
        moddir.mkdir()
        for f in files:
            shutil.copy2(f, moddir / f.name)
        proc = subprocess.run([_nrnivmodl(), "mod"], cwd=tmp, capture_output=True, text=True)
        out = (proc.stdout or "") + (proc.stderr or "")
        if proc.returncode != 0 or _find_library(tmp) is None:
            raise MechanismBuildError(
                f"nrnivmodl failed (exit {proc.returncode}) compiling "
                f"{[f.name for f in files]} in {tmp}:\n{out[-6000:]}")
        (tmp / "nrnivmodl.log").write_text(out)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def compile_mechanisms(dirs: Iterable[Path] = MOD_DIRS) -> Path | None:
    """Compile (if not cached) the mod files in ``dirs``; return the library path (or None when
    there are no mod files). Safe to call from several processes at once."""
    files = mod_files(dirs)
    if not files:
        return None
    digest = mod_hash(files)
    root = cache_root()
    target = root / digest
    lib = _find_library(target) if target.is_dir() else None
    if lib is not None:
        return lib
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lib = _find_library(target) if target.is_dir() else None
            if lib is None:
                if target.exists():  # incomplete leftover: rebuild
                    shutil.rmtree(target, ignore_errors=True)
                _build(files, target)
                lib = _find_library(target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if lib is None:  # pragma: no cover - _build guarantees a library
        raise MechanismBuildError(f"no mechanism library in {target}")
    return lib


def _suffixes(files: Iterable[Path]) -> list[str]:
    names = []
    for f in files:
        for line in f.read_text().splitlines():
            tok = line.split()
            if len(tok) >= 2 and tok[0] in ("SUFFIX", "POINT_PROCESS", "ARTIFICIAL_CELL"):
                names.append(tok[1])
    return names


def load_mechanisms() -> None:
    """Compile (once, cached) and load every package mechanism into this process (once).

    Raises:
        MechanismBuildError: nrnivmodl failed; the message includes its output.
    """
    files = mod_files()
    if not files:
        return
    digest = mod_hash(files)
    if digest in _loaded:
        return
    if _loaded:
        # NEURON cannot load a second library defining the same mechanisms.
        raise MechanismBuildError(
            "the .mod files changed after mechanisms were loaded in this process "
            f"(loaded {list(_loaded)}, now {digest}); restart Python to load the new ones")
    from neuron import h

    names = _suffixes(files)
    if names and all(hasattr(h, n) for n in names):
        # Already present (e.g. a library auto-loaded from the working directory).
        _loaded[digest] = Path("<preloaded>")
        return
    lib = compile_mechanisms()
    if lib is None:  # pragma: no cover - files exist, so a library was built
        raise MechanismBuildError("no mechanism library was built")
    ok = h.nrn_load_dll(str(lib))
    if not ok:
        raise MechanismBuildError(f"NEURON could not load the mechanism library {lib}")
    _loaded[digest] = lib


def mechanism_names() -> list[str]:
    """Names (SUFFIX / POINT_PROCESS) declared by the package's mod files."""
    return _suffixes(mod_files())
