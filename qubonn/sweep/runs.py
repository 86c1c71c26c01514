"""What one run of a sweep is: the classifier's parameters of a grid point, the task, the fit."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from qubonn.sweep.values import SweepError, cell

#: BNNClassifier parameters that the sweep itself sets (seeds from ``seeds``) or that are no
#: value of a table cell
_RESERVED = {"seed", "seeds", "random_state", "executor", "verbose", "network", "data"}


# -- what a run is ---------------------------------------------------------------------------
def _flatten(fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Fixed arguments as flat keys: a Dropout/dict -> dropout.*, penalties -> penalties.*
    (the table's columns, one value each)."""
    from qubonn.training import Dropout

    flat: dict[str, Any] = {}
    for key, value in fixed.items():
        if key == "dropout":
            if value is None:
                continue
            fields = value.get_params() if isinstance(value, Dropout) else dict(value)
            flat.update({f"dropout.{k}": v for k, v in fields.items()})
        elif key == "penalties":
            flat.update({f"penalties.{k}": v for k, v in dict(value or {}).items()})
        else:
            flat[key] = value
    return flat


@cache
def _solver_parameters(backend: str) -> frozenset[str]:
    from qubonn.backends import get_backend

    return frozenset(get_backend(backend).parameters)


def estimator_params(base: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``set_params`` arguments for ``clone(base)`` from flat sweep keys.

    Keys are ``base.get_params(deep=True)`` names (``dropout.p`` spelled with a dot works too);
    ``head__key`` of a dict parameter (penalties, solver_options) sets that key of the dict;
    other keys are options of the solver backend (into ``solver_options``).  Unknown keys raise
    a SweepError that lists the valid ones.  ``dropout__*`` on a classifier without dropout
    starts from ``Dropout()``'s defaults."""
    from qubonn.training import Dropout

    valid = base.get_params(deep=True)
    top: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    dicts: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        name = key.replace(".", "__")
        head, sep, tail = name.partition("__")
        if key in _RESERVED or head in _RESERVED:
            hint = " (give seeds with seeds=/--seeds)" if key in ("seed", "seeds") else ""
            raise SweepError(f"{key!r} cannot be a sweep parameter{hint}; {valid_keys(base)}")
        if sep and head == "dropout":
            if tail not in Dropout.__dataclass_fields__:
                raise SweepError(
                    f"unknown grid key {key!r}; dropout fields: "
                    f"{', '.join(Dropout.__dataclass_fields__)}"
                )
            nested[name] = value
        elif sep and head in valid and (valid[head] is None or isinstance(valid[head], dict)):
            dicts.setdefault(head, dict(valid[head] or {}))[tail] = value
        elif name in valid and not sep:
            top[name] = value
        elif sep:
            raise SweepError(f"unknown grid key {key!r}; {valid_keys(base)}")
        else:
            dicts.setdefault("solver_options", dict(valid["solver_options"] or {}))[name] = value
    backend = str(top.get("backend", valid["backend"]))
    solver = set(dicts.get("solver_options", {})) - set(valid["solver_options"] or {})
    unknown = sorted(solver - _solver_parameters(backend))
    if unknown:
        raise SweepError(
            f"unknown grid key(s) {unknown}: not a classifier parameter nor an option of "
            f"backend {backend!r} ({', '.join(sorted(_solver_parameters(backend)))}); "
            + valid_keys(base)
        )
    if nested and not isinstance(top.get("dropout", valid["dropout"]), Dropout):
        top["dropout"] = Dropout(**dict(top.get("dropout") or valid["dropout"] or {}))
    return {**top, **dicts, **nested}


def valid_keys(base: Any) -> str:
    """The keys a sweep of ``base`` takes, for error messages."""
    names = [k for k in base.get_params(deep=False) if k not in _RESERVED]
    return (
        f"valid keys: {', '.join(names)}, dropout.<p|rounds|eta|variant|scale|batch_size>, "
        "penalties.<and|sign|tie>, or an option of the backend (e.g. num_sweeps)"
    )


@dataclass(frozen=True)
class SweepTask:
    """One run: the flat parameters (grid point and fixed values, the row's columns), their
    ``set_params`` arguments, the seed, and the GPUs the solve may want (backend, options)."""

    params: tuple[tuple[str, Any], ...]
    set_params: tuple[tuple[str, Any], ...]
    seed: int
    backend: str
    solver_options: tuple[tuple[str, Any], ...]

    def estimator(self, base: Any) -> Any:
        """The classifier of this run: ``clone(base).set_params(...)`` with its seed."""
        return clone_with(base, dict(self.set_params)).set_params(random_state=self.seed)


def _fit_one(task: SweepTask, shared: tuple[Any, Any]) -> dict[str, Any]:
    """Train and score one classifier (runs in a worker)."""
    base, data = shared
    t0 = time.perf_counter()
    clf = task.estimator(base)
    clf.fit(data.X_train, data.y_train)
    fit_s = time.perf_counter() - t0
    final = clf.history_[-1]
    return {
        "train_accuracy": clf.score(data.X_train, data.y_train),
        "test_accuracy": clf.score(data.X_test, data.y_test) if len(data.y_test) else None,
        "valid_share": final["valid_share"],
        "variables": final["variables"],
        "couplings": final["couplings"],
        "solves": len(clf.history_),
        "best_energy": final["best_energy"],
        "objective": final["objective"],
        "compile_s": sum(h.get("compile_s", 0.0) for h in clf.history_),
        "solve_s": sum(h["solve_s"] for h in clf.history_),
        "fit_s": fit_s,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }



def _none_as_text(base: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line text reads ``none`` as None; for a parameter whose values are words
    (``margin_scale=none``, ``dropout.scale=none``) it is the word "none"."""
    from qubonn.training import Dropout

    words = {f"dropout__{k}": v for k, v in Dropout().get_params().items()}
    words.update(base.get_params(deep=True))
    return {
        key: "none"
        if value is None and isinstance(words.get(key.replace(".", "__")), str)
        else value
        for key, value in params.items()
    }



def clone_with(base: Any, set_params: Mapping[str, Any]) -> Any:
    """``clone(base).set_params(...)`` on a deep copy of the values: nested ``set_params``
    (``dropout__p``) changes the Dropout it is given in place, so tasks must not share one."""
    import copy

    from sklearn.base import clone

    return clone(base).set_params(**copy.deepcopy(dict(set_params)))

def _describe(point: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={cell(v)}" for k, v in point.items()) or "(no grid)"
