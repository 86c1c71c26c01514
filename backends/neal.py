"""``neal`` backend: dwave-samplers' simulated annealing with a beta range computed by qubonn.

dwave-samplers' own automatic range was measured to be extreme on BNN-like QUBOs with big penalty
weights, so unless ``beta_range`` or ``beta_schedule`` is given the range comes from
:func:`qubonn.backends._common.auto_beta_range` (its docstring states the rule).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import dimod
import numpy as np

from ._common import (
    BETA_RANGE,
    BETA_SCHEDULE,
    INITIAL_STATES,
    NUM_READS,
    NUM_SWEEPS,
    PROGRESS,
    SCHEDULE_TYPE,
    SEED,
    TIME_LIMIT,
    BackendSampler,
    Option,
    initial_states_array,
    read_seeds,
    resolve_schedule,
)


class NealSampler(BackendSampler):
    """Simulated annealing (Metropolis, single-threaded C++) from dwave-samplers.

    Options: ``num_reads`` (10), ``num_sweeps`` (1000), ``beta_range`` or ``beta_schedule``,
    ``beta_schedule_type`` ('geometric'), ``seed``, ``initial_states``, ``progress``,
    ``time_limit`` (seconds; checked between reads).
    """

    name: ClassVar[str] = "neal"
    description: ClassVar[str] = "dwave-samplers simulated annealing (CPU, C++)"
    options: ClassVar[tuple[Option, ...]] = (
        NUM_READS,
        NUM_SWEEPS,
        BETA_RANGE,
        BETA_SCHEDULE,
        SCHEDULE_TYPE,
        SEED,
        INITIAL_STATES,
        PROGRESS,
        TIME_LIMIT,
    )

    def __init__(self) -> None:
        from dwave.samplers import SimulatedAnnealingSampler

        self._sampler = SimulatedAnnealingSampler()

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        schedule = resolve_schedule(bqm, opts)
        num_reads = opts["num_reads"]
        kwargs: dict[str, Any] = {
            "num_reads": num_reads,
            "beta_schedule_type": "custom",
            "beta_schedule": schedule,
            # dwave-samplers takes a seed below 2**31; derive one so any seed >= 0 is accepted.
            "seed": int(read_seeds(opts["seed"], 1)[0]) >> 1,
        }
        init = initial_states_array(bqm, opts["initial_states"], bqm.vartype)
        if init is not None:
            kwargs["initial_states"] = (init, list(bqm.variables))
            kwargs["initial_states_generator"] = "random" if len(init) < num_reads else "none"
            if len(init) > num_reads:
                kwargs["initial_states"] = (init[:num_reads], list(bqm.variables))

        progress = opts["progress"]
        time_limit = opts["time_limit"]
        state = {"done": 0, "stopped": False}
        start = time.perf_counter()
        if progress is not None or time_limit is not None:

            def interrupt() -> bool:
                state["done"] += 1
                stop = bool(progress(state["done"], num_reads)) if progress else False
                if time_limit is not None and time.perf_counter() - start >= time_limit:
                    stop = True
                state["stopped"] = stop and state["done"] < num_reads
                return stop

            kwargs["interrupt_function"] = interrupt

        sampleset = self._sampler.sample(bqm, **kwargs)
        out = dimod.SampleSet.from_samples_bqm(
            (np.asarray(sampleset.record.sample), list(sampleset.variables)), bqm
        )
        out.info["beta_range"] = (float(schedule[0]), float(schedule[-1]))
        out.info["num_sweeps"] = int(len(schedule))
        out.info["interrupted"] = state["stopped"]
        out.info["timing"] = {"anneal_s": time.perf_counter() - start}
        return out
