"""The solver contract: what a backend is, and the one dispatch from a problem to a backend.

Every backend is a ``dimod.Sampler`` (``sample(bqm, **options)`` returns a ``SampleSet``).
Two optional capabilities, declared as typed protocols rather than probed with ``hasattr``:

* :class:`ProblemSolver`: it takes the compiled training :class:`~qubonn.problem.Problem`
  itself (the network, the data, the objective model), not only its QUBO: native's structured
  mode, cpsat, and the repair composite;
* :class:`ArraySampler`: it takes the QUBO as arrays, so no dimod BQM is built (native).

Plain QUBO samplers live in ``backends/`` beside the registry; solvers and composites that need
the network are listed in :data:`PROBLEM_SOLVERS` and documented as such.  :func:`sample_problem`
and :func:`sample_qubo` are the only places that choose between the capabilities, and every
result passes the one check of what a sampler returns (``_common.check_sampleset``: a sample
set of exactly the problem's variables, values of its vartype, finite energies), so a broken
sampler is named, never decoded into a network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import dimod
import numpy as np

from qubonn.errors import QubonnError

from ._common import check_sampleset

if TYPE_CHECKING:  # the problem layer imports scipy; listing backends needs neither
    import scipy.sparse as sp

    from qubonn.problem import Problem


@runtime_checkable
class ProblemSolver(Protocol):
    """A sampler that solves a compiled training Problem through its structure."""

    def sample_problem(self, problem: Problem, **options: Any) -> dimod.SampleSet: ...


@runtime_checkable
class ArraySampler(Protocol):
    """A sampler that takes a QUBO as upper-triangular CSR couplings and linear biases."""

    def sample_qubo_arrays(
        self,
        quadratic: sp.csr_matrix,
        linear: np.ndarray,
        offset: float,
        labels: list,
        **options: Any,
    ) -> dimod.SampleSet: ...


#: The built-in backends that read the network, not only the QUBO (README, "Solvers").
PROBLEM_SOLVERS = ("native (structured mode)", "cpsat", "repair:<backend>")


class ProblemComposite(dimod.ComposedSampler):
    """A composite over one child sampler that solves compiled Problems (repair, the
    strategies): the child, its parameters plus ``problem``, and its name for the properties."""

    #: raised for a child that is no dimod.Sampler (subclasses name their own error class)
    error: type[QubonnError] = QubonnError

    def __init__(self, child_sampler: dimod.Sampler) -> None:
        if not isinstance(child_sampler, dimod.Sampler):
            raise self.error(
                f"{type(self).__name__} needs a dimod.Sampler child, got "
                f"{type(child_sampler).__name__}"
            )
        self._children = [child_sampler]

    @property
    def children(self) -> list[dimod.Sampler]:
        return self._children

    @property
    def parameters(self) -> dict[str, list]:
        return {**self.child.parameters, "problem": []}

    @property
    def child_name(self) -> str:
        return str(self.child.properties.get("name", type(self.child).__name__))


def as_problem(obj: Any, who: str) -> Problem:
    """``obj`` if it is a compiled :class:`~qubonn.problem.Problem`; otherwise an error that
    says ``who`` needs one and how to get it."""
    from qubonn.problem import Problem  # on use: see TYPE_CHECKING above

    if not isinstance(obj, Problem):
        raise QubonnError(
            f"{who} needs a compiled qubonn Problem (qubonn.compile(network, X, y)), not a "
            f"{type(obj).__name__}: it reads the network and the data, not only the QUBO"
        )
    return obj


def sample_qubo(sampler: dimod.Sampler, problem: Problem, **options: Any) -> dimod.SampleSet:
    """The problem's QUBO, as a plain QUBO, handed to ``sampler`` (as arrays if it takes
    them: no BQM is built)."""
    if isinstance(sampler, ArraySampler):
        q = problem.qubo()
        result = sampler.sample_qubo_arrays(
            q.quadratic, q.linear, q.offset, problem.labels, **options
        )
        return check_sampleset(result, problem.labels, sampler)
    return sample_bqm(sampler, problem.bqm, **options)


def sample_bqm(
    sampler: dimod.Sampler, bqm: dimod.BinaryQuadraticModel, **options: Any
) -> dimod.SampleSet:
    """``sampler.sample(bqm, **options)``, its result checked."""
    return check_sampleset(sampler.sample(bqm, **options), bqm.variables, sampler)


def sample_problem(sampler: dimod.Sampler, problem: Problem, **options: Any) -> dimod.SampleSet:
    """The one dispatch of a compiled Problem: a :class:`ProblemSolver` gets the Problem,
    every other sampler its QUBO (:func:`sample_qubo`)."""
    if isinstance(sampler, ProblemSolver):
        result = sampler.sample_problem(problem, **options)
        return check_sampleset(result, problem.labels, sampler)
    return sample_qubo(sampler, problem, **options)
