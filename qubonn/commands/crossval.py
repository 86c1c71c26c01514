"""``qubonn crossval PROBLEM``: run several backends on one QUBO file and compare them.

Exit status: 0 when the backends agree, 1 when they do not, 2 on bad input (unreadable file,
unknown backend, invalid option).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qubonn.errors import QubonnError

NAME = "crossval"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``crossval`` sub-command on an ``argparse`` sub-parsers object."""
    parser = subparsers.add_parser(
        NAME,
        help="compare solver backends on one QUBO file",
        description=(
            "Run several solver backends on a QUBO file (dimod BQM file, COO .npz with "
            "row/col/data/offset, or G-set text) and compare their best energies. "
            "Exit 0 if they agree, 1 if not, 2 on bad input."
        ),
    )
    parser.add_argument("problem", metavar="PROBLEM", help="QUBO file to solve")
    parser.add_argument(
        "--backends",
        default="neal,openjij-sa,native",
        help="comma-separated backend names (default: %(default)s)",
    )
    parser.add_argument("--reads", type=int, default=32, help="reads per backend (32)")
    parser.add_argument("--sweeps", type=int, default=None, help="sweeps per read (backend's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--tol", type=float, default=1e-6, help="energy tolerance for agreement (1e-6)"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the cross-validation described by ``args``; print the table; return the exit code."""
    from qubonn.backends.crossval import crossval
    from qubonn.backends.qubo_io import load_qubo
    from qubonn.backends.registry import backend_names

    names = [b.strip() for b in str(args.backends).split(",") if b.strip()]
    known = backend_names()
    try:
        if not names:
            raise QubonnError("--backends: give at least one backend name")
        for name in names:
            if name not in known:
                import difflib

                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise QubonnError(
                    f"--backends: unknown backend {name!r}.{hint} Valid: {', '.join(known)}"
                )
        if args.reads < 1:
            raise QubonnError(f"--reads must be >= 1, got {args.reads}")
        if args.seed < 0:
            raise QubonnError(f"--seed must be >= 0, got {args.seed}")
        options = {} if args.sweeps is None else {"num_sweeps": args.sweeps}
        bqm = load_qubo(args.problem)
        result = crossval(
            bqm, backends=names, num_reads=args.reads, seed=args.seed, tol=args.tol, **options
        )
    except QubonnError as exc:
        print(f"qubonn crossval: error: {exc}", file=sys.stderr)
        return 2
    print(result.table())
    return 0 if result.agree else 1
