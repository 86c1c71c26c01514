"""Cross-validation of backends: run several solvers on one problem and compare them side by side.

A disagreement (one backend's best energy above another's) points to a weak schedule, a too small
budget or a bug in a backend; this is the check to run before trusting a new backend.

Given a compiled :class:`~qubonn.problem.Problem` (not a bare BQM), reads are judged as networks:
a read is *valid* when its constraint report is empty, its value is its replayed objective
(``objective_value`` of its weights), and the backends agree when their best *valid* objectives
do.  Energies of invalid reads can be below every valid one (a broken constraint can pay off when
penalties are low), so on training problems they are not the thing to compare.  A backend that
proves a lower bound (``cpsat``) gives every row a gap to it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dimod
import numpy as np

from qubonn.errors import ProblemTooLargeError, QubonnError

from ..contract import ProblemSolver, sample_problem
from ..registry import BackendUnavailableError, as_bqm, get_backend

if TYPE_CHECKING:  # the compiled problem, for annotations only
    from qubonn.problem import Problem


@dataclass
class CrossValRow:
    """One backend's result; ``status`` is ``"ok"`` or ``"skipped"`` (then see ``reason``)."""

    backend: str
    status: str
    best_energy: float | None = None
    mean_energy: float | None = None
    feasible_share: float | None = None
    wall_s: float | None = None
    num_samples: int = 0
    agree: bool | None = None
    reason: str = ""
    ignored_options: tuple[str, ...] = ()
    # with a Problem (formulation known): reads judged as networks
    valid_share: float | None = None  # share of reads whose constraint report is empty
    best_objective: float | None = None  # best replayed objective among valid reads
    bound: float | None = None  # a proven lower bound this backend reported (cpsat)
    gap: float | None = None  # best_objective - the best proven bound of any backend
    status_detail: str = ""  # the backend's own status, e.g. cpsat's "optimal"


@dataclass
class CrossValResult:
    """Rows per backend plus the overall verdict ``agree``.

    ``best_energy`` is the lowest energy any backend reached.  For a Problem
    (``judged_as_networks``) the verdict is on ``best_objective``, the lowest best valid
    objective, and ``bound`` is the best proven bound any backend reported."""

    rows: list[CrossValRow]
    best_energy: float | None
    tol: float
    samplesets: dict[str, dimod.SampleSet] = field(default_factory=dict, repr=False)
    judged_as_networks: bool = False
    bound: float | None = None
    best_objective: float | None = None

    @property
    def agree(self) -> bool:
        """True when at least one backend ran and every one that ran reached the best value."""
        ran = [r for r in self.rows if r.status == "ok"]
        return bool(ran) and all(r.agree for r in ran)

    @property
    def valid_backends(self) -> list[str]:
        """The backends that returned at least one valid network (a Problem only)."""
        return [r.backend for r in self.rows if r.status == "ok" and r.best_objective is not None]

    def table(self) -> str:
        """A plain-text table, one line per backend, and what it says."""
        if self.judged_as_networks:
            head = ["backend", "status", "valid", "best_objective", "to_best", "gap", "wall_s"]
        else:
            head = ["backend", "status", "best", "mean", "feasible", "wall_s", "agree"]
        body = [self._cells(r, len(head)) for r in self.rows]
        widths = [max(len(row[k]) for row in [head, *body]) for k in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True))]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
        for r in self.rows:
            if r.status != "ok":
                lines.append(f"skipped {r.backend}: {r.reason}")
            elif r.ignored_options:
                lines.append(f"{r.backend} ignored option(s): {', '.join(r.ignored_options)}")
        lines += self._networks_summary() if self.judged_as_networks else self._energy_verdict()
        return "\n".join(lines)

    def _energy_verdict(self) -> list[str]:
        if self.best_energy is None:
            return ["DISAGREE (no backend ran)"]
        verdict = "agree" if self.agree else "DISAGREE"
        return [f"{verdict} (best energy {_fmt(self.best_energy)}, tol {self.tol:g})"]

    def _networks_summary(self) -> list[str]:
        """What a training problem's run says: who returned valid networks, the best of them,
        how far the proven bound is."""
        ran = [r for r in self.rows if r.status == "ok"]
        if not ran:
            return ["no backend ran"]
        valid = self.valid_backends
        none = [r.backend for r in ran if r.best_objective is None]
        lines = []
        if none:
            lines.append(
                f"no valid network from {', '.join(none)}: every read breaks a constraint "
                "(single-spin samplers do on a training QUBO; strategy='decompose' or "
                "repair:NAME make them train)"
            )
        if not valid:
            lines.append("no backend returned a valid network")
            return lines
        at_best = [r.backend for r in ran if r.agree]
        line = (
            f"best valid objective {_fmt(self.best_objective)}, reached by {', '.join(at_best)}"
        )
        if self.bound is not None:
            gap = (self.best_objective or 0.0) - self.bound
            line += f"; proven bound {_fmt(self.bound)}" + (
                " (proven optimal)" if abs(gap) <= self.tol else f", gap {_fmt(gap)}"
            )
        lines.append(line)
        return lines

    def _cells(self, r: CrossValRow, width: int) -> list[str]:
        if r.status != "ok":
            return [r.backend, "skipped", *([""] * (width - 2))]
        if not self.judged_as_networks:
            share = "n/a" if r.feasible_share is None else f"{r.feasible_share:.1%}"
            return [
                r.backend,
                r.status,
                _fmt(r.best_energy),
                _fmt(r.mean_energy),
                share,
                f"{r.wall_s:.3f}",
                "yes" if r.agree else "NO",
            ]
        to_best = None
        if r.best_objective is not None and self.best_objective is not None:
            to_best = r.best_objective - self.best_objective
        return [
            r.backend,
            r.status_detail or r.status,
            f"{r.valid_share:.1%}",
            "none valid" if r.best_objective is None else _fmt(r.best_objective),
            _fmt(to_best),
            "" if r.gap is None else _fmt(r.gap),
            f"{r.wall_s:.3f}",
        ]


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.6g}"


