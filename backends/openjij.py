"""``openjij-sa`` and ``openjij-sqa`` backends: OpenJij's samplers behind qubonn's option contract.

OpenJij pitfall fixed here: with an explicit ``seed`` every one of ``num_reads`` returns the same
sample.  These adapters derive one seed per read (``np.random.SeedSequence(seed)``), run the reads
one by one and concatenate them, so a seed makes a call reproducible while its reads stay
independent.  Dense mode is chosen for dense or small QUBOs (measured about 3x faster there).
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
    NUM_READS,
    NUM_SWEEPS,
    PROGRESS,
    SCHEDULE_TYPE,
    SEED,
    TIME_LIMIT,
    BackendSampler,
    Option,
    auto_beta_range,
    check_optional_bool,
    check_optional_positive_float,
    check_positive_int,
    ising_arrays,
    read_seeds,
    schedule_parts,
)
from ._schedule import Deadline

#: Dense mode above this share of possible couplings present (or at or below DENSE_MAX_SMALL
#: variables, where the dense matrix is tiny anyway).
DENSITY_THRESHOLD = 0.1
DENSE_MAX_SMALL = 64

SPARSE = Option("sparse", "None (by density), True or False", check_optional_bool)


def choose_sparse(bqm: dimod.BinaryQuadraticModel) -> bool:
    """True when OpenJij's sparse mode should be used: large and sparse QUBOs."""
    n = bqm.num_variables
    if n <= DENSE_MAX_SMALL:
        return False
    density = bqm.num_interactions / (n * (n - 1) / 2)
    return density <= DENSITY_THRESHOLD


class _OpenJijBase(BackendSampler):
    """Shared read loop: integer-labelled Ising model, one derived seed per read."""

    def _ising_model(self, bqm: dimod.BinaryQuadraticModel, sparse: bool) -> Any:
        import openjij

        labels, h, row, col, J, offset = ising_arrays(bqm)
        linear = {i: float(v) for i, v in enumerate(h)}
        quadratic = {(int(i), int(j)): float(v) for i, j, v in zip(row, col, J, strict=True)}
        model = openjij.model.model.BinaryQuadraticModel(
            linear, quadratic, offset, dimod.SPIN, sparse=sparse
        )
        return labels, model

    def _run_reads(
        self,
        bqm: dimod.BinaryQuadraticModel,
        opts: dict[str, Any],
        run_one: Any,
    ) -> dimod.SampleSet:
        num_reads = opts["num_reads"]
        start = time.perf_counter()  # the model's set-up counts against the time limit
        deadline = Deadline(opts["time_limit"], start)
        sparse = opts["sparse"] if opts["sparse"] is not None else choose_sparse(bqm)
        labels, model = self._ising_model(bqm, sparse)
        init = self.initial_states_array(bqm, opts, dimod.SPIN)
        seeds = read_seeds(opts["seed"], num_reads)
        progress = opts["progress"]
        spins: list[np.ndarray] = []
        info = {"interrupted": False, "timed_out": False}
        best = np.inf
        try:  # OpenJij's C++ read cannot be interrupted: Ctrl-C acts between reads
            for r in range(num_reads):
                deadline.unit_started()
                initial = None if init is None else [int(v) for v in init[r]]
                response = run_one(model, sparse, int(seeds[r]), initial)
                order = [response.variables.index(i) for i in range(len(labels))]
                spins.append(np.asarray(response.record.sample)[:, order])
                best = min(best, float(np.min(response.record.energy)))
                done = r + 1
                if progress is not None and progress(done, num_reads, best) and done < num_reads:
                    info["interrupted"] = True
                    break
                if done < num_reads and not deadline.room_for_another():
                    info["timed_out"] = True
                    break
        except KeyboardInterrupt:
            info["interrupted"] = True
        if not spins:  # interrupted during the first read: its start, a random state
            bits = np.random.default_rng(int(seeds[0])).integers(0, 2, (1, len(labels)))
            spins.append(2 * bits - 1)
        arr = np.concatenate(spins).astype(np.int8)
        if bqm.vartype is dimod.BINARY:
            arr = (arr + 1) // 2
        out = dimod.SampleSet.from_samples_bqm((arr, labels), bqm)
        out.info["sparse"] = sparse
        out.info.update(info)
        out.info["timing"] = {"anneal_s": time.perf_counter() - start}
        return out


