"""``tabu`` and ``descent`` backends: dwave-samplers' multistart tabu search and steepest descent.

Both ship with dwave-samplers (already a dependency), so they cost nothing to offer.  Tabu is the
strongest single-flip local search there is for small dense QUBOs; steepest descent is a cheap
baseline (every read ends in a local minimum of its random start), useful to see how rugged a
problem is.  Options are checked here, like every backend's, so a typo is a
:class:`~qubonn.errors.SolverOptionError`, not a keyword swallowed by ``**kwargs`` downstream.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import dimod
import numpy as np

from qubonn.errors import SolverOptionError

from ._common import (
    INITIAL_STATES,
    NUM_READS,
    SEED,
    TIME_LIMIT,
    BackendSampler,
    Option,
    check_optional_bool,
    check_positive_int,
    read_seeds,
)
from ._schedule import Deadline


def _check_timeout(name: str, value: Any) -> int | None:
    return None if value is None else check_positive_int(name, value)


def _check_non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise SolverOptionError(
            f"invalid value for option {name!r}: {value!r}; expected an integer >= 0"
        )
    return int(value)


def _check_tenure(name: str, value: Any) -> int | None:
    return None if value is None else _check_non_negative_int(name, value)


def _initial_kwargs(
    sampler: BackendSampler, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]
) -> dict[str, Any]:
    """dwave-samplers' ``initial_states`` from our option, parsed by ``dimod.Initialized``."""
    init = sampler.initial_states_array(bqm, opts, bqm.vartype)
    if init is None:
        return {}
    return {"initial_states": (init, list(bqm.variables)), "initial_states_generator": "none"}


def _result(
    bqm: dimod.BinaryQuadraticModel, sampleset: dimod.SampleSet, elapsed: float
) -> dimod.SampleSet:
    """Re-evaluate energies on ``bqm`` (one code path for every backend) and add timing."""
    return _result_of(
        bqm, np.asarray(sampleset.record.sample), list(sampleset.variables), elapsed
    )


def _result_of(
    bqm: dimod.BinaryQuadraticModel, samples: np.ndarray, variables: list, elapsed: float
) -> dimod.SampleSet:
    out = dimod.SampleSet.from_samples_bqm((samples, variables), bqm)
    out.info["timing"] = {"search_s": elapsed}
    return out


