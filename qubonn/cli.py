"""The ``qubonn`` command line.

Subcommands live in :mod:`qubonn.commands`, one module each, and are discovered at start-up: a
module there defines ``add_parser(subparsers)``, registers its subparser and sets
``func=<callable(args) -> int>``.  Adding a command therefore needs no change here.

Errors that qubonn raises on purpose (:class:`~qubonn.errors.QubonnError`) are printed without a
traceback as ``qubonn COMMAND: error: MESSAGE`` (argparse's style for usage errors, the same for
every command) and give exit status 2, like command-line usage errors.  An interrupt (Ctrl-C, or
a solve that reports ``interrupted``, :class:`~qubonn.errors.Interrupted`) gives 130 and writes
no output file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import qubonn
from qubonn.errors import QubonnError

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _unavailable(name: str, error: Exception):
    def run(args: argparse.Namespace) -> int:
        print(
            error_line(name, f"this command is unavailable: {type(error).__name__}: {error}")
            + "\n"
            "Reinstall qubonn with its dependencies (in its clone: pip install -e .) and try "
            "again.",
            file=sys.stderr,
        )
        return EXIT_ERROR

    return run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand found in :mod:`qubonn.commands`."""
    import qubonn.commands as commands

    parser = argparse.ArgumentParser(
        prog="qubonn",
        description="Train binary neural networks exactly, as QUBO problems.",
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"qubonn {qubonn.__version__}"
    )
    sub = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"{commands.__name__}.{info.name}")
            module.add_parser(sub)
        except Exception as e:  # one broken command must not take the others down
            p = sub.add_parser(info.name, help="(unavailable; run it to see why)")
            p.set_defaults(func=_unavailable(info.name, e))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 failure, 2 error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return e.code if isinstance(e.code, int) else EXIT_ERROR
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        # a typo in --option must not run for an hour on defaults: unknown solver options are
        # errors on the command line (in the Python API they warn, dimod's contract)
        from qubonn.backends import strict_options

        with strict_options():
            return int(func(args) or 0)
    except (QubonnError, ValueError, TypeError, OSError) as e:  # they carry their own advice
        _print_error(error_line(args.command, e))
        return EXIT_ERROR
    except KeyboardInterrupt as e:  # Ctrl-C, or an Interrupted solve: nothing is written
        detail = f" ({e})" if str(e) else ""
        print(f"qubonn {args.command}: interrupted{detail}; no output written", file=sys.stderr)
        return EXIT_INTERRUPTED


def _print_error(line: str) -> None:
    """Print an error on a line of its own, also when a progress bar holds the current line
    (tqdm clears the bar, prints, and draws it again below)."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)


def error_line(command: str, error: Exception | str) -> str:
    """The one error style of every command: ``qubonn COMMAND: error: MESSAGE``, as argparse
    writes usage errors.  Messages about a file go on with ``FILE:LINE:COLUMN:`` or
    ``FILE: ... line L, column C`` (1-based, as editors count)."""
    return f"qubonn {command}: error: {error}"


if __name__ == "__main__":
    raise SystemExit(main())
