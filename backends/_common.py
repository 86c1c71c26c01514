"""Shared machinery of the solver backends: option checking, Ising arrays, schedules, timing.

Every backend validates its options here before touching the underlying library, so a typo or an
impossible value becomes a :class:`~qubonn.errors.SolverOptionError` that names the option and the
valid choices, instead of a traceback from deep inside C++ or a silently ignored keyword.
"""

from __future__ import annotations

import difflib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, ClassVar

import dimod
import numpy as np

from qubonn.errors import SolverOptionError

#: A progress callback receives ``(reads_done, reads_total)``; returning True asks the backend to
#: stop after the current read (the reads finished so far are returned).
ProgressCallback = Callable[[int, int], bool | None]


@dataclass(frozen=True)
class Option:
    """One accepted option: its name, a human description of valid values and a checker."""

    name: str
    valid: str
    check: Callable[[str, Any], Any]
    default: Any = None


def _fail(name: str, value: Any, valid: str) -> SolverOptionError:
    return SolverOptionError(f"invalid value for option {name!r}: {value!r}; expected {valid}")


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise _fail(name, value, "an integer >= 1")
    return int(value)


def check_seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise _fail(name, value, "None or an integer >= 0")
    return int(value)


def check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise _fail(name, value, "a finite number > 0")
    if value <= 0:
        raise _fail(name, value, "a finite number > 0")
    return float(value)


def check_optional_positive_float(name: str, value: Any) -> float | None:
    return None if value is None else check_positive_float(name, value)


def check_beta_range(name: str, value: Any) -> tuple[float, float] | None:
    valid = "None or two finite numbers (beta_hot, beta_cold) with 0 < beta_hot <= beta_cold"
    if value is None:
        return None
    try:
        hot, cold = (float(b) for b in value)
    except (TypeError, ValueError):
        raise _fail(name, value, valid) from None
    if not (math.isfinite(hot) and math.isfinite(cold) and 0 < hot <= cold):
        raise _fail(name, value, valid)
    return hot, cold


def check_beta_schedule(name: str, value: Any) -> np.ndarray | None:
    valid = "None or a non-empty 1-D sequence of finite inverse temperatures >= 0"
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(name, value, valid) from None
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise _fail(name, value, valid)
    return arr


