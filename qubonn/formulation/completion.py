"""Feasible completion: the full QUBO state that a set of parameters implies.

Given the weights, the forward pass fixes every activation; products, tie bits and slack bits
then follow, so that every constraint holds and the energy equals the replayed objective.  This
is the warm start of annealers and repair steps (backends import it from here) and a check of
the formulation.
"""

from __future__ import annotations

import numpy as np

from qubonn.formulation import slack
from qubonn.formulation.builders import slack_ranges
from qubonn.formulation.objective import multiclass_slack_range, true_class
from qubonn.formulation.terms import Formulation
from qubonn.network import Weights


def feasible_state(formulation: Formulation, X: np.ndarray, weights: Weights) -> np.ndarray:
    """The assignment (0/1, label order) that the forward pass with ``weights`` on the +-1
    training inputs ``X`` implies.  Every constraint holds and its energy is the replayed
    objective."""
    f = formulation
    lay = f.layout
    net = f.network
    weights = net.check_weights(weights)
    N, n_in = lay.n_samples, net.n_inputs
    z = net.preactivations(X, weights).astype(np.int64)
    alpha = (z >= 0).astype(np.int64)
    K = net.fan_in.astype(np.int64)
    theta = (K + 1) // 2
    c = (z + K) // 2
    x = np.zeros(lay.n_vars, dtype=np.int8)
    x[: lay.n_arcs] = (weights.w + 1) // 2
    x[lay.b0 : lay.a0] = (weights.b[lay.bias_neurons] + 1) // 2
    x[lay.a0 : lay.u0] = alpha[:, lay.alpha_neurons].reshape(-1)
    e = lay.u_arcs
    omega = (weights.w[e] + 1) // 2
    x[lay.u0 : lay.t0] = (omega[None, :] * alpha[:, net.arc_src[e] - n_in]).reshape(-1)
    # slack value per (n, j): what the sign constraint (or the hinge) leaves over
    shift = np.broadcast_to(theta, (N, net.n_neurons)) * alpha
    r = c - shift
    if lay.tie_neurons.size:
        t = (alpha[:, lay.tie_neurons] == 1) & (r[:, lay.tie_neurons] == theta[lay.tie_neurons])
        x[lay.t0 : lay.s0] = t.reshape(-1)
        r[:, lay.tie_neurons] -= t
    clamped = np.ones(net.n_neurons, dtype=bool)
    clamped[lay.alpha_neurons] = False
    if f.objective.loss == "multiclass":
        out = net.outputs
        cls = true_class(f.targets)
        z_out = z[:, out]
        gap = np.take_along_axis(z_out, cls[:, None], axis=1) - z_out
        top = multiclass_slack_range(net, f.objective)[cls]
        r[:, out] = np.clip(gap - f.objective.multiclass_margin, 0, top)
        r[np.arange(N), out[cls]] = 0
    elif clamped.any():
        out = np.nonzero(clamped)[0]
        pos = np.searchsorted(net.outputs, out)
        y = f.targets[:, pos].astype(np.int64)
        m = f.objective.hard_margin
        hi = np.where(y == 1, K[out] - theta[out] - m, theta[out] - 1 - m)
        r[:, out] = np.clip(c[:, out] - (theta[out] + m) * y, 0, hi)
    ranges = slack_ranges(net, f.objective, f.targets, clamped)
    bits = slack.encode(ranges, f.objective.slack_encoding)
    x[lay.s0 :] = slack.digits(bits, r)
    return x
