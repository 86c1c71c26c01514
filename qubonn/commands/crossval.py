"""``qubonn crossval PROBLEM``: run several backends on one QUBO file and compare them.

A problem file that carries its formulation (``qubonn compile --out p.npz``, or
``qubonn.backends.problem_io.save_problem``) is compared as a training problem: per backend the
share of valid reads, the best replayed objective among them, the gap to a proven bound
(``cpsat``) and the time; the backends agree when their best valid objectives do.  A bare QUBO
(dimod file, plain COO .npz, G-set) is compared by energies, as before.

Exit status: 0 when the backends agree, 1 when they do not, 2 on bad input (unreadable file,
unknown backend, invalid option).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qubonn.commands._types import seed_type
from qubonn.errors import QubonnError

NAME = "crossval"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``crossval`` sub-command on an ``argparse`` sub-parsers object."""
    parser = subparsers.add_parser(
        NAME,
        help="compare solver backends on one QUBO file",
        description=(
            "Run several solver backends on a QUBO file (dimod BQM file, COO .npz with "
            "row/col/data/offset, or G-set text) and compare their best energies; on a problem "
            "file that carries its formulation (qubonn compile --out p.npz) compare valid "
            "reads and best replayed objectives instead. "
            "Exit 0 if they agree, 1 if not, 2 on bad input."
        ),
    )
    parser.add_argument("problem", metavar="PROBLEM", help="QUBO file to solve")
    parser.add_argument(
        "--backends",
        default="neal,openjij-sa,native",
        help="comma-separated backend names, 'repair:NAME' for repaired reads, cpsat for a "
        "proven bound (default: %(default)s)",
    )
    parser.add_argument("--reads", type=int, default=32, help="reads per backend (32)")
    parser.add_argument("--sweeps", type=int, default=None, help="sweeps per read (backend's)")
    parser.add_argument("--seed", type=seed_type, default=0, help="random seed (0)")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds per backend (backend's default)"
    )
    parser.add_argument(
        "--tol", type=float, default=1e-6, help="energy tolerance for agreement (1e-6)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the cross-validation described by ``args``; print the table; return the exit code."""
    from qubonn.backends.network.crossval import crossval

    names = [b.strip() for b in str(args.backends).split(",") if b.strip()]
    try:
        _check_names(names)
        if args.reads < 1:
            raise QubonnError(f"--reads must be >= 1, got {args.reads}")
        options = {} if args.sweeps is None else {"num_sweeps": args.sweeps}
        if args.time_limit is not None:
            options["time_limit"] = args.time_limit
        target = _load(args.problem)
        result = crossval(
            target,
            backends=names,
            num_reads=args.reads,
            seed=args.seed,
            tol=args.tol,
            progress=_progress,
            **options,
        )
    except QubonnError as exc:
        print(f"qubonn crossval: error: {exc}", file=sys.stderr)
        return 2
    print(result.table())
    if not any(r.status == "ok" for r in result.rows):
        print("qubonn crossval: error: no backend ran (see the reasons above)", file=sys.stderr)
        return 2
    if result.judged_as_networks:  # a report of who found what: it fails only without a network
        return 0 if result.valid_backends else 1
    return 0 if result.agree else 1


def _check_names(names: list[str]) -> None:
    """Unknown names are bad input (exit 2), with the registry's suggestion."""
    import difflib

    from qubonn.backends.registry import backend_names

    known = backend_names()
    if not names:
        raise QubonnError("--backends: give at least one backend name")
    for name in names:
        base = name.removeprefix("repair:")
        if base not in known:
            close = difflib.get_close_matches(base, known, n=1)
            hint = f" Did you mean {name.replace(base, close[0])!r}?" if close else ""
            raise QubonnError(
                f"--backends: unknown backend {name!r}.{hint} Valid: {', '.join(known)} "
                "(each also as repair:NAME)"
            )


def _load(path: str) -> Any:
    """A Problem when the file carries its formulation, else the bare BQM."""
    from qubonn.backends.problem_io import has_formulation, load_problem
    from qubonn.backends.qubo_io import load_qubo

    if has_formulation(path):
        problem = load_problem(path)
        print(
            f"{path}: training problem ({problem.n_variables:,} variables, "
            f"{problem.n_samples} samples): comparing valid reads",
            file=sys.stderr,
        )
        return problem
    return load_qubo(path)


def _progress(row: Any, done: int, total: int) -> None:
    """One line per backend as it finishes (stderr: the table on stdout stays clean)."""
    if row.status != "ok":
        text = "skipped"
    elif row.valid_share is not None:
        best = (
            "no valid read"
            if row.best_objective is None
            else f"best objective {row.best_objective:.6g}"
        )
        text = f"{row.valid_share:.0%} valid, {best}, {row.wall_s:.2f} s"
    else:
        text = f"best energy {row.best_energy:.6g}, {row.wall_s:.2f} s"
    print(f"[{done}/{total}] {row.backend}: {text}", file=sys.stderr, flush=True)