def _is_problem(obj: Any) -> bool:
    from qubonn.problem import Problem  # on use: a bare QUBO needs no compiler stack

    return isinstance(obj, Problem)


def judge_reads(problem: Problem, sampleset: dimod.SampleSet) -> tuple[float, float | None]:
    """(share of valid reads, best replayed objective among them or None), reads weighted by
    their number of occurrences."""
    order = [sampleset.variables.index(v) for v in problem.labels]
    rows = np.asarray(sampleset.record.sample)[:, order]
    counts = np.asarray(sampleset.record.num_occurrences, dtype=float)
    valid = np.zeros(len(rows), dtype=bool)
    best = None
    for k, x in enumerate(rows):
        if not problem.constraint_report(x).ok:
            continue
        valid[k] = True
        weights = problem.weights_of(x)
        value = problem.objective_value(weights)
        best = value if best is None else min(best, value)
    share = float(counts[valid].sum() / counts.sum()) if counts.sum() else 0.0
    return share, best


def crossval(
    problem_or_bqm: Problem | dimod.BinaryQuadraticModel,
    backends: Iterable[str] = ("neal", "openjij-sa", "native"),
    num_reads: int = 32,
    seed: int | None = 0,
    tol: float = 1e-6,
    progress: Callable[[CrossValRow, int, int], Any] | None = None,
    **options: Any,
) -> CrossValResult:
    """Run each backend with the same budget; they agree when every best value is within
    ``tol`` (absolute) of the lowest one.

    The value is the best energy for a bare BQM, the best valid replayed objective for a
    compiled Problem (see the module doc; a backend without a valid read then disagrees).
    ``options`` go to every backend that declares them in ``parameters``; the others record
    them as ignored.  A backend that cannot be loaded or refuses the problem is skipped with its
    reason (``cpsat`` and ``repair:`` backends need a Problem); an unknown name or an invalid
    option raises (``UnknownBackendError``, ``SolverOptionError``).  ``progress(row, done,
    total)`` is called as each backend finishes.
    For a bare BQM, feasibility comes from ``problem_or_bqm.broken_share(sampleset)`` when the
    object has that method (the share of feasible samples is ``1 - broken_share``).
    """
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise QubonnError(f"crossval: tol must be a finite number >= 0, got {tol!r}")
    bqm = as_bqm(problem_or_bqm)
    problem = problem_or_bqm if _is_problem(problem_or_bqm) else None
    names = list(backends)
    rows: list[CrossValRow] = []
    samplesets: dict[str, dimod.SampleSet] = {}
    for name in names:
        row, sampleset = _run_one(name, problem_or_bqm, problem, bqm, num_reads, seed, options)
        rows.append(row)
        if sampleset is not None:
            samplesets[name] = sampleset
        if progress is not None:
            progress(row, len(rows), len(names))
    ran = [r for r in rows if r.status == "ok"]
    bound = max((r.bound for r in ran if r.bound is not None), default=None)
    best_energy = min((r.best_energy for r in ran), default=None)  # type: ignore[type-var]
    best = None
    if problem is None:
        for r in ran:
            r.agree = r.best_energy - best_energy <= tol  # type: ignore[operator]
    else:
        values = [r.best_objective for r in ran if r.best_objective is not None]
        best = min(values, default=None)
        for r in ran:
            r.agree = best is not None and r.best_objective is not None
            r.agree = r.agree and r.best_objective - best <= tol
            if bound is not None and r.best_objective is not None:
                gap = r.best_objective - bound  # below zero beyond round-off: a bug, shown
                r.gap = 0.0 if abs(gap) <= 1e-9 * max(1.0, abs(bound)) else gap
    return CrossValResult(rows, best_energy, tol, samplesets, problem is not None, bound, best)