class OpenJijSASampler(_OpenJijBase):
    """OpenJij simulated annealing (single spin flip Metropolis).

    Options: ``num_reads`` (10), ``num_sweeps`` (1000), ``beta_range`` or ``beta_schedule``
    (default range from :func:`~qubonn.backends._common.auto_beta_range`, as for ``neal``),
    ``beta_schedule_type``, ``seed``, ``initial_states``, ``progress(reads_done, reads_total,
    best_energy)``, ``time_limit`` (checked between reads; Ctrl-C, too), ``sparse`` (None:
    chosen by density).
    """

    name: ClassVar[str] = "openjij-sa"
    description: ClassVar[str] = "OpenJij simulated annealing (CPU, C++)"
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
        SPARSE,
    )

    def __init__(self, strict: bool = False) -> None:
        import openjij

        super().__init__(strict=strict)
        self._sampler = openjij.SASampler()

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        betas_for, total = schedule_parts(bqm, opts)
        seg = _common.segment_length(bqm, 1, total)
        n = bqm.num_variables

        def run_one(model: Any, sparse: bool, seed: int, initial: list[int] | None) -> Any:
            # a long read runs in segments (each from the last one's state): Ctrl-C between them
            for k, first in enumerate(range(0, total, seg)):
                part = betas_for(first, min(first + seg, total))
                response = self._sampler.sample(
                    model,
                    num_reads=1,
                    schedule=[[float(b), 1] for b in part],
                    initial_state=initial,
                    sparse=sparse,
                    seed=seed if k == 0 else int(read_seeds(seed + k, 1)[0]),
                )
                order = [response.variables.index(i) for i in range(n)]
                initial = [int(v) for v in np.asarray(response.record.sample)[0, order]]
            return response

        out = self._run_reads(bqm, opts, run_one)
        out.info["beta_range"] = (float(betas_for(0, 1)[0]), float(betas_for(total - 1, total)[0]))
        out.info["num_sweeps"] = total
        return out


class OpenJijSQASampler(_OpenJijBase):
    """OpenJij simulated quantum annealing (path-integral Monte Carlo, transverse field).

    The transverse field is annealed from ``gamma`` to 0 over ``num_sweeps`` at a fixed
    ``beta``. Defaults scale with the problem: ``beta`` is the cold end of
    :func:`~qubonn.backends._common.auto_beta_range` and ``gamma`` the largest single-flip energy
    change, so penalty-weighted QUBOs need no manual tuning. Options: ``num_reads`` (10),
    ``num_sweeps`` (1000), ``beta``, ``gamma``, ``trotter`` (8), ``seed``, ``initial_states``,
    ``progress``, ``time_limit``, ``sparse``.
    """

    name: ClassVar[str] = "openjij-sqa"
    description: ClassVar[str] = "OpenJij simulated quantum annealing (CPU, C++)"
    options: ClassVar[tuple[Option, ...]] = (
        NUM_READS,
        NUM_SWEEPS,
        Option("beta", "None or a finite number > 0", check_optional_positive_float),
        Option("gamma", "None or a finite number > 0", check_optional_positive_float),
        Option("trotter", "an integer >= 2", lambda n, v: _check_trotter(n, v), 8),
        SEED,
        INITIAL_STATES,
        PROGRESS,
        TIME_LIMIT,
        SPARSE,
    )

    def __init__(self, strict: bool = False) -> None:
        import openjij

        super().__init__(strict=strict)
        self._sampler = openjij.SQASampler()

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        hot, cold = auto_beta_range(bqm)
        beta = opts["beta"] if opts["beta"] is not None else cold
        # hot = ln 2 / max flip change, so this is the largest flip change of the problem.
        gamma = opts["gamma"] if opts["gamma"] is not None else float(np.log(2.0) / hot)

        def run_one(model: Any, sparse: bool, seed: int, initial: list[int] | None) -> Any:
            return self._sampler.sample(
                model,
                beta=beta,
                gamma=gamma,
                num_sweeps=opts["num_sweeps"],
                trotter=opts["trotter"],
                num_reads=1,
                initial_state=initial,
                sparse=sparse,
                seed=seed,
            )

        out = self._run_reads(bqm, opts, run_one)
        out.info.update(beta=beta, gamma=gamma, trotter=opts["trotter"])
        return out


def _check_trotter(name: str, value: Any) -> int:
    from qubonn.errors import SolverOptionError

    value = check_positive_int(name, value)
    if value < 2:
        raise SolverOptionError(f"invalid value for option {name!r}: {value}; expected >= 2")
    return value
