"""Solver backends: every backend is a ``dimod.Sampler`` reached through one registry.

``solve(problem_or_bqm, backend="neal", **options)`` samples; ``get_backend(name)`` returns a
sampler; ``backends_available()`` lists what is installed.  Third parties register a backend
through the entry-point group ``qubonn.backends`` (value ``"module:Class"``).
"""

from .registry import (
    BackendInfo,
    BackendUnavailableError,
    UnknownBackendError,
    backend_names,
    backends_available,
    get_backend,
    solve,
)

__all__ = [
    "BackendInfo",
    "BackendUnavailableError",
    "UnknownBackendError",
    "backend_names",
    "backends_available",
    "get_backend",
    "solve",
]
