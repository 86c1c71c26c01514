"""``NativeSampler``: the native annealer behind dimod's Sampler interface.

Kept apart from the array core so that the core imports without dimod (GPU machine).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import dimod
import numpy as np

from qubonn.errors import SolverOptionError

from .._common import (
    BETA_RANGE,
    BETA_SCHEDULE,
    INITIAL_STATES,
    NUM_SWEEPS,
    PROGRESS,
    SEED,
    TIME_LIMIT,
    BackendSampler,
    Option,
    check_any,
    check_choice,
    check_optional_sweeps,
    check_positive_int,
    unknown_options,
)
from . import structured
from .anneal import (
    ALGORITHMS,
    DEVICES,
    DTYPES,
    IMPLEMENTATIONS,
    MATRIX_FORMATS,
    SCHEDULES,
    anneal,
    gpu_available,
    numba_available,
)
from .problem import IsingProblem

if TYPE_CHECKING:  # the compiled problem, for annotations only
    from qubonn.problem import Problem

#: "structured": exact parameter moves between valid states (needs a compiled Problem);
#: "spin": single-spin SA / MA on the QUBO; "auto": structured whenever it applies.
MODES = ("auto", "structured", "spin")

__all__ = ["NativeSampler", "ising_problem"]


def ising_problem(bqm: dimod.BinaryQuadraticModel) -> IsingProblem:
    """``bqm`` (either vartype) as the annealer's Ising problem, variables in ``bqm``'s order."""
    lin, (irow, icol, qdata), offset = bqm.spin.to_numpy_vectors(variable_order=list(bqm.variables))
    return IsingProblem.from_ising(lin, irow, icol, qdata, offset)


def _choices(name: str, choices: tuple[str, ...], default: str) -> Option:
    # values are checked by anneal() (it is called without the sampler, too), names here
    return Option(name, "one of " + ", ".join(repr(c) for c in choices), check_any, default)


class NativeSampler(BackendSampler):
    """Replica-parallel simulated annealing (``algorithm="sa"``) or Momentum Annealing (``"ma"``)
    on the CPU (numba) or a CUDA GPU (CuPy).

    Each of ``num_reads`` replicas anneals independently and returns the best state it visited.
    Same ``seed`` -> same samples, on every device.  The option contract is every backend's
    (:class:`~qubonn.backends._common.BackendSampler`): impossible values raise
    :class:`qubonn.errors.SolverOptionError`; unknown names warn (dimod's
    ``SamplerUnknownArgWarning``), or raise with ``strict=True``.

    Example::

        sampleset = NativeSampler().sample(bqm, num_reads=32, num_sweeps=2000, seed=1)
    """

    name = "native"
    description = "qubonn's replica-parallel annealer (CPU/GPU)"
    options = (
        Option("num_reads", "an integer >= 1", check_positive_int, 16),
        Option("num_sweeps", NUM_SWEEPS.valid + " or None", check_optional_sweeps),
        _choices("algorithm", ALGORITHMS, "sa"),
        _choices("device", DEVICES, "auto"),
        _choices("dtype", DTYPES, "float64"),
        SEED,
        BETA_RANGE,
        Option(
            "beta_schedule_type", "'geometric', 'linear' or 'custom'",
            check_choice(*SCHEDULES), "geometric",
        ),
        BETA_SCHEDULE,
        INITIAL_STATES,
        TIME_LIMIT,
        PROGRESS,
        _choices("implementation", IMPLEMENTATIONS, "auto"),
        _choices("matrix", MATRIX_FORMATS, "auto"),
        _choices("mode", MODES, "auto"),
    )

    #: options of the structured mode (moves between valid network states, compiled problems)
    STRUCTURED_OPTIONS = (
        "num_reads", "num_sweeps", "algorithm", "seed", "beta_range", "initial_states",
        "time_limit", "progress", "device",
    )

    def __init__(self, strict: bool = False) -> None:
        super().__init__(strict=strict)
        self._properties = {
            "algorithms": list(ALGORITHMS),
            "devices": list(DEVICES),
            "dtypes": list(DTYPES),
            "beta_schedule_options": list(SCHEDULES),
            "implementations": list(IMPLEMENTATIONS),
            "matrix_formats": list(MATRIX_FORMATS),
            "modes": list(MODES),
            "structured_algorithms": list(structured.ALGORITHMS),
            "gpu_available": gpu_available(),
            "numba_available": numba_available(),
        }

    @property
    def properties(self) -> dict[str, Any]:
        return {**super().properties, **self._properties}

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        """Sample ``bqm`` in spin mode; a SampleSet in ``bqm``'s vartype.

        ``num_sweeps`` defaults to 1000 (with ``time_limit`` alone, the anneal follows its
        schedule in time to the limit).  ``initial_states``: samples-like in ``bqm``'s vartype,
        tiled to ``num_reads``.  ``info``: ``timing`` (seconds), ``interrupted`` / ``timed_out``
        flags, the ``beta_range`` used, ``seed``, ``device``, ``implementation``,
        ``num_sweeps`` done and ``flip_attempts``."""
        t0 = time.perf_counter()
        if opts["mode"] == "structured":
            raise SolverOptionError(
                "mode='structured' needs a compiled qubonn Problem (qubonn.solve(problem, "
                "backend='native')), not a bare BQM; use mode='spin' or 'auto'"
            )
        init = self.initial_states_array(bqm, opts, dimod.SPIN, generator="tile")
        result = self._anneal(ising_problem(bqm), opts, init, t0)
        samples = result.samples
        if bqm.vartype is dimod.BINARY:
            samples = ((samples + 1) // 2).astype(np.int8)
        info = dict(result.info)
        info["timing"] = dict(info["timing"], sample_s=time.perf_counter() - t0)
        return dimod.SampleSet.from_samples_bqm((samples, list(bqm.variables)), bqm, info=info)

    def _anneal(self, problem: IsingProblem, opts: dict[str, Any], init: Any, t0: float) -> Any:
        """:func:`anneal` with the checked options; a progress that returns True stops it.  The
        time limit counts from ``t0``, the call: building the Ising arrays is part of it."""
        spin = {k: v for k, v in opts.items() if k not in ("mode", "initial_states", "progress")}
        if spin["time_limit"] is not None:
            spin["time_limit"] = max(spin["time_limit"] - (time.perf_counter() - t0), 1e-6)
        return anneal(problem, initial_states=init, progress=_stopping(opts["progress"]), **spin)

    def sample_qubo_arrays(
        self,
        quadratic: Any,
        linear: np.ndarray,
        offset: float,
        labels: list,
        **options: Any,
    ) -> dimod.SampleSet:
        """Sample a QUBO given as arrays (strictly upper-triangular sparse couplings, linear
        biases, offset, labels), as a compiled :class:`qubonn.problem.Problem` holds it: the
        same samples as :meth:`sample` on the equivalent BQM, without building the BQM.

        ``initial_states``: samples-like over ``labels``, or a 0/1 array (reads x variables) in
        ``labels`` order."""
        t0 = time.perf_counter()
        opts = self.check_options(options)
        coo = quadratic.tocoo()
        problem = IsingProblem.from_qubo(linear, coo.row, coo.col, coo.data, offset)
        init = None
        if opts["initial_states"] is not None:
            given = opts["initial_states"]
            if isinstance(given, np.ndarray | list):
                given = (np.atleast_2d(np.asarray(given)), list(labels))
            shell = dimod.BinaryQuadraticModel(dimod.BINARY)  # the variables, for dimod's parser
            shell.add_variables_from((v, 0.0) for v in labels)
            init = self.initial_states_array(
                shell, {**opts, "initial_states": given}, dimod.SPIN, generator="tile"
            )
        result = self._anneal(problem, opts, init, t0)
        x = ((result.samples + 1) // 2).astype(np.int8)
        xf = x.astype(np.float64)
        energy = np.einsum("si,si->s", xf, (quadratic @ xf.T).T) + xf @ linear + offset
        info = dict(result.info)
        info["timing"] = dict(info["timing"], sample_s=time.perf_counter() - t0)
        return dimod.SampleSet.from_samples((x, list(labels)), dimod.BINARY, energy, info=info)

    # -- compiled training problems ------------------------------------------------------------
    def sample_problem(
        self, problem: Problem, mode: str = "auto", **options: Any
    ) -> dimod.SampleSet:
        """Sample a compiled :class:`qubonn.problem.Problem`.

        ``mode="structured"`` (the default whenever it applies) anneals over valid network
        states only (:mod:`.structured`): every read is a valid QUBO state whose energy equals
        the replayed training objective.  It takes ``num_reads``, ``num_sweeps``,
        ``algorithm`` (``"sa"``, annealing, the default, or ``"pt"``, parallel tempering),
        ``seed``, ``beta_range`` (in 1 / objective units), ``initial_states`` (0/1 QUBO states
        or +-1 parameter rows), ``time_limit``, ``progress`` and ``device``.  ``mode="spin"``
        is single-spin SA / MA on the QUBO, as for any BQM; "auto" picks it for problems with
        extra PyQUBO terms, which the moves do not know.
        """
        check_choice(*MODES)("mode", mode)
        extra = problem.has_extra_terms
        if mode == "auto":
            mode = "spin" if extra else "structured"
        if mode == "spin":
            q = problem.qubo()
            labels = problem.labels
            return self.sample_qubo_arrays(q.quadratic, q.linear, q.offset, labels, **options)
        if extra:
            raise SolverOptionError(
                "mode='structured' cannot follow the extra PyQUBO terms of this problem; "
                "use mode='spin'"
            )
        return self._sample_structured(problem, **options)

    def _sample_structured(self, problem: Problem, **options: Any) -> dimod.SampleSet:
        t0 = time.perf_counter()
        unknown = sorted(set(options) - set(self.STRUCTURED_OPTIONS))
        spin_only = [k for k in unknown if k in self.parameters]
        where = "the structured mode" + (
            f" ({', '.join(spin_only)}: mode='spin' only)" if spin_only else ""
        )
        unknown_options(where, unknown, list(self.STRUCTURED_OPTIONS), self.strict)
        options = {k: v for k, v in options.items() if k in self.STRUCTURED_OPTIONS}
        sweeps = options.get("num_sweeps")
        if isinstance(sweeps, int | np.integer) and not isinstance(sweeps, bool) and sweeps > 1:
            NUM_SWEEPS.check("num_sweeps", sweeps)  # the one upper bound (2**31 - 1)
        progress = _stopping(PROGRESS.check("progress", options.pop("progress", None)))
        device = options.pop("device", "auto")
        check_choice(*DEVICES)("device", device)
        model = structured.model_from_problem(problem)
        init = options.pop("initial_states", None)
        if init is not None:
            init = _initial_params(problem, model, init)
        result = structured.anneal_structured(
            model, initial_params=init, progress=progress, device=device, **options
        )
        x = np.stack([problem.feasible_state(model.weights(p)) for p in result.params])
        energy = problem.energy(x)
        info = dict(result.info)
        info["max_energy_mismatch"] = float(np.max(np.abs(energy - result.energies)))
        info["timing"] = dict(info["timing"], sample_s=time.perf_counter() - t0)
        return dimod.SampleSet.from_samples(
            (x, list(problem.labels)), dimod.BINARY, energy, info=info
        )


def _stopping(progress: Any) -> Any:
    """The one progress contract, ``progress(done, total, best) -> True to stop``, on the
    annealers' loops, which stop on a KeyboardInterrupt raised in their callback."""
    if progress is None:
        return None

    def call(done: int, total: int, best: float) -> None:
        if progress(done, total, best):
            raise KeyboardInterrupt

    return call


def _initial_params(problem: Problem, model: structured.StructuredModel, init: Any) -> np.ndarray:
    """Initial states as parameter rows: from full 0/1 QUBO states (their parameter bits) or
    parameter rows (+-1; -1, 0 or +1 for ternary parameters)."""
    arr = np.atleast_2d(np.asarray(init))
    if arr.ndim == 2 and arr.shape[1] == problem.n_variables:
        if not np.all((arr == 0) | (arr == 1)):
            raise SolverOptionError("initial_states must be 0/1 QUBO states")
        layout = problem.formulation.layout
        return np.stack([layout.parameter_values(row) for row in arr]).astype(np.int8)
    if arr.ndim == 2 and arr.shape[1] == model.n_params and structured.in_domain(model, arr):
        return arr.astype(np.int8)
    raise SolverOptionError(
        f"initial_states must be 0/1 QUBO states ({problem.n_variables} columns) or "
        f"parameter rows ({model.n_params} columns: arcs, then biases; +-1, or -1, 0, +1 in "
        "ternary groups)"
    )
