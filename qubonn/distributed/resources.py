"""Which tasks need a GPU, so that a cluster scheduler places GPU solves on GPU nodes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Backends that run on a GPU when their ``device`` option is "gpu", or "auto" with one present.
GPU_BACKENDS = frozenset({"native"})


def gpus_for(backend: str, options: Mapping[str, Any], cluster_gpus: float = 0.0) -> float:
    """GPUs one solve asks the scheduler for: 1 or 0.

    ``device="gpu"`` always asks for one (the solve fails without it); ``device="cpu"`` never
    does; a GPU-capable backend left on ``device="auto"`` (the native annealer's default) asks for
    one when the cluster has GPUs, since it would use one there anyway -- and two tasks that share
    a GPU unscheduled slow each other down.
    """
    device = str(options.get("device", "auto")).lower()
    if device in ("gpu", "cuda"):
        return 1.0
    if device == "cpu":
        return 0.0
    return 1.0 if backend in GPU_BACKENDS and cluster_gpus > 0 else 0.0
