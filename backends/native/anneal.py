"""The native annealer: replica-parallel simulated annealing and Momentum Annealing.

Both algorithms are written once against an array module ``xp`` (numpy or CuPy) and take their
random numbers from a counter-based hash (``_rng``), so every code path draws the same number for
the same decision and can be compared with the others sample for sample:

* ``implementation="array"``: the reference, plain array code on ``xp`` (vectorised across
  replicas).
* ``implementation="compiled"``: CPU, numba kernels running whole sweeps (fast path; needs numba).
* ``implementation="kernel"``: GPU, CuPy RawKernels running whole sweeps (one thread per replica).

Momentum Annealing updates all spins at once, so its array form is already one matrix product per
step for all replicas; it has no separate kernel.

This module imports only numpy (CuPy and numba lazily), so it runs on a machine that has neither
dimod nor openjij.  The dimod wrapper lives in ``sampler.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qubonn.backends._schedule import (
    beta_at,
    check_beta_range,
    check_schedule_type,
    human_bytes,
    make_schedule,
    memory_budget,
    schedule_slice,
)
from qubonn.backends._validate import (
    check_choice,
    check_optional_positive_float,
    check_positive_int,
    check_seed,
    check_sweeps,
)
from qubonn.errors import SolverOptionError

from . import _rng
from ._notice import announce_compile
from .problem import IsingProblem

ALGORITHMS = ("sa", "ma")
DEVICES = ("auto", "cpu", "gpu")
IMPLEMENTATIONS = ("auto", "compiled", "array", "kernel")
SCHEDULES = ("geometric", "linear", "custom")
DTYPES = ("float32", "float64")
MATRIX_FORMATS = ("auto", "sparse", "dense")

#: progress(sweeps_done, sweeps_total, best_energy_so_far); raising KeyboardInterrupt in it
#: stops the run like Ctrl-C does (the sampler turns a True return into that).
ProgressCallback = Callable[[int, int, float], None]
#: Seconds a chunk of sweeps aims at: responsive to Ctrl-C, time limits and progress, yet few
#: kernel launches.
CHUNK_SECONDS = 0.05
__all__ = ["AnnealResult", "anneal", "gpu_available", "make_schedule", "numba_available"]


@dataclass
class AnnealResult:
    """Best state seen by each replica (``samples``: ``(num_reads, n)`` int8 +-1) and its energy."""

    samples: np.ndarray
    energies: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- devices
def gpu_available() -> bool:
    """True when CuPy is installed *and* a CUDA device is usable.

    ``import cupy`` succeeds on machines without a GPU (native-annealer.md), so an import is no
    evidence; ``cupy.cuda.is_available()`` is.
    """
    try:
        import cupy
    except Exception:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def resolve_device(device: str) -> str:
    """``"auto" | "cpu" | "gpu"`` -> ``"cpu" | "gpu"``; ``"gpu"`` without a GPU is an error."""
    check_choice(*DEVICES)("device", device)
    if device == "cpu":
        return "cpu"
    ok = gpu_available()
    if device == "gpu" and not ok:
        raise SolverOptionError(
            "device='gpu' but no usable CUDA GPU: CuPy is missing or cupy.cuda.is_available() "
            "is False; use device='cpu' or 'auto'"
        )
    return "gpu" if ok else "cpu"


def numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except Exception:
        return False
    return True


def _resolve_implementation(implementation: str, device: str, algorithm: str) -> str:
    check_choice(*IMPLEMENTATIONS)("implementation", implementation)
    if algorithm == "ma":
        if implementation not in ("auto", "array"):
            raise SolverOptionError(
                f"implementation={implementation!r} is not available for algorithm='ma'; "
                "valid: auto, array"
            )
        return "array"
    if implementation == "auto":
        if device == "gpu":
            return "kernel"
        return "compiled" if numba_available() else "array"
    if implementation == "kernel" and device != "gpu":
        raise SolverOptionError(
            "implementation='kernel' runs on the GPU only; valid on cpu: compiled, array"
        )
    if implementation == "compiled":
        if device != "cpu":
            raise SolverOptionError(
                "implementation='compiled' runs on the CPU only; valid on gpu: kernel"
            )
        if not numba_available():
            raise SolverOptionError(
                "implementation='compiled' needs numba; valid without it: array"
            )
    return implementation


# --------------------------------------------------------------------------- state
def _initial_spins(
    problem: IsingProblem, num_reads: int, seed: int, initial_states: Any
) -> np.ndarray:
    n = problem.n
    if initial_states is None:
        u = _rng.uniform(
            _rng.seed_key(seed, _rng.STREAM_INIT), np.arange(num_reads * n, dtype=np.uint64)
        )
        return np.where(u < 0.5, -1.0, 1.0).reshape(num_reads, n)
    s = np.asarray(initial_states, dtype=np.float64)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] != n:
        raise SolverOptionError(
            f"initial_states must have shape (num_reads, {n}); got {np.shape(initial_states)}"
        )
    if not np.all((s == 1) | (s == -1)):
        raise SolverOptionError("initial_states must hold spins -1/+1 (convert 0/1 first)")
    if s.shape[0] != num_reads:
        # dimod convention: tile (or cut) the given states to num_reads
        s = s[np.arange(num_reads) % s.shape[0]]
    return s.copy()


def _choose_dense(problem: IsingProblem, matrix: str) -> bool:
    check_choice(*MATRIX_FORMATS)("matrix", matrix)
    if matrix == "auto":
        return problem.density > 0.25 and problem.n <= 20_000
    return matrix == "dense"


def _coupling(problem: IsingProblem, xp: Any, dtype: Any, dense: bool) -> dict[str, Any]:
    if dense:
        return {"kind": "dense", "dense": xp.asarray(problem.dense().astype(dtype))}
    return {
        "kind": "sparse",
        "indptr": xp.asarray(problem.indptr.astype(np.int32 if xp is not np else np.int64)),
        "indices": xp.asarray(problem.indices.astype(np.int32)),
        "data": xp.asarray(problem.data.astype(dtype)),
    }


# --------------------------------------------------------------------------- SA, array form
def _sa_chunk_array(
    xp: Any,
    state: dict[str, Any],
    coupling: dict[str, Any],
    betas: np.ndarray,
    sweep0: int,
    key: int,
) -> None:
    """Reference Metropolis sweeps on ``(n, R)`` arrays: variables in order, replicas at once.

    Mirrors the kernels decision for decision: ``dE = -2 s_i f_i``; downhill accepted; free moves
    (``dE = 0``) accepted when ``u < FREE_MOVE_ACCEPT`` (0.9, not 1: always accepting them makes
    domain walls travel with a sequential sweep instead of diffusing, so they never meet); uphill
    with ``beta dE > 23`` rejected; else accepted when ``u < exp(-beta dE)``.  A flip adds
    ``-2 s_i J_ij`` to the neighbours' fields (non-flips add exact zeros, which change nothing).
    """
    spins, fields = state["spins"], state["fields"]
    energy, best_e, best_s = state["energy"], state["best_energy"], state["best_spins"]
    n, num_reads = spins.shape
    rid = xp.arange(num_reads, dtype=xp.uint64)
    dense = coupling["kind"] == "dense"
    if not dense:
        indptr = [int(v) for v in np.asarray(coupling["indptr"].tolist())]
        indices, data = coupling["indices"], coupling["data"]
    zero = xp.zeros((), dtype=fields.dtype)
    for k, beta in enumerate(np.asarray(betas, dtype=np.float64).tolist()):
        base = (sweep0 + k) * n
        for i in range(n):
            si = spins[i]
            de = (-(si + si) * fields[i]).astype(xp.float64)
            x = beta * de
            u = _rng.uniform(key, xp.uint64((base + i) * num_reads) + rid, xp)
            acc = (
                (de < 0.0)
                | ((de == 0.0) & (u < _rng.FREE_MOVE_ACCEPT))
                | ((de > 0.0) & (x <= 23.0) & (u < xp.exp(-xp.maximum(x, 0.0))))
            )
            d = xp.where(acc, -(si + si), zero)
            spins[i] = xp.where(acc, -si, si)
            energy += xp.where(acc, de, 0.0)
            if dense:
                fields += coupling["dense"][i][:, None] * d[None, :]
            else:
                lo, hi = indptr[i], indptr[i + 1]
                if hi > lo:
                    fields[indices[lo:hi]] += data[lo:hi, None] * d[None, :]
        better = energy < best_e
        best_e[...] = xp.where(better, energy, best_e)
        best_s[...] = xp.where(better[None, :], spins, best_s)


def _sa_chunk_compiled(
    state: dict[str, Any], coupling: dict[str, Any], betas: np.ndarray, sweep0: int, key: int
) -> None:
    from . import _kernels_numba as kn

    args = (state["spins"], state["fields"], state["energy"], state["best_spins"])
    args += (state["best_energy"],)
    betas = np.ascontiguousarray(betas, dtype=np.float64)
    # passed, not read as a global: numba would bake a global into its on-disk cache
    tail = (betas, sweep0, np.uint64(key), float(_rng.FREE_MOVE_ACCEPT))
    with announce_compile():  # the first call compiles (or loads) the kernel
        if coupling["kind"] == "dense":
            kn.sa_dense(*args, coupling["dense"], *tail)
        else:
            kn.sa_sparse(*args, coupling["indptr"], coupling["indices"], coupling["data"], *tail)


# --------------------------------------------------------------------------- MA, array form
class _NumpyCSR:
    """``Jsym @ x`` without scipy (only used where scipy is absent)."""

    def __init__(self, rows: np.ndarray, indices: np.ndarray, data: np.ndarray) -> None:
        self.rows, self.indices, self.data = rows, indices, data

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape, dtype=np.result_type(self.data, x))
        np.add.at(out, self.rows, self.data[:, None] * x[self.indices])
        return out


def _matmul(xp: Any, coupling: dict[str, Any], spins: Any, cache: dict[str, Any]) -> Any:
    """``Jsym @ spins`` for ``(n, R)`` spins, sparse or dense, numpy or CuPy."""
    if coupling["kind"] == "dense":
        return coupling["dense"] @ spins
    if "csr" not in cache:
        n = coupling["indptr"].shape[0] - 1
        parts = (coupling["data"], coupling["indices"], coupling["indptr"])
        if xp is np:
            try:
                import scipy.sparse as sp
            except ImportError:  # bare GPU machine: a numpy segment sum (exact for integers)
                rows = np.repeat(np.arange(n), np.diff(coupling["indptr"]))
                cache["csr"] = _NumpyCSR(rows, coupling["indices"], coupling["data"])
            else:
                cache["csr"] = sp.csr_matrix(parts, shape=(n, n))
        else:
            import cupyx.scipy.sparse as csp

            cache["csr"] = csp.csr_matrix(parts, shape=(n, n))
    return cache["csr"] @ spins


def _ma_steps(
    xp: Any,
    state: dict[str, Any],
    coupling: dict[str, Any],
    h: Any,
    w: Any,
    betas: np.ndarray,
    step0: int,
    total: int,
    keys: tuple[int, int],
    cache: dict[str, Any],
) -> None:
    """Momentum Annealing steps (formulation.md) on ``(n, R)`` spins, all spins in parallel.

    For ``E = h's + 1/2 s'Js`` (i.e. minimising ``-1/2 s'(-J)s - (-h)'s``):
    ``I = -h - J s(k) + c_k m w s(k) - (T_k/2) G s(k-1)``, ``s(k+1) = sign(I)`` (ties keep
    ``s(k)``), ``G ~ Exp(1)``, ``m ~ Bernoulli(1 - p_k)``, ``c_k = min(1, sqrt(k / 0.9K))``,
    ``p_k = max(0, 0.5 (1 - k / 0.9K))``.  The energy of ``s(k)`` falls out of the same product,
    so best-state tracking is free.
    """
    prev, cur = state["prev"], state["spins"]
    n, num_reads = cur.shape
    rid = xp.arange(num_reads, dtype=xp.uint64)
    counters = xp.arange(n, dtype=xp.uint64)[:, None] * xp.uint64(num_reads) + rid[None, :]
    dt = cur.dtype
    ramp = max(1.0, 0.9 * total)
    for k, beta in enumerate(np.asarray(betas, dtype=np.float64).tolist()):
        step = step0 + k
        js = _matmul(xp, coupling, cur, cache)
        e = (cur * (h[:, None] + 0.5 * js)).sum(axis=0, dtype=xp.float64)
        better = e < state["best_energy"]
        state["best_energy"][...] = xp.where(better, e, state["best_energy"])
        state["best_spins"][...] = xp.where(better[None, :], cur, state["best_spins"])
        c = min(1.0, math.sqrt(step / ramp))
        p = max(0.0, 0.5 * (1.0 - step / ramp))
        ctr = counters + xp.uint64(step * n * num_reads)
        g = (-xp.log(_rng.uniform(keys[0], ctr, xp))).astype(dt)
        m = (_rng.uniform(keys[1], ctr, xp) >= p).astype(dt)
        drive = -(h[:, None] + js) + (c * w)[:, None] * m * cur - (0.5 / beta) * g * prev
        new = xp.where(drive > 0, xp.ones((), dt), xp.where(drive < 0, -xp.ones((), dt), cur))
        prev[...] = cur
        cur[...] = new
    state["energy"] = None


def _ma_final(
    xp: Any, state: dict[str, Any], coupling: dict[str, Any], h: Any, cache: dict
) -> None:
    cur = state["spins"]
    js = _matmul(xp, coupling, cur, cache)
    e = (cur * (h[:, None] + 0.5 * js)).sum(axis=0, dtype=xp.float64)
    better = e < state["best_energy"]
    state["best_energy"][...] = xp.where(better, e, state["best_energy"])
    state["best_spins"][...] = xp.where(better[None, :], cur, state["best_spins"])


# --------------------------------------------------------------------------- driver
def resolve_seed(seed: Any) -> int:
    """``seed`` checked, or a fresh one from the OS when None (recorded in ``info``)."""
    if seed is None:
        seed = int.from_bytes(np.random.default_rng().bytes(8), "little")
    return check_seed("seed", seed)


def _initial_state(
    problem: IsingProblem,
    algorithm: str,
    xp: Any,
    np_dtype: Any,
    spins0: np.ndarray,
    e0: np.ndarray,
    layout_rn: bool,
    seed: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The replicas' arrays on the device (spins, best, energies, SA fields) and MA's extras."""

    def put(a: np.ndarray) -> Any:
        # C order matters: replica-major rows interleaved in memory (a transposed product) put
        # two threads' writes on shared cache lines and made two threads slower than one
        return xp.asarray(np.ascontiguousarray(a if layout_rn else a.T))

    state: dict[str, Any] = {
        "spins": put(spins0.astype(np_dtype)),
        "best_spins": put(spins0.astype(np_dtype)),
        "energy": xp.asarray(e0.astype(np.float64)),
        "best_energy": xp.asarray(e0.astype(np.float64)),
    }
    ma: dict[str, Any] = {}
    if algorithm == "sa" and problem.n:
        fields0 = problem.h[None, :] + problem.matvec(spins0.T).T
        state["fields"] = put(fields0.astype(np_dtype))
    if algorithm == "ma":
        state["prev"] = state["spins"].copy()
        absrow = problem.flip_bounds() / 2 - np.abs(problem.h)
        ma = {
            "h": xp.asarray(problem.h.astype(np_dtype)),
            "w": xp.asarray((0.5 * absrow).astype(np_dtype)),
            "keys": (
                _rng.seed_key(seed, _rng.STREAM_MA_NOISE),
                _rng.seed_key(seed, _rng.STREAM_MA_DROPOUT),
            ),
            "cache": {},
        }
    return state, ma


