"""CUDA kernel (CuPy RawKernel) of the structured annealer: one block per replica, its threads
over the samples.

A move is evaluated by all threads of a block at once: each thread takes the samples
``n = t, t + T, ...``, computes the flipped neuron's new pre-activation, carries sign changes
down the DAG for its own samples (per-thread scratch ``pend``), and adds its integer loss and
margin changes to shared accumulators.  Integer sums do not depend on the order of the atomic
additions, and thread 0 then forms the energy change in the same order as the CPU kernel
(``_kernels_structured._energy``) and draws the same counter-based random number, so both paths
make the same decisions and return the same samples for the same seed.  On acceptance every
thread applies its own samples again (the carry is recomputed rather than stored).

Layouts are those of the CPU path: ``z[r, j, n]`` (coalesced over samples), ``XT[i, n]``
(int16: +-1 or integer inputs), the rows' bounds ``Kn[j, n]``.  A move takes a binary
parameter to -w and a ternary one to either other value, chosen as the CPU chooses it.
Compiled with ``--fmad=false`` so no multiply-add is fused differently from the CPU.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ._kernels_cuda import U01_SOURCE
from ._rng import FREE_MOVE_ACCEPT

_SOURCE = U01_SOURCE + r"""
typedef long long i64;
#define TOL 1e-9

struct Model {
    const short* XT; const int* param_neuron; const int* param_src; int n_in;
    const int* out_ptr; const int* out_dst; const int* out_arc;
    const unsigned char* clamped; const unsigned char* out01; const int* out_pos;
    const int* ysign; const int* lo; const int* hi; const int* Kn; const int* g;
    const unsigned char* mc; const int* mc_outs; const int* ycls; int mc_margin;
    const int* bucket; int n_out; int B;
    int N; int J; int P;
    const unsigned char* tern; double lam;
};

/* Multiclass loss of sample n: sum over k != y of max(0, margin - (z_y - z_k))^2 at z (plus
   the pending changes of the outputs with `with_pend`). */
__device__ __forceinline__ i64 mc_loss(const Model& m, const int* z, const int* pend, int n,
                                       bool with_pend) {
    const int y = m.ycls[n];
    const int jy = m.mc_outs[y];
    const int zy = z[(i64)jy * m.N + n] + (with_pend ? pend[jy] : 0);
    i64 total = 0;
    for (int o = 0; o < m.n_out; ++o) {
        if (o == y) continue;
        const int jk = m.mc_outs[o];
        const int d = m.mc_margin - (zy - z[(i64)jk * m.N + n] - (with_pend ? pend[jk] : 0));
        if (d > 0) total += (i64)d * d;
    }
    return total;
}

/* (loss, margin) contributions of neuron j on sample n at pre-activation z */
__device__ __forceinline__ void terms(const Model& m, int j, int n, int z, i64& loss, i64& marg) {
    const int o = m.out_pos[j];
    if (m.clamped[j]) {
        const int c = (z + m.Kn[(i64)j * m.N + n]) / m.g[j];  /* z + Kn >= 0, a multiple of g */
        const int l = m.lo[o * m.N + n], h = m.hi[o * m.N + n];
        const int d = c < l ? l - c : (c > h ? c - h : 0);
        loss = (i64)d * d;
        marg = (i64)m.ysign[o * m.N + n] * z;
        return;
    }
    marg = z >= 0 ? z : -z;
    loss = 0;
    if (m.out01[j]) loss = ((z >= 0 ? 1 : -1) != m.ysign[o * m.N + n]) ? 1 : 0;
}

/* Carry the sign change of neuron j on sample n (new value zj) down the DAG; with `apply`
   the new values are written, else the changes are added to the shared per-bucket loss
   changes and dmarg.  Multiclass outputs keep their change in pend until the pass ends; the
   sample's loss is then recomputed once from its whole output vector. */
