"""Compiled CPU kernels (numba) of the structured annealer: moves between valid network states.

A move changes one parameter (a weight or a bias) *together with* the exact completion of every
per-sample variable it affects, so the state stays valid and the energy change is the change of
the training objective.  Per replica the kernels keep the pre-activations ``z[j, n]`` of every
neuron on every sample; a move w -> w' changes one neuron's ``z`` by (w' - w) v on every sample
(v: the source's value, an integer input or +-1), and only the samples whose activation changes
sign are carried further down the DAG.  A binary parameter flips (w' = -w); a ternary one goes
to either other value of -1, 0, +1, chosen by a uniform of its own stream (``vkey``) at the
move's counter, so that every path picks the same value.

Energies are kept as integers wherever they are integers, so that every code path (this one, a
GPU kernel summing in another order) computes the *same* floating-point energy change:

* ``loss_int[b]``: per loss bucket b (rows of one loss weight, see ``class_weight``), the sum
  of squared hinge distances (hinge), of errors (0-1) or of the samples' pairwise squared
  hinges (multiclass);
* ``marg_int[j]``: sum over samples of ``a_nj z_nj`` (``|z|``, or ``y z`` for clamped outputs);
* energy = ``sum_b lw_b loss_int[b] - sum_j mu_j marg_int[j] + hw`` with ``hw = sum_p h_p w_p
  + lambda * (nonzero ternary parameters)``, summed in a fixed order (``lw_b`` = L times the
  bucket's weight).

A hinge output's count is ``c = (z + K[j, n]) // g[j]``: the row's |z| bound (integer inputs
make rows differ) and g = 2 for binary weights, 1 for ternary ones.

The multiclass loss couples every output of a sample: when a move changes outputs of sample n,
the sample's loss is recomputed from its output vector (old values in ``z``, the changes in
``pend``), O(outputs) per affected sample.

Random numbers are the counter-based ones of ``_rng`` (counter: sweep, parameter, replica), so
the result does not depend on how replicas are spread over threads.

Compile time is the first run's cost (numba caches the result): one kernel, :func:`sweeps`,
compiled once for one signature, serves the sweeps and the move scale (its probe mode), and it
is serial (threads over replica slices are the driver's), which halves the compile of a
``prange`` loop.  The helpers stay ``inline="always"``: compiled apart, each call costs more
than the move (measured 3-5x slower sweeps).  But numba's inliner deep-copies a callee's
variable scope once per block of it, so a large helper that itself inlines others costs far
more than its size: the move is written out in :func:`sweeps`, each helper is inlined at one or
two sites, and none nests more than one level; and the kernel is compiled per kind of problem,
without the code of what the problem lacks (``docs/native-annealer.md`` has the numbers).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba.core import types
from numba.extending import intrinsic

from ._kernels_numba import _uniform

_TOL = 1e-9


@intrinsic
def _borrowed(typingctx, arr):
    """``arr`` as a borrowed view: no meminfo (reference count), no parent object.  The caller
    keeps the array alive.  Numba counts a reference at every array variable of every inlined
    helper; with a meminfo known to be null in the same function, LLVM drops every count and
    the loads they pinned.  Without it the serial kernel moved 6x slower (a ``prange`` body
    gets such arrays from its gufunc wrapper; that is why the parallel kernel did not pay it);
    a helper compiled apart sees an unknown meminfo again, hence ``inline="always"``."""

    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, value=args[0])
        ary.meminfo = context.get_constant_null(types.MemInfoPointer(types.voidptr))
        ary.parent = context.get_constant_null(types.pyobject)
        return ary._getvalue()

    return arr(arr), codegen


@nb.njit(inline="always", cache=True)
def _terms_change(j, n, z0, z1, clamped, out01, out_pos, ysign, lo, hi, K, g):  # pragma: no cover
    """(loss, margin) integer change of neuron j on sample n when its pre-activation goes from
    z0 to z1 (multiclass outputs are ``clamped`` with an empty interval flag: see
    :func:`_mc_loss_change`).  The hinge's count is c = (z + K[j, n]) // g[j] (the row's bound;
    g = 2 binary, 1 ternary).  Both ends in one body: numba's inliner pays per call site."""
    m0 = z0 if z0 >= 0 else -z0
    m1 = z1 if z1 >= 0 else -z1
    if not (clamped[j] or out01[j]):
        return 0, m1 - m0
    o = out_pos[j]
    ys = ysign[o, n]
    if clamped[j]:
        shift = g[j] - 1  # z + K >= 0, a multiple of g (1 or 2): no division
        c0 = (z0 + K[j, n]) >> shift
        c1 = (z1 + K[j, n]) >> shift
        d0 = lo[o, n] - c0 if c0 < lo[o, n] else (c0 - hi[o, n] if c0 > hi[o, n] else 0)
        d1 = lo[o, n] - c1 if c1 < lo[o, n] else (c1 - hi[o, n] if c1 > hi[o, n] else 0)
        return d1 * d1 - d0 * d0, ys * (z1 - z0)
    e0 = 1 if (1 if z0 >= 0 else -1) != ys else 0
    e1 = 1 if (1 if z1 >= 0 else -1) != ys else 0
    return e1 - e0, m1 - m0


