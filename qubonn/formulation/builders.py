"""The term builders: one function per energy term, over one shared :class:`CountForm`.

:func:`count_form` checks the data, lays out the variables (:class:`Layout`, with the slack bits
from :mod:`qubonn.formulation.slack`) and writes, once, the count form of every neuron on every
sample, c_nj = const + sum coef * x (CSR rows ``n * n_neurons + j``), and the signed residual of
its sign constraint (or hinge).  Each builder turns that into terms:

* :func:`sign_terms`    the sign constraints of the neurons with activation variables;
* :func:`loss_terms`    the squared hinge on clamped outputs, the 0-1 loss, or the pairwise
  multiclass hinge (z_y - z_k - (2m + 1) - s)^2 on the outputs' pre-activations;
* :func:`and_terms`     Rosenberg's products u = omega * alpha;
* :func:`tie_terms`     t <= alpha for even fan-ins;
* :func:`margin_terms`  the soft margin reward;
* :func:`param_terms`   the linear parameter penalties' unit terms.

Adding a term means writing one more builder and listing it in :data:`TERM_BUILDERS` (with its
weight name in :func:`~qubonn.formulation.model.initial_weights`).  What a term needs to know
of the objective (thresholds, ranges, margins, class weights) it reads from ``f.model``, the
:class:`~qubonn.formulation.model.ObjectiveModel`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from qubonn.formulation.layout import Layout
from qubonn.formulation.model import ObjectiveModel, initial_weights, objective_model
from qubonn.formulation.objective import Objective
from qubonn.formulation.slack import SlackBits, encode
from qubonn.formulation.terms import Formulation, ProductTerms, Terms, row_terms
from qubonn.network import Network, check_inputs


@dataclass(frozen=True)
class CountForm:
    """What every term builder starts from: the layout, and count forms and residuals by row.

    Rows are (sample n, neuron j) pairs in sample-major order, ``r = n * n_neurons + j``."""

    network: Network
    objective: Objective
    model: ObjectiveModel  # thresholds, slack ranges, margins, class weights
    layout: Layout
    slack: SlackBits
    row_n: np.ndarray  # per row: sample
    row_j: np.ndarray  # per row: neuron
    count: sp.csr_matrix  # c_r = const_r + count_r x
    const: np.ndarray
    resid: sp.csr_matrix  # residual of the sign constraint / hinge: resid_r x + resid_const_r
    resid_const: np.ndarray
    a_rows: np.ndarray  # rows of neurons with activation variables
    c_rows: np.ndarray  # rows of clamped outputs
    c_targets: np.ndarray  # per clamped row: its 0/1 label
    m_rows: np.ndarray  # multiclass: rows (n, k) of the competing outputs k != y_n
    m_resid: sp.csr_matrix  # their residual z_y - z_k - margin - s:  m_resid x + m_const
    m_const: np.ndarray

    @property
    def n_samples(self) -> int:
        return self.layout.n_samples

    @property
    def targets(self) -> np.ndarray:
        return self.model.targets

    @property
    def n_vars(self) -> int:
        return self.layout.n_vars

    def alpha_var(self, n: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.layout.alpha_var(n, j, self.network.n_neurons)

    def per_sample(self, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sample, unit) of one row per sample and unit, sample-major."""
        return np.repeat(np.arange(self.n_samples), units.size), np.tile(units, self.n_samples)

    def u_var(self, n: np.ndarray, e: np.ndarray) -> np.ndarray:
        return self.layout.u_var(n, e)


def _layout(network: Network, model: ObjectiveModel, encoding: str) -> tuple[Layout, SlackBits]:
    n_neurons = network.n_neurons
    alpha_neurons = np.nonzero(model.has_alpha)[0]
    slack = encode(model.slack_range, encoding)
    layout = Layout(
        n_samples=model.n_samples,
        n_arcs=network.n_arcs,
        bias_neurons=np.nonzero(network.has_bias)[0],
        alpha_neurons=alpha_neurons,
        u_arcs=np.nonzero(network.arc_src >= network.n_inputs)[0],
        tie_neurons=alpha_neurons[model.K[alpha_neurons] % 2 == 0],
        slack_row_sample=slack.owner // n_neurons,
        slack_row_neuron=slack.owner % n_neurons,
        slack_bit=slack.bit,
        slack_coef=slack.coef,
    )
    return layout, slack