def check_choice(*choices: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise _fail(name, value, "one of " + ", ".join(repr(c) for c in choices))
        return value

    return check


def check_callable(name: str, value: Any) -> Callable | None:
    if value is not None and not callable(value):
        raise _fail(name, value, "None or a callable progress(reads_done, reads_total)")
    return value


def check_any(name: str, value: Any) -> Any:
    return value


def check_optional_bool(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool | np.bool_):
        raise _fail(name, value, "None, True or False")
    return None if value is None else bool(value)


# Options shared by the annealers; each backend picks the ones it supports.
NUM_READS = Option("num_reads", "an integer >= 1", check_positive_int, 10)
SEED = Option("seed", "None or an integer >= 0", check_seed)
NUM_SWEEPS = Option("num_sweeps", "an integer >= 1", check_positive_int, 1000)
BETA_RANGE = Option("beta_range", "(beta_hot, beta_cold), 0 < hot <= cold", check_beta_range)
BETA_SCHEDULE = Option("beta_schedule", "1-D sequence of betas >= 0", check_beta_schedule)
SCHEDULE_TYPE = Option(
    "beta_schedule_type",
    "'geometric' or 'linear'",
    check_choice("geometric", "linear"),
    "geometric",
)
INITIAL_STATES = Option("initial_states", "samples-like in the BQM's vartype", check_any)
PROGRESS = Option("progress", "callable(reads_done, reads_total)", check_callable)
TIME_LIMIT = Option("time_limit", "None or seconds > 0", check_optional_positive_float)


class BackendSampler(dimod.Sampler):
    """Base of the built-in backends: one option contract, timing in ``info``, empty BQMs handled.

    Subclasses set ``name``, ``description`` and ``options`` and implement :meth:`_sample`, which
    receives a non-empty BQM and a dict holding every option (defaults filled in, values checked).
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    @property
    def parameters(self) -> dict[str, list]:
        return {opt.name: [] for opt in self.options}

    @property
    def properties(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "option_ranges": {opt.name: opt.valid for opt in self.options},
        }

    def check_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Return every option with defaults filled in; raise on unknown names or bad values."""
        known = {opt.name: opt for opt in self.options}
        for key in given:
            if key not in known:
                hint = difflib.get_close_matches(key, list(known), n=1)
                did = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise SolverOptionError(
                    f"backend {self.name!r} has no option {key!r}{did}; valid options: "
                    + ", ".join(sorted(known))
                )
        out: dict[str, Any] = {}
        for name, opt in known.items():
            out[name] = opt.check(name, given[name]) if name in given else opt.default
        return out

    def sample(self, bqm: dimod.BinaryQuadraticModel, **options: Any) -> dimod.SampleSet:
        """Sample ``bqm``; see the class docstring and ``properties['option_ranges']``."""
        opts = self.check_options(options)
        start = time.perf_counter()
        if bqm.num_variables == 0:
            reads = opts.get("num_reads") or 1
            sampleset = dimod.SampleSet.from_samples(
                (np.empty((reads, 0), dtype=np.int8), []),
                bqm.vartype,
                energy=np.full(reads, bqm.offset, dtype=float),
            )
        else:
            sampleset = self._sample(bqm, opts)
        timing = dict(sampleset.info.get("timing", {}))
        timing["total_s"] = time.perf_counter() - start
        sampleset.info["timing"] = timing
        sampleset.info.setdefault("backend", self.name)
        return sampleset

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        raise NotImplementedError


def ising_arrays(
    bqm: dimod.BinaryQuadraticModel,
) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Return ``(labels, h, row, col, J, offset)`` of the Ising (spin) form of ``bqm``."""
    labels = list(bqm.variables)
    h, (row, col, J), offset = bqm.spin.to_numpy_vectors(variable_order=labels)
    return labels, h.astype(float), row.astype(np.int64), col.astype(np.int64), J, float(offset)


def auto_beta_range(
    bqm: dimod.BinaryQuadraticModel,
    hot_accept: float = 0.5,
    cold_reject: float = 0.99,
    rel_tol: float = 1e-9,
) -> tuple[float, float]:
    """A ``(beta_hot, beta_cold)`` range computed from the Ising coefficients of ``bqm``.

    Flipping spin i changes the energy by ``2 |h_i + sum_j J_ij s_j|``, at most
    ``dmax_i = 2 (|h_i| + sum_j |J_ij|)`` and, when non-zero, at least about
    ``dmin_i = 2 min(|h_i|, |J_ij|)`` over the non-zero coefficients of spin i.

    * hot: the largest possible flip, ``max_i dmax_i``, is accepted with probability
      ``hot_accept``: every move is likely at the start, whatever the penalty weights.
    * cold: the smallest flip, ``min_i dmin_i``, is rejected with probability ``cold_reject``:
      the end state is a local minimum even for the weakest coupling.

    Unlike dwave-samplers' default, the cold end does not grow with ``log N``, and coefficients
    below ``rel_tol`` times the largest one (round-off left by numpy QUBO assembly) are ignored
    when looking for the smallest change; both pushed the automatic range to extreme values on
    BNN-like QUBOs with large penalty weights.
    """
    _, h, row, col, J, _ = ising_arrays(bqm)
    n = len(h)
    absh = np.abs(h)
    absJ = np.abs(J)
    dmax = absh.copy()
    np.add.at(dmax, row, absJ)
    np.add.at(dmax, col, absJ)
    dmax *= 2.0
    scale = max(float(absh.max(initial=0.0)), float(absJ.max(initial=0.0)))
    if scale == 0.0:
        return 0.1, 1.0
    floor = rel_tol * scale
    dmin = np.full(n, np.inf)
    mask_h = absh > floor
    dmin[mask_h] = absh[mask_h]
    mask_j = absJ > floor
    np.minimum.at(dmin, row[mask_j], absJ[mask_j])
    np.minimum.at(dmin, col[mask_j], absJ[mask_j])
    dmin *= 2.0
    hot = math.log(1.0 / hot_accept) / float(dmax.max())
    cold = math.log(1.0 / (1.0 - cold_reject)) / float(dmin[np.isfinite(dmin)].min())
    return hot, max(hot, cold)


def make_schedule(
    beta_range: tuple[float, float], num_sweeps: int, kind: str = "geometric"
) -> np.ndarray:
    """One beta per sweep from hot to cold, geometric (default) or linear."""
    hot, cold = beta_range
    if kind == "linear":
        return np.linspace(hot, cold, num_sweeps)
    return np.geomspace(hot, cold, num_sweeps)


def resolve_schedule(bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> np.ndarray:
    """The beta schedule for an annealer from ``beta_schedule`` or ``beta_range``/``num_sweeps``."""
    sched = opts.get("beta_schedule")
    if sched is not None:
        if opts.get("beta_range") is not None:
            raise SolverOptionError(
                "options 'beta_schedule' and 'beta_range' exclude each other; give one of them"
            )
        return sched
    beta_range = opts.get("beta_range") or auto_beta_range(bqm)
    return make_schedule(
        beta_range, opts["num_sweeps"], opts.get("beta_schedule_type", "geometric")
    )


def initial_states_array(
    bqm: dimod.BinaryQuadraticModel, initial_states: Any, vartype: dimod.Vartype
) -> np.ndarray | None:
    """Initial states as an ``(k, n)`` array in ``vartype`` ordered like ``bqm.variables``."""
    if initial_states is None:
        return None
    try:
        arr, labels = dimod.as_samples(initial_states, copy=True)
    except (TypeError, ValueError) as exc:
        raise SolverOptionError(f"invalid value for option 'initial_states': {exc}") from None
    if arr.shape[0] == 0:
        return None
    if set(labels) != set(bqm.variables):
        raise SolverOptionError(
            "invalid value for option 'initial_states': its variables do not match the BQM's "
            f"({len(labels)} given, {bqm.num_variables} expected)"
        )
    order = [labels.index(v) for v in bqm.variables] if labels != list(bqm.variables) else None
    if order is not None:
        arr = arr[:, order]
    allowed = sorted(bqm.vartype.value)
    if not np.all(np.isin(arr, allowed)):
        raise SolverOptionError(
            f"invalid value for option 'initial_states': values must be in {allowed} "
            f"(the BQM's vartype {bqm.vartype.name})"
        )
    arr = arr.astype(np.int8)
    if bqm.vartype is not vartype:
        arr = 2 * arr - 1 if vartype is dimod.SPIN else (arr + 1) // 2
    return arr.astype(np.int8)


def read_seeds(seed: int | None, count: int) -> np.ndarray:
    """``count`` independent 32-bit seeds derived from ``seed`` (fresh entropy when None)."""
    return np.random.SeedSequence(seed).generate_state(count, dtype=np.uint32)
