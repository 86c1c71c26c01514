"""Argument types of the commands' numeric flags: a bad value is an argparse error that names the
flag (``argument --seed: ...``), before any work, instead of a message from deep inside."""

from __future__ import annotations

import argparse
import math

#: seeds are scikit-learn's and numpy's RandomState's: 0 .. 2**32 - 1
MAX_SEED = 2**32 - 1


def finite_float(text: str) -> float:
    """A finite number (no nan, no inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def seed_type(text: str) -> int:
    """A seed: an integer from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range; a seed is an integer from 0 to {MAX_SEED}"
        )
    return value


def memory_size(text: str) -> int:
    """A positive memory size in bytes, or with a K/M/G/T suffix (e.g. 8G)."""
    from qubonn.compiler import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
