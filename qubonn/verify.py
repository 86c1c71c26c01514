"""Checks of exactness: the QUBO's minimum over everything but the weights is the training loss.

Given the parameters, the energy splits into independent per-sample parts, and within a sample,
once the activation and product bits are fixed, each neuron's slack (and tie) bits form their own
small group.  So the minimum over all non-parameter variables is found exactly by enumerating the
activation/product bits of each sample and, for each, every slack group independently.  This scales
to real network sizes (2^(hidden + hidden arcs) per sample), unlike enumerating the whole QUBO.
A group of exchangeable bits (a unary slack: the energy is the same under any permutation of
them) is enumerated by its count alone, size + 1 states, which is still exact.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse.csgraph as csgraph

from qubonn.network import Weights
from qubonn.problem import Problem

MAX_ENUMERATED_BITS = 20
MAX_GROUP_BITS = 16


def _all_assignments(k: int) -> np.ndarray:
    return ((np.arange(1 << k)[:, None] >> np.arange(k)[None, :]) & 1).astype(float)


def _exchangeable(lin: np.ndarray, inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether a group's energy is symmetric under any permutation of its bits: equal linear
    biases ``lin``, one coupling between every pair (``inner``, the group's own block) and equal
    couplings to every outside bit (``outer``, one row per bit)."""
    if lin.size < 2 or not np.allclose(lin, lin[0], rtol=0, atol=1e-12):
        return False
    off = inner[~np.eye(lin.size, dtype=bool)]
    return bool(
        np.allclose(off, off[0], rtol=0, atol=1e-12)
        and np.allclose(outer, outer[0], rtol=0, atol=1e-12)
    )


def _group_assignments(lin: np.ndarray, inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """The states of one slack group to try: all 2^size, or, for exchangeable bits (a unary
    slack), one per count (the first k on), which reach every energy the group can take."""
    size = lin.size
    if _exchangeable(lin, inner, outer):
        return (np.arange(size + 1)[:, None] > np.arange(size)[None, :]).astype(float)
    if size > MAX_GROUP_BITS:
        raise ValueError(f"a slack group has {size} bits; limit {MAX_GROUP_BITS}")
    return _all_assignments(size)


def min_energy_given_weights(
    problem: Problem, weights: Weights, parameter_bits: np.ndarray | None = None
) -> float:
    """min over every non-parameter variable of the QUBO energy, with the parameters fixed
    (``parameter_bits``: these bits instead of the weights' own, e.g. a zero's alias)."""
    weights = problem.network.check_weights(weights)
    lay = problem.formulation.layout
    n = problem.n_variables
    q = problem.qubo()
    Q = q.quadratic.tocsr()
    S = (Q + Q.T).tocsr()  # symmetric couplings, zero diagonal
    p = lay.n_parameter_bits
    params = np.concatenate([weights.w, weights.b[lay.bias_neurons]])
    bits = lay.parameter_bits(params) if parameter_bits is None else parameter_bits
    omega = np.asarray(bits, dtype=float)
    const = q.offset + float(q.linear[:p] @ omega) + float(omega @ (Q[:p, :p] @ omega))
    lin = q.linear[p:] + S[:p, p:].T @ omega  # effective linear biases of the rest
    rest = S[p:, p:].tocsr()
    labels = problem.labels[p:]
    kinds = np.array([lab[0] for lab in labels])
    n_rest = n - p
    # components of the per-sample graph: each is one sample (checked by construction)
    n_comp, comp = csgraph.connected_components(rest, directed=False)
    total = const
    order = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[order], np.arange(n_comp + 1))
    for c in range(n_comp):
        idx = order[bounds[c] : bounds[c + 1]]
        enum = idx[np.isin(kinds[idx], ["a", "u"])]
        free = idx[~np.isin(kinds[idx], ["a", "u"])]
        if enum.size > MAX_ENUMERATED_BITS:
            raise ValueError(
                f"a sample has {enum.size} activation/product bits; exact check limited to "
                f"{MAX_ENUMERATED_BITS}"
            )
        YE = _all_assignments(enum.size)
        SE = rest[enum][:, enum].toarray() / 2
        energy = YE @ lin[enum] + np.einsum("ai,ij,aj->a", YE, SE, YE)
        if free.size:
            sub = rest[free][:, free]
            k, groups = csgraph.connected_components(sub, directed=False)
            for g in range(k):
                gi = free[groups == g]
                inner = rest[gi][:, gi].toarray()
                outer = rest[enum][:, gi].toarray()  # (E, C)
                YC = _group_assignments(lin[gi], inner, outer.T)
                own = YC @ lin[gi] + np.einsum("ai,ij,aj->a", YC, inner / 2, YC)
                cross = YE @ outer @ YC.T  # (2^E, 2^C)
                energy = energy + np.min(cross + own[None, :], axis=1)
        total += float(np.min(energy))
    assert n_rest == sum(bounds[1:] - bounds[:-1])
    return total


def expected_energy(problem: Problem, weights: Weights) -> float:
    """What min_energy_given_weights must equal: loss + regularisers of the forward pass."""
    return problem.objective_value(weights)


def all_weight_assignments(problem: Problem):
    """Every Weights of the problem's network (only for tiny networks: 2^binary parameters x
    3^ternary ones)."""
    net = problem.network
    p = net.n_parameters
    domains = [(-1, 0, 1) if t else (-1, 1) for t in net.parameter_ternary.tolist()]
    if np.prod([len(d) for d in domains]) > 1 << 16:
        raise ValueError(f"{p} parameters: too many to enumerate (limit 2^16 assignments)")
    bias = np.nonzero(net.has_bias)[0]
    for bits in itertools.product(*domains):
        w = np.array(bits[: net.n_arcs], dtype=np.int8)
        b = np.zeros(net.n_neurons, dtype=np.int8)
        b[bias] = bits[net.n_arcs :]
        yield Weights(w=w, b=b)


def check_exact(problem: Problem, weights_list, tol: float = 1e-9) -> list[tuple[float, float]]:
    """(min energy, expected) pairs that differ by more than ``tol``; empty means exact."""
    bad = []
    for w in weights_list:
        got = min_energy_given_weights(problem, w)
        want = expected_energy(problem, w)
        if abs(got - want) > tol * max(1.0, abs(want)):
            bad.append((got, want))
    return bad