def _run_one(
    name: str,
    obj: Any,
    problem: Problem,
    bqm: dimod.BinaryQuadraticModel,
    num_reads: int,
    seed: int | None,
    options: dict[str, Any],
) -> tuple[CrossValRow, dimod.SampleSet | None]:
    """One backend's row (and its sample set when it ran)."""
    try:
        sampler = get_backend(name)
    except BackendUnavailableError as exc:
        return CrossValRow(name, "skipped", reason=str(exc)), None
    needs_problem = isinstance(sampler, ProblemSolver)
    if needs_problem and problem is None:
        reason = "needs the problem's formulation; a bare QUBO has none (see save_problem)"
        return CrossValRow(name, "skipped", reason=reason), None
    accepted = set(sampler.parameters) - {"problem"}
    given = {"num_reads": num_reads, "seed": seed, **options}
    kwargs = {k: v for k, v in given.items() if k in accepted}
    ignored = tuple(sorted(set(options) - accepted))
    start = time.perf_counter()
    try:
        if problem is not None:
            sampleset = sample_problem(sampler, problem, **kwargs)
        else:
            sampleset = sampler.sample(bqm, **kwargs)
    except ProblemTooLargeError as exc:
        return CrossValRow(name, "skipped", reason=str(exc)), None
    wall = time.perf_counter() - start
    energies = np.asarray(sampleset.record.energy, dtype=float)
    counts = np.asarray(sampleset.record.num_occurrences, dtype=float)
    row = CrossValRow(
        name,
        "ok",
        best_energy=float(energies.min()),
        mean_energy=float(np.average(energies, weights=counts)),
        wall_s=wall,
        num_samples=int(counts.sum()),
        ignored_options=ignored,
    )
    if problem is not None:
        row.valid_share, row.best_objective = judge_reads(problem, sampleset)
        row.feasible_share = row.valid_share
        if "bound" in sampleset.info:
            row.bound = float(sampleset.info["bound"])
        row.status_detail = str(sampleset.info.get("status", ""))
    else:
        broken_share = getattr(obj, "broken_share", None)
        if broken_share is not None:
            row.feasible_share = 1.0 - float(broken_share(sampleset))
    return row, sampleset
