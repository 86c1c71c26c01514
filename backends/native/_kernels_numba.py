"""Compiled CPU sweeps (numba): replica-parallel Metropolis with incremental local fields.

Why numba: a Metropolis sweep is a loop over variables whose every step depends on the previous
one, so numpy can only vectorise across replicas (about 10 us of interpreter overhead per
variable).  Compiled, one flip attempt costs a few nanoseconds: the energy change is read from a
maintained local field (O(1)), a random number is drawn only for uphill moves that can be accepted,
and the O(degree) field update runs only when a flip is accepted.  Replicas run in parallel
threads (``prange``).  The arithmetic mirrors ``anneal._sa_chunk_array`` step for step (same
counter-based random numbers, same float operations) so both give identical samples.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from ._rng import GOLDEN, MIX1, MIX2, STREAM_SA, TWO_M32  # noqa: F401

_GOLDEN = np.uint64(GOLDEN)
_MIX1 = np.uint64(MIX1)
_MIX2 = np.uint64(MIX2)
_ONE = np.uint64(1)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)


@nb.njit(inline="always", cache=True)
def _uniform(key, counter):  # pragma: no cover - compiled
    z = (counter + _ONE) * _GOLDEN + key
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return (np.float64(z >> _S32) + 0.5) * TWO_M32


@nb.njit(parallel=True, cache=True, nogil=True)
def sa_sparse(
    spins,
    fields,
    energy,
    best_spins,
    best_energy,
    indptr,
    indices,
    data,
    betas,
    sweep0,
    key,
    free_accept,
):  # pragma: no cover - compiled
    """Run ``len(betas)`` sweeps on every replica (rows of ``spins``) of a CSR coupling."""
    num_reads, n = spins.shape
    nu = np.uint64(n)
    ru = np.uint64(num_reads)
    for r in prange(num_reads):
        s = spins[r]
        f = fields[r]
        e = energy[r]
        be = best_energy[r]
        rid = np.uint64(r)
        for k in range(betas.shape[0]):
            beta = betas[k]
            base = np.uint64(sweep0 + k) * nu
            for i in range(n):
                si = s[i]
                de = np.float64(-(si + si) * f[i])
                if de > 0.0:
                    x = beta * de
                    if x > 23.0:
                        continue
                    u = _uniform(key, (base + np.uint64(i)) * ru + rid)
                    if u >= np.exp(-x):
                        continue
                elif de == 0.0:
                    # free moves: accepted with probability free_accept (see _rng)
                    if _uniform(key, (base + np.uint64(i)) * ru + rid) >= free_accept:
                        continue
                s[i] = -si
                e += de
                d = -(si + si)
                for p in range(indptr[i], indptr[i + 1]):
                    f[indices[p]] += data[p] * d
            if e < be:
                be = e
                best_spins[r, :] = s
        energy[r] = e
        best_energy[r] = be


@nb.njit(parallel=True, cache=True, nogil=True)
def sa_dense(
    spins, fields, energy, best_spins, best_energy, coupling, betas, sweep0, key, free_accept
):  # pragma: no cover - compiled
    """Dense-coupling twin of :func:`sa_sparse` (row ``i`` of ``coupling`` is read on a flip)."""
    num_reads, n = spins.shape
    nu = np.uint64(n)
    ru = np.uint64(num_reads)
    for r in prange(num_reads):
        s = spins[r]
        f = fields[r]
        e = energy[r]
        be = best_energy[r]
        rid = np.uint64(r)
        for k in range(betas.shape[0]):
            beta = betas[k]
            base = np.uint64(sweep0 + k) * nu
            for i in range(n):
                si = s[i]
                de = np.float64(-(si + si) * f[i])
                if de > 0.0:
                    x = beta * de
                    if x > 23.0:
                        continue
                    u = _uniform(key, (base + np.uint64(i)) * ru + rid)
                    if u >= np.exp(-x):
                        continue
                elif de == 0.0:
                    # free moves: accepted with probability free_accept (see _rng)
                    if _uniform(key, (base + np.uint64(i)) * ru + rid) >= free_accept:
                        continue
                s[i] = -si
                e += de
                d = -(si + si)
                row = coupling[i]
                for j in range(n):
                    f[j] += row[j] * d
            if e < be:
                be = e
                best_spins[r, :] = s
        energy[r] = e
        best_energy[r] = be
