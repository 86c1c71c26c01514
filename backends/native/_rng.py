"""Counter-based random numbers shared by every code path of the native annealer.

Why counter-based: the numpy reference, the numba kernel and the CUDA kernel visit spins in
different orders (by variable, by replica, one thread per replica).  A stateful generator would
give each path different numbers; a hash of ``(seed, sweep, variable, replica)`` gives every path
the *same* number for the same decision, so the paths can be checked against each other exactly.
The hash is the SplitMix64 finaliser (Steele et al. 2014), which passes BigCrush as a counter mode
generator; it costs a few integer multiplies, and SA only draws a number for uphill moves that
have a real chance of being accepted.

Only numpy is imported here; the same arithmetic runs on CuPy arrays (``xp`` argument) and is
repeated verbatim in the kernels (``_kernels_numba.py``, ``_kernels_cuda.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
TWO_M32 = 2.0**-32

#: Probability of accepting a free move (``dE = 0``); every code path reads it at call time.
#: Always accepting them (neal's rule) lets domain walls ride along a sequential sweep so that
#: they never meet: a 40-spin ring stalled at -12 of -40.  At 1/2 they diffuse, but cross plateaus
#: slowly.  ``bench/free_moves.py``: time per hit at 0.9 vs 1/2 is 0.45x on G1 and 0.64x on a BNN
#: QUBO, 2.6x on G22; the BNN QUBOs decide.
FREE_MOVE_ACCEPT = 0.9

# Streams: independent uses of one seed.
STREAM_SA = 0
STREAM_INIT = 1
STREAM_MA_NOISE = 2
STREAM_MA_DROPOUT = 3

_M64 = (1 << 64) - 1


def _mix_int(z: int) -> int:
    """SplitMix64 finaliser on a Python int (host-side, for seed keys)."""
    z &= _M64
    z = ((z ^ (z >> 30)) * MIX1) & _M64
    z = ((z ^ (z >> 27)) * MIX2) & _M64
    return z ^ (z >> 31)


def seed_key(seed: int, stream: int) -> int:
    """The 64-bit key of one random stream of one seed (a Python int below 2**64)."""
    return _mix_int(_mix_int(int(seed) & _M64) + GOLDEN * (stream + 1))


def uniform(key: int, counter: Any, xp: Any = np) -> Any:
    """Uniform numbers in (0, 1) for an array of uint64 counters: ``(hash >> 32 + 0.5) / 2**32``.

    The smallest value is 2**-33, so an uphill move with ``beta * dE > 23`` can never be accepted
    (exp(-23) < 2**-33): every path may skip drawing a number for it and still agree.
    """
    z = xp.asarray(counter, dtype=xp.uint64) + xp.uint64(1)
    z = z * xp.uint64(GOLDEN) + xp.uint64(key)
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(MIX1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(MIX2)
    z = z ^ (z >> xp.uint64(31))
    return ((z >> xp.uint64(32)).astype(xp.float64) + 0.5) * TWO_M32