class TabuBackend(BackendSampler):
    """Multistart tabu search (dwave-samplers ``TabuSampler``, C++), one search per read.

    Options: ``num_reads`` (10), ``seed``, ``timeout`` (milliseconds per read, 20; None: no clock
    limit, then ``num_restarts`` ends a read, which makes a seeded run reproducible),
    ``time_limit`` (seconds for all reads: reads run one at a time, each with an equal share of
    the time left as its ``timeout``, and stop when one more would not fit; at least one read),
    ``num_restarts`` (1,000,000), ``tenure`` (None: min(20, n/4); must be below n),
    ``initial_states``.
    """

    name: ClassVar[str] = "tabu"
    description: ClassVar[str] = "dwave-samplers multistart tabu search (CPU, C++)"
    options: ClassVar[tuple[Option, ...]] = (
        NUM_READS,
        SEED,
        Option("timeout", "None or milliseconds per read, an integer >= 1", _check_timeout, 20),
        Option("num_restarts", "an integer >= 0", _check_non_negative_int, 1_000_000),
        Option("tenure", "None or an integer in [0, n - 1]", _check_tenure),
        INITIAL_STATES,
        TIME_LIMIT,
    )

    def __init__(self, strict: bool = False) -> None:
        from dwave.samplers import TabuSampler

        super().__init__(strict=strict)
        self._sampler = TabuSampler()

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        n = bqm.num_variables
        if opts["tenure"] is not None and opts["tenure"] >= n:
            raise SolverOptionError(
                f"invalid value for option 'tenure': {opts['tenure']}; expected an integer in "
                f"[0, {n - 1}] for this BQM of {n} variables"
            )
        start = time.perf_counter()
        timeout = opts["timeout"] if opts["timeout"] is not None else 2**31 - 1
        kwargs: dict[str, Any] = {
            "num_reads": opts["num_reads"],
            "seed": int(read_seeds(opts["seed"], 1)[0]),
            "timeout": timeout,
            "num_restarts": opts["num_restarts"],
            **_initial_kwargs(self, bqm, opts),
        }
        if opts["tenure"] is not None:
            kwargs["tenure"] = opts["tenure"]
        if opts["time_limit"] is not None:
            return self._sample_timed(bqm, kwargs, opts["time_limit"], start)
        sampleset = self._sampler.sample(bqm, **kwargs)
        out = _result(bqm, sampleset, time.perf_counter() - start)
        out.info["timeout_ms"] = timeout
        return out

    def _sample_timed(
        self, bqm: dimod.BinaryQuadraticModel, kwargs: dict[str, Any], limit: float, start: float
    ) -> dimod.SampleSet:
        """Reads one at a time within ``limit`` seconds: a read checks its ``timeout`` only
        between restarts, so a restart that outlasts it (large problems) would overrun any
        per-read share; the next read starts only while one more still fits (the first always
        runs).  Each read gets an equal share of the time left as its ``timeout``."""
        num_reads = kwargs.pop("num_reads")
        seeds = read_seeds(kwargs.pop("seed"), num_reads)
        init = kwargs.pop("initial_states", None)
        deadline = Deadline(limit, start)
        reads: list[np.ndarray] = []
        variables: list = []
        for r in range(num_reads):
            deadline.unit_started()
            left = deadline.left() or 0.0
            kwargs["timeout"] = max(1, min(kwargs["timeout"], int(1000 * left / (num_reads - r))))
            if init is not None:
                kwargs["initial_states"] = (init[0][r : r + 1], init[1])
            ss = self._sampler.sample(bqm, num_reads=1, seed=int(seeds[r]) >> 1, **kwargs)
            variables = list(ss.variables)
            reads.append(np.asarray(ss.record.sample))
            if r + 1 < num_reads and not deadline.room_for_another():
                break
        out = _result_of(bqm, np.concatenate(reads), variables, time.perf_counter() - start)
        out.info["timed_out"] = len(reads) < num_reads
        out.info["timeout_ms"] = kwargs["timeout"]
        return out


class DescentBackend(BackendSampler):
    """Steepest descent (dwave-samplers ``SteepestDescentSolver``): each read goes downhill from
    a random (or given) state to the nearest single-flip local minimum.

    Options: ``num_reads`` (10), ``seed``, ``initial_states``, ``large_sparse_opt`` (None: let
    dwave-samplers pick; True/False force its sparse-problem data structure).
    """

    name: ClassVar[str] = "descent"
    description: ClassVar[str] = "dwave-samplers steepest descent from random states (CPU, C++)"
    options: ClassVar[tuple[Option, ...]] = (
        NUM_READS,
        SEED,
        INITIAL_STATES,
        Option("large_sparse_opt", "None, True or False", check_optional_bool),
    )

    def __init__(self, strict: bool = False) -> None:
        from dwave.samplers import SteepestDescentSolver

        super().__init__(strict=strict)
        self._sampler = SteepestDescentSolver()

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        kwargs: dict[str, Any] = {
            "num_reads": opts["num_reads"],
            "seed": int(read_seeds(opts["seed"], 1)[0]),
            **_initial_kwargs(self, bqm, opts),
        }
        if opts["large_sparse_opt"] is not None:
            kwargs["large_sparse_opt"] = opts["large_sparse_opt"]
        start = time.perf_counter()
        sampleset = self._sampler.sample(bqm, **kwargs)
        out = _result(bqm, sampleset, time.perf_counter() - start)
        out.info["num_steps"] = np.asarray(sampleset.record.num_steps).tolist()
        return out
