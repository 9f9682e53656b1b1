"""Ahead-of-time compiled step chunks (torch.export + AOTInductor), called without guards.

A ``torch.compile``d chunk pays, on every call, dynamo's guards over every input tensor, dict
key and captured attribute, the AOT-autograd runtime wrapper and the Python wrapper of the
inductor graph (one allocation per buffer, one view per recorded step): ~0.3-0.4 ms per call,
which bounded the single-cell throughput at small batches. Here the chunk is exported once
(``torch.export``; the batch and sweep axes symbolic, every other size fixed), compiled by
AOTInductor into a shared library with a C++ wrapper, and called with a flat list of tensors
(~50 us per call, most of it the kernel at small batches).

Compiled libraries are kept on disk (under inductor's cache directory, ``celegans_aot/``) under
a hash of the exported graph, the input layout, the torch version, the device and the thread
count, so a later process pays the export (seconds) but not the C++ compilation.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

Tensor = torch.Tensor
FlatFn = Callable[[list[Tensor]], list[Tensor]]

#: loaded libraries by content hash (one per process)
_LOADED: dict[str, Any] = {}


def cache_root() -> Path:
    """Directory of the compiled chunks (``$CELEGANS_AOT_CACHE`` or inductor's cache dir)."""
    env = os.environ.get("CELEGANS_AOT_CACHE")
    if env:
        return Path(env)
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    return Path(cache_dir()) / "celegans_aot"


def batch_dims(x: Tensor, batch: int, sweeps: int) -> tuple[int | None, int | None]:
    """Axes of ``x`` that are the batch (B) and sweep (S) axes of the voltages ``(B, S)``.

    Convention of the integrator's inputs: per-cell tensors end with ``(B, S)``, ``(B, 1)`` or
    ``(1, S)`` (leading axes are channels/gates), the drive is ``(S, K)``. Only sizes >= 2 are
    made symbolic (size-1 axes broadcast and stay fixed)."""
    if x.dim() < 2:
        return None, None
    b = x.dim() - 2 if batch >= 2 and x.shape[-2] == batch and x.shape[-1] in (sweeps, 1) \
        else None
    s = x.dim() - 1 if sweeps >= 2 and x.shape[-1] == sweeps and x.shape[-2] in (batch, 1) \
        else None
    return b, s


def layout(args: Sequence[Tensor], batch: int, sweeps: int, drive_index: int
           ) -> tuple[tuple, list[list[tuple[int, str]]]]:
    """(signature, candidate axes) of the flat inputs: the signature names every size, with
    ``"B"``/``"S"`` in place of the batch/sweep axes (so it does not change with B or S); the
    candidates are those axes per input, ``(axis, "B" or "S")`` (made symbolic where the graph
    allows it)."""
    sig: list[tuple] = []
    cand: list[list[tuple[int, str]]] = []
    for j, x in enumerate(args):
        if j == drive_index:  # (S, K)
            b, s = None, (0 if sweeps >= 2 and x.shape[0] == sweeps else None)
        else:
            b, s = batch_dims(x, batch, sweeps)
        cand.append([(d, k) for d, k in ((b, "B"), (s, "S")) if d is not None])
        sizes = tuple("B" if d == b else "S" if d == s else int(n)
                      for d, n in enumerate(x.shape))
        sig.append((sizes, str(x.dtype), x.device.type))
    return tuple(sig), cand


def matches(fixed: Sequence[tuple[int, int, int]], args: Sequence[Tensor]) -> bool:
    """Whether ``args`` have the sizes a library was specialised to (``(input, axis, size)``
    of candidate axes that the graph fixed)."""
    return all(args[i].shape[d] == n for i, d, n in fixed)


class _Flat(torch.nn.Module):
    def __init__(self, fn: Callable[..., tuple[Tensor, ...]]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *xs: Tensor) -> tuple[Tensor, ...]:
        return tuple(self.fn(*xs))


def _export(fn: Callable[..., tuple[Tensor, ...]], args: Sequence[Tensor],
            cand: list[list[tuple[int, str]]], kinds: set[str]) -> Any:
    """Export with the candidate axes of ``kinds`` symbolic. The example inputs get sizes for
    those axes that no other axis has (with B = S = 3 channels, duck sizing would tie them)."""
    from torch.export import Dim

    taken = {int(n) for x in args for n in x.shape}
    free = (n for n in range(5, 10_000) if n not in taken)
    ex_size = {k: next(free) for k in ("B", "S")}
    dims = {k: Dim(k, min=2) for k in ("B", "S")}
    examples, dyn = [], []
    for x, c in zip(args, cand, strict=True):
        spec = {d: dims[k] for d, k in c if k in kinds}
        shape = [ex_size[k] if k in kinds else int(x.shape[d]) for d, k in c]
        full = list(x.shape)
        for (d, _), n in zip(c, shape, strict=True):
            full[d] = n
        examples.append(x.detach().clone() if full == list(x.shape) else
                        torch.zeros(full, dtype=x.dtype, device=x.device))
        dyn.append(spec or None)
    with torch.no_grad():
        return torch.export.export(_Flat(fn), tuple(examples), dynamic_shapes=(tuple(dyn),),
                                   strict=False)


def compile_flat(fn: Callable[..., tuple[Tensor, ...]], args: Sequence[Tensor], batch: int,
                 sweeps: int, drive_index: int, tag: str = "chunk"
                 ) -> tuple[FlatFn, tuple[tuple[int, int, int], ...]]:
    """Compile ``fn(*args) -> tuple of tensors`` (pure, no autograd) with AOTInductor.

    The batch/sweep axes of the inputs (:func:`layout`) are exported as symbolic sizes where
    the graph allows it: B and S, else B only, else S only, else none (an axis that only looked
    like one, e.g. 3 channels with S = 3, makes the export fail). Returns ``(run, fixed)``:
    ``run(list_of_inputs) -> list_of_outputs`` (the list is consumed) for inputs of the layout
    of ``args`` that also have the sizes ``fixed`` (``(input, axis, size)`` of the candidate
    axes left fixed, see :func:`matches`). Raises whatever export/compilation raises."""
    sig, cand = layout(args, batch, sweeps, drive_index)
    present = {k for c in cand for _, k in c}
    tries = [set(t) & present for t in ({"B", "S"}, {"B"}, {"S"}, set())]
    tries = [t for i, t in enumerate(tries) if t not in tries[:i]]
    err: Exception | None = None
    for kinds in tries:
        try:
            ep = _export(fn, args, cand, kinds)
            break
        except Exception as exc:  # noqa: BLE001 - a candidate axis the graph fixes: fewer
            err = exc
    else:
        raise err if err is not None else RuntimeError("aot_chunk: export failed")
    fixed = tuple((i, d, int(args[i].shape[d])) for i, c in enumerate(cand) for d, k in c
                  if k not in kinds)
    h = hashlib.sha256()
    for part in (torch.__version__, tag, repr(sig), repr(fixed), str(torch.get_num_threads()),
                 ep.graph_module.code, repr(ep.range_constraints)):
        h.update(part.encode())
        h.update(b"\0")
    key = h.hexdigest()[:32]
    model = _LOADED.get(key)
    if model is None:
        path = cache_root() / f"{tag}-{key}.pt2"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".pt2", dir=path.parent)
            os.close(fd)
            try:
                torch._inductor.aoti_compile_and_package(ep, package_path=tmp)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        model = torch._inductor.aoti_load_package(str(path))
        _LOADED[key] = model
    return model.loader.boxed_run, fixed
