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
        head = f"{self.location()}: {self.message}"
        if self.pos is None:
            return head
        lines = self.text.splitlines()
        if not 1 <= self.pos.line <= len(lines):
            return head
        line = lines[self.pos.line - 1].expandtabs(1)
        return f"{head}\n    {line}\n    {' ' * (self.pos.column - 1)}^"

    def __str__(self) -> str:
        return self.format()


class DataError(QubonnError, ValueError):
    """A data set or data file is invalid."""


class ModelFileError(QubonnError, ValueError):
    """A trained-model file cannot be read."""


class ProblemTooLargeError(QubonnError, MemoryError):
    """A QUBO would exceed the configured memory budget; the message carries the size estimate."""


class SolverOptionError(QubonnError, ValueError):
    """An unknown or impossible solver option."""


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