@nb.njit(inline="always", cache=True)
def _mc_loss_change(r, n, z, pend, mc_outs, ycls, mc_margin):  # pragma: no cover - compiled
    """Change of sample n's multiclass loss, sum over k != y of max(0, margin - (z_y - z_k))^2,
    when the output neurons move by their pending changes ``pend`` (from the replica's z)."""
    y = ycls[n]
    jy = mc_outs[y]
    zy0 = z[r, jy, n]
    zy1 = zy0 + pend[jy]
    total = 0
    for o in range(mc_outs.size):
        if o != y:
            jk = mc_outs[o]
            d0 = mc_margin - (zy0 - z[r, jk, n])
            d1 = mc_margin - (zy1 - z[r, jk, n] - pend[jk])
            total += (d1 * d1 if d1 > 0 else 0) - (d0 * d0 if d0 > 0 else 0)
    return total


@nb.njit(inline="always", cache=True)
def _source(s, n, r, z, XT, n_in):  # pragma: no cover - compiled
    """Value of source unit s on sample n: 1 for a bias, the input, or a neuron's sign."""
    if s < 0:
        return 1
    if s < n_in:
        return XT[s, n]
    return 1 if z[r, s - n_in, n] >= 0 else -1


@nb.njit(inline="always", cache=True)
def _mc_delta(r, n, j, dz, z, mc_outs, ycls, mc_margin):  # pragma: no cover - compiled
    """Change of sample n's multiclass loss when output neuron j moves by ``dz`` (the others
    fixed): every pair when j is the true class's output, else only the pair (y, j).  Equal
    to :func:`_mc_loss_change` of that one move, in O(1) for the other outputs."""
    y = ycls[n]
    jy = mc_outs[y]
    zy = z[r, jy, n]
    if j != jy:
        zj = z[r, j, n]
        d0 = mc_margin - (zy - zj)
        d1 = d0 + dz
        return (d1 * d1 if d1 > 0 else 0) - (d0 * d0 if d0 > 0 else 0)
    total = 0
    for o in range(mc_outs.size):
        if o != y:
            zk = z[r, mc_outs[o], n]
            d0 = mc_margin - (zy - zk)
            d1 = d0 - dz
            total += (d1 * d1 if d1 > 0 else 0) - (d0 * d0 if d0 > 0 else 0)
    return total


#: samples per block of a hidden neuron's move: one vector pass per block gives the margin
#: change and a bit mask of the samples whose sign changes; only those are walked one by one
_BLOCK = 64


@nb.njit(inline="always", cache=True)
def _block_pass(r, j, s, step, z, XT, n_in, n0, n1):  # pragma: no cover - compiled
    """(margin change, bit mask of the samples that change sign, bit i for sample n0 + i) of
    moving plain neuron j by ``step`` times source s on samples n0..n1-1 (n1 - n0 <= 64): a
    branch-free loop the compiler vectorises."""
    dm = 0
    flips = np.uint64(0)
    st = np.int32(step)
    if s < 0:
        for n in range(n0, n1):
            z_old = z[r, j, n]
            z_new = z_old + st
            dm += (z_new if z_new >= 0 else -z_new) - (z_old if z_old >= 0 else -z_old)
            flips |= np.uint64((z_old ^ z_new) < 0) << np.uint64(n - n0)
    elif s < n_in:
        for n in range(n0, n1):
            z_old = z[r, j, n]
            z_new = z_old + st * np.int32(XT[s, n])
            dm += (z_new if z_new >= 0 else -z_new) - (z_old if z_old >= 0 else -z_old)
            flips |= np.uint64((z_old ^ z_new) < 0) << np.uint64(n - n0)
    else:
        k = s - n_in
        for n in range(n0, n1):
            z_old = z[r, j, n]
            z_new = z_old + (st if z[r, k, n] >= 0 else -st)
            dm += (z_new if z_new >= 0 else -z_new) - (z_old if z_old >= 0 else -z_old)
            flips |= np.uint64((z_old ^ z_new) < 0) << np.uint64(n - n0)
    return dm, flips


