"""CUDA sweeps (CuPy RawKernels): one thread per replica runs whole Metropolis sweeps.

Why a kernel: the array formulation of Metropolis loops over variables on the host, so on a GPU it
pays ~10 kernel launches per variable (launch-bound: microseconds each).  Here one launch runs a
chunk of sweeps; thread ``r`` owns replica ``r``.  Spins and local fields are stored
variable-major, ``[i * R + r]``, so neighbouring threads touch neighbouring words (coalesced), and
all threads read the same coupling entries at the same time (broadcast through the cache).
The arithmetic repeats ``anneal._sa_chunk_array`` exactly (same counter-based random numbers;
compiled with ``--fmad=false`` so no multiply-add is fused differently from numpy), which is what
lets the GPU result be compared sample for sample with the numpy result.

Only imported when a GPU run is requested; CuPy is imported lazily by the caller.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ._rng import FREE_MOVE_ACCEPT

#: ``_rng.uniform`` in CUDA: every kernel draws its numbers through this one function
U01_SOURCE = r"""
typedef unsigned long long u64;
__device__ __forceinline__ double u01(u64 key, u64 counter) {
    u64 z = (counter + 1ULL) * 0x9E3779B97F4A7C15ULL + key;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    return ((double)(z >> 32) + 0.5) * 2.3283064365386963e-10;
}
"""

_SOURCE = U01_SOURCE + r"""
typedef REAL real;
#define FREE_ACCEPT FREE_MOVE_ACCEPT_VALUE

#define SWEEP_BODY(FLIP_UPDATE)                                                   \
    const int r = blockDim.x * blockIdx.x + threadIdx.x;                          \
    if (r >= R) return;                                                           \
    const u64 ru = (u64)R, nu = (u64)n;                                           \
    double e = energy[r], be = best_energy[r];                                    \
    for (int k = 0; k < K; ++k) {                                                 \
        const double beta = betas[k];                                             \
        const u64 base = (u64)(sweep0 + k) * nu;                                  \
        for (int i = 0; i < n; ++i) {                                             \
            const real si = s[(long long)i * R + r];                              \
            const double de = (double)(-(si + si) * f[(long long)i * R + r]);     \
            if (de > 0.0) {                                                       \
                const double x = beta * de;                                       \
                if (x > 23.0) continue;                                           \
                const double u = u01(key, (base + (u64)i) * ru + (u64)r);         \
                if (u >= exp(-x)) continue;                                       \
            } else if (de == 0.0) {                                               \
                if (u01(key, (base + (u64)i) * ru + (u64)r) >= FREE_ACCEPT) continue; \
            }                                                                     \
            s[(long long)i * R + r] = -si;                                        \
            e += de;                                                              \
            const real d = -(si + si);                                            \
            FLIP_UPDATE                                                           \
        }                                                                         \
        if (e < be) {                                                             \
            be = e;                                                               \
            for (int j = 0; j < n; ++j)                                           \
                best_s[(long long)j * R + r] = s[(long long)j * R + r];           \
        }                                                                         \
    }                                                                             \
    energy[r] = e;                                                                \
    best_energy[r] = be;

extern "C" __global__ void sa_sparse(
    real* __restrict__ s, real* __restrict__ f, double* __restrict__ energy,
    real* __restrict__ best_s, double* __restrict__ best_energy,
    const int* __restrict__ indptr, const int* __restrict__ indices,
    const real* __restrict__ data, const double* __restrict__ betas,
    const int K, const long long sweep0, const u64 key, const int n, const int R)
{
    SWEEP_BODY(
        for (int p = indptr[i]; p < indptr[i + 1]; ++p)
            f[(long long)indices[p] * R + r] += data[p] * d;
    )
}

extern "C" __global__ void sa_dense(
    real* __restrict__ s, real* __restrict__ f, double* __restrict__ energy,
    real* __restrict__ best_s, double* __restrict__ best_energy,
    const real* __restrict__ coupling, const double* __restrict__ betas,
    const int K, const long long sweep0, const u64 key, const int n, const int R)
{
    SWEEP_BODY(
        const real* row = coupling + (long long)i * n;
        for (int j = 0; j < n; ++j)
            f[(long long)j * R + r] += row[j] * d;
    )
}
"""


def source(dtype_name: str) -> str:
    """The CUDA source for ``float32`` or ``float64`` spins and fields."""
    real = {"float32": "float", "float64": "double"}[dtype_name]
    code = _SOURCE.replace("typedef REAL real;", f"typedef {real} real;")
    return code.replace("FREE_MOVE_ACCEPT_VALUE", repr(float(FREE_MOVE_ACCEPT)))


#: nvcc options; ``--fmad=false`` keeps every product rounded as numpy rounds it
NVCC_OPTIONS = ("--fmad=false", "-std=c++14")
#: threads per block (one per replica); any size gives the same samples
THREADS = 128


@cache
def module(dtype_name: str) -> Any:
    """The compiled RawModule for ``float32`` or ``float64`` (compiled once per process)."""
    import cupy

    return cupy.RawModule(
        code=source(dtype_name),
        options=NVCC_OPTIONS,
        name_expressions=None,
    )


def clear_cache() -> None:
    """Forget the compiled modules (the CUDA emulator swaps CuPy in and out)."""
    module.cache_clear()


def sa_chunk(
    xp: Any,
    dtype_name: str,
    state: dict[str, Any],
    coupling: dict[str, Any],
    betas: Any,
    sweep0: int,
    key: int,
) -> None:
    """Launch one chunk of sweeps (``len(betas)``) for every replica in ``state`` (in place)."""
    n, num_reads = state["spins"].shape
    mod = module(dtype_name)
    threads = THREADS
    blocks = (num_reads + threads - 1) // threads
    k = int(betas.shape[0])
    tail = (
        betas,
        xp.int32(k),
        xp.int64(sweep0),
        xp.uint64(key),
        xp.int32(n),
        xp.int32(num_reads),
    )
    head = (
        state["spins"],
        state["fields"],
        state["energy"],
        state["best_spins"],
        state["best_energy"],
    )
    if coupling["kind"] == "dense":
        mod.get_function("sa_dense")((blocks,), (threads,), head + (coupling["dense"],) + tail)
    else:
        args = head + (coupling["indptr"], coupling["indices"], coupling["data"]) + tail
        mod.get_function("sa_sparse")((blocks,), (threads,), args)
