"""qubonn: train binary neural networks exactly, as QUBO problems.

Public names are imported lazily, so that light parts (the network model, the native annealer)
import without the heavy dependencies (pyqubo, dimod, openjij) being loaded or even present.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "parse": "qubonn.language.parser",
    "load_spec": "qubonn.language.parser",
    "Network": "qubonn.network",
    "NetworkBuilder": "qubonn.network",
    "Source": "qubonn.network",
    "Weights": "qubonn.network",
    "datasets": "qubonn.datasets",
    "backends": "qubonn.backends",
    "training": "qubonn.training",
    "compiler": "qubonn.compiler",
    "formulation": "qubonn.formulation",
    "verify": "qubonn.verify",
    "compile": "qubonn.compiler",
    "Objective": "qubonn.formulation",
    "Problem": "qubonn.problem",
    "solve": "qubonn.backends",
    "get_backend": "qubonn.backends",
    "backends_available": "qubonn.backends",
    "BNNClassifier": "qubonn.training",
    "save_model": "qubonn.modelfile",
    "load_model": "qubonn.modelfile",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'qubonn' has no attribute '{name}'")
    module = importlib.import_module(_LAZY[name])
    value = module if module.__name__.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
