"""Sweep values: grid and seed text from the command line, Python values, table cells."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from qubonn.errors import QubonnError
from qubonn.options import parse_key_value, parse_value


class SweepError(QubonnError, ValueError):
    """A sweep is described wrongly (grid, seeds, output file); the message says how to fix it."""


# -- values: CLI text <-> Python <-> table cells -------------------------------------------
def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["margin=0,0.5", "dropout.p=0,0.3"]`` -> ``{"margin": [0, 0.5], "dropout.p": [0, 0.3]}``.

    Values are split at commas and read by :func:`~qubonn.options.parse_value`."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, values = parse_key_value(
            item,
            what="a grid axis",
            example="margin=0,0.5,1 or dropout.p=0,0.3",
            several=True,
            error=SweepError,
        )
        if key in grid:
            raise SweepError(f"grid key {key!r} is given twice; list all its values in one axis")
        grid[key] = values
    return grid


def parse_seeds(text: str) -> int | list[int]:
    """``"10"`` -> 10 (seeds 0..9); ``"0,3,7"`` -> [0, 3, 7]."""
    try:
        if "," in text:
            return [int(s) for s in text.split(",")]
        return int(text)
    except ValueError:
        raise SweepError(
            f"--seeds is a count (e.g. 10) or a list (e.g. 0,3,7); not {text!r}"
        ) from None


def cell(value: Any) -> str:
    """The canonical text of a value, for table cells and resume keys (0 == 0.0 -> "0")."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if math.isfinite(v) and v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v)
    return str(value)


def _typed(column: str, text: str) -> Any:
    if text == "":
        return None
    if column in ("worker", "finished", "network", "data"):
        return text
    return parse_value(text)


def _row_problem(header: Sequence[str], fields: Sequence[str]) -> str:
    """What is wrong with a results row ("" when nothing): every cell there, results readable."""
    if len(fields) != len(header):
        return f"{len(fields)} cells, the header has {len(header)}"
    row = dict(zip(header, fields, strict=True))
    for column in ("train_accuracy", "test_accuracy"):
        text = row.get(column, "")
        if text == "" and column == "test_accuracy":
            continue
        try:
            value = float(text)
        except ValueError:
            return f"{column} is {text!r}, not a number"
        if not 0.0 <= value <= 1.0:
            return f"{column} is {text!r}, not in [0, 1]"
    if "finished" in row:
        try:
            datetime.fromisoformat(row["finished"])
        except ValueError:
            return f"finished is {row['finished']!r}, not a time"
    return ""
