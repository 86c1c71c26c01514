"""Shared machinery of the solver backends: option checking, Ising arrays, schedules, timing.

Every backend validates its options here before touching the underlying library, so an
impossible value becomes a :class:`~qubonn.errors.SolverOptionError` that names the option and the
valid choices, instead of a traceback from deep inside C++.

Unknown option names follow dimod's sampler contract: they are ignored with a
:class:`dimod.exceptions.SamplerUnknownArgWarning` (naming the close valid name), so one call can
be swapped across backends.  Strictness is an opt-in, for benchmarks and the command line, where
an ignored option would make a measurement lie: a sampler built with ``strict=True``
(``get_backend(name, strict=True)``), or every built-in sampler inside ``with strict_options():``.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import dimod
import numpy as np

from qubonn.errors import SamplerResultError, SolverOptionError

from ._schedule import (
    MAX_SWEEPS,
    default_beta_range,
    human_bytes,
    memory_budget,
    schedule_slice,
)
from ._validate import (  # noqa: F401 - the checkers every backend's Option table names
    check_any,
    check_beta_range,
    check_beta_schedule,
    check_callable,
    check_choice,
    check_optional_bool,
    check_optional_positive_float,
    check_optional_sweeps,
    check_positive_float,
    check_positive_int,
    check_seed,
    check_sweeps,
)

#: Every backend's progress callback: ``progress(done, total, best_energy)``, counted in the
#: backend's own unit (sweeps for native and neal, reads for OpenJij, chunks for exact), with the
#: lowest energy found so far.  Returning True (or raising KeyboardInterrupt) stops the run: the
#: best states so far come back with ``info["interrupted"] = True``.
ProgressCallback = Callable[[int, int, float], bool | None]

_STRICT: contextvars.ContextVar[bool] = contextvars.ContextVar("qubonn_strict", default=False)


@contextlib.contextmanager
def strict_options() -> Iterator[None]:
    """Inside the block, an unknown option is a :class:`SolverOptionError` for every built-in
    sampler, not a warning: for benchmarks and the command line."""
    token = _STRICT.set(True)
    try:
        yield
    finally:
        _STRICT.reset(token)


def unknown_options(where: str, unknown: list[str], valid: list[str], strict: bool) -> None:
    """Warn (dimod's contract) or, when strict, raise about option names nobody takes."""
    if not unknown:
        return
    parts = []
    for key in sorted(unknown):
        hint = difflib.get_close_matches(key, valid, n=1)
        parts.append(repr(key) + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    names = ", ".join(parts)
    message = f"{where} has no option {names}; valid options: " + ", ".join(sorted(valid))
    if strict or _STRICT.get():
        raise SolverOptionError(message)
    warnings.warn(message + "; ignored", dimod.exceptions.SamplerUnknownArgWarning, stacklevel=4)


def check_memory(need: float, what: str, advice: str) -> None:
    """Refuse, before allocating, a solve whose ``what`` needs more than the memory budget."""
    budget = memory_budget()
    if need > budget:
        raise SolverOptionError(
            f"{what} need {human_bytes(need)}, over the memory budget of "
            f"{human_bytes(budget)}; {advice}, or raise QUBONN_MAX_MEMORY"
        )


@dataclass(frozen=True)
class Option:
    """One accepted option: its name, a human description of valid values and a checker."""

    name: str
    valid: str
    check: Callable[[str, Any], Any]
    default: Any = None


NUM_READS = Option("num_reads", "an integer >= 1", check_positive_int, 10)
SEED = Option("seed", "None or an integer >= 0", check_seed)
NUM_SWEEPS = Option("num_sweeps", f"an integer in [1, {MAX_SWEEPS}]", check_sweeps, 1000)
BETA_RANGE = Option("beta_range", "(beta_hot, beta_cold), 0 < hot <= cold", check_beta_range)
BETA_SCHEDULE = Option("beta_schedule", "1-D sequence of betas >= 0", check_beta_schedule)
SCHEDULE_TYPE = Option(
    "beta_schedule_type",
    "'geometric' or 'linear'",
    check_choice("geometric", "linear"),
    "geometric",
)
INITIAL_STATES = Option("initial_states", "samples-like in the BQM's vartype", check_any)
INITIAL_STATES_GENERATOR = Option(
    "initial_states_generator",
    "'random' (fill missing reads with random states), 'tile' or 'none'",
    check_choice("random", "tile", "none"),
    "random",
)
PROGRESS = Option("progress", "callable(done, total, best_energy)", check_callable)
TIME_LIMIT = Option("time_limit", "None or seconds > 0", check_optional_positive_float)


class BackendSampler(dimod.Sampler, dimod.Initialized):
    """Base of the built-in backends: one option contract, timing in ``info``, empty BQMs handled.

    Subclasses set ``name``, ``description`` and ``options`` and implement :meth:`_sample`, which
    receives a non-empty BQM and a dict holding every option (defaults filled in, values checked).
    ``strict=True``: an unknown option raises :class:`SolverOptionError` instead of warning.
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, strict: bool = False) -> None:
        self.strict = bool(strict)

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

    def check_options(
        self, given: Mapping[str, Any], options: tuple[Option, ...] | None = None, where: str = ""
    ) -> dict[str, Any]:
        """Every option of ``options`` (default: the sampler's) with defaults filled in and values
        checked; unknown names warn (dimod's contract) or raise when strict."""
        known = {opt.name: opt for opt in (self.options if options is None else options)}
        unknown = [key for key in given if key not in known]
        unknown_options(where or f"backend {self.name!r}", unknown, list(known), self.strict)
        out: dict[str, Any] = {}
        for name, opt in known.items():
            out[name] = opt.check(name, given[name]) if name in given else opt.default
        return out

    def sample(self, bqm: dimod.BinaryQuadraticModel, **options: Any) -> dimod.SampleSet:
        """Sample ``bqm``; see the class docstring and ``properties['option_ranges']``."""
        opts = self.check_options(options)
        reads = opts.get("num_reads") or 1
        check_memory(
            3.0 * reads * (bqm.num_variables + 24),  # int8 samples, energies; a copy or two
            f"{reads:,} reads of {bqm.num_variables:,} variables",
            "use fewer reads",
        )
        start = time.perf_counter()
        if bqm.num_variables == 0:
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

    def initial_states_array(
        self,
        bqm: dimod.BinaryQuadraticModel,
        opts: dict[str, Any],
        vartype: dimod.Vartype,
        generator: str | None = None,
    ) -> np.ndarray | None:
        """``opts["initial_states"]`` as a ``(num_reads, n)`` int8 array in ``vartype``, ordered
        like ``bqm.variables`` (None when not given), expanded to ``num_reads`` by
        ``dimod.Initialized.parse_initial_states`` with ``generator`` (default: the option
        ``initial_states_generator``, else dimod's 'random'), seeded by ``opts["seed"]``."""
        given = opts.get("initial_states")
        if given is None:
            return None
        _check_initial_values(bqm, given)
        generator = generator or opts.get("initial_states_generator") or "random"
        seed = int(read_seeds(opts.get("seed"), 1)[0])
        try:
            parsed = self.parse_initial_states(
                bqm, given, generator, opts.get("num_reads") or 1, seed
            )
        except (TypeError, ValueError) as exc:
            raise SolverOptionError(
                f"invalid value for option 'initial_states': {exc} (it needs one value per "
                f"variable of the BQM, {bqm.num_variables} variables, in its vartype "
                f"{bqm.vartype.name})"
            ) from None
        ss = parsed.initial_states
        order = [ss.variables.index(v) for v in bqm.variables]
        arr = np.asarray(ss.record.sample)[:, order].astype(np.int8)
        if bqm.vartype is not vartype:
            arr = 2 * arr - 1 if vartype is dimod.SPIN else (arr + 1) // 2
        return arr.astype(np.int8)

    def _sample(self, bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]) -> dimod.SampleSet:
        raise NotImplementedError


def ising_arrays(
    bqm: dimod.BinaryQuadraticModel,
) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Return ``(labels, h, row, col, J, offset)`` of the Ising (spin) form of ``bqm``."""
    labels = list(bqm.variables)
    h, (row, col, J), offset = bqm.spin.to_numpy_vectors(variable_order=labels)
    return labels, h.astype(float), row.astype(np.int64), col.astype(np.int64), J, float(offset)


def auto_beta_range(bqm: dimod.BinaryQuadraticModel) -> tuple[float, float]:
    """``(beta_hot, beta_cold)`` from the Ising coefficients of ``bqm``: the rule of every
    annealer, :func:`qubonn.backends._schedule.default_beta_range` (its docstring states it)."""
    _, h, row, col, J, _ = ising_arrays(bqm)
    bounds = np.abs(h)
    absJ = np.abs(J)
    np.add.at(bounds, row, absJ)
    np.add.at(bounds, col, absJ)
    return default_beta_range(2.0 * bounds, np.concatenate([h, J]))


def schedule_parts(
    bqm: dimod.BinaryQuadraticModel, opts: dict[str, Any]
) -> tuple[Callable[[int, int], np.ndarray], int]:
    """``(betas_for(start, stop), total)``: the annealer's schedule, ``beta_schedule`` or
    ``num_sweeps`` betas over ``beta_range`` (default :func:`auto_beta_range`), computed slice by
    slice so that a long run never holds all its betas."""
    sched = opts.get("beta_schedule")
    if sched is not None:
        if opts.get("beta_range") is not None:
            raise SolverOptionError(
                "options 'beta_schedule' and 'beta_range' exclude each other; give one of them"
            )
        return (lambda start, stop: sched[start:stop]), int(sched.size)
    beta_range = opts.get("beta_range") or auto_beta_range(bqm)
    kind, total = opts.get("beta_schedule_type", "geometric"), int(opts["num_sweeps"])
    return (lambda start, stop: schedule_slice(beta_range, kind, total, start, stop)), total


#: Flip-coupling updates per call of a C++ annealer (about a second): a long anneal runs as
#: several calls, each starting from the last one's states, so that Ctrl-C, a time limit and
#: progress act between them (neither dwave-samplers nor OpenJij can be stopped inside a call).
#: Each call costs about 0.2 s more on a 168k-coupling BNN QUBO (neal: +17-20% time there in
#: segments of ~1 s, +12% with twice this value; 0-4% on G22), the price of a prompt Ctrl-C.
SEGMENT_WORK = 5e8


def segment_length(bqm: dimod.BinaryQuadraticModel, num_reads: int, num_sweeps: int) -> int:
    """Sweeps per call: the whole schedule for small work, else about SEGMENT_WORK a call."""
    per_sweep = num_reads * (bqm.num_variables + 2 * bqm.num_interactions)
    return int(min(num_sweeps, max(1, SEGMENT_WORK // max(per_sweep, 1))))


def check_sampleset(result: Any, variables: Any, sampler: Any) -> dimod.SampleSet:
    """``result`` if it is a sample set of exactly ``variables`` with at least one read, values
    of its vartype and finite energies; else :class:`SamplerResultError` naming the sampler and
    what is wrong.  Every solve path (direct and the strategies' sub-solves) passes through it,
    so a user's sampler cannot hand a broken result on as a trained network."""
    who = f"the sampler {type(sampler).__name__}"
    if not isinstance(result, dimod.SampleSet):
        raise SamplerResultError(
            f"{who} returned {type(result).__name__}, not a dimod.SampleSet"
        )
    if len(result) == 0:
        raise SamplerResultError(f"{who} returned an empty sample set (no reads)")
    wanted, got = set(variables), set(result.variables)
    if wanted != got:
        parts = [
            f"{what} {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            for what, names in (
                ("lacks", sorted(map(str, wanted - got))),
                ("has unknown", sorted(map(str, got - wanted))),
            )
            if names
        ]
        raise SamplerResultError(
            f"{who} returned a sample set whose variables differ from the problem's: it "
            + " and ".join(parts)
        )
    values = np.asarray(result.record.sample)
    allowed = (-1, 1) if result.vartype is dimod.SPIN else (0, 1)
    bad = ~np.isin(values, allowed)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise SamplerResultError(
            f"{who} returned the value {values[r, c]} for variable {result.variables[c]!r} "
            f"(read {r}); {result.vartype.name} samples hold only {allowed[0]} and {allowed[1]}"
        )
    energies = np.asarray(result.record.energy, dtype=np.float64)
    if not np.all(np.isfinite(energies)):
        r = int(np.argmin(np.isfinite(energies)))
        raise SamplerResultError(f"{who} returned the energy {energies[r]} for read {r}")
    return result


def _check_initial_values(bqm: dimod.BinaryQuadraticModel, initial_states: Any) -> None:
    """dimod accepts -1 for a BINARY BQM silently: refuse values outside the BQM's vartype."""
    try:
        arr, labels = dimod.as_samples(initial_states)
    except (TypeError, ValueError) as exc:
        raise SolverOptionError(f"invalid value for option 'initial_states': {exc}") from None
    allowed = sorted(bqm.vartype.value)
    if arr.size and not np.all(np.isin(arr, allowed)):
        raise SolverOptionError(
            f"invalid value for option 'initial_states': values must be in {allowed} "
            f"(the BQM's vartype {bqm.vartype.name})"
        )


def read_seeds(seed: int | None, count: int) -> np.ndarray:
    """``count`` independent 32-bit seeds derived from ``seed`` (fresh entropy when None)."""
    return np.random.SeedSequence(seed).generate_state(count, dtype=np.uint32)