def _schedule(
    num_sweeps: int | None,
    time_limit: float | None,
    beta_range: tuple[float, float],
    beta_schedule_type: str,
    beta_schedule: Any,
) -> tuple[Callable[[int, int], np.ndarray] | None, int]:
    """``(betas_for(start, stop), total)``: the explicit schedule or ``num_sweeps`` betas of the
    given type, computed slice by slice; ``(None, 0)`` when a time limit alone sets the length
    (the schedule is then followed in time, :func:`_timed_loop`)."""
    if beta_schedule is not None:
        if beta_schedule_type not in ("custom", "geometric"):  # geometric = the default
            raise SolverOptionError(
                "beta_schedule is given, so beta_schedule_type must be 'custom' "
                f"(got {beta_schedule_type!r})"
            )
        betas = np.asarray(beta_schedule, dtype=np.float64).reshape(-1)
        if betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas < 0):
            raise SolverOptionError("beta_schedule must be a nonempty array of finite betas >= 0")
        if num_sweeps is not None and num_sweeps != betas.size:
            raise SolverOptionError(
                f"num_sweeps={num_sweeps} disagrees with len(beta_schedule)={betas.size}"
            )
        return (lambda start, stop: betas[start:stop]), int(betas.size)
    if beta_schedule_type == "custom":
        raise SolverOptionError("beta_schedule_type='custom' needs beta_schedule=[...]")
    check_schedule_type(beta_schedule_type)
    if num_sweeps is None and time_limit is not None:
        return None, 0
    total = 1000 if num_sweeps is None else check_sweeps("num_sweeps", num_sweeps)

    def betas_for(start: int, stop: int) -> np.ndarray:
        return schedule_slice(beta_range, beta_schedule_type, total, start, stop)

    return betas_for, total