__device__ void carry(const Model& m, const signed char* params, int* z, int n, int j, int zj,
                      int* pend, bool apply, i64* sh_loss, i64* dmarg) {
    int top = j;
    const int a_new = zj >= 0 ? 1 : -1;
    for (int q = m.out_ptr[j]; q < m.out_ptr[j + 1]; ++q) {
        const int k = m.out_dst[q];
        pend[k] += 2 * params[m.out_arc[q]] * a_new;
        if (k > top) top = k;
    }
    bool touched_mc = false;
    for (int k = j + 1; k <= top; ++k) {
        if (pend[k] == 0) continue;
        const int zo = z[(i64)k * m.N + n];
        const int zn = zo + pend[k];
        if (m.mc[k] && !apply) { touched_mc = true; continue; }  /* outputs feed nothing */
        pend[k] = 0;
        if (apply) {
            z[(i64)k * m.N + n] = zn;
        } else {
            i64 l0, m0, l1, m1;
            terms(m, k, n, zo, l0, m0);
            terms(m, k, n, zn, l1, m1);
            if (l1 != l0)
                atomicAdd((unsigned long long*)&sh_loss[m.bucket[m.out_pos[k] * m.N + n]],
                          (unsigned long long)(l1 - l0));
            atomicAdd((unsigned long long*)&dmarg[k], (unsigned long long)(m1 - m0));
        }
        if ((zo >= 0) != (zn >= 0)) {
            const int a = zn >= 0 ? 1 : -1;
            for (int q = m.out_ptr[k]; q < m.out_ptr[k + 1]; ++q) {
                const int d = m.out_dst[q];
                pend[d] += 2 * params[m.out_arc[q]] * a;
                if (d > top) top = d;
            }
        }
    }
    if (touched_mc) {
        const i64 dl = mc_loss(m, z, pend, n, true) - mc_loss(m, z, pend, n, false);
        if (dl != 0)
            atomicAdd((unsigned long long*)&sh_loss[m.bucket[n]], (unsigned long long)dl);
        for (int o = 0; o < m.n_out; ++o) pend[m.mc_outs[o]] = 0;
    }
}

__device__ __forceinline__ int source(const Model& m, const int* z, int s, int n) {
    if (s < 0) return 1;
    if (s < m.n_in) return m.XT[(i64)s * m.N + n];
    return z[(i64)(s - m.n_in) * m.N + n] >= 0 ? 1 : -1;
}

/* The value a move gives parameter p, now at wp: -wp (binary), or either other value of a
   ternary one by a uniform of the value stream at the move's counter (every thread draws the
   same number). */
__device__ __forceinline__ int new_value(const Model& m, int p, int wp, u64 vkey, u64 counter) {
    if (!m.tern[p]) return -wp;
    const double u = u01(vkey, counter);
    if (wp == 0) return u < 0.5 ? 1 : -1;
    return u < 0.5 ? 0 : -wp;
}

