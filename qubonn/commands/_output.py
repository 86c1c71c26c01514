"""Output files of the commands that write: checked before any work, never an input, and an
existing file only with ``--force``.

Every writing command (train, compile; sweep for its inputs) calls :func:`check_output` right
after reading its arguments, so a mistaken ``--out`` fails in a second, not after a long
training, and nothing the user already had is lost silently.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from qubonn.errors import OutputError


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="overwrite --out if it exists (never an input file)"
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def check_output(
    out: str | os.PathLike,
    inputs: Iterable[tuple[str, str | os.PathLike | None]],
    *,
    force: bool,
    existing_ok: bool = False,
) -> Path:
    """Refuse an ``--out`` that is one of the ``inputs`` ((what, path) pairs, e.g. ("spec",
    "net.qnn")), a folder, in a missing or read-only folder, or (unless ``force`` or
    ``existing_ok``) an existing file.  Returns the path."""
    path = Path(out)
    for what, given in inputs:
        if given is not None and (
            _same_file(path, Path(given)) or path.resolve() == Path(given).resolve()
        ):
            raise OutputError(
                f"--out {path} is the {what} this command reads; choose another output file"
            )
    if path.is_dir():
        raise OutputError(f"--out {path} is a folder; give a file name, e.g. {path / 'out'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"--out {path}: the folder '{folder}' does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"--out {path}: the folder '{folder}' is not writable")
    try:  # the folder's permission bits do not tell everything (/proc, a read-only mount)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise OutputError(
            f"--out {path}: cannot create a file in the folder '{folder}' ({e.strerror})"
        ) from None
    if path.exists() and not (force or existing_ok):
        raise OutputError(
            f"--out {path} exists; pass --force to overwrite it, or choose another output file"
        )
    return path


def data_input(args: argparse.Namespace) -> tuple[str, str | None]:
    """The data file a command reads, as an input for :func:`check_output`."""
    data = getattr(args, "data", None)
    return "data file", (None if data in (None, "digits") else data)
