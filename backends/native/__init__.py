"""The native annealer: replica-parallel SA and Momentum Annealing on numpy (numba) or CuPy.

``NativeSampler`` (the dimod wrapper) is imported lazily (PEP 562), so that
``import qubonn.backends.native`` and its array core work on a machine without dimod, pyqubo or
openjij (the GPU check machine has only numpy, CuPy and pytest).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "NativeSampler": "qubonn.backends.native.sampler",
    "anneal": "qubonn.backends.native.anneal",
    "AnnealResult": "qubonn.backends.native.anneal",
    "gpu_available": "qubonn.backends.native.anneal",
    "IsingProblem": "qubonn.backends.native.problem",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
