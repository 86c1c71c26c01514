"""The slack encoder: the one place that knows how an integer slack 0..R becomes bits.

Two encodings (``Objective.slack_encoding``), both exact: every value 0..R is reachable and
nothing above, so no extra constraint is needed.

* ``"binary"`` (the default): ``R.bit_length()`` bits with weights 1, 2, 4, ..., 2^(k-2) and a
  *trimmed* last weight R - (2^(k-1) - 1).  The fewest bits, but a change of the slack by one can
  need many flips (7 -> 8 flips four), so a single-spin sampler must cross states that break the
  constraint to follow a count.
* ``"unary"``: R bits of weight 1; the slack is their sum.  Every change by one is one flip, so
  single-spin samplers follow counts and return valid states far more often (measured:
  bench/strategies.py, docs/results.md), at R bits instead of about log2 R.  A value has many
  bit patterns; the completion writes the first v bits on.

A range R <= 0 gets no bits.  The formulation lays the bits out with :func:`encode`, the size
estimate counts them with :func:`n_bits`, and the feasible completion writes a value's bits with
:func:`digits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

SlackEncoding = Literal["binary", "unary"]
ENCODINGS = ("binary", "unary")


def check_encoding(encoding: object) -> None:
    if encoding not in ENCODINGS:
        raise ValueError(f"slack_encoding must be 'binary' or 'unary', not {encoding!r}")


def n_bits(upper: np.ndarray | int, encoding: SlackEncoding = "binary") -> np.ndarray:
    """Bits of the encoding of 0..upper, per entry (0 where upper <= 0)."""
    check_encoding(encoding)
    upper = np.asarray(upper, dtype=np.int64)
    if encoding == "unary":
        return np.maximum(upper, 0)
    out = np.zeros(upper.shape, dtype=np.int64)
    pos = upper > 0
    out[pos] = np.floor(np.log2(upper[pos])).astype(np.int64) + 1
    return out


def slack_coefficients(upper: int, encoding: SlackEncoding = "binary") -> np.ndarray:
    """Bit weights of a slack 0..upper: 1, 2, 4, ..., trimmed (binary), or all 1 (unary)."""
    return encode(np.array([upper], dtype=np.int64), encoding).coef


@dataclass(frozen=True)
class SlackBits:
    """The bits of many slacks, row-major: slack ``owner[i]`` owns bit ``i``, number ``bit[i]``
    (0 = least significant) with weight ``coef[i]``; ``ranges`` is each slack's range R."""

    ranges: np.ndarray  # (rows,) per slack
    owner: np.ndarray  # (bits,) per bit
    bit: np.ndarray
    coef: np.ndarray
    encoding: SlackEncoding = "binary"

    @property
    def size(self) -> int:
        return int(self.bit.size)


def encode(ranges: np.ndarray, encoding: SlackEncoding = "binary") -> SlackBits:
    """Lay out the encoding of a slack 0..ranges[r] for every row r, in order."""
    ranges = np.asarray(ranges, dtype=np.int64).reshape(-1)
    nbits = n_bits(ranges, encoding)
    start = np.concatenate([[0], np.cumsum(nbits)[:-1]])
    total = int(nbits.sum())
    owner = np.repeat(np.arange(ranges.size), nbits)
    k = np.arange(total) - start[owner]
    if encoding == "unary":
        return SlackBits(ranges, owner, k, np.ones(total, dtype=np.int64), encoding)
    coef = (1 << k).astype(np.int64)
    last = k == nbits[owner] - 1
    coef[last] = ranges[owner][last] - ((1 << k[last]) - 1)
    return SlackBits(ranges=ranges, owner=owner, bit=k, coef=coef)


def digits(bits: SlackBits, values: np.ndarray) -> np.ndarray:
    """The bit values (0/1 per bit of ``bits``) that encode ``values[r]`` (in 0..R_r) per row.

    Unary: the first v bits on.  Binary: the last bit is on exactly when the value is above what
    the lower bits reach; the lower bits then carry the rest in plain binary."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    v = values[bits.owner]
    if bits.encoding == "unary":
        return (bits.bit < v).astype(np.int64)
    k_last = n_bits(bits.ranges)[bits.owner] - 1
    low_cap = (1 << k_last) - 1  # what the bits below the last reach
    last_on = v > low_cap
    last_coef = bits.ranges[bits.owner] - low_cap
    rest = v - np.where(last_on, last_coef, 0)
    return np.where(bits.bit == k_last, last_on, (rest >> bits.bit) & 1)
