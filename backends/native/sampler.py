"""``NativeSampler``: the native annealer behind dimod's Sampler interface.

Kept apart from the array core so that the core imports without dimod (GPU machine).
"""

from __future__ import annotations

import time
from typing import Any

import dimod
import numpy as np

from qubonn.errors import SolverOptionError

from . import structured
from .anneal import (
    ALGORITHMS,
    DEVICES,
    DTYPES,
    ENGINES,
    MATRIX_FORMATS,
    SCHEDULES,
    anneal,
    gpu_available,
    numba_available,
)
from .problem import IsingProblem

#: "structured": exact parameter moves between valid states (needs a compiled Problem);
#: "spin": single-spin SA / MA on the QUBO; "auto": structured whenever it applies.
MODES = ("auto", "structured", "spin")

__all__ = ["NativeSampler", "ising_problem"]


def ising_problem(bqm: dimod.BinaryQuadraticModel) -> IsingProblem:
    """``bqm`` (either vartype) as the annealer's Ising problem, variables in ``bqm``'s order."""
    lin, (irow, icol, qdata), offset = bqm.spin.to_numpy_vectors(variable_order=list(bqm.variables))
    return IsingProblem.from_ising(lin, irow, icol, qdata, offset)


class NativeSampler(dimod.Sampler):
    """Replica-parallel simulated annealing (``algorithm="sa"``) or Momentum Annealing (``"ma"``)
    on the CPU (numba) or a CUDA GPU (CuPy).

    Each of ``num_reads`` replicas anneals independently and returns the best state it visited.
    Same ``seed`` -> same samples, on every device.  Unknown or impossible options raise
    :class:`qubonn.errors.SolverOptionError` naming the option and its valid values (rather than
    dimod's warning), because a silently ignored option makes a benchmark lie.

    Example::

        sampleset = NativeSampler().sample(bqm, num_reads=32, num_sweeps=2000, seed=1)
    """

    _PARAMETERS: dict[str, list[str]] = {
        "num_reads": [],
        "num_sweeps": [],
        "algorithm": ["algorithms"],
        "device": ["devices"],
        "dtype": ["dtypes"],
        "seed": [],
        "beta_range": [],
        "beta_schedule_type": ["beta_schedule_options"],
        "beta_schedule": [],
        "initial_states": [],
        "time_limit": [],
        "progress": [],
        "engine": ["engines"],
        "matrix": ["matrix_formats"],
        "mode": ["modes"],
    }

    #: options of the structured mode (moves between valid network states, compiled problems)
    STRUCTURED_OPTIONS = (
        "num_reads", "num_sweeps", "algorithm", "seed", "beta_range", "initial_states",
        "time_limit", "progress", "device",
    )

    def __init__(self) -> None:
        self._properties = {
            "algorithms": list(ALGORITHMS),
            "devices": list(DEVICES),
            "dtypes": list(DTYPES),
            "beta_schedule_options": list(SCHEDULES),
            "engines": list(ENGINES),
            "matrix_formats": list(MATRIX_FORMATS),
            "modes": list(MODES),
            "structured_algorithms": list(structured.ALGORITHMS),
            "gpu_available": gpu_available(),
            "numba_available": numba_available(),
        }

    @property
    def parameters(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self._PARAMETERS.items()}

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._properties)

    def sample(  # type: ignore[override]
        self,
        bqm: dimod.BinaryQuadraticModel,
        num_reads: int = 16,
        num_sweeps: int | None = None,
        algorithm: str = "sa",
        device: str = "auto",
        dtype: str = "float64",
        seed: int | None = None,
        beta_range: tuple[float, float] | None = None,
        beta_schedule_type: str = "geometric",
        beta_schedule: Any = None,
        initial_states: Any = None,
        time_limit: float | None = None,
        progress: Any = None,
        engine: str = "auto",
        matrix: str = "auto",
        **unknown: Any,
    ) -> dimod.SampleSet:
        """Sample ``bqm``; returns a SampleSet in ``bqm``'s vartype, energies from the samples.

        ``num_sweeps`` defaults to 1000 (or, with ``time_limit`` alone, to what fits the limit).
        ``initial_states``: a samples-like in ``bqm``'s vartype, tiled to ``num_reads``.
        ``info``: ``timing`` (seconds), ``interrupted`` / ``timed_out`` flags, the ``beta_range``
        used, ``seed``, ``device``, ``engine``, ``num_sweeps`` done and ``flip_attempts``.
        """
        t0 = time.perf_counter()
        self._check_unknown(unknown, progress)
        variables = list(bqm.variables)
        problem = ising_problem(bqm)
        init = None
        if initial_states is not None:
            arr, labels = dimod.as_samples(initial_states)
            if set(labels) != set(variables) or len(labels) != len(variables):
                raise SolverOptionError("initial_states must assign every variable of the bqm")
            arr = arr[:, [labels.index(v) for v in variables]].astype(np.float64)
            if bqm.vartype is dimod.BINARY:
                if not np.all((arr == 0) | (arr == 1)):
                    raise SolverOptionError("initial_states must be 0/1 for a BINARY bqm")
                arr = 2 * arr - 1
            init = arr
        result = anneal(
            problem,
            algorithm=algorithm,
            num_reads=num_reads,
            num_sweeps=num_sweeps,
            time_limit=time_limit,
            beta_range=beta_range,
            beta_schedule_type=beta_schedule_type,
            beta_schedule=beta_schedule,
            seed=seed,
            initial_states=init,
            device=device,
            dtype=dtype,
            engine=engine,
            matrix=matrix,
            progress=progress,
        )
        samples = result.samples
        if bqm.vartype is dimod.BINARY:
            samples = ((samples + 1) // 2).astype(np.int8)
        info = dict(result.info)
        info["timing"] = dict(info["timing"], sample_s=time.perf_counter() - t0)
        return dimod.SampleSet.from_samples_bqm((samples, variables), bqm, info=info)

    def _check_unknown(self, unknown: dict[str, Any], progress: Any) -> None:
        if unknown:
            names = ", ".join(sorted(unknown))
            raise SolverOptionError(
                f"unknown option(s) {names} for NativeSampler.sample; valid: "
                + ", ".join(self._PARAMETERS)
            )
        if progress is not None and not callable(progress):
            raise SolverOptionError("progress must be a callable(done, total, best_energy)")

    def sample_qubo_arrays(
        self,
        quadratic: Any,
        linear: np.ndarray,
        offset: float,
        labels: list,
        initial_states: Any = None,
        progress: Any = None,
        **options: Any,
    ) -> dimod.SampleSet:
        """Sample a QUBO given as arrays (strictly upper-triangular sparse couplings, linear
        biases, offset, labels), as a compiled :class:`qubonn.problem.Problem` holds it: the
        same samples as :meth:`sample` on the equivalent BQM, without building the BQM.

        ``initial_states``: 0/1 array (reads x variables) in ``labels`` order."""
        t0 = time.perf_counter()
        unknown = {k: v for k, v in options.items() if k not in self._PARAMETERS}
        self._check_unknown(unknown, progress)
        coo = quadratic.tocoo()
        problem = IsingProblem.from_qubo(linear, coo.row, coo.col, coo.data, offset)
        init = None
        if initial_states is not None:
            arr = np.atleast_2d(np.asarray(initial_states, dtype=np.float64))
            if arr.shape[1] != len(labels) or not np.all((arr == 0) | (arr == 1)):
                raise SolverOptionError(
                    f"initial_states must be 0/1 with {len(labels)} columns (one per variable)"
                )
            init = 2 * arr - 1
        result = anneal(problem, initial_states=init, progress=progress, **options)
        x = ((result.samples + 1) // 2).astype(np.int8)
        xf = x.astype(np.float64)
        energy = np.einsum("si,si->s", xf, (quadratic @ xf.T).T) + xf @ linear + offset
        info = dict(result.info)
        info["timing"] = dict(info["timing"], sample_s=time.perf_counter() - t0)
        return dimod.SampleSet.from_samples((x, list(labels)), dimod.BINARY, energy, info=info)

    # -- compiled training problems ------------------------------------------------------------
    def sample_problem(self, problem: Any, mode: str = "auto", **options: Any) -> dimod.SampleSet:
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
        if mode not in MODES:
            raise SolverOptionError(f"mode={mode!r} is not one of {', '.join(MODES)}")
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

    def _sample_structured(self, problem: Any, **options: Any) -> dimod.SampleSet:
        t0 = time.perf_counter()
        unknown = sorted(set(options) - set(self.STRUCTURED_OPTIONS))
        if unknown:
            spin_only = [k for k in unknown if k in self._PARAMETERS]
            hint = f" ({', '.join(spin_only)}: mode='spin' only)" if spin_only else ""
            raise SolverOptionError(
                f"unknown option(s) {', '.join(unknown)} for the structured mode{hint}; valid: "
                + ", ".join(self.STRUCTURED_OPTIONS)
            )
        progress = options.pop("progress", None)
        if progress is not None and not callable(progress):
            raise SolverOptionError("progress must be a callable(done, total, best_energy)")
        device = options.pop("device", "auto")
        if device not in DEVICES:
            raise SolverOptionError(f"device={device!r} is not one of {', '.join(DEVICES)}")
        if device == "auto":  # the CUDA kernel has not yet run on a GPU here: opt in with "gpu"
            device = "cpu"
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


def _initial_params(problem: Any, model: structured.StructuredModel, init: Any) -> np.ndarray:
    """Initial states as +-1 parameter rows: from full 0/1 QUBO states or parameter rows."""
    arr = np.atleast_2d(np.asarray(init))
    if arr.ndim == 2 and arr.shape[1] == problem.n_variables:
        if not np.all((arr == 0) | (arr == 1)):
            raise SolverOptionError("initial_states must be 0/1 QUBO states")
        return (2 * arr[:, : model.n_params] - 1).astype(np.int8)
    if arr.ndim == 2 and arr.shape[1] == model.n_params and np.all(np.abs(arr) == 1):
        return arr.astype(np.int8)
    raise SolverOptionError(
        f"initial_states must be 0/1 QUBO states ({problem.n_variables} columns) or +-1 "
        f"parameter rows ({model.n_params} columns: arcs, then biases)"
    )