def _counts(network: Network, X: np.ndarray, layout: Layout) -> tuple[sp.csr_matrix, np.ndarray]:
    """Count forms c_nj = const + sum coef * var for every (n, j): CSR rows n * n_neurons + j."""
    N, n_neurons, n_in = X.shape[0], network.n_neurons, network.n_inputs
    src, dst = network.arc_src, network.arc_dst
    n_idx = np.arange(N)
    rows, cols, vals = [], [], []
    const = np.zeros(N * n_neurons)
    in_arcs = np.nonzero(src < n_in)[0]
    if in_arcs.size:
        xv = X[:, src[in_arcs]].astype(np.int64)  # (N, arcs)
        r = n_idx[:, None] * n_neurons + dst[in_arcs][None, :]
        rows.append(r.ravel())
        cols.append(np.broadcast_to(in_arcs, xv.shape).ravel())
        vals.append(xv.ravel())
        np.add.at(const, r.ravel(), ((1 - xv) // 2).ravel())
    e = layout.u_arcs
    if e.size:
        r = n_idx[:, None] * n_neurons + dst[e][None, :]
        shape = r.shape
        src_neuron = src[e] - n_in
        rows += [r.ravel()] * 3
        cols.append(np.broadcast_to(e, shape).ravel())
        vals.append(np.full(r.size, -1))
        cols.append(layout.alpha_var(n_idx[:, None], src_neuron[None, :], n_neurons).ravel())
        vals.append(np.full(r.size, -1))
        cols.append(layout.u_var(n_idx[:, None], e[None, :]).ravel())
        vals.append(np.full(r.size, 2))
        np.add.at(const, r.ravel(), 1)
    bias_neurons = layout.bias_neurons
    if bias_neurons.size:
        r = n_idx[:, None] * n_neurons + bias_neurons[None, :]
        rows.append(r.ravel())
        cols.append(np.broadcast_to(layout.b0 + np.arange(bias_neurons.size), r.shape).ravel())
        vals.append(np.ones(r.size, dtype=np.int64))
    count = sp.csr_matrix(
        (np.concatenate(vals).astype(float), (np.concatenate(rows), np.concatenate(cols))),
        shape=(N * n_neurons, layout.n_vars),
    )
    count.sum_duplicates()
    return count, const


def count_form(network: Network, X: np.ndarray, y: np.ndarray, objective: Objective) -> CountForm:
    """Check the data and write the layout, count forms and residuals every builder shares.

    The residual of row (n, j) is  c - shift_j * (alpha or y) - r - t  with shift = theta
    (theta + m for clamped outputs), r the slack integer and t the tie bit."""
    objective = objective.for_network(network)
    X = check_inputs(X, network.n_inputs)
    N = X.shape[0]
    model = objective_model(network, objective, y)
    if model.n_samples != N:
        raise ValueError(f"X has {N} samples but y has {model.n_samples}")
    layout, slack = _layout(network, model, objective.slack_encoding)
    count, const = _counts(network, X, layout)
    n_neurons, n_vars = network.n_neurons, layout.n_vars
    slack_mat = sp.csr_matrix(
        (-slack.coef.astype(float), (slack.owner, layout.s0 + np.arange(slack.size))),
        shape=(N * n_neurons, n_vars),
    )
    row_n = np.repeat(np.arange(N), n_neurons)
    row_j = np.tile(np.arange(n_neurons), N)
    shift = model.shift[row_j]
    a_rows = np.nonzero(model.has_alpha[row_j])[0]
    tie_pos = np.full(n_neurons, -1, dtype=np.int64)
    tie_pos[layout.tie_neurons] = np.arange(layout.tie_neurons.size)
    t_rows = np.nonzero(tie_pos[row_j] >= 0)[0]
    resid_rows = [a_rows, t_rows]
    resid_cols = [
        layout.alpha_var(row_n[a_rows], row_j[a_rows], n_neurons),
        layout.tie_var(row_n[t_rows], row_j[t_rows], n_neurons),
    ]
    resid_vals = [-shift[a_rows].astype(float), -np.ones(t_rows.size)]
    resid_const = const.copy()
    c_rows = np.nonzero(model.clamped[row_j])[0]
    c_targets = model.targets[row_n[c_rows], model.out_pos[row_j[c_rows]]]
    if c_rows.size:
        resid_const[c_rows] -= shift[c_rows] * c_targets
    m_rows, m_resid, m_const = _multiclass_residuals(network, model, count, const, slack_mat)
    resid = (
        count
        + slack_mat
        + sp.csr_matrix(
            (np.concatenate(resid_vals), (np.concatenate(resid_rows), np.concatenate(resid_cols))),
            shape=(N * n_neurons, n_vars),
        )
    )
    return CountForm(
        network=network,
        objective=objective,
        model=model,
        layout=layout,
        slack=slack,
        row_n=row_n,
        row_j=row_j,
        count=count,
        const=const,
        resid=resid.tocsr(),
        resid_const=resid_const,
        a_rows=a_rows,
        c_rows=c_rows,
        c_targets=c_targets,
        m_rows=m_rows,
        m_resid=m_resid,
        m_const=m_const,
    )


def _multiclass_residuals(
    network: Network,
    model: ObjectiveModel,
    count: sp.csr_matrix,
    const: np.ndarray,
    slack_mat: sp.csr_matrix,
) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """Rows (n, k) with k != y_n and the residual z_y - z_k - (2m + 1) - s of each, linear in
    the variables (z = 2c - K); empty unless the loss is multiclass."""
    n_vars = count.shape[1]
    if model.loss != "multiclass":
        return np.zeros(0, dtype=np.int64), sp.csr_matrix((0, n_vars)), np.zeros(0)
    n_neurons, out, K, cls = network.n_neurons, model.outputs, model.K, model.true_class
    n_idx, k_idx = np.nonzero(np.arange(out.size)[None, :] != cls[:, None])
    rows = n_idx * n_neurons + out[k_idx]
    y_rows = n_idx * n_neurons + out[cls[n_idx]]
    resid = 2 * count[y_rows] - 2 * count[rows] + slack_mat[rows]
    k_y, k_k = K[out[cls[n_idx]]], K[out[k_idx]]
    m_const = 2 * const[y_rows] - 2 * const[rows] - k_y + k_k - model.mc_margin
    return rows, resid.tocsr(), m_const.astype(float)


# -- the term builders -------------------------------------------------------------------------
def _squares(f: CountForm, name: str, role: str, rows: np.ndarray) -> ProductTerms:
    """weight * sum over ``rows`` of residual^2 (scaled by the rows' loss weights for the
    loss)."""
    return ProductTerms(
        name=name,
        role=role,
        weight=name,
        A=f.resid[rows],
        a=f.resid_const[rows],
        B=None,
        b=None,
        scale=_row_scale(f, rows) if role == "loss" else np.ones(rows.size),
        sample=f.row_n[rows],
        unit=f.row_j[rows],
    )


def _row_scale(f: CountForm, rows: np.ndarray) -> np.ndarray:
    """The loss weight of output rows (sample n, output neuron j)."""
    return f.model.row_weights[f.row_n[rows], f.model.out_pos[f.row_j[rows]]].astype(float)


def sign_terms(f: CountForm) -> list[Terms]:
    """alpha_nj = [c_nj >= theta_j]: the squared residual of each sign constraint."""
    return [_squares(f, "sign", "constraint", f.a_rows)]


def loss_terms(f: CountForm) -> list[Terms]:
    """Hinge: the squared residual of each clamped output.  0-1: L * [alpha != y].
    Multiclass: L * (z_y - z_k - (2m + 1) - s)^2 per sample and competing output k; its
    minimum over the slack s in [0, S] is the squared hinge max(0, 2m + 1 - (z_y - z_k))^2."""
    if f.model.loss == "multiclass":
        rows = f.m_rows
        return [
            ProductTerms(
                name="loss",
                role="loss",
                weight="loss",
                A=f.m_resid,
                a=f.m_const,
                B=None,
                b=None,
                scale=_row_scale(f, rows),
                sample=f.row_n[rows],
                unit=f.row_j[rows],
            )
        ]
    if f.c_rows.size:
        return [_squares(f, "loss", "loss", f.c_rows)]
    # 0-1 loss: L * [alpha != y] = L * (y + (1 - 2y) alpha)
    samples, neurons = f.per_sample(f.network.outputs)
    yv = f.targets.reshape(-1).astype(float)
    wv = f.model.row_weights.reshape(-1).astype(float)
    alpha = f.alpha_var(samples, neurons)
    return [
        row_terms(
            "loss", "loss", samples, neurons, const=wv * yv, linear=[(alpha, wv * (1 - 2 * yv))]
        )
    ]


def and_terms(f: CountForm) -> list[Terms]:
    """Rosenberg: omega*alpha - 2 omega*u - 2 alpha*u + 3u, zero iff u = omega*alpha."""
    arcs = f.layout.u_arcs
    if not arcs.size:
        return []
    samples, arc = f.per_sample(arcs)
    omega = arc
    alpha = f.alpha_var(samples, f.network.arc_src[arc] - f.network.n_inputs)
    u = f.u_var(samples, arc)
    quadratic = [(omega, alpha, 1.0), (omega, u, -2.0), (alpha, u, -2.0)]
    terms = row_terms(
        "and", "constraint", samples, arc, linear=[(u, 3.0)], quadratic=quadratic, unit_kind="arc"
    )
    return [terms]


def tie_terms(f: CountForm) -> list[Terms]:
    """t <= alpha:  t - t*alpha."""
    ties = f.layout.tie_neurons
    if not ties.size:
        return []
    samples, neurons = f.per_sample(ties)
    t = f.layout.tie_var(samples, neurons, f.network.n_neurons)
    alpha = f.alpha_var(samples, neurons)
    return [
        row_terms(
            "tie", "constraint", samples, neurons, linear=[(t, 1.0)], quadratic=[(t, alpha, -1.0)]
        )
    ]


def margin_terms(f: CountForm) -> list[Terms]:
    """Soft margin: -mu_j (2 alpha - 1)(2c - K)   (alpha -> label for clamped outputs)."""
    a_rows, c_rows, n_vars = f.a_rows, f.c_rows, f.n_vars
    K = f.model.K
    act = sp.csr_matrix(
        (
            np.full(a_rows.size, 2.0),
            (np.arange(a_rows.size), f.alpha_var(f.row_n[a_rows], f.row_j[a_rows])),
        ),
        shape=(a_rows.size, n_vars),
    )
    rows = np.concatenate([a_rows, c_rows])
    a_const = np.full(a_rows.size, -1.0)
    if c_rows.size:
        a_const = np.concatenate([a_const, 2 * f.c_targets.astype(float) - 1])
    return [
        ProductTerms(
            name="margin",
            role="regulariser",
            weight="margin",
            A=sp.vstack([act, sp.csr_matrix((c_rows.size, n_vars))]).tocsr(),
            a=a_const,
            B=(2 * f.count[rows]).tocsr(),
            b=2 * f.const[rows] - K[f.row_j[rows]],
            scale=-f.model.margin_scale[f.row_j[rows]],
            sample=f.row_n[rows],
            unit=f.row_j[rows],
        )
    ]


def param_terms(f: CountForm) -> list[Terms]:
    """Linear parameter penalties: sum_e h_e * w_e = sum_e h_e (2 omega_e - 1), one row each."""
    n_par = f.layout.n_parameters
    par = np.arange(n_par)
    samples = np.full(n_par, -1)
    return [
        row_terms(
            "params",
            "regulariser",
            samples,
            par,
            const=-np.ones(n_par),
            linear=[(par, 2.0)],
            unit_kind="parameter",
        )
    ]


#: The builders, in the order their terms appear in a formulation.
TERM_BUILDERS: tuple[Callable[[CountForm], list[Terms]], ...] = (
    sign_terms,
    loss_terms,
    and_terms,
    tie_terms,
    margin_terms,
    param_terms,
)


def build(
    network: Network,
    X: np.ndarray,
    y: np.ndarray,
    objective: Objective | None = None,
    linear_penalties: np.ndarray | None = None,
) -> Formulation:
    """Formulate the training problem of ``network`` on +-1 data ``X`` with targets ``y``."""
    objective = (objective or Objective()).for_network(network)
    f = count_form(network, X, y, objective)
    n_par = f.layout.n_parameters
    h = np.zeros(n_par) if linear_penalties is None else np.asarray(linear_penalties, float)
    if h.shape != (n_par,):
        raise ValueError(f"linear_penalties has shape {h.shape}; this network needs ({n_par},)")
    terms = [t for builder in TERM_BUILDERS for t in builder(f)]
    return Formulation(
        network=network,
        objective=objective,
        layout=f.layout,
        terms=tuple(terms),
        term_weights=initial_weights(network, objective, f.targets),
        linear_penalties=h,
        targets=f.targets,
    )
