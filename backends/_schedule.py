"""Annealing schedules, the automatic beta range and the memory budget: one rule for every
annealer.

numpy only (no dimod), so that the native annealer's core imports it on a bare GPU machine.
Schedules are computed slice by slice (:func:`schedule_slice`), so a run of 10**9 sweeps never
holds an array of 10**9 betas.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from qubonn.errors import SolverOptionError

from ._validate import MAX_SWEEPS, check_beta_range

SCHEDULE_TYPES = ("geometric", "linear")
__all__ = ["MAX_SWEEPS", "SCHEDULE_TYPES", "check_beta_range", "schedule_slice"]


def check_schedule_type(schedule_type: str) -> str:
    if schedule_type not in SCHEDULE_TYPES:
        raise SolverOptionError(
            f"beta_schedule_type={schedule_type!r} is not one of geometric, linear "
            "(or custom, with beta_schedule=...)"
        )
    return schedule_type


def schedule_slice(
    beta_range: tuple[float, float], schedule_type: str, total: int, start: int, stop: int
) -> np.ndarray:
    """Betas ``start:stop`` of a ``total``-sweep schedule from hot to cold, without the rest.

    Geometric: ``hot (cold/hot)^(k/(total-1))``; linear: ``hot + (cold-hot) k/(total-1)``."""
    b0, b1 = check_beta_range("beta_range", beta_range)
    check_schedule_type(schedule_type)
    k = np.arange(start, stop, dtype=np.float64)
    frac = k / (total - 1) if total > 1 else np.zeros_like(k)
    if schedule_type == "geometric":
        return b0 * (b1 / b0) ** frac
    return b0 + (b1 - b0) * frac


def make_schedule(
    num_sweeps: int, beta_range: tuple[float, float], schedule_type: str = "geometric"
) -> np.ndarray:
    """Inverse temperatures for ``num_sweeps`` sweeps, from hot ``beta_range[0]`` to cold."""
    return schedule_slice(beta_range, schedule_type, num_sweeps, 0, num_sweeps)


def beta_at(
    beta_range: tuple[float, float], schedule_type: str, fraction: np.ndarray
) -> np.ndarray:
    """Betas at ``fraction`` (0 hot .. 1 cold) of the schedule: a schedule followed in time."""
    b0, b1 = beta_range
    f = np.clip(np.asarray(fraction, dtype=np.float64), 0.0, 1.0)
    return b0 * (b1 / b0) ** f if schedule_type == "geometric" else b0 + (b1 - b0) * f


def default_beta_range(
    flip_bounds: np.ndarray, coefficients: np.ndarray, rel_tol: float = 1e-9
) -> tuple[float, float]:
    """``(beta_hot, beta_cold)`` for Metropolis acceptance ``exp(-beta dE)``, from the Ising form.

    ``flip_bounds[i] = 2 (|h_i| + sum_j |J_ij|)`` bounds the energy change of flipping spin i;
    ``coefficients`` are the h and J values.

    * hot: a large flip, the 90th percentile of the bounds, is accepted with probability 1/2.
      The percentile rather than the maximum, because BNN QUBOs have a few hub variables
      (weights coupled to every sample) whose bound would make the whole run needlessly hot.
    * cold: a flip costing the smallest coefficient's energy (``2 min|c|``) is rejected with
      probability 0.99, so the end state is a local minimum even for the weakest coupling.

    Values below ``rel_tol`` times the largest coefficient (round-off of numpy QUBO assembly)
    are ignored: they pushed the cold end to 1e15 on BNN QUBOs with large penalty weights.
    """
    coefs = np.abs(np.asarray(coefficients, dtype=np.float64))
    scale = float(coefs.max(initial=0.0))
    if scale == 0.0:
        return 0.1, 1.0
    floor = rel_tol * scale
    coefs = coefs[coefs > floor]
    bounds = np.asarray(flip_bounds, dtype=np.float64)
    bounds = bounds[bounds > floor]
    hot = math.log(2.0) / float(np.quantile(bounds, 0.9))
    cold = math.log(100.0) / (2.0 * float(coefs.min()))
    return float(hot), float(max(cold, hot))


def memory_budget() -> int:
    """Bytes a solve may hold: ``QUBONN_MAX_MEMORY`` (the compiler's rule and format), else half
    the machine's memory; cheap, since a time-limited solve counts the check."""
    if os.environ.get("QUBONN_MAX_MEMORY"):
        from qubonn.compiler import default_memory_budget

        return default_memory_budget()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KB'``: sizes in error messages."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


class Deadline:
    """A time limit kept by a loop of units (anneal segments, reads): after each unit,
    :meth:`room_for_another` says whether one more unit, as long as the longest so far, still
    ends within the limit.  A run thus ends at the limit rather than one unit past it; the first
    unit always runs (a run returns at least one result), which is the documented start-up."""

    def __init__(self, limit: float | None, start: float | None = None) -> None:
        self.limit = limit
        self.start = time.perf_counter() if start is None else start
        self._unit_start = self.start
        self._longest = 0.0

    def unit_started(self) -> None:
        self._unit_start = time.perf_counter()

    def room_for_another(self) -> bool:
        """False when the limit is reached or the next unit would end past it."""
        if self.limit is None:
            return True
        now = time.perf_counter()
        self._longest = max(self._longest, now - self._unit_start)
        return now + self._longest <= self.start + self.limit

    def left(self) -> float | None:
        """Seconds left (never below 0), or None without a limit."""
        if self.limit is None:
            return None
        return max(0.0, self.start + self.limit - time.perf_counter())
