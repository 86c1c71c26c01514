"""Backend registry: names to samplers, built-in and third-party (entry-point group
``qubonn.backends``, value ``"module:Class"``).

Backends are imported lazily: listing them never fails because one optional dependency (or the
native annealer) is missing; the listing says which ones are unavailable and why.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import dimod

from qubonn.errors import QubonnError

ENTRY_POINT_GROUP = "qubonn.backends"


@dataclass(frozen=True)
class _Spec:
    target: str  # "module:Class"
    description: str


BUILTIN: dict[str, _Spec] = {
    "neal": _Spec("qubonn.backends.neal:NealSampler", "dwave-samplers simulated annealing"),
    "openjij-sa": _Spec("qubonn.backends.openjij:OpenJijSASampler", "OpenJij simulated annealing"),
    "openjij-sqa": _Spec(
        "qubonn.backends.openjij:OpenJijSQASampler", "OpenJij simulated quantum annealing"
    ),
    "tabu": _Spec("qubonn.backends.local_search:TabuBackend", "dwave-samplers tabu search"),
    "descent": _Spec("qubonn.backends.local_search:DescentBackend", "dwave-samplers descent"),
    "cpsat": _Spec("qubonn.backends.network.cpsat:CpsatSampler", "OR-Tools CP-SAT, proven optimum"),
    "exact": _Spec("qubonn.backends.exact:ExactSampler", "exhaustive search, small problems"),
    "native": _Spec(
        "qubonn.backends.native:NativeSampler", "qubonn's replica-parallel annealer (CPU/GPU)"
    ),
}


class UnknownBackendError(QubonnError, ValueError):
    """No backend is registered under the requested name."""


class BackendUnavailableError(QubonnError, RuntimeError):
    """The backend is registered but cannot be loaded here (missing dependency, import error)."""


class BackendInfo(NamedTuple):
    """One row of :func:`backends_available`."""

    name: str
    description: str
    available: bool
    reason: str


class BackendTable(list):
    """A list of :class:`BackendInfo` that prints as a text table."""

    def __str__(self) -> str:
        header = ("backend", "available", "description / reason")
        rows = [
            (r.name, "yes" if r.available else "no", r.description if r.available else r.reason)
            for r in self
        ]
        w0 = max(len(header[0]), *(len(r[0]) for r in rows)) if rows else len(header[0])
        w1 = len(header[1])
        lines = [f"{header[0]:<{w0}}  {header[1]:<{w1}}  {header[2]}"]
        lines.append(f"{'-' * w0}  {'-' * w1}  {'-' * len(header[2])}")
        lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
        return "\n".join(lines)


def _entry_points() -> list[Any]:
    """Entry points of the ``qubonn.backends`` group (a seam the tests monkeypatch)."""
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _registry() -> dict[str, _Spec]:
    specs = dict(BUILTIN)
    for ep in _entry_points():
        if ep.name in BUILTIN:
            warnings.warn(
                f"entry point {ep.value!r} tries to replace built-in backend {ep.name!r}; ignored",
                stacklevel=3,
            )
            continue
        specs[ep.name] = _Spec(ep.value, f"third-party backend ({ep.value})")
    return specs


def backend_names() -> list[str]:
    """Every registered backend name, built-in first."""
    return list(_registry())


def _load_class(name: str, spec: _Spec) -> type:
    module_name, _, attr = spec.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
    except Exception as exc:  # noqa: BLE001 - any import failure makes the backend unavailable
        raise BackendUnavailableError(
            f"backend {name!r} is unavailable: cannot load {spec.target} "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, dimod.Sampler)):
        raise BackendUnavailableError(
            f"backend {name!r} is unavailable: {spec.target} is not a dimod.Sampler subclass"
        )
    return obj


def _spec(name: str) -> _Spec:
    specs = _registry()
    if name not in specs:
        close = difflib.get_close_matches(str(name), list(specs), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownBackendError(
            f"unknown backend {name!r}.{hint} Valid names: {', '.join(specs)}"
        )
    return specs[name]


def get_backend(name: str, **init_kwargs: Any) -> dimod.Sampler:
    """A fresh sampler instance for backend ``name`` (``init_kwargs`` go to its constructor).

    ``"repair:NAME"`` wraps backend NAME in
    :class:`~qubonn.backends.network.repair.RepairComposite`."""
    if isinstance(name, str) and name.startswith("repair:"):
        from .network.repair import RepairComposite

        return RepairComposite(get_backend(name.removeprefix("repair:"), **init_kwargs))
    cls = _load_class(name, _spec(name))
    try:
        return cls(**init_kwargs)
    except QubonnError:
        raise
    except Exception as exc:
        raise BackendUnavailableError(
            f"backend {name!r} is unavailable: constructing it failed ({type(exc).__name__}: {exc})"
        ) from exc


def backends_available() -> BackendTable:
    """``(name, description, available, reason)`` for every registered backend; print it for a
    table.  Loading is attempted, so a broken optional dependency shows up here, not mid-run."""
    table = BackendTable()
    for name, spec in _registry().items():
        try:
            cls = _load_class(name, spec)
        except BackendUnavailableError as exc:
            table.append(BackendInfo(name, spec.description, False, str(exc)))
            continue
        description = getattr(cls, "description", None) or spec.description
        table.append(BackendInfo(name, str(description), True, ""))
    return table


def as_bqm(problem_or_bqm: Any) -> dimod.BinaryQuadraticModel:
    """The BQM of ``problem_or_bqm``: the object itself or its ``.bqm`` attribute."""
    bqm = getattr(problem_or_bqm, "bqm", problem_or_bqm)
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise QubonnError(
            f"expected a dimod.BinaryQuadraticModel or an object with a .bqm attribute, "
            f"got {type(problem_or_bqm).__name__}"
        )
    return bqm


def solve(
    problem_or_bqm: Any,
    backend: str | dimod.Sampler = "neal",
    *,
    strategy: str = "direct",
    strategy_options: dict | None = None,
    **options: Any,
) -> dimod.SampleSet:
    """Sample a problem (anything with ``.bqm``) or a BQM with the named backend.

    ``strategy`` says how (:mod:`qubonn.backends.network.strategies`): "direct" hands the whole QUBO
    to the backend once; "decompose" and "continuation" hand it a series of plain QUBOs built
    from a compiled Problem, so that generic samplers train.  ``backend`` is a registered name
    or a ``dimod.Sampler`` instance of your own; ``options`` go to it."""
    from qubonn.problem import Problem  # on use: listing backends needs no compiled problems

    from .contract import sample_bqm, sample_problem
    from .network.strategies import StrategyComposite, check_strategy

    check_strategy(strategy, strategy_options)
    # a user's own sampler instance is taken as it is (the strategies are built for them)
    sampler = backend if isinstance(backend, dimod.Sampler) else get_backend(backend)
    if strategy != "direct":  # the strategy's composite refuses a bare BQM, by name
        composite = StrategyComposite(sampler, strategy, **(strategy_options or {}))
        return composite.sample_problem(problem_or_bqm, **options)
    if isinstance(problem_or_bqm, Problem):
        return sample_problem(sampler, problem_or_bqm, **options)
    return sample_bqm(sampler, as_bqm(problem_or_bqm), **options)