/* One move of the block's replica: evaluate, decide (thread 0), apply. */
__device__ void move(const Model& m, int p, signed char* params, int* z, int* pend,
                     i64* dmarg, i64* sh_loss, int* sh_accept, double beta, u64 counter,
                     u64 key, u64 vkey, double free_accept, const double* mu, const double* lw,
                     const double* h,
                     i64* loss_int, i64* marg_int, double* hw, double* energy,
                     signed char* best_params, double* best_energy) {
    const int j = m.param_neuron[p], s = m.param_src[p];
    const int w0 = params[p];
    const int w1 = new_value(m, p, w0, vkey, counter);
    const int step = w1 - w0;
    const bool has_out = m.out_ptr[j + 1] > m.out_ptr[j];
    i64 dm = 0;
    for (int n = threadIdx.x; n < m.N; n += blockDim.x) {
        const int zo = z[(i64)j * m.N + n];
        const int zn = zo + step * source(m, z, s, n);
        i64 dl = 0;
        int b = 0;
        if (m.mc[j]) {
            const i64 before = mc_loss(m, z, pend, n, false);
            pend[j] = zn - zo;
            dl = mc_loss(m, z, pend, n, true) - before;
            pend[j] = 0;
            b = m.bucket[n];
        } else {
            i64 l0, m0, l1, m1;
            terms(m, j, n, zo, l0, m0);
            terms(m, j, n, zn, l1, m1);
            dl = l1 - l0;
            dm += m1 - m0;
            if (m.out_pos[j] >= 0) b = m.bucket[m.out_pos[j] * m.N + n];
        }
        if (dl != 0) atomicAdd((unsigned long long*)&sh_loss[b], (unsigned long long)dl);
        if (has_out && ((zo >= 0) != (zn >= 0)))
            carry(m, params, z, n, j, zn, pend, false, sh_loss, dmarg);
    }
    atomicAdd((unsigned long long*)&dmarg[j], (unsigned long long)dm);
    __syncthreads();
    if (threadIdx.x == 0) {
        double de = 0.0;
        for (int b = 0; b < m.B; ++b) de += lw[b] * (double)sh_loss[b];
        for (int k = 0; k < m.J; ++k) de -= mu[k] * (double)dmarg[k];
        const double wp = (double)w0;
        double dh;
        if (m.tern[p])
            dh = h[p] * (double)step
                 + m.lam * (double)((w1 >= 0 ? w1 : -w1) - (w0 >= 0 ? w0 : -w0));
        else
            dh = -2.0 * h[p] * wp;
        de = de + dh;
        bool accept = de < -TOL;
        if (!accept) {
            const double u = u01(key, counter);
            if (de <= TOL) accept = u < free_accept;
            else if (beta * de <= 23.0) accept = u < exp(-beta * de);
        }
        int flag = 0;
        if (accept) {
            for (int k = 0; k < m.J; ++k) marg_int[k] += dmarg[k];
            for (int b = 0; b < m.B; ++b) loss_int[b] += sh_loss[b];
            if (m.tern[p]) *hw += dh;
            else *hw -= 2.0 * h[p] * wp;
            double e = 0.0;
            for (int b = 0; b < m.B; ++b) e += lw[b] * (double)loss_int[b];
            for (int k = 0; k < m.J; ++k) e -= mu[k] * (double)marg_int[k];
            *energy = e + *hw;
            flag = 1;
            if (*energy < *best_energy - TOL) { *best_energy = *energy; flag = 2; }
        }
        *sh_accept = flag;
    }
    __syncthreads();
    const int flag = *sh_accept;
    if (flag) {
        for (int n = threadIdx.x; n < m.N; n += blockDim.x) {
            const int zo = z[(i64)j * m.N + n];
            const int zn = zo + step * source(m, z, s, n);
            z[(i64)j * m.N + n] = zn;
            if (has_out && ((zo >= 0) != (zn >= 0)))
                carry(m, params, z, n, j, zn, pend, true, sh_loss, dmarg);
        }
    }
    /* No barrier is needed before the move: params[p] was read before the first barrier
       (step), and the apply pass reads only the arcs leaving neuron j, never parameter p. */
    if (flag && threadIdx.x == 0) params[p] = (signed char)w1;
    for (int k = threadIdx.x; k < m.J; k += blockDim.x) dmarg[k] = 0;
    for (int b = threadIdx.x; b < m.B; b += blockDim.x) sh_loss[b] = 0;
    __syncthreads();  /* the flip, the zeroed sums and the flag are settled for the next move */
    if (flag == 2)
        for (int q = threadIdx.x; q < m.P; q += blockDim.x) best_params[q] = params[q];
}