@nb.njit(inline="always", cache=True)
def _output_block(
    r, j, s, step, z, XT, n_in, n0, n1, has_out, clamped, out01, out_pos, ysign, lo, hi, K, g,
    bucket, dloss,
):  # pragma: no cover - compiled
    """:func:`_block_pass` of a clamped or 0-1 output neuron: adds the loss change of each
    sample n0..n1-1 to ``dloss`` and returns (margin change, bit mask of the samples that
    change sign, where the neuron ``has_out``: a test the loop hoists; computed always, it
    cost a fifth of the speed)."""
    dm = 0
    flips = np.uint64(0)
    for n in range(n0, n1):
        z_old = z[r, j, n]
        z_new = z_old + step * _source(s, n, r, z, XT, n_in)
        d_loss, d_marg = _terms_change(
            j, n, z_old, z_new, clamped, out01, out_pos, ysign, lo, hi, K, g
        )
        dloss[bucket[out_pos[j], n]] += d_loss
        dm += d_marg
        if has_out and (z_old >= 0) != (z_new >= 0):
            flips |= np.uint64(1) << np.uint64(n - n0)
    return dm, flips


@nb.njit(inline="always", cache=True)
def _mc_block(
    r, j, s, step, z, XT, n_in, n0, n1, has_out, out_pos, mc_outs, ycls, mc_margin, bucket, dloss
):  # pragma: no cover - compiled
    """:func:`_output_block` of a multiclass output neuron (no margin term)."""
    flips = np.uint64(0)
    for n in range(n0, n1):
        dz = step * _source(s, n, r, z, XT, n_in)
        dloss[bucket[out_pos[j], n]] += _mc_delta(r, n, j, dz, z, mc_outs, ycls, mc_margin)
        if has_out and (z[r, j, n] >= 0) != (z[r, j, n] + dz >= 0):
            flips |= np.uint64(1) << np.uint64(n - n0)
    return 0, flips


