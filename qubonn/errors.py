"""Errors that qubonn shows to users: each says what is wrong and where."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourcePos:
    """A position in spec text: 1-based line and column."""

    line: int
    column: int


class QubonnError(Exception):
    """Base class of every error qubonn raises on purpose."""


class NetworkError(QubonnError, ValueError):
    """A network description is invalid.  ``pos`` points into the spec text when known."""

    def __init__(self, message: str, pos: SourcePos | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos


class SpecError(NetworkError):
    """An error in spec text, formatted as ``file:line:col: message`` plus the line and a caret."""

    def __init__(self, message: str, pos: SourcePos | None, text: str, filename: str = "<spec>"):
        self.filename = filename
        self.text = text
        super().__init__(message, pos)
        self.args = (self.format(),)

    def location(self) -> str:
        if self.pos is None:
            return self.filename
        return f"{self.filename}:{self.pos.line}:{self.pos.column}"

    def format(self) -> str:
        """``file:line:col: message``, then the line (a window around the column, control
        characters escaped) and a caret under the column."""
        head = f"{self.location()}: {shorten(escape_controls(self.message), MAX_MESSAGE)}"
        if self.pos is None:
            return head
        lines = self.text.split("\n")
        if not 1 <= self.pos.line <= len(lines):
            return head
        shown, caret = excerpt(lines[self.pos.line - 1], self.pos.column)
        return f"{head}\n    {shown}\n    {' ' * caret}^"

    def __str__(self) -> str:
        return self.format()


#: the longest message and echoed line an error shows (a 200,000-character line stays readable)
MAX_MESSAGE = 300
EXCERPT_WIDTH = 76


def _shown(ch: str) -> str:
    """A character as an error shows it: tabs as one space, other control characters, NUL,
    the byte order mark and other invisible ones escaped (``\\x00``, ``\\ufeff``)."""
    if ch == "\t":
        return " "
    if ch.isprintable() or ch == " ":
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else (
        f"\\U{code:08x}"
    )


def escape_controls(text: str) -> str:
    """``text`` with its invisible characters escaped (line breaks kept)."""
    return "\n".join("".join(_shown(c) for c in line) for line in text.split("\n"))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping both ends."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def excerpt(line: str, column: int, width: int = EXCERPT_WIDTH) -> tuple[str, int]:
    """The part of ``line`` shown under an error: escaped, at most ``width`` characters around
    1-based ``column``, with ``...`` where it is cut; and the caret's offset in it."""
    line = line.rstrip("\r")
    lo = max(0, column - 1 - width)  # escaping at most grows a character tenfold: enough context
    hi = min(len(line), column - 1 + width)
    before = "".join(_shown(c) for c in line[lo : column - 1])
    after = "".join(_shown(c) for c in line[column - 1 : hi])
    keep_before = width // 2 if len(after) > width // 2 else width - len(after)
    cut_left = lo > 0 or len(before) > keep_before
    before = before[-keep_before:] if len(before) > keep_before else before
    room = width - len(before)
    cut_right = hi < len(line) or len(after) > room
    after = after[:room]
    left = "..." if cut_left else ""
    right = "..." if cut_right else ""
    return f"{left}{before}{after}{right}", len(left) + len(before)


class DataError(QubonnError, ValueError):
    """A data set or data file is invalid."""


class OutputError(QubonnError, ValueError):
    """An output path is unsafe: an input file, an existing file without ``--force``, a folder."""


class ModelFileError(QubonnError, ValueError):
    """A trained-model file cannot be read."""


class ExportError(QubonnError, ValueError):
    """A model cannot be exported as asked: a bad name, or what a format cannot express."""


class ProblemTooLargeError(QubonnError, MemoryError):
    """A QUBO would exceed the configured memory budget; the message carries the size estimate."""


class SolverOptionError(QubonnError, ValueError):
    """An unknown or impossible solver option."""


class SamplerResultError(QubonnError, ValueError):
    """A sampler returned something that is not a usable sample set of the problem it was given
    (not a SampleSet, no reads, wrong or missing variables, values outside the vartype, energies
    that are not numbers)."""


class Interrupted(KeyboardInterrupt):
    """A solve was interrupted (Ctrl-C, SIGINT) and returned only what it had found so far.

    The trainer raises it instead of returning a model from a partial solve, so a partial
    result is never passed off as a whole one: ``qubonn train`` exits 130 and keeps the previous
    model file, ``qubonn sweep`` does not record the run.  It derives from
    :class:`KeyboardInterrupt` (not :class:`Exception`) so that ``except Exception`` handlers do
    not swallow it, just as they would not swallow the Ctrl-C itself.
    """

    def __init__(self, message: str, info: dict | None = None):
        super().__init__(message)
        self.message = message
        self.info = dict(info or {})

    def __str__(self) -> str:
        return self.message


class ConstantPredictionWarning(UserWarning):
    """A fitted classifier predicts one class for every training sample: it learned nothing.

    Raised as a warning (not an error) because the fit itself is valid; the message says what to
    try.  Filter it with ``warnings.simplefilter("error", ConstantPredictionWarning)`` to make a
    search stop at such a fit."""
