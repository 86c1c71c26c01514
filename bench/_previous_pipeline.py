"""The training pipeline before the structured mode, kept as the baseline of bench/bnn_solver.py.

Until 2026-12-01 the trainer took the best read of a single-spin annealer and *polished* it in
pure Python: single-parameter moves between feasible states, each evaluated by a full forward
pass (``objective_value``), annealed from one loss unit to a hundredth, then a descent.  This is
that code, unchanged but for counting its moves, so that the new solver is measured against what
users had.
"""

from __future__ import annotations

import numpy as np

from qubonn.formulation import objective_value
from qubonn.network import Weights
from qubonn.training.trainer import _pick_best


def pick_best(problem, sampleset) -> Weights:
    """The read whose replayed network has the lowest objective (the trainer's rule)."""
    return _pick_best(problem, sampleset)[0]


def polish(problem, weights: Weights, sweeps: int = 30, max_passes: int = 50, seed: int = 0):
    """The annealed polish (the old default): returns (weights, moves evaluated)."""
    f = problem.formulation
    net = f.network
    rng = np.random.default_rng(seed)
    w = weights.w.copy()
    b = weights.b.copy()
    bias = np.nonzero(net.has_bias)[0]
    moves = 0

    def value() -> float:
        nonlocal moves
        moves += 1
        return objective_value(
            net, problem.X, f.targets, Weights(w, b), f.objective, f.linear_penalties
        )

    def flip(e: int) -> None:
        if e < net.n_arcs:
            w[e] = -w[e]
        else:
            b[bias[e - net.n_arcs]] = -b[bias[e - net.n_arcs]]

    current = value()
    t_hot = f.objective.loss_weight
    best = (current, w.copy(), b.copy())
    for temperature in np.geomspace(t_hot, t_hot / 100, sweeps):
        for e in rng.permutation(net.n_parameters):
            flip(e)
            v = value()
            if v <= current or rng.random() < np.exp((current - v) / temperature):
                current = v
                if v < best[0] - 1e-12:
                    best = (v, w.copy(), b.copy())
            else:
                flip(e)
    current, w[:], b[:] = best
    for _ in range(max_passes):
        improved = False
        for e in rng.permutation(net.n_parameters):
            flip(e)
            v = value()
            if v < current - 1e-12:
                current = v
                improved = True
            else:
                flip(e)
        if not improved:
            break
    return Weights(w, b), moves