@nb.njit(inline="always", cache=True)
def _apply(r, p, step, params, z, XT, param_neuron, param_src, n_in, chg_idx, chg_val, nchg):
    # pragma: no cover - compiled
    """Commit an accepted move of parameter p by ``step``: the moved neuron on every sample
    (its sources are upstream, so unchanged), then the carried changes."""
    N = z.shape[2]
    j = param_neuron[p]
    s = param_src[p]
    for n in range(N):
        z[r, j, n] += step * _source(s, n, r, z, XT, n_in)
    for q in range(nchg):
        idx = chg_idx[q]
        z[r, idx // N, idx % N] = chg_val[q]
    params[r, p] += step


@nb.njit(inline="always", cache=True)
def _carry(
    r, n, j, z_j, z, params, out_ptr, out_dst, out_arc, clamped, out01, out_pos, ysign, lo,
    hi, K, g, mc, multiclass, mc_outs, ycls, mc_margin, bucket, chg_idx, chg_val, nchg, dmarg,
    dloss, pend,
):  # pragma: no cover - compiled
    """Carry a sign change of neuron j on sample n down the DAG (neurons are numbered in
    topological order, so one pass over the later neurons settles every change).  Multiclass
    outputs keep their change in ``pend`` until the pass ends; then the sample's loss is
    recomputed once from its whole output vector (:func:`_mc_loss_change`).  At most 30
    arguments, as every inlined helper: Python passes more as a tuple, which numba's inliner
    refuses."""
    N = z.shape[2]
    a_new = 1 if z_j >= 0 else -1
    top = j
    for q in range(out_ptr[j], out_ptr[j + 1]):
        k = out_dst[q]
        pend[k] += 2 * params[r, out_arc[q]] * a_new
        if k > top:
            top = k
    touched_mc = False
    k = j + 1
    while k <= top:
        if pend[k] != 0:
            z_old = z[r, k, n]
            z_new = z_old + pend[k]
            chg_idx[nchg] = k * N + n
            chg_val[nchg] = z_new
            nchg += 1
            if mc[k]:
                touched_mc = True  # outputs feed nothing: no further carry
                k += 1
                continue
            pend[k] = 0
            d_loss, d_marg = _terms_change(
                k, n, z_old, z_new, clamped, out01, out_pos, ysign, lo, hi, K, g
            )
            if d_loss != 0:
                dloss[bucket[out_pos[k], n]] += d_loss
            dmarg[k] += d_marg
            if (z_old >= 0) != (z_new >= 0):
                a = 1 if z_new >= 0 else -1
                for q in range(out_ptr[k], out_ptr[k + 1]):
                    d = out_dst[q]
                    pend[d] += 2 * params[r, out_arc[q]] * a
                    if d > top:
                        top = d
        k += 1
    if multiclass is not None and touched_mc:
        dloss[bucket[0, n]] += _mc_loss_change(r, n, z, pend, mc_outs, ycls, mc_margin)
        for o in range(mc_outs.size):
            pend[mc_outs[o]] = 0
    return nchg


@nb.njit(inline="always", cache=True)
def _carry_to_mc(
    r, n, j, z_j, z, params, out_ptr, out_dst, out_arc, mc_outs, ycls, mc_margin, bucket,
    chg_idx, chg_val, nchg, dloss, N,
):  # pragma: no cover - compiled
    """:func:`_carry` of a neuron that feeds multiclass outputs only (a last hidden layer):
    the same buffer entries, in the same order, and the same loss change, in one pass over
    the sample's outputs instead of a walk of the DAG and two loss evaluations."""
    a2 = 2 if z_j >= 0 else -2
    for q in range(out_ptr[j], out_ptr[j + 1]):  # ascending output neuron
        k = out_dst[q]
        d = a2 * params[r, out_arc[q]]
        chg_idx[nchg] = k * N + n
        chg_val[nchg] = z[r, k, n] + d
        nchg += 1
    y = ycls[n]
    jy = mc_outs[y]
    zy0 = z[r, jy, n]
    zy1 = zy0
    q0 = nchg - (out_ptr[j + 1] - out_ptr[j])
    for q in range(q0, nchg):
        if chg_idx[q] // N == jy:
            zy1 = chg_val[q]
    total = 0
    q = q0
    for o in range(mc_outs.size):
        k = mc_outs[o]
        zk0 = z[r, k, n]
        zk1 = zk0
        if q < nchg and chg_idx[q] // N == k:
            zk1 = chg_val[q]
            q += 1
        if o != y:
            d0 = mc_margin - (zy0 - zk0)
            d1 = mc_margin - (zy1 - zk1)
            total += (d1 * d1 if d1 > 0 else 0) - (d0 * d0 if d0 > 0 else 0)
    dloss[bucket[0, n]] += total
    return nchg


@nb.njit(inline="always", cache=True)
def _energy(dloss, marg, lw, mu, hw):  # pragma: no cover - compiled
    """Energy from the integer parts, summed in a fixed order (buckets, then neurons).  Zero
    parts are skipped: subtracting an exact zero leaves a float sum as it is, so the result is
    that of the whole sum, and a move's few nonzero parts cost few dependent operations."""
    e = 0.0
    for b in range(dloss.size):
        if dloss[b] != 0:
            e += lw[b] * dloss[b]
    for k in range(marg.size):
        if marg[k] != 0:
            e -= mu[k] * marg[k]
    return e + hw


@nb.njit(inline="always", cache=True)
def _new_value(wp, ternary, vkey, counter):  # pragma: no cover - compiled
    """The value a move gives a parameter now at ``wp``: -wp for a binary one (no random
    number drawn); for a ternary one either other value, by a uniform of the value stream at
    the move's own counter (0 -> +-1; +-1 -> 0 or -+1)."""
    if not ternary:
        return -wp
    u = _uniform(vkey, counter)
    if wp == 0:
        return 1 if u < 0.5 else -1
    return 0 if u < 0.5 else -wp


@nb.njit(inline="always", cache=True)
def _penalty_change(wp, wn, ternary, h, lam):  # pragma: no cover - compiled
    """Change of the parameter terms (h_p w_p, and lambda |w_p| of ternary ones) of w -> wn;
    a binary flip's is -2 h w as it always was."""
    if not ternary:
        return -2.0 * h * wp
    return h * (wn - wp) + lam * ((wn if wn >= 0 else -wn) - (wp if wp >= 0 else -wp))


@nb.njit(cache=True, nogil=True)
def sweeps(
    r0, r1, params, z, loss_int, marg_int, hw, energy, best_params, best_energy, betas, sweep0,
    key, vkey, free_accept, XT, param_neuron, param_src, n_in, out_ptr, out_dst, out_arc,
    clamped, out01, out_pos, ysign, lo, hi, K, g, mc, mc_outs, ycls, mc_margin, bucket, carries,
    multiclass, mu, lw, h, tern, lam, chg_idx, chg_val, dmarg, dloss, pend, deltas, targets,
):  # pragma: no cover - compiled
    """Run ``betas.shape[0]`` sweeps over every parameter of replicas ``r0 .. r1-1``;
    ``betas[s, r]`` is replica r's inverse temperature in sweep s.  Keeps each replica's best
    parameters.  A ternary parameter's new value comes from the stream ``vkey``
    (:func:`_new_value`).  A non-empty ``deltas`` (``r1 - r0`` rows) asks for the energy change
    of moving every parameter p to ``targets[p]`` instead, nothing applied (the scale
    temperatures are set from): one kernel, compiled once, serves both.

    Serial and ``nogil``: the driver runs slices of the replicas on threads of its own
    (``structured._run_sweeps``); a ``prange`` loop took twice as long to compile (the first
    run's cost, ``bench/first_run.py``).  Every array is :func:`_borrowed` first.

    A move is a block pass (:func:`_block_pass`, :func:`_output_block`, :func:`_mc_block`) per
    64 samples, then a carry down the DAG of each sample whose sign changed, in sample order:
    one call site of :func:`_carry` where there were three, which (with the move written out
    here rather than in a helper) cut the compile from about 16 to 7 s of CPU.

    ``carries`` and ``multiclass`` are None where the problem has no arcs between neurons (so
    no hidden neuron either: each feeds something) or no multiclass outputs, True otherwise.
    Numba prunes a branch on ``x is not None`` by the argument's type before it inlines the
    helpers inside, so each kind of problem compiles only its own code, once: 3-4 s of CPU
    for a perceptron instead of 7 (``bench/kernel_compile.py``).
    """
    params, z, XT, loss_int, marg_int = (
        _borrowed(params), _borrowed(z), _borrowed(XT), _borrowed(loss_int), _borrowed(marg_int)
    )
    hw, energy, best_params, best_energy, betas = (
        _borrowed(hw), _borrowed(energy), _borrowed(best_params), _borrowed(best_energy),
        _borrowed(betas),
    )
    param_neuron, param_src, out_ptr, out_dst, out_arc = (
        _borrowed(param_neuron), _borrowed(param_src), _borrowed(out_ptr), _borrowed(out_dst),
        _borrowed(out_arc),
    )
    clamped, out01, out_pos, ysign, lo, hi, K, g = (
        _borrowed(clamped), _borrowed(out01), _borrowed(out_pos), _borrowed(ysign),
        _borrowed(lo), _borrowed(hi), _borrowed(K), _borrowed(g),
    )
    mc, mc_outs, ycls, bucket, mu, lw, h, tern = (
        _borrowed(mc), _borrowed(mc_outs), _borrowed(ycls), _borrowed(bucket), _borrowed(mu),
        _borrowed(lw), _borrowed(h), _borrowed(tern),
    )
    chg_idx, chg_val, dmarg, dloss, pend, deltas, targets = (
        _borrowed(chg_idx), _borrowed(chg_val), _borrowed(dmarg), _borrowed(dloss),
        _borrowed(pend), _borrowed(deltas), _borrowed(targets),
    )
    R, P = params.shape
    N = z.shape[2]
    ru = np.uint64(R)
    pu = np.uint64(P)
    probe = deltas.size > 0
    for r in range(r0, r1):
        # views taken once: a view per move would touch the shared arrays' reference counts
        dm, dl, ci, cv, pe = dmarg[r], dloss[r], chg_idx[r], chg_val[r], pend[r]
        for s in range(betas.shape[0]):
            beta = betas[s, r]
            base = (np.uint64(sweep0 + s) * pu) * ru
            for p in range(P):
                counter = base + np.uint64(p) * ru + np.uint64(r)
                wp = params[r, p]
                wn = targets[p] if probe else _new_value(wp, tern[p], vkey, counter)
                # the move, evaluated: written out here, not in a helper (see the docstring)
                step = wn - wp
                j = param_neuron[p]
                src = param_src[p]
                plain = not (clamped[j] or out01[j] or mc[j])
                has_out = False
                to_mc = False
                if carries is not None:
                    has_out = out_ptr[j + 1] > out_ptr[j]
                    to_mc = plain and has_out
                    for q in range(out_ptr[j], out_ptr[j + 1]):
                        to_mc = to_mc and mc[out_dst[q]]
                nchg = 0
                dm_j = 0
                for n0 in range(0, N, _BLOCK):
                    n1 = min(n0 + _BLOCK, N)
                    if carries is not None and plain:  # a hidden neuron (every one feeds)
                        d, flips = _block_pass(r, j, src, step, z, XT, n_in, n0, n1)
                    elif multiclass is not None and mc[j]:
                        d, flips = _mc_block(
                            r, j, src, step, z, XT, n_in, n0, n1, has_out, out_pos, mc_outs,
                            ycls, mc_margin, bucket, dl,
                        )
                    else:
                        d, flips = _output_block(
                            r, j, src, step, z, XT, n_in, n0, n1, has_out, clamped, out01,
                            out_pos, ysign, lo, hi, K, g, bucket, dl,
                        )
                    dm_j += d
                    if carries is None:
                        continue
                    n = n0
                    while has_out and flips:  # the samples that change sign, in order
                        if (flips & np.uint64(0xFF)) == 0:
                            flips >>= np.uint64(8)
                            n += 8
                            continue
                        if flips & np.uint64(1):
                            z_new = z[r, j, n] + step * _source(src, n, r, z, XT, n_in)
                            if multiclass is not None and to_mc:
                                nchg = _carry_to_mc(
                                    r, n, j, z_new, z, params, out_ptr, out_dst, out_arc,
                                    mc_outs, ycls, mc_margin, bucket, ci, cv, nchg, dl, N,
                                )
                            else:
                                nchg = _carry(
                                    r, n, j, z_new, z, params, out_ptr, out_dst, out_arc,
                                    clamped, out01, out_pos, ysign, lo, hi, K, g, mc, multiclass,
                                    mc_outs, ycls, mc_margin, bucket, ci, cv, nchg, dm, dl, pe,
                                )
                        flips >>= np.uint64(1)
                        n += 1
                dm[j] += dm_j
                dh = _penalty_change(wp, wn, tern[p], h[p], lam)
                de = _energy(dl, dm, lw, mu, dh)
                accept = de < -_TOL
                if probe:
                    deltas[r - r0, p] = de
                    accept = False
                elif not accept:
                    u = _uniform(key, counter)
                    if de <= _TOL:
                        accept = u < free_accept
                    elif beta * de <= 23.0:
                        accept = u < math.exp(-beta * de)
                if accept:
                    _apply(
                        r, p, step, params, z, XT, param_neuron, param_src, n_in, ci, cv,
                        nchg,
                    )
                    for k in range(dm.size):
                        marg_int[r, k] += dm[k]
                    for b in range(dl.size):
                        loss_int[r, b] += dl[b]
                    if tern[p]:
                        hw[r] += dh
                    else:
                        hw[r] -= 2.0 * h[p] * wp
                    energy[r] = _energy(loss_int[r], marg_int[r], lw, mu, hw[r])
                    if energy[r] < best_energy[r] - _TOL:
                        best_energy[r] = energy[r]
                        for q in range(P):  # a slice assignment: 2 s of compile
                            best_params[r, q] = params[r, q]
                for k in range(dm.size):
                    dm[k] = 0
                for b in range(dl.size):
                    dl[b] = 0
