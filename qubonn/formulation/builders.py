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
* :func:`param_terms`   the linear parameter penalties' unit terms;
* :func:`sparsity_terms` lambda (omega + omega-) per ternary parameter: lambda |w| at the minimum.

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
from qubonn.network import Network


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
    u_arcs = np.nonzero(network.arc_src >= network.n_inputs)[0]
    layout = Layout(
        n_samples=model.n_samples,
        n_arcs=network.n_arcs,
        bias_neurons=np.nonzero(network.has_bias)[0],
        minus_params=np.nonzero(network.parameter_ternary)[0],
        alpha_neurons=alpha_neurons,
        u_arcs=u_arcs,
        um_arcs=u_arcs[network.ternary[network.arc_dst[u_arcs]]],
        tie_neurons=np.nonzero(model.tie)[0],
        slack_row_sample=slack.owner // n_neurons,
        slack_row_neuron=slack.owner % n_neurons,
        slack_bit=slack.bit,
        slack_coef=slack.coef,
    )
    return layout, slack


def _counts(network: Network, X: np.ndarray, layout: Layout) -> tuple[sp.csr_matrix, np.ndarray]:
    """Count forms c_nj = const + sum coef * var for every (n, j): CSR rows n * n_neurons + j.

    A binary weight's term w v counts (w v + |v|) / 2 = v omega + (|v| - v) / 2; a ternary
    one's counts w v + |v| = v omega - v omega- + |v| (the module docstring of
    :mod:`qubonn.formulation.model`).  From a neuron, v = 2 alpha - 1 and the products
    u = omega alpha, um = omega- alpha make them quadratic-free."""
    N, n_neurons, n_in = X.shape[0], network.n_neurons, network.n_inputs
    src, dst = network.arc_src, network.arc_dst
    ternary_arc = network.ternary[dst]
    n_idx = np.arange(N)
    rows, cols, vals = [], [], []
    const = np.zeros(N * n_neurons)

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray) -> None:
        rows.append(r.ravel())
        cols.append(np.broadcast_to(c, r.shape).ravel())
        vals.append(np.broadcast_to(v, r.shape).ravel())

    minus = layout.minus_var
    n_arcs = network.n_arcs
    for tern in (False, True):
        in_arcs = np.nonzero((src < n_in) & (ternary_arc == tern))[0]
        if in_arcs.size:
            xv = X[:, src[in_arcs]].astype(np.int64)  # (N, arcs)
            r = n_idx[:, None] * n_neurons + dst[in_arcs][None, :]
            add(r, in_arcs, xv)
            if tern:
                add(r, minus(in_arcs), -xv)
                np.add.at(const, r.ravel(), np.abs(xv).ravel())
            else:
                np.add.at(const, r.ravel(), ((np.abs(xv) - xv) // 2).ravel())
        e = layout.u_arcs[ternary_arc[layout.u_arcs] == tern]
        if e.size:
            r = n_idx[:, None] * n_neurons + dst[e][None, :]
            alpha = layout.alpha_var(n_idx[:, None], src[e][None, :] - n_in, n_neurons)
            u = layout.u_var(n_idx[:, None], e[None, :])
            if tern:  # 2u - omega - 2um + omega- + 1
                add(r, e, np.int64(-1))
                add(r, u, np.int64(2))
                add(r, minus(e), np.int64(1))
                add(r, layout.um_var(n_idx[:, None], e[None, :]), np.int64(-2))
            else:  # 2u - omega - alpha + 1
                add(r, e, np.int64(-1))
                add(r, alpha, np.int64(-1))
                add(r, u, np.int64(2))
            np.add.at(const, r.ravel(), 1)
    bias_neurons = layout.bias_neurons
    if bias_neurons.size:
        r = n_idx[:, None] * n_neurons + bias_neurons[None, :]
        add(r, layout.b0 + np.arange(bias_neurons.size), np.int64(1))
        tern = network.ternary[bias_neurons]
        if tern.any():  # b + 1 = omega - omega- + 1
            rt = r[:, tern]
            add(rt, minus(n_arcs + np.nonzero(tern)[0]), np.int64(-1))
            np.add.at(const, rt.ravel(), 1)
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
    X = network.check_inputs(X)
    N = X.shape[0]
    model = objective_model(network, objective, y, X)
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
    shift = model.shift_n.reshape(-1)
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
    resid_const = const + model.offset_n.reshape(-1)
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
    the variables (z = g c - K_n); empty unless the loss is multiclass."""
    n_vars = count.shape[1]
    if model.loss != "multiclass":
        return np.zeros(0, dtype=np.int64), sp.csr_matrix((0, n_vars)), np.zeros(0)
    n_neurons, out, cls = network.n_neurons, model.outputs, model.true_class
    n_idx, k_idx = np.nonzero(np.arange(out.size)[None, :] != cls[:, None])
    rows = n_idx * n_neurons + out[k_idx]
    y_rows = n_idx * n_neurons + out[cls[n_idx]]
    g_y, g_k = model.g[out[cls[n_idx]]], model.g[out[k_idx]]
    resid = (
        sp.diags(g_y.astype(float)) @ count[y_rows]
        - sp.diags(g_k.astype(float)) @ count[rows]
        + slack_mat[rows]
    )
    K_n = model.K_n.reshape(-1)
    k_y, k_k = K_n[y_rows], K_n[rows]
    m_const = g_y * const[y_rows] - g_k * const[rows] - k_y + k_k - model.mc_margin
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
    terms = [row_terms(
        "and", "constraint", samples, arc, linear=[(u, 3.0)], quadratic=quadratic, unit_kind="arc"
    )]
    if f.layout.um_arcs.size:  # um = omega- alpha, for arcs into ternary groups
        samples, arc = f.per_sample(f.layout.um_arcs)
        minus = f.layout.minus_var(arc)
        alpha = f.alpha_var(samples, f.network.arc_src[arc] - f.network.n_inputs)
        um = f.layout.um_var(samples, arc)
        quadratic = [(minus, alpha, 1.0), (minus, um, -2.0), (alpha, um, -2.0)]
        terms.append(row_terms(
            "and", "constraint", samples, arc, linear=[(um, 3.0)], quadratic=quadratic,
            unit_kind="arc",
        ))
    return terms


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
    """Soft margin: -mu_j (2 alpha - 1)(g c - K_n)   (alpha -> label for clamped outputs)."""
    a_rows, c_rows, n_vars = f.a_rows, f.c_rows, f.n_vars
    K_n, g = f.model.K_n.reshape(-1), f.model.g
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
            B=(sp.diags(g[f.row_j[rows]].astype(float)) @ f.count[rows]).tocsr(),
            b=g[f.row_j[rows]] * f.const[rows] - K_n[rows],
            scale=-f.model.margin_scale[f.row_j[rows]],
            sample=f.row_n[rows],
            unit=f.row_j[rows],
        )
    ]


def param_terms(f: CountForm) -> list[Terms]:
    """Linear parameter penalties: sum_e h_e * w_e, one row each, with w = 2 omega - 1, or
    omega - omega- in ternary groups."""
    lay = f.layout
    tern = np.zeros(lay.n_parameters, dtype=bool)
    tern[lay.minus_params] = True
    binary = np.nonzero(~tern)[0]
    terms = [
        row_terms("params", "regulariser", np.full(binary.size, -1), binary,
                  const=-np.ones(binary.size), linear=[(binary, 2.0)], unit_kind="parameter")
    ]
    par = lay.minus_params
    if par.size:
        terms.append(
            row_terms("params", "regulariser", np.full(par.size, -1), par,
                      linear=[(par, 1.0), (lay.minus_var(par), -1.0)], unit_kind="parameter")
        )
    return terms


def sparsity_terms(f: CountForm) -> list[Terms]:
    """lambda (omega + omega-) per ternary parameter: lambda |w| for the one zero with both
    bits off, and 2 lambda for its alias with both on, so a minimum never keeps the alias."""
    lay = f.layout
    par = lay.minus_params
    if not par.size:
        return []
    return [
        row_terms(
            "sparsity",
            "regulariser",
            np.full(par.size, -1),
            par,
            linear=[(par, 1.0), (lay.minus_var(par), 1.0)],
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
    sparsity_terms,
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
        X=network.check_inputs(X) if network.has_integer_inputs else None,
    )
