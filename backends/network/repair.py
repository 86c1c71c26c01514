"""Repair as a dimod composite: every read of any sampler mapped to the valid state of its weights.

A heuristic read of a training QUBO often breaks constraints (the activation or slack bits
disagree with the weights), and then its energy says nothing about the network it encodes.  The
weights in it are still a network: :class:`RepairComposite` keeps them, recomputes everything
else by the forward pass (``problem.feasible_state(problem.weights_of(x))``), and returns those
states, whose QUBO energy is the replayed training objective.  What was repaired stays visible:
per read, the sample set's data vectors hold

* ``broken``: constraints the child's read broke (total), and ``broken_<kind>`` per kind
  (``and``, ``sign``, ``tie``: the counts of ``problem.constraint_report``);
* ``energy_before``: the child's energy of that read; ``energy`` is the repaired one.

Reach it by name (``repair:`` before any backend name: ``qubonn.solve(problem,
backend="repair:neal")``, ``--backend repair:neal``) or directly
(``RepairComposite(sampler).sample_problem(problem)``, or ``.sample(bqm, problem=problem)``, or
``RepairComposite(sampler, problem=problem).sample(problem.bqm)``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import dimod
import numpy as np

from qubonn.errors import QubonnError

from ..contract import ProblemComposite, as_problem, sample_problem

if TYPE_CHECKING:
    from qubonn.problem import Problem

PREFIX = "repair:"


class RepairComposite(ProblemComposite):
    """Sample a compiled qubonn Problem through ``child_sampler``; return repaired reads.

    ``problem`` (constructor or ``sample`` keyword) says what the BQM's variables mean; without
    one there is nothing to repair against and sampling is refused.  Options other than
    ``problem`` go to the child unchanged.
    """

    def __init__(self, child_sampler: dimod.Sampler, problem: Problem | None = None) -> None:
        super().__init__(child_sampler)
        self.problem = _check_problem(problem) if problem is not None else None

    @property
    def properties(self) -> dict[str, Any]:
        child = dict(self.child.properties)
        return {"name": f"{PREFIX}{self.child_name}", "child_properties": child}

    def sample(
        self, bqm: dimod.BinaryQuadraticModel, problem: Problem | None = None, **parameters: Any
    ) -> dimod.SampleSet:
        """Sample ``bqm`` (the QUBO of ``problem``, or of the constructor's problem) and repair."""
        problem = _check_problem(problem) if problem is not None else self.problem
        if problem is None:
            raise QubonnError(
                "RepairComposite needs the compiled qubonn Problem the BQM comes from: pass "
                "RepairComposite(sampler, problem=problem), sample(bqm, problem=problem), or "
                "qubonn.solve(problem, backend='repair:<name>')"
            )
        if set(bqm.variables) != set(problem.labels):
            raise QubonnError(
                f"RepairComposite: the BQM's {bqm.num_variables} variables are not those of the "
                f"problem ({problem.n_variables} variables, labels like {problem.labels[0]!r})"
            )
        start = time.perf_counter()
        if bqm is problem.bqm:  # the problem's own QUBO: the child may use its structure
            sampleset = sample_problem(self.child, problem, **parameters)
        else:
            sampleset = self.child.sample(bqm, **parameters)
        return _repair(problem, bqm, sampleset, time.perf_counter() - start)

    def sample_problem(self, problem: Problem, **parameters: Any) -> dimod.SampleSet:
        """Sample a compiled Problem's QUBO through the child and repair every read."""
        problem = _check_problem(problem)
        return self.sample(problem.bqm, problem=problem, **parameters)


def _check_problem(problem: Problem) -> Problem:
    return as_problem(problem, "RepairComposite")


def _repair(
    problem: Problem, bqm: dimod.BinaryQuadraticModel, sampleset: dimod.SampleSet, child_s: float
) -> dimod.SampleSet:
    """The repaired sample set: valid states, their energies, and what each read broke."""
    start = time.perf_counter()
    labels = problem.labels
    order = [sampleset.variables.index(v) for v in labels]
    raw = np.asarray(sampleset.record.sample)[:, order]
    if sampleset.vartype is dimod.SPIN:
        raw = (raw + 1) // 2
    kinds: list[str] | None = None
    broken: list[list[int]] = []
    fixed = np.empty_like(raw, dtype=np.int8)
    for r, x in enumerate(raw):
        counts = problem.constraint_report(x).counts
        kinds = kinds if kinds is not None else list(counts)
        broken.append([counts.get(k, 0) for k in kinds])
        fixed[r] = problem.feasible_state(problem.weights_of(x))
    if bqm.vartype is dimod.SPIN:
        fixed = 2 * fixed - 1
    counts_arr = np.asarray(broken, dtype=np.int64).reshape(len(raw), len(kinds or []))
    vectors = {f"broken_{k}": counts_arr[:, i] for i, k in enumerate(kinds or [])}
    out = dimod.SampleSet.from_samples_bqm(
        (fixed, labels),
        bqm,
        num_occurrences=np.asarray(sampleset.record.num_occurrences),
        broken=counts_arr.sum(axis=1),
        energy_before=np.asarray(sampleset.record.energy, dtype=float),
        **vectors,
    )
    out.info.update({k: v for k, v in sampleset.info.items() if k != "timing"})
    timing = dict(sampleset.info.get("timing", {}))
    timing.update(child_s=child_s, repair_s=time.perf_counter() - start)
    out.info["timing"] = timing
    out.info["repaired"] = int(np.count_nonzero(counts_arr.sum(axis=1)))
    return out
