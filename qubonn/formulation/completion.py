"""Feasible completion: the full QUBO state that a set of parameters implies.

Given the weights, the forward pass fixes every activation; products, tie bits and slack bits
then follow, so that every constraint holds and the energy equals the replayed objective.  This
is the warm start of annealers and repair steps (backends import it from here) and a check of
the formulation.
"""

from __future__ import annotations

import numpy as np

from qubonn.formulation import slack
from qubonn.formulation.terms import Formulation
from qubonn.network import Weights


def feasible_state(formulation: Formulation, X: np.ndarray, weights: Weights) -> np.ndarray:
    """The assignment (0/1, label order) that the forward pass with ``weights`` on the training
    inputs ``X`` implies.  Every constraint holds and its energy is the replayed objective."""
    f, lay, net = formulation, formulation.layout, formulation.network
    model = f.model
    weights = net.check_weights(weights)
    N, n_in = lay.n_samples, net.n_inputs
    z = net.preactivations(X, weights).astype(np.int64)
    alpha = (z >= 0).astype(np.int64)
    theta = model.theta_n
    c = model.counts(z)
    params = np.concatenate([weights.w, weights.b[net.has_bias]])
    x = np.zeros(lay.n_vars, dtype=np.int8)
    x[: lay.a0] = lay.parameter_bits(params)  # zero weights: both bits off
    x[lay.a0 : lay.u0] = alpha[:, lay.alpha_neurons].reshape(-1)
    e = lay.u_arcs
    src_alpha = alpha[:, net.arc_src[e] - n_in]
    x[lay.u0 : lay.um0] = ((weights.w[e] > 0)[None, :] * src_alpha).reshape(-1)
    em = lay.um_arcs
    x[lay.um0 : lay.t0] = ((weights.w[em] < 0)[None, :] * alpha[:, net.arc_src[em] - n_in]).reshape(
        -1)
    # slack value per (n, j): what the sign constraint (or the hinge) leaves over
    r = c - theta * alpha
    if lay.tie_neurons.size:
        tj = lay.tie_neurons
        t = (alpha[:, tj] == 1) & (r[:, tj] == theta[:, tj]) & (theta[:, tj] >= 1)
        x[lay.t0 : lay.s0] = t.reshape(-1)
        r[:, tj] -= t
    out = model.outputs
    if model.loss == "multiclass":
        cls = model.true_class
        gap = np.take_along_axis(z[:, out], cls[:, None], axis=1) - z[:, out]
        r[:, out] = np.clip(gap - model.mc_margin, 0, model.pair_range_n)
        r[np.arange(N), out[cls]] = 0
    elif model.loss == "hinge":
        y = model.targets.astype(np.int64)
        top = np.where(y == 1, model.label_range_n[:, out, 1], model.label_range_n[:, out, 0])
        r[:, out] = np.clip(c[:, out] - model.shift_n[:, out] * y, 0, top)
    bits = slack.encode(model.slack_range, f.objective.slack_encoding)
    x[lay.s0 :] = slack.digits(bits, r)
    return x
