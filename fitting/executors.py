"""Executors: how a batch of parameter sets is simulated (injected into the evaluator).

- :class:`BatchedExecutor` — one vectorised call (torch backend), in chunks; a chunk that raises
  is retried one parameter set at a time so a single bad set cannot sink the batch.
- :class:`ProcessExecutor` — local process pool, one simulator per worker (NEURON backend).
  Workers receive a picklable :class:`~fitting.simulator.SimSpec` and plain dicts and rebuild the
  model. Each evaluation has a timeout; a worker that overruns or crashes is killed and the pool
  rebuilt, the evaluation is marked failed, and the rest go on.
- :class:`DaskExecutor` — ``dask.distributed``: a ``LocalCluster`` of worker processes by
  default, or a scheduler address for a cluster.

All return, per parameter set, an :class:`Outcome` (time, response ``(S, T)`` or ``None``, and a
failure reason).
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from celegans.protocols import CurrentClamp, VoltageClamp
from fitting.simulator import SimSpec, response_var, simulate_one

Protocol = CurrentClamp | VoltageClamp


@dataclass
class Outcome:
    """Result of one simulation: ``y`` is ``None`` when it failed (``reason`` says why)."""

    time_ms: np.ndarray | None
    y: np.ndarray | None
    reason: str = ""

    @property
    def failed(self) -> bool:
        return self.y is None


def _from_tuple(res: tuple[np.ndarray, np.ndarray, bool]) -> Outcome:
    t, y, failed = res
    if failed:
        return Outcome(t, None, "simulation flagged failed or non-finite")
    return Outcome(t, y)


class Executor:
    """Base class: ``run(spec, protocol, params) -> list[Outcome]``; usable as a context."""

    name = "base"

    def run(self, spec: SimSpec, protocol: Protocol,
            params: Sequence[Mapping[str, float]]) -> list[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (no-op by default)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialExecutor(Executor):
    """One parameter set at a time in this process (reference; exceptions become failures)."""

    name = "serial"

    def run(self, spec, protocol, params):
        out = []
        for p in params:
            try:
                out.append(_from_tuple(simulate_one(spec, p, protocol)))
            except Exception as exc:  # noqa: BLE001 - isolation: any error is a failed eval
                out.append(Outcome(None, None, f"{type(exc).__name__}: {exc}"))
        return out


class BatchedExecutor(Executor):
    """Vectorised simulation of the whole batch (``spec.batched`` backends, e.g. torch).

    Args:
        chunk: largest batch per call (memory bound).
    """

    name = "batched"

    def __init__(self, chunk: int = 1024) -> None:
        if chunk < 1:
            raise ValueError(f"chunk: must be >= 1, got {chunk}")
        self.chunk = chunk

    def run(self, spec, protocol, params):
        out: list[Outcome] = []
        for s in range(0, len(params), self.chunk):
            part = params[s:s + self.chunk]
            batch = {k: np.array([p[k] for p in part], float) for k in part[0]}
            try:
                res = spec(batch, protocol)
                var = response_var(res, protocol)
                y = np.asarray(res.data[var], float).reshape(len(part), protocol.n_sweeps, -1)
                failed = np.zeros(len(part), bool) if res.failed is None else \
                    np.asarray(res.failed, bool).reshape(len(part))
                failed = failed | ~np.all(np.isfinite(y), axis=(1, 2))
                t = np.asarray(res.time_ms, float)
                out.extend(Outcome(t, None, "simulation flagged failed or non-finite") if f
                           else Outcome(t, y[i]) for i, f in enumerate(failed))
            except Exception:  # noqa: BLE001 - isolate the bad parameter set(s)
                out.extend(SerialExecutor().run(spec, protocol, part))
        return out


def _spawn_pool(n: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"))


class ProcessExecutor(Executor):
    """Local process pool with a per-evaluation timeout (seconds).

    A worker that runs past ``timeout_s`` or dies is killed, the pool is rebuilt, and its
    evaluation is reported failed; unfinished evaluations are resubmitted.
    """

    name = "process"

    def __init__(self, n_workers: int = 2, timeout_s: float = 60.0) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers: must be >= 1, got {n_workers}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s: must be > 0, got {timeout_s}")
        self.n_workers = n_workers
        self.timeout_s = float(timeout_s)
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _spawn_pool(self.n_workers)
        return self._pool

    def _kill_pool(self) -> None:
        pool = self._pool
        self._pool = None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            try:
                proc.kill()
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
        pool.shutdown(wait=False, cancel_futures=True)

    def run(self, spec, protocol, params):
        results: dict[int, Outcome] = {}
        todo = list(range(len(params)))
        strikes: dict[int, int] = {}
        while todo:
            pool = self._get_pool()
            # at most one evaluation per worker in flight: a future the pool has queued but no
            # worker runs yet would otherwise count as running and could time out waiting
            queue = list(todo)
            futs: dict[Future, int] = {}
            started: dict[Future, float] = {}
            pending: set[Future] = set()
            broken = False

            refill = (pool, queue, pending, futs, started, spec, protocol, params)
            self._refill(*refill)
            while pending:
                done, _ = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                pending -= done
                now = time.monotonic()
                for f in done:
                    i = futs[f]
                    try:
                        results[i] = _from_tuple(f.result())
                    except BrokenProcessPool:
                        broken = True
                    except Exception as exc:  # noqa: BLE001
                        results[i] = Outcome(None, None, f"{type(exc).__name__}: {exc}")
                overdue = [f for f in pending if now - started[f] > self.timeout_s]
                if overdue or broken:
                    for f in overdue:
                        results[futs[f]] = Outcome(None, None,
                                                   f"timeout after {self.timeout_s:g} s")
                    if broken:  # a worker died: whatever was running gets a strike
                        for f in pending | done:
                            i = futs[f]
                            if i not in results:
                                strikes[i] = strikes.get(i, 0) + 1
                                if strikes[i] >= 2:
                                    results[i] = Outcome(None, None, "worker process died")
                    self._kill_pool()
                    break
                self._refill(*refill)
            todo = [i for i in todo if i not in results]
        return [results[i] for i in range(len(params))]

    def _refill(self, pool, queue, pending, futs, started, spec, protocol, params) -> None:
        """Submit queued evaluations until every worker has one; their clocks start now."""
        while queue and len(pending) < self.n_workers:
            i = queue.pop(0)
            f = pool.submit(simulate_one, spec, params[i], protocol)
            futs[f] = i
            started[f] = time.monotonic()
            pending.add(f)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """``dask.distributed`` executor.

    Args:
        address: scheduler address (``"tcp://host:8786"``); ``None`` starts a ``LocalCluster``
            of ``n_workers`` worker processes with one thread each.
        timeout_s: per-evaluation budget; a batch waits at most
            ``timeout_s * ceil(n / n_workers)``, evaluations not done by then are cancelled and
            reported failed (a running task on a remote worker cannot be killed, only abandoned).
    """

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int = 2, timeout_s: float = 60.0,
                 **cluster_kwargs: Any) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ValueError("Dask executor needs dask[distributed]") from None
        self.timeout_s = float(timeout_s)
        self._cluster = None
        if address is None:
            kw = {"n_workers": n_workers, "threads_per_worker": 1, "processes": True,
                  "dashboard_address": None}
            kw.update(cluster_kwargs)
            self._cluster = LocalCluster(**kw)
            self.client = Client(self._cluster)
        else:
            self.client = Client(address)
        self.n_workers = max(1, len(self.client.scheduler_info().get("workers", {})) or n_workers)

    def run(self, spec, protocol, params):
        from distributed import wait as dwait

        n = len(params)
        futs = self.client.map(simulate_one, [spec] * n, list(params), [protocol] * n,
                               pure=False)
        budget = self.timeout_s * max(1, -(-n // self.n_workers)) + 5.0
        try:
            dwait(futs, timeout=budget)
        except Exception:  # noqa: BLE001 - timeout: collect what finished
            pass
        out = []
        for f in futs:
            if f.status == "finished":
                try:
                    out.append(_from_tuple(f.result()))
                except Exception as exc:  # noqa: BLE001
                    out.append(Outcome(None, None, f"{type(exc).__name__}: {exc}"))
            elif f.status == "error":
                exc = f.exception()
                out.append(Outcome(None, None, f"{type(exc).__name__}: {exc}"))
            else:
                f.cancel()
                out.append(Outcome(None, None, f"timeout after {self.timeout_s:g} s (dask)"))
        return out

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


EXECUTORS = ("batched", "serial", "process", "dask")


def make_executor(name: str, **kwargs: Any) -> Executor:
    """Executor by name: ``batched``, ``serial``, ``process``, ``dask``."""
    if name == "batched":
        return BatchedExecutor(**{k: v for k, v in kwargs.items() if k == "chunk"})
    if name == "serial":
        return SerialExecutor()
    if name == "process":
        return ProcessExecutor(**{k: v for k, v in kwargs.items()
                                  if k in ("n_workers", "timeout_s")})
    if name == "dask":
        return DaskExecutor(**{k: v for k, v in kwargs.items()
                               if k in ("address", "n_workers", "timeout_s")})
    raise ValueError(f"executor: unknown {name!r}; expected one of {EXECUTORS}")
