"""Solver backends: every backend is a ``dimod.Sampler`` reached through one registry.

``solve(problem_or_bqm, backend="neal", **options)`` samples; ``get_backend(name)`` returns a
sampler; ``backends_available()`` lists what is installed.  Third parties register a backend
through the entry-point group ``qubonn.backends`` (value ``"module:Class"``).

Names are imported lazily: the native annealer's core (``qubonn.backends.native.anneal``) must
import on a GPU machine that has numpy and CuPy but not dimod.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BackendInfo",
    "BackendUnavailableError",
    "UnknownBackendError",
    "backend_names",
    "backends_available",
    "get_backend",
    "solve",
    "strict_options",
]


def __getattr__(name: str) -> Any:
    if name == "strict_options":  # unknown solver options as errors inside the block
        return importlib.import_module("qubonn.backends._common").strict_options
    if name in __all__:
        return getattr(importlib.import_module("qubonn.backends.registry"), name)
    raise AttributeError(f"module 'qubonn.backends' has no attribute '{name}'")


def __dir__() -> list[str]:
    return __all__
