"""CPU fast path for ``hh`` cells: the whole run in one native call (no per-step dispatch).

A compiled torch step (AOTInductor) still costs a library call and several loops over the
batch per step, which at small batches is most of the run (~5 us per step). This module runs
the same arithmetic as the fused torch step (:mod:`celegans.torchsim.hh_fused`, with its
tables and product lists as the data) in a small C kernel (``native/hh_kernel.c``) that takes
blocks of 8 parameter sets x sweeps through all their steps with the state in registers.

* Used by :func:`celegans.torchsim.integrator.run_steps` (``native=True``, the default) for
  runs without gradients, on CPU, in float64, when the fused step applies (kinetic constants
  not batched), compiled or not: it needs no torch compilation. Anything else (gradients,
  CUDA, float32, batched kinetics, ``native=False``) takes the torch path.
* Built on first use with the system C compiler (``$CC`` or ``cc``/``gcc``, ``-O3
  -march=native -fopenmp``; without OpenMP if the compiler has none) into
  ``$CELEGANS_CACHE/native/<hash>/`` (default ``~/.cache/celegans/native``), keyed by the
  source, flags, compiler and CPU (``-march=native`` code must not run on another CPU model
  sharing the cache, e.g. Dask workers with one home directory); no compiler or a failed
  build: a warning and the torch path.
* ``CELEGANS_TORCH_NATIVE=0`` turns it off. Parameter sets run in parallel on
  ``torch.get_num_threads()`` threads.

Agreement with the torch step is at rounding level (tests compare every shipped cell).
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from celegans.torchsim import hh_fused

Tensor = torch.Tensor

SOURCE = Path(__file__).with_name("native") / "hh_kernel.c"
CFLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fopenmp", "-fPIC", "-shared")
#: tried when the compiler rejects OpenMP (the pragmas are then ignored: one thread)
CFLAGS_NO_OPENMP = tuple(f for f in CFLAGS if f != "-fopenmp")
#: off with ``CELEGANS_TORCH_NATIVE=0``
ENABLED = os.environ.get("CELEGANS_TORCH_NATIVE", "1") != "0"

_DIRECT_KCNL, _DIRECT_SLO_ISO, _N_DIRECT = 1, 2, 10
_CA_NONE, _CA_POOL, _CA_SHELL = 0, 1, 2
_REC_V, _REC_I, _REC_CA = -1, -2, -3

#: data pointers are passed as integers (``Tensor.data_ptr()``); the C types are in hh_kernel.c
_VP = ctypes.c_void_p


class Plan(ctypes.Structure):
    """Mirror of ``hh_plan`` in hh_kernel.c: an hh cell type's fused-step data (pointers into
    tensors that :func:`plan_for` keeps alive in ``Plan.keep``)."""

    _fields_ = [
        ("G1", ctypes.c_int32), ("n_tab", ctypes.c_int32), ("n_slo", ctypes.c_int32),
        ("n_direct", ctypes.c_int32), ("C", ctypes.c_int32), ("n_lin", ctypes.c_int32),
        ("n_fac", ctypes.c_int32), ("W", ctypes.c_int32), ("powers_one", ctypes.c_int32),
        ("calcium", ctypes.c_int32), ("n_rows", ctypes.c_int64),
        ("vmin", ctypes.c_double), ("inv_step", ctypes.c_double),
        ("table", _VP), ("slo_mult", _VP), ("cols", _VP), ("lin_pow", _VP), ("lin_w", _VP),
        ("fac_pow", _VP), ("is_ca", _VP), ("direct_kind", _VP), ("direct_const", _VP),
    ]


class _Args(ctypes.Structure):
    """Mirror of ``hh_args`` in hh_kernel.c (its size is checked against the library's)."""

    _fields_ = [
        ("plan", Plan),
        ("N", ctypes.c_int64), ("S", ctypes.c_int64), ("n_steps", ctypes.c_int64),
        ("t0", ctypes.c_int64), ("drive_len", ctypes.c_int64), ("every", ctypes.c_int64),
        ("rec_len", ctypes.c_int64), ("rec_pos", ctypes.c_int64), ("dt", ctypes.c_double),
        ("gbar", _VP), ("erev", _VP), ("cap", _VP), ("ca_par", _VP),
        ("vclamp", ctypes.c_int32), ("g_clamp", ctypes.c_double), ("drive", _VP),
        ("v", _VP), ("x", _VP), ("ca", _VP), ("n_record", ctypes.c_int32), ("rec_kind", _VP),
        ("rec_out", ctypes.POINTER(_VP)), ("bad", _VP), ("n_threads", ctypes.c_int32),
    ]


class NativeBuildError(RuntimeError):
    """The native kernel could not be compiled or loaded (message has the compiler output)."""


_LIB: dict[str, Any] = {}
_WARNED: set[str] = set()
#: runs completed by the native kernel in this process (benchmarks and tests read it)
STATS = {"runs": 0}


def _compiler() -> str:
    for cand in (os.environ.get("CC"), "cc", "gcc"):
        if cand and shutil.which(cand):
            return str(shutil.which(cand))
    raise NativeBuildError("no C compiler found ($CC, cc or gcc)")


def _digest(cc: str) -> str:
    try:
        ver = subprocess.run([cc, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.splitlines()[:1]
    except (OSError, subprocess.SubprocessError):
        ver = []
    h = hashlib.sha256()
    h.update(SOURCE.read_bytes())
    h.update(" ".join((*CFLAGS, *ver, os.uname().machine, _cpu_id())).encode())
    return h.hexdigest()[:16]


def _cpu_id() -> str:
    """The CPU model and instruction-set flags (Linux: /proc/cpuinfo), for the cache key."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        import platform

        return platform.processor()
    keep = [ln for ln in lines if ln.split(":")[0].strip() in ("model name", "flags")]
    return "|".join(keep[:2])


def library() -> Any:
    """The loaded kernel library (compiled on first use; safe across processes)."""
    if "lib" in _LIB:
        return _LIB["lib"]
    from celegans.cache import cache_dir

    cc = _compiler()
    root = cache_dir("native")
    target = root / _digest(cc) / "libhh_kernel.so"
    if not target.exists():
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{target.parent.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not target.exists():
                    _build(cc, target)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        lib = ctypes.CDLL(str(target))
    except OSError as exc:
        raise NativeBuildError(f"cannot load {target}: {exc}") from None
    lib.hh_run.argtypes = [ctypes.POINTER(_Args)]
    lib.hh_run.restype = ctypes.c_int
    lib.net_run.restype = ctypes.c_int
    if lib.hh_args_size() != ctypes.sizeof(_Args):
        raise NativeBuildError(f"{target}: argument layout differs from native_hh._Args")
    _LIB["lib"] = lib
    _LIB["max"] = (lib.hh_max_gates(), lib.hh_max_channels())
    return lib


def _build(cc: str, target: Path) -> None:
    """Compile into ``target``'s folder (temp folder, then rename: never half-written)."""
    tmp = Path(tempfile.mkdtemp(prefix=".build.", dir=target.parent.parent))
    try:
        out = tmp / target.name
        for flags in (CFLAGS, CFLAGS_NO_OPENMP):
            proc = subprocess.run([cc, *flags, str(SOURCE), "-o", str(out), "-lm"],
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode == 0 and out.exists():
                break
        if proc.returncode != 0 or not out.exists():
            raise NativeBuildError(f"{cc} failed (exit {proc.returncode}) compiling {SOURCE}:\n"
                                   f"{(proc.stdout + proc.stderr)[-4000:]}")
        try:
            os.replace(tmp, target.parent)
        except OSError:  # another process won the race
            if not target.exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def available() -> Any:
    """The library, or ``None`` (with one warning per process) when it cannot be built or
    loaded: callers then take the torch step."""
    try:
        return library()
    except (NativeBuildError, OSError, subprocess.SubprocessError) as exc:
        _warn_once("build", f"torchsim: native hh kernel unavailable ({exc}); using the "
                            "torch step")
        return None


def _warn_once(key: str, msg: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)


def expand64(x: Any, shape: tuple[int, ...]) -> Tensor:
    """``x`` (float or tensor broadcasting to ``shape``) as a contiguous float64 tensor."""
    t = x if isinstance(x, Tensor) else torch.tensor(float(x), dtype=torch.float64)
    return t.detach().to(torch.float64).expand(shape).contiguous()


def call_steps(n_steps: int, every: int) -> int:
    """Steps per native call when a run of ``n_steps`` is split into about ten calls (for
    progress, and Ctrl-C between calls): a multiple of the recording interval ``every``."""
    return max(every, (max(1, n_steps // 10) // every) * every)


def _direct_constants(kernel: Any, plan: Any, p: Mapping[str, Any], dt: float
                      ) -> tuple[list[int], list[float]] | None:
    kinds: list[int] = []
    consts: list[float] = []
    for c, _gate in plan.direct:
        g = kernel._group(p, kernel.specs[c].group)
        if c == "kcnl":
            kinds.append(_DIRECT_KCNL)
            row = [g["kd"], math.exp(-dt / g["tau"])]
        elif c in ("slo1iso", "slo2iso"):
            kinds.append(_DIRECT_SLO_ISO)
            row = [1.0 / (g["wyx"] - g["wxy"]), math.log(g["wom"] / g["wop"]), g["kxy"],
                   g["nxy"], g["kyx"], g["nyx"], g["wxy"], 1.0 / g["wop"], g["tau_scale"]]
        else:
            return None  # a calcium-gated channel the kernel does not know
        consts.extend(float(r) for r in row)
        consts.extend([0.0] * (_N_DIRECT - len(row)))
    return kinds, consts


def _ptr(t: Tensor | None) -> int | None:
    return t.data_ptr() if t is not None else None


def _tensor(x: Any, dtype: Any) -> Tensor:
    return torch.as_tensor(x, dtype=dtype).contiguous()


def plan_for(kernel: Any, p: Mapping[str, Any], dt: float) -> Plan | None:
    """The native plan of an ``hh`` kernel prepared with ``p`` (``HHCellTorch.prepare``) at
    step ``dt``; ``None`` when the native kernel does not apply (no fused plan, a
    calcium-gated channel it does not know, too many gates or channels, or the library
    cannot be built: then a warning, once)."""
    from celegans.torchsim.models import HHCellTorch

    if not ENABLED or not isinstance(kernel, HHCellTorch):
        return None
    fp = kernel._fused(p)
    if fp is None or p["__hh_table__"].device.type != "cpu":
        return None
    direct = _direct_constants(kernel, fp, p, dt)
    if direct is None or available() is None:
        return None
    max_g, max_c = _LIB["max"]
    if len(fp.gate_order) > max_g or len(fp.channels) > max_c:
        return None
    f64 = torch.float64
    n_m = fp.n_tab + fp.n_slo
    keep = {
        "table": p["__hh_table__"].to(f64).contiguous(),
        "slo_mult": _tensor(p["__hh_slo_mult__"] if "__hh_slo_mult__" in p else [0] * n_m,
                            torch.int64),
        "cols": _tensor(p["__hh_cols__"], torch.int64),
        "lin_pow": _tensor(p["__hh_lin_pow__"], f64),
        "lin_w": _tensor(p["__hh_lin_w__"], f64),
        "is_ca": _tensor(p["__hh_is_ca__"], f64),
        "direct_kind": _tensor(direct[0] or [0], torch.int32),
        "direct_const": _tensor(direct[1] or [0.0] * _N_DIRECT, f64),
    }
    if "__hh_fac_pow__" in p:
        keep["fac_pow"] = _tensor(p["__hh_fac_pow__"], f64)
    tab = keep["table"]
    calcium = _CA_POOL if kernel.pooled else _CA_SHELL if kernel.shell else _CA_NONE
    plan = Plan(G1=len(fp.gate_order), n_tab=fp.n_tab, n_slo=fp.n_slo,
                n_direct=len(fp.direct), C=len(fp.channels), n_lin=fp.n_lin, n_fac=fp.n_fac,
                W=int(tab.shape[1]) // 2, powers_one=int(fp.lin_pow_one and fp.fac_pow_one),
                calcium=calcium, n_rows=int(tab.shape[0]), vmin=hh_fused.TABLE_VMIN,
                inv_step=1.0 / hh_fused.TABLE_STEP, table=_ptr(tab),
                slo_mult=_ptr(keep["slo_mult"]), cols=_ptr(keep["cols"]),
                lin_pow=_ptr(keep["lin_pow"]), lin_w=_ptr(keep["lin_w"]),
                fac_pow=_ptr(keep.get("fac_pow")), is_ca=_ptr(keep["is_ca"]),
                direct_kind=_ptr(keep["direct_kind"]),
                direct_const=_ptr(keep["direct_const"]))
    plan.keep = keep  # the memory the pointers refer to
    plan.fused = fp
    return plan


def calcium_parameters(kernel: Any, p: Mapping[str, Any], shape: tuple[int, ...],
                       dt: float) -> Tensor:
    """The calcium constants of an ``hh`` kernel, rows in ``hh_kernel.c``'s ``CA_*`` order
    (the last one the decay factor of the step, computed as the torch step computes it),
    each expanded to ``shape``: ``(6, *shape)``."""
    if kernel.pooled:
        names = ("ca_pool.f", "ca_pool.F", "volume_um3", "ca_pool.ca_bg", "ca_pool.tau")
    elif kernel.shell:
        names = ("ca_shell.F", "ca_shell.depth", "area_um2", "ca_shell.beta", "ca_shell.ca_min")
    else:
        names = ("ca_pool.ca_bg",)
    rows = [expand64(p.get(n, 0.0), shape) for n in names]
    rows += [torch.zeros(shape, dtype=torch.float64)] * (6 - len(rows))
    if kernel.pooled:
        rows[5] = torch.exp(-dt / rows[4])
    elif kernel.shell:
        rows[5] = torch.exp(-dt / (1.0 / rows[3]))
    return torch.stack(rows, 0).contiguous()


def run(model: Any, v: Tensor, s: Mapping[str, Tensor], p: Mapping[str, Any], c: Any,
        drive: Tensor, dt: float, n_steps: int, record: Sequence[str], every: int,
        g_clamp: float | None, outs: Sequence[Tensor], bad: Tensor, pos: int,
        progress: Any = None) -> tuple[Tensor, dict[str, Tensor], Tensor] | None:
    """All ``n_steps`` steps of an ``hh`` cell natively, samples written into ``outs`` from
    index ``pos``; ``(v, state, bad)`` at the end, or ``None`` when the native path does not
    apply (the caller then takes the torch path)."""
    if v.dim() != 2 or v.device.type != "cpu" or v.dtype != torch.float64:
        return None
    if drive.device.type != "cpu" or any(o.device.type != "cpu" for o in outs):
        return None
    plan = plan_for(model, p, dt)
    if plan is None:
        return None
    fp = plan.fused
    B, S = (int(n) for n in v.shape)
    N, C = B * S, len(fp.channels)
    kinds_rec: list[int] = []
    for r in record:
        if r == "v":
            kinds_rec.append(_REC_V)
        elif r == "i":
            kinds_rec.append(_REC_I)
        elif r == "ca_i":
            kinds_rec.append(_REC_CA)
        elif r in fp.gate_order:
            kinds_rec.append(fp.gate_order.index(r))
        else:
            return None
    if any(not o.is_contiguous() or o.shape[:2] != (B, S) for o in outs):
        return None

    f64 = torch.float64
    gbar = expand64(p["__hh_gbar__"], (C, B, S))
    erev = expand64(p["__hh_erev__"], (C, B, S))
    cap = expand64(c, (B, S))
    ca_par = calcium_parameters(model, p, (B, S), dt)
    x = s[hh_fused.PACKED].detach().to(f64).expand(len(fp.gate_order), B, S).clone(
        memory_format=torch.contiguous_format)
    v_out = v.detach().to(f64).clone(memory_format=torch.contiguous_format)
    ca = None
    if "ca_i" in s:
        ca = s["ca_i"].detach().to(f64).expand(B, S).clone(memory_format=torch.contiguous_format)
    bad_out = bad.detach().to(f64).expand(B, S).clone(memory_format=torch.contiguous_format)
    drv = drive.detach().to(f64).contiguous()
    rkind = _tensor(kinds_rec or [0], torch.int32)
    rec_ptrs = (_VP * max(1, len(outs)))(*[_ptr(o) for o in outs])
    n_rec = int(outs[0].shape[-1]) if outs else 0
    a = _Args(plan=plan, N=N, S=S, n_steps=0, t0=0, drive_len=int(drv.shape[-1]),
              every=int(every), rec_len=n_rec, rec_pos=int(pos), dt=float(dt),
              gbar=_ptr(gbar), erev=_ptr(erev), cap=_ptr(cap), ca_par=_ptr(ca_par),
              vclamp=int(g_clamp is not None), g_clamp=float(g_clamp or 0.0), drive=_ptr(drv),
              v=_ptr(v_out), x=_ptr(x), ca=_ptr(ca), n_record=len(outs),
              rec_kind=_ptr(rkind), rec_out=rec_ptrs, bad=_ptr(bad_out),
              n_threads=int(torch.get_num_threads()))
    lib = library()
    seg = call_steps(n_steps, every)
    done = 0
    while done < n_steps:
        k = min(seg, n_steps - done)
        a.t0, a.n_steps = done, k
        if lib.hh_run(ctypes.byref(a)) != 0:
            return None  # pragma: no cover - sizes were checked by plan_for
        a.rec_pos += k // every
        done += k
        if progress is not None:
            progress.update(k)
    STATS["runs"] += 1
    state: dict[str, Tensor] = {hh_fused.PACKED: x}
    if ca is not None:
        state["ca_i"] = ca
    return v_out, hh_fused._exported(fp, state, model.export), bad_out
