"""Cross-validation of backends: run several solvers on one problem and compare them side by side.

A disagreement (one backend's best energy above another's) points to a weak schedule, a too small
budget or a bug in a backend; this is the check to run before trusting a new backend.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dimod
import numpy as np

from qubonn.errors import ProblemTooLargeError, QubonnError

from .registry import BackendUnavailableError, as_bqm, get_backend


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


@dataclass
class CrossValResult:
    """Rows per backend plus the overall verdict ``agree``."""

    rows: list[CrossValRow]
    best_energy: float | None
    tol: float
    samplesets: dict[str, dimod.SampleSet] = field(default_factory=dict, repr=False)

    @property
    def agree(self) -> bool:
        """True when at least one backend ran and every one that ran reached the best energy."""
        ran = [r for r in self.rows if r.status == "ok"]
        return bool(ran) and all(r.agree for r in ran)

    def table(self) -> str:
        """A plain-text table, one line per backend, and the verdict."""
        head = ["backend", "status", "best", "mean", "feasible", "wall_s", "agree"]
        body = []
        for r in self.rows:
            if r.status != "ok":
                body.append([r.backend, "skipped", "", "", "", "", ""])
                continue
            body.append(
                [
                    r.backend,
                    r.status,
                    _fmt(r.best_energy),
                    _fmt(r.mean_energy),
                    "n/a" if r.feasible_share is None else f"{r.feasible_share:.1%}",
                    f"{r.wall_s:.3f}",
                    "yes" if r.agree else "NO",
                ]
            )
        widths = [max(len(row[k]) for row in [head, *body]) for k in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [head]]
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
        for r in self.rows:
            if r.status != "ok":
                lines.append(f"skipped {r.backend}: {r.reason}")
            elif r.ignored_options:
                lines.append(f"{r.backend} ignored option(s): {', '.join(r.ignored_options)}")
        if self.best_energy is None:
            lines.append("DISAGREE (no backend ran)")
        else:
            verdict = "agree" if self.agree else "DISAGREE"
            lines.append(f"{verdict} (best energy {_fmt(self.best_energy)}, tol {self.tol:g})")
        return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.6g}"


def crossval(
    problem_or_bqm: Any,
    backends: Iterable[str] = ("neal", "openjij-sa", "native"),
    num_reads: int = 32,
    seed: int | None = 0,
    tol: float = 1e-6,
    **options: Any,
) -> CrossValResult:
    """Run each backend with the same budget; they agree when every best energy is within
    ``tol`` (absolute) of the lowest one.

    ``options`` go to every backend that declares them in ``parameters``; the others record
    them as ignored.  A backend that cannot be loaded or refuses the problem is skipped with its
    reason; an unknown name or an invalid option raises (``UnknownBackendError``,
    ``SolverOptionError``).
    Feasibility comes from ``problem_or_bqm.broken_share(sampleset)`` when the object
    has that method (the share of feasible samples is ``1 - broken_share``).
    """
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise QubonnError(f"crossval: tol must be a finite number >= 0, got {tol!r}")
    bqm = as_bqm(problem_or_bqm)
    broken_share = getattr(problem_or_bqm, "broken_share", None)
    rows: list[CrossValRow] = []
    samplesets: dict[str, dimod.SampleSet] = {}
    for name in backends:
        try:
            sampler = get_backend(name)
        except BackendUnavailableError as exc:
            rows.append(CrossValRow(name, "skipped", reason=str(exc)))
            continue
        accepted = set(sampler.parameters)
        given = {"num_reads": num_reads, "seed": seed, **options}
        kwargs = {k: v for k, v in given.items() if k in accepted}
        ignored = tuple(sorted(set(options) - accepted))
        start = time.perf_counter()
        try:
            sampleset = sampler.sample(bqm, **kwargs)
        except ProblemTooLargeError as exc:
            rows.append(CrossValRow(name, "skipped", reason=str(exc)))
            continue
        wall = time.perf_counter() - start
        energies = np.asarray(sampleset.record.energy, dtype=float)
        counts = np.asarray(sampleset.record.num_occurrences, dtype=float)
        feasible = None if broken_share is None else 1.0 - float(broken_share(sampleset))
        rows.append(
            CrossValRow(
                name,
                "ok",
                best_energy=float(energies.min()),
                mean_energy=float(np.average(energies, weights=counts)),
                feasible_share=feasible,
                wall_s=wall,
                num_samples=int(counts.sum()),
                ignored_options=ignored,
            )
        )
        samplesets[name] = sampleset
    ran = [r for r in rows if r.status == "ok"]
    best = min((r.best_energy for r in ran), default=None)  # type: ignore[type-var]
    for r in ran:
        r.agree = r.best_energy - best <= tol  # type: ignore[operator]
    return CrossValResult(rows, best, tol, samplesets)
