"""The slack encoder: the one place that knows how an integer slack 0..R becomes bits.

A slack that must take every value 0..R (R >= 1) gets ``R.bit_length()`` bits with weights
1, 2, 4, ..., 2^(k-2) and a *trimmed* last weight R - (2^(k-1) - 1), so that the bits reach
exactly 0..R and nothing above (no extra constraint needed).  A range R <= 0 gets no bits.

The formulation lays the bits out with :func:`encode`, the size estimate counts them with
:func:`n_bits`, and the feasible completion writes a value's bits with :func:`digits`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def n_bits(upper: np.ndarray | int) -> np.ndarray:
    """Bits of the trimmed encoding of 0..upper, per entry (0 where upper <= 0)."""
    upper = np.asarray(upper, dtype=np.int64)
    out = np.zeros(upper.shape, dtype=np.int64)
    pos = upper > 0
    out[pos] = np.floor(np.log2(upper[pos])).astype(np.int64) + 1
    return out


def slack_coefficients(upper: int) -> np.ndarray:
    """Bit weights 1, 2, 4, ..., trimmed so that the bits reach exactly every integer 0..upper."""
    return encode(np.array([upper], dtype=np.int64)).coef


@dataclass(frozen=True)
class SlackBits:
    """The bits of many slacks, row-major: slack ``owner[i]`` owns bit ``i``, number ``bit[i]``
    (0 = least significant) with weight ``coef[i]``; ``ranges`` is each slack's range R."""

    ranges: np.ndarray  # (rows,) per slack
    owner: np.ndarray  # (bits,) per bit
    bit: np.ndarray
    coef: np.ndarray

    @property
    def size(self) -> int:
        return int(self.bit.size)


def encode(ranges: np.ndarray) -> SlackBits:
    """Lay out the trimmed binary encoding of a slack 0..ranges[r] for every row r, in order."""
    ranges = np.asarray(ranges, dtype=np.int64).reshape(-1)
    nbits = n_bits(ranges)
    start = np.concatenate([[0], np.cumsum(nbits)[:-1]])
    total = int(nbits.sum())
    owner = np.repeat(np.arange(ranges.size), nbits)
    k = np.arange(total) - start[owner]
    coef = (1 << k).astype(np.int64)
    last = k == nbits[owner] - 1
    coef[last] = ranges[owner][last] - ((1 << k[last]) - 1)
    return SlackBits(ranges=ranges, owner=owner, bit=k, coef=coef)


def digits(bits: SlackBits, values: np.ndarray) -> np.ndarray:
    """The bit values (0/1 per bit of ``bits``) that encode ``values[r]`` (in 0..R_r) per row.

    The last bit is on exactly when the value is above what the lower bits reach; the lower
    bits then carry the rest in plain binary."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    v = values[bits.owner]
    k_last = n_bits(bits.ranges)[bits.owner] - 1
    low_cap = (1 << k_last) - 1  # what the bits below the last reach
    last_on = v > low_cap
    last_coef = bits.ranges[bits.owner] - low_cap
    rest = v - np.where(last_on, last_coef, 0)
    return np.where(bits.bit == k_last, last_on, (rest >> bits.bit) & 1)