extern "C" __global__ void structured_sweeps(
    signed char* params, int* z, i64* loss_int, i64* marg_int, double* hw, double* energy,
    signed char* best_params, double* best_energy, int* pend_all, const double* betas,
    const int S, const i64 sweep0, const u64 key, const u64 vkey, const double free_accept,
    const short* XT, const int* param_neuron, const int* param_src, const int n_in,
    const int* out_ptr, const int* out_dst, const int* out_arc, const unsigned char* clamped,
    const unsigned char* out01, const int* out_pos, const int* ysign, const int* lo,
    const int* hi, const int* Kn, const int* g, const unsigned char* mc, const int* mc_outs,
    const int* ycls, const int mc_margin, const int* bucket, const int n_out, const int B,
    const double* mu, const double* lw, const double* h, const unsigned char* tern,
    const double lam, const int N, const int J, const int P, const int R)
{
    extern __shared__ i64 shared[];  /* dmarg[J], loss per bucket [B], accept flag */
    const int r = blockIdx.x;
    if (r >= R) return;
    Model m = {XT, param_neuron, param_src, n_in, out_ptr, out_dst, out_arc, clamped, out01,
               out_pos, ysign, lo, hi, Kn, g, mc, mc_outs, ycls, mc_margin, bucket, n_out, B,
               N, J, P, tern, lam};
    i64* dmarg = shared;
    i64* sh_loss = shared + J;
    int* sh_accept = (int*)(shared + J + B);
    for (int k = threadIdx.x; k < J; k += blockDim.x) dmarg[k] = 0;
    for (int b = threadIdx.x; b < B; b += blockDim.x) sh_loss[b] = 0;
    __syncthreads();
    int* pend = pend_all + ((i64)r * blockDim.x + threadIdx.x) * J;
    signed char* pr = params + (i64)r * P;
    int* zr = z + (i64)r * J * N;
    const u64 ru = (u64)R, pu = (u64)P;
    for (int t = 0; t < S; ++t) {
        const double beta = betas[(i64)t * R + r];
        const u64 base = ((u64)(sweep0 + t) * pu) * ru;
        for (int p = 0; p < P; ++p)
            move(m, p, pr, zr, pend, dmarg, sh_loss, sh_accept, beta,
                 base + (u64)p * ru + (u64)r, key, vkey, free_accept, mu, lw, h,
                 loss_int + (i64)r * B,
                 marg_int + (i64)r * J, hw + r, energy + r, best_params + (i64)r * P,
                 best_energy + r);
    }
}
"""

#: nvcc options; ``--fmad=false`` keeps every product rounded as the CPU rounds it
NVCC_OPTIONS = ("--fmad=false", "-std=c++14")
#: threads per block (one block per replica, its threads over the samples); any size gives
#: the same samples
THREADS = 128


def source() -> str:
    """The CUDA source (compiled with :data:`NVCC_OPTIONS`)."""
    return _SOURCE


@cache
def kernel() -> Any:
    import cupy

    return cupy.RawKernel(_SOURCE, "structured_sweeps", options=NVCC_OPTIONS)


#: dynamic shared memory a kernel may use without opting in to more (every CUDA GPU)
MAX_SHARED = 48 * 1024


def shared_bytes(n_neurons: int, n_buckets: int) -> int:
    """Shared memory of one block: a margin sum per neuron, a loss sum per bucket, a flag."""
    return 8 * (n_neurons + n_buckets + 1)


def fits(n_neurons: int, n_buckets: int) -> bool:
    """Whether the kernel can run this model: its per-block sums fit in shared memory (about
    6,000 neurons)."""
    return shared_bytes(n_neurons, n_buckets) <= MAX_SHARED


def clear_cache() -> None:
    """Forget the compiled kernel (the CUDA emulator swaps CuPy in and out)."""
    kernel.cache_clear()


class DeviceModel:
    """The model's arrays on the GPU, in the kernel's integer widths."""

    def __init__(self, model: Any) -> None:
        import cupy as cp

        i32 = cp.int32
        self.arrays = (
            cp.asarray(model.XT, dtype=cp.int16),
            cp.asarray(model.param_neuron, dtype=i32),
            cp.asarray(model.param_src, dtype=i32),
            i32(model.network.n_inputs),
            cp.asarray(model.out_ptr, dtype=i32),
            cp.asarray(model.out_dst, dtype=i32),
            cp.asarray(model.out_arc, dtype=i32),
            cp.asarray(model.clamped, dtype=cp.uint8),
            cp.asarray(model.out01, dtype=cp.uint8),
            cp.asarray(model.out_pos, dtype=i32),
            cp.asarray(model.ysign, dtype=i32),
            cp.asarray(model.lo, dtype=i32),
            cp.asarray(model.hi, dtype=i32),
            cp.asarray(model.Kn, dtype=i32),
            cp.asarray(model.g, dtype=i32),
            cp.asarray(model.mc, dtype=cp.uint8),
            cp.asarray(model.mc_outs, dtype=i32),
            cp.asarray(model.ycls, dtype=i32),
            i32(model.mc_margin),
            cp.asarray(model.bucket, dtype=i32),
            i32(model.mc_outs.size),
            i32(model.lw.size),
            cp.asarray(model.mu, dtype=cp.float64),
            cp.asarray(model.lw, dtype=cp.float64),
            cp.asarray(model.h, dtype=cp.float64),
            cp.asarray(model.tern, dtype=cp.uint8),
            cp.float64(model.lam),
        )
        self.N, self.J, self.P = model.n_samples, model.n_neurons, model.n_params
        self.B = int(model.lw.size)


def sweeps(
    dev: DeviceModel, state: dict[str, Any], betas: Any, sweep0: int, key: int, vkey: int
) -> None:
    """Run ``betas.shape[0]`` sweeps of every replica (state arrays on the GPU, in place);
    ``vkey`` draws the new values of ternary parameters."""
    import cupy as cp

    R = int(state["params"].shape[0])
    S = int(betas.shape[0])
    if S == 0:
        return
    shared = shared_bytes(dev.J, dev.B)
    kernel()(
        (R,),
        (THREADS,),
        (
            state["params"], state["z"], state["loss_int"], state["marg_int"], state["hw"],
            state["energy"], state["best_params"], state["best_energy"], state["pend"],
            cp.ascontiguousarray(cp.asarray(betas, dtype=cp.float64)), cp.int32(S),
            cp.int64(sweep0), cp.uint64(key), cp.uint64(vkey), cp.float64(FREE_MOVE_ACCEPT),
            *dev.arrays,
            cp.int32(dev.N), cp.int32(dev.J), cp.int32(dev.P), cp.int32(R),
        ),
        shared_mem=shared,
    )
