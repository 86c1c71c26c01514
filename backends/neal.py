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

from . import _common
from ._common import (
    BETA_RANGE,
    BETA_SCHEDULE,
    INITIAL_STATES,
    INITIAL_STATES_GENERATOR,
    NUM_READS,
    NUM_SWEEPS,
    PROGRESS,
    SCHEDULE_TYPE,
    SEED,
    TIME_LIMIT,
    BackendSampler,
    Option,
    read_seeds,
    schedule_parts,
)
from ._schedule import Deadline

#: a segment does about a second of work (``_common.SEGMENT_WORK``); under a time limit of L
#: seconds it does about L / SEGMENTS_PER_LIMIT, so that stopping between segments stays within
#: a tenth of the limit
SEGMENTS_PER_LIMIT = 10.0

class NealSampler(BackendSampler):
    """Simulated annealing (Metropolis, single-threaded C++) from dwave-samplers.

    Options: ``num_reads`` (10), ``num_sweeps`` (1000), ``beta_range`` or ``beta_schedule``,
    ``beta_schedule_type`` ('geometric'), ``seed``, ``initial_states`` (and
    ``initial_states_generator``, dimod's), ``progress(sweeps_done, sweeps_total, best_energy)``,
    ``time_limit`` (seconds).  Long anneals run in segments of about a second, so Ctrl-C,
    the time limit and progress act within about a second (the states so far are returned).
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
        INITIAL_STATES_GENERATOR,
        PROGRESS,
        TIME_LIMIT,
    )

    def __init__(self, strict: bool = False) -> None:
        from dwave.samplers import SimulatedAnnealingSampler

        super().__init__(strict=strict)
        self._sampler = SimulatedAnnealingSampler()

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        betas_for, total = schedule_parts(bqm, opts)
        num_reads = opts["num_reads"]
        labels = list(bqm.variables)
        seg = _common.segment_length(bqm, num_reads, total)
        if opts["time_limit"] is not None:  # about a tenth of the limit a segment
            seg = max(1, min(seg, int(seg * opts["time_limit"] / SEGMENTS_PER_LIMIT)))
        seeds = read_seeds(opts["seed"], -(-total // seg))
        states = self.initial_states_array(bqm, opts, bqm.vartype)
        progress, time_limit = opts["progress"], opts["time_limit"]
        info: dict[str, Any] = {"interrupted": False, "timed_out": False}
        start = time.perf_counter()
        deadline = Deadline(time_limit, start)
        done, energies = 0, None
        try:
            for k, first in enumerate(range(0, total, seg)):
                deadline.unit_started()
                kwargs: dict[str, Any] = {
                    "num_reads": num_reads,
                    "beta_schedule_type": "custom",
                    "beta_schedule": betas_for(first, min(first + seg, total)),
                    # dwave-samplers takes a seed below 2**31
                    "seed": int(seeds[k]) >> 1,
                }
                if states is not None:
                    kwargs.update(initial_states=(states, labels), initial_states_generator="none")
                ss = self._sampler.sample(bqm, **kwargs)
                order = [ss.variables.index(v) for v in labels]
                states = np.asarray(ss.record.sample)[:, order].astype(np.int8)
                energies, done = ss.record.energy, first + len(kwargs["beta_schedule"])
                if progress is not None and progress(done, total, float(np.min(energies))):
                    info["interrupted"] = done < total
                    break
                if done < total and not deadline.room_for_another():
                    info["timed_out"] = True
                    break
        except KeyboardInterrupt:  # Ctrl-C: keep the states of the last finished segment
            info["interrupted"] = True
        if states is None:  # interrupted before the first segment ended: a random start
            bits = np.random.default_rng(int(seeds[0])).integers(0, 2, (num_reads, len(labels)))
            states = (2 * bits - 1 if bqm.vartype is dimod.SPIN else bits).astype(np.int8)
        out = dimod.SampleSet.from_samples_bqm((states, labels), bqm)
        out.info.update(info)
        out.info["beta_range"] = (float(betas_for(0, 1)[0]), float(betas_for(total - 1, total)[0]))
        out.info["num_sweeps"] = done
        out.info["timing"] = {"anneal_s": time.perf_counter() - start}
        return out