def _sweep_loop(
    run_chunk: Callable[[np.ndarray, int, int], None],
    sync: Callable[[], None],
    betas_for: Callable[[int, int], np.ndarray],
    total: int,
    time_limit: float | None,
    t_start: float,
    progress: ProgressCallback | None,
    best_energy: Callable[[], float],
    info: dict[str, Any],
) -> None:
    """Run a ``total``-sweep schedule in chunks of about CHUNK_SECONDS; ``info["num_sweeps"]``
    counts the sweeps done so far."""
    done = 0
    chunk_size = 1
    while done < total:
        k = min(chunk_size, total - done)
        tc = time.perf_counter()
        run_chunk(betas_for(done, done + k), done, total)
        sync()
        dt_chunk = time.perf_counter() - tc
        done = info["num_sweeps"] = done + k
        if dt_chunk < CHUNK_SECONDS / 2:
            chunk_size = min(chunk_size * 2, 1 << 20)
        elif dt_chunk > 2 * CHUNK_SECONDS and chunk_size > 1:
            chunk_size = max(1, chunk_size // 2)
        if progress is not None:
            progress(done, total, best_energy())
        if time_limit is not None and time.perf_counter() - t_start >= time_limit:
            info["timed_out"] = done < total
            break


def _timed_loop(
    run_chunk: Callable[[np.ndarray, int, int], None],
    sync: Callable[[], None],
    schedule: tuple[tuple[float, float], str],
    time_limit: float,
    t_start: float,
    progress: ProgressCallback | None,
    best_energy: Callable[[], float],
    info: dict[str, Any],
) -> None:
    """A time limit alone: the schedule is followed in time, each sweep's beta set by the share
    of the budget spent, so the anneal goes from hot to cold and ends at the limit.

    A first sweep at the hot end is not timed: on the first call in a process it compiles (or
    loads from numba's cache) the kernels, which took seconds and, timed, sized the whole run
    to about 9 sweeps.  The per-sweep time is then measured on every chunk, so hot sweeps
    (dearer: more flips accepted) do not make the run end early either; the last chunk is cut
    to what is left of the budget."""
    beta_range, kind = schedule
    run_chunk(beta_at(beta_range, kind, [0.0]), 0, 1)
    sync()
    done = info["num_sweeps"] = 1
    t_sweeps = time.perf_counter()
    end = t_start + time_limit
    span = max(end - t_sweeps, 1e-9)
    per_sweep = 0.0
    chunk = 1
    while True:
        now = time.perf_counter()
        left = end - now
        if per_sweep > 0:
            if left < 0.5 * per_sweep:
                break
            chunk = max(1, min(chunk, int(left / per_sweep)))
        elif left <= 0:
            break
        frac = (now - t_sweeps + (np.arange(chunk) + 0.5) * per_sweep) / span
        expected = done + (int(left / per_sweep) if per_sweep > 0 else chunk)
        tc = time.perf_counter()
        run_chunk(beta_at(beta_range, kind, frac), done, max(expected, done + chunk))
        sync()
        dt_chunk = time.perf_counter() - tc
        done = info["num_sweeps"] = done + chunk
        per_sweep = max(dt_chunk / chunk, 1e-9)
        chunk = max(1, min(int(CHUNK_SECONDS / per_sweep), 1 << 20))
        if progress is not None:
            progress(done, done, best_energy())


def memory_need(problem: IsingProblem, num_reads: int, dtype: str, dense: bool) -> int:
    """Bytes a spin-mode anneal allocates: the replicas' arrays (spins, best spins, fields and
    the start's random stream and products) and, dense, the n x n matrix (with its float64
    original)."""
    n, item = problem.n, np.dtype(dtype).itemsize
    need = num_reads * n * (48 + 4 * item) + num_reads * 64
    if dense:
        need += n * n * (8 + item)
    return need


def _check_memory(problem: IsingProblem, num_reads: int, dtype: str, dense: bool) -> None:
    need = memory_need(problem, num_reads, dtype, dense)
    budget = memory_budget()
    if need > budget:
        what = f"{num_reads:,} replicas of {problem.n:,} variables"
        if dense:
            what += f" and a dense {problem.n:,} x {problem.n:,} coupling matrix"
        raise SolverOptionError(
            f"{what} need {human_bytes(need)}, over the memory budget of "
            f"{human_bytes(budget)}; use fewer reads"
            + (", matrix='sparse'" if dense else "")
            + ", or raise QUBONN_MAX_MEMORY"
        )


def anneal(
    problem: IsingProblem,
    *,
    algorithm: str = "sa",
    num_reads: int = 16,
    num_sweeps: int | None = None,
    time_limit: float | None = None,
    beta_range: tuple[float, float] | None = None,
    beta_schedule_type: str = "geometric",
    beta_schedule: Sequence[float] | np.ndarray | None = None,
    seed: int | None = None,
    initial_states: Any = None,
    device: str = "auto",
    dtype: str = "float64",
    implementation: str = "auto",
    matrix: str = "auto",
    progress: ProgressCallback | None = None,
) -> AnnealResult:
    """Anneal ``problem`` with ``num_reads`` independent replicas; return each one's best state.

    ``num_sweeps`` sweeps (MA: steps) follow a ``beta_schedule_type`` schedule over
    ``beta_range`` (default :meth:`IsingProblem.default_beta_range`), or the explicit
    ``beta_schedule``.  ``time_limit`` (seconds) stops the run early; given alone, it sizes the
    schedule from a short timed calibration so that the anneal ends near the limit.
    A KeyboardInterrupt (Ctrl-C, or raised by ``progress``) ends the run at once; the best states
    so far are returned with ``info["interrupted"] = True``.  Same ``seed`` and options give the
    same samples on every implementation and device (see module docstring).
    """
    t_start = time.perf_counter()
    check_choice(*ALGORITHMS)("algorithm", algorithm)
    check_choice(*DTYPES)("dtype", dtype)
    num_reads = check_positive_int("num_reads", num_reads)
    time_limit = check_optional_positive_float("time_limit", time_limit)
    seed = resolve_seed(seed)
    dev = resolve_device(device)
    eng = _resolve_implementation(implementation, dev, algorithm)
    beta_range = problem.default_beta_range() if beta_range is None else beta_range
    beta_range = check_beta_range("beta_range", beta_range)
    betas_for, total = _schedule(
        num_sweeps, time_limit, beta_range, beta_schedule_type, beta_schedule
    )

    if dev == "gpu":
        import cupy as xp
    else:
        xp = np
    np_dtype = np.dtype(dtype)
    dense = _choose_dense(problem, matrix)
    _check_memory(problem, num_reads, dtype, dense)
    n = problem.n
    spins0 = _initial_spins(problem, num_reads, seed, initial_states)
    e0 = problem.energies(spins0) - problem.offset if n else np.zeros(num_reads)
    info: dict[str, Any] = {
        "algorithm": algorithm,
        "device": dev,
        "implementation": eng,
        "dtype": dtype,
        "matrix": "dense" if dense else "sparse",
        "beta_range": (
            (float(betas_for(0, 1)[0]), float(betas_for(total - 1, total)[0]))
            if betas_for is not None
            else beta_range
        ),
        "seed": seed,
        "interrupted": False,
        "timed_out": False,
    }

    layout_rn = eng == "compiled"  # numba: replica-major; array/kernel: variable-major
    coupling = _coupling(problem, xp, np_dtype, dense)
    state, ma = _initial_state(problem, algorithm, xp, np_dtype, spins0, e0, layout_rn, seed)
    key = _rng.seed_key(seed, _rng.STREAM_SA)

    def run_chunk(chunk: np.ndarray, start: int, total: int) -> None:
        if n == 0:
            return
        if algorithm == "ma":
            h, w = ma["h"], ma["w"]
            _ma_steps(xp, state, coupling, h, w, chunk, start, total, ma["keys"], ma["cache"])
        elif eng == "compiled":
            _sa_chunk_compiled(state, coupling, chunk, start, key)
        elif eng == "kernel":
            from . import _kernels_cuda

            _kernels_cuda.sa_chunk(xp, dtype, state, coupling, xp.asarray(chunk), start, key)
        else:
            _sa_chunk_array(xp, state, coupling, chunk, start, key)

    def sync() -> None:
        if xp is not np:
            xp.cuda.Device().synchronize()

    info["num_sweeps"] = 0
    t_run = time.perf_counter()
    best_energy = lambda: float(xp.min(state["best_energy"])) + problem.offset  # noqa: E731
    try:
        if betas_for is None:
            schedule = (beta_range, beta_schedule_type)
            _timed_loop(run_chunk, sync, schedule, time_limit, t_start, progress, best_energy, info)
        else:
            _sweep_loop(
                run_chunk, sync, betas_for, total, time_limit, t_start, progress, best_energy, info
            )
        if algorithm == "ma" and n:
            _ma_final(xp, state, coupling, ma["h"], ma["cache"])
    except KeyboardInterrupt:
        info["interrupted"] = True
    done = info["num_sweeps"]
    sync()
    best = state["best_spins"]
    best = best.get() if xp is not np else best
    # C order on every path: the energies below sum in an order that follows the layout, and
    # a transposed (variable-major) array gave the GPU path energies 1 ulp off the CPU's
    samples = np.ascontiguousarray(best if layout_rn else best.T, dtype=np.int8)
    info["num_sweeps"] = done
    info["flip_attempts"] = done * n * num_reads if algorithm == "sa" else None
    t_end = time.perf_counter()
    info["timing"] = {"anneal_s": t_end - t_run, "total_s": t_end - t_start}
    return AnnealResult(samples, problem.energies(samples), info)
