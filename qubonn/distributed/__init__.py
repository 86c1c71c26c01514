"""Run many independent solves at once: serially, on a process pool, or on a Ray cluster.

>>> from qubonn.distributed import get_executor
>>> with get_executor("ray", address="auto") as ex:
...     samplesets = ex.map(solve_one, seeds, shared=problem)

See :mod:`qubonn.distributed.executors` for the interface and docs/distributed.md for clusters.
"""

from qubonn.distributed.executors import (
    EXECUTORS,
    DistributedError,
    Executor,
    LocalExecutor,
    ProcessExecutor,
    get_executor,
)
from qubonn.distributed.resources import gpus_for


def __getattr__(name: str):
    if name == "RayExecutor":  # imports ray only when asked for
        from qubonn.distributed.ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'qubonn.distributed' has no attribute {name!r}")


__all__ = [
    "EXECUTORS",
    "DistributedError",
    "Executor",
    "LocalExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "get_executor",
    "gpus_for",
]
