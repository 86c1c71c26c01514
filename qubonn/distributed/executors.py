"""Executors: one interface for running many independent solves, here or on a cluster.

Training jobs that solve many independent QUBOs (dropout rounds of the "independent" variant,
restarts over seeds, sweeps over hyperparameters) hand them to an executor instead of a loop, so
the same code runs serially, on a local process pool, or on a Ray cluster.  Every executor offers

* ``map(func, items, shared=None, num_gpus=0) -> list``: results in the order of ``items``;
* ``imap_unordered(func, items, shared=None, num_gpus=0)``: ``(index, result)`` pairs as tasks
  finish, so a caller can save each result at once (a sweep appends it to its table);
* use as a context manager (``with get_executor("ray") as ex: ...``), which releases workers.

``shared`` is one object every task needs (a network and its data set, a compiled problem): it is
shipped once -- to the Ray object store with ``ray.put``, or to one pickle file that each pool
worker reads once -- and tasks are called as ``func(item, shared)``; without it, ``func(item)``.
``func``, ``items`` and ``shared`` must be picklable (module-level functions, plain data).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from qubonn.errors import QubonnError

#: A GPU request: a number for every task, or a function of the task's item.
GpuRequest = float | Callable[[Any], float]


class DistributedError(QubonnError, RuntimeError):
    """An executor cannot be created or a task cannot be completed; the message says why."""


class Executor(ABC):
    """Runs independent tasks; see the module docstring for the calling convention."""

    name: str = "executor"

    def __deepcopy__(self, memo: dict) -> Executor:
        """An executor is a handle to workers (a pool, a cluster connection) that all its users
        share, not a value: ``copy.deepcopy`` -- and so scikit-learn's ``clone`` of a classifier
        given ``executor=`` -- keeps the same one instead of copying its open pipes."""
        return self

    @abstractmethod
    def imap_unordered(
        self,
        func: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Any = None,
        num_gpus: GpuRequest = 0,
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, result)`` for every item as its task finishes (any order)."""

    def map(
        self,
        func: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Any = None,
        num_gpus: GpuRequest = 0,
    ) -> list[Any]:
        """Results of ``func`` over ``items``, in the order of ``items``."""
        items = list(items)
        results: list[Any] = [None] * len(items)
        for i, result in self.imap_unordered(func, items, shared=shared, num_gpus=num_gpus):
            results[i] = result
        return results

    def gpus(self) -> float:
        """GPUs this executor can hand to tasks (0 where it does not schedule GPUs)."""
        return 0.0

    def close(self) -> None:
        """Release workers; the executor is unusable afterwards."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _call(func: Callable[..., Any], item: Any, shared: Any) -> Any:
    return func(item) if shared is None else func(item, shared)


class LocalExecutor(Executor):
    """Serial, in this process: the default, and the reference the others must match."""

    name = "local"

    def imap_unordered(
        self,
        func: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Any = None,
        num_gpus: GpuRequest = 0,
    ) -> Iterator[tuple[int, Any]]:
        for i, item in enumerate(items):
            yield i, _call(func, item, shared)


# -- process pool ---------------------------------------------------------------------------
_SHARED_CACHE: dict[str, Any] = {}


def _load_shared(path: str) -> Any:
    """Read a shared object in a pool worker, once per worker and file."""
    if path not in _SHARED_CACHE:
        with open(path, "rb") as f:
            obj = pickle.load(f)
        _SHARED_CACHE.clear()  # one map at a time: keep only the newest
        _SHARED_CACHE[path] = obj
    return _SHARED_CACHE[path]


def _call_in_pool(func: Callable[..., Any], item: Any, shared_path: str | None) -> Any:
    return _call(func, item, None if shared_path is None else _load_shared(shared_path))


class ProcessExecutor(Executor):
    """A local process pool.  A worker that dies (killed, out of memory, a crash in native code)
    breaks the whole pool in :mod:`concurrent.futures`; the unfinished tasks are then resubmitted
    to a fresh pool, at most ``max_retries`` times per ``map``.

    workers:    pool size (default: the CPU count);
    max_retries: pool restarts allowed per map after a worker died;
    mp_context: "spawn" (default: safe with threads and CUDA), "forkserver" or "fork".
    """

    name = "process"

    def __init__(
        self, workers: int | None = None, max_retries: int = 2, mp_context: str = "spawn"
    ) -> None:
        import multiprocessing

        if workers is not None and (int(workers) != workers or workers < 1):
            raise ValueError(f"workers must be an integer >= 1, not {workers!r}")
        if int(max_retries) != max_retries or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, not {max_retries!r}")
        try:
            self._context = multiprocessing.get_context(mp_context)
        except ValueError:
            raise ValueError(
                f"mp_context must be 'spawn', 'forkserver' or 'fork', not {mp_context!r}"
            ) from None
        self.workers = int(workers or os.cpu_count() or 1)
        self.max_retries = int(max_retries)
        self.restarts = 0  # pool restarts after broken pools, over this executor's life
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context)
        return self._pool

    def _drop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def imap_unordered(
        self,
        func: Callable[..., Any],
        items: Iterable[Any],
        *,
        shared: Any = None,
        num_gpus: GpuRequest = 0,
    ) -> Iterator[tuple[int, Any]]:
        pending = dict(enumerate(items))
        path = None
        if shared is not None:
            fd, path = tempfile.mkstemp(prefix="qubonn-shared-", suffix=".pkl")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(shared, f, protocol=pickle.HIGHEST_PROTOCOL)
        futures: dict[Future, int] = {}
        restarts = 0
        try:
            while pending:
                pool = self._get_pool()
                futures = {
                    pool.submit(_call_in_pool, func, item, path): i for i, item in pending.items()
                }
                broken = False
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures.pop(fut)
                        try:
                            result = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        del pending[i]
                        yield i, result
                if broken:
                    self._drop_pool()
                    restarts += 1
                    self.restarts += 1
                    if restarts > self.max_retries:
                        raise DistributedError(
                            f"a pool worker died {restarts} times with {len(pending)} task(s) "
                            f"unfinished (max_retries={self.max_retries}); a task may crash its "
                            "process every time (memory? native code?) -- try the local executor "
                            "to see its error"
                        )
        finally:
            for fut in futures:
                fut.cancel()
            if path is not None:
                os.unlink(path)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# -- choosing one ---------------------------------------------------------------------------
EXECUTORS = ("local", "process", "ray")


def get_executor(name_or_instance: str | Executor | None = None, **options: Any) -> Executor:
    """An executor by name ("local", "process", "ray") with its options, or the instance given.

    ``None`` gives the serial local executor.  Options: ``workers``, ``max_retries``,
    ``mp_context`` for "process"; ``address``, ``max_retries``, ``num_cpus`` ... for "ray"
    (see :class:`~qubonn.distributed.ray_executor.RayExecutor`).
    """
    if name_or_instance is None:
        name_or_instance = "local"
    if isinstance(name_or_instance, Executor):
        if options:
            raise ValueError("executor options apply to a name, not to an executor instance")
        return name_or_instance
    if not isinstance(name_or_instance, str):
        # duck-typed executors (anything with map) are accepted as they are
        if callable(getattr(name_or_instance, "map", None)) and not options:
            return name_or_instance  # type: ignore[return-value]
        raise TypeError(
            f"executor must be one of {', '.join(EXECUTORS)} or an Executor, "
            f"not {name_or_instance!r}"
        )
    name = name_or_instance.strip().lower()
    try:
        if name == "local":
            if options:
                raise ValueError(f"the local executor takes no options, got {sorted(options)}")
            return LocalExecutor()
        if name == "process":
            return ProcessExecutor(**options)
        if name == "ray":
            from qubonn.distributed.ray_executor import RayExecutor

            return RayExecutor(**options)
    except TypeError as e:
        if "unexpected keyword" not in str(e):
            raise
        raise ValueError(f"executor {name!r}: {e}") from None
    raise ValueError(f"unknown executor {name_or_instance!r}; use one of {', '.join(EXECUTORS)}")
