"""The formulation: (network, data, objective) -> named energy terms over binary variables.

This module decides *what* the training energy is; the compiler engines (``qubonn.compiler``)
decide how to turn it into a QUBO.  ``docs/formulation.md`` states the mathematics; the names here
follow it.

Variables (all 0/1):

* ``w[e]``      weight bit of arc e (w = 2 omega - 1);
* ``b[j]``      bias bit of neuron j (only neurons with a bias);
* ``a[n,j]``    activation bit of neuron j on sample n (hidden neurons; outputs too under 0-1 loss);
* ``u[n,e]``    product omega_e * alpha_{n,src(e)} for arcs leaving a neuron;
* ``t[n,j]``    tie bit of an even-fan-in neuron (lets the slack reach one more on the +1 side);
* ``s[n,j,k]``  slack bits of neuron j's sign constraint (or of an output's hinge loss).

Every term is one of two shapes, so that each engine needs only two code paths:

* :class:`ProductTerms`  weight * sum_r scale_r (A_r x + a_r)(B_r x + b_r)  (B is A for squares);
* :class:`PolyTerms`     weight * sum of explicit linear and quadratic monomials, by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp

from qubonn.network import Network

LossName = Literal["hinge", "01"]


@dataclass(frozen=True)
class Objective:
    """What training minimises.

    loss:          "hinge" clamps each output's activation to its label; the sign constraint's
                   residual becomes a squared hinge on the output's count (0 iff correct, with
                   margin ``hard_margin``).  "01" keeps outputs as variables and charges
                   ``loss_weight`` per misclassified output.
    loss_weight:   L, the weight of the loss term.
    margin:        mu >= 0, soft margin reward  -mu * sum_n sum_j a_nj z_nj  (= -mu sum |z|).
    margin_scale:  "none" or "fan_in" (use mu / K_j per neuron).
    hard_margin:   m >= 0 (hinge loss only): an output counts as correct only if |z| >= 2m + 1.
    penalties:     overrides of the constraint weights {"and", "sign", "tie"}; missing ones get
                   the safe value from :func:`safe_penalties`.
    """

    loss: LossName = "hinge"
    loss_weight: float = 1.0
    margin: float = 0.0
    margin_scale: Literal["none", "fan_in"] = "none"
    hard_margin: int = 0
    penalties: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.loss not in ("hinge", "01"):
            raise ValueError(f"loss must be 'hinge' or '01', not {self.loss!r}")
        if not (np.isfinite(self.loss_weight) and self.loss_weight > 0):
            raise ValueError(f"loss_weight must be a positive number, not {self.loss_weight!r}")
        if not (np.isfinite(self.margin) and self.margin >= 0):
            raise ValueError(f"margin (mu) must be a number >= 0, not {self.margin!r}")
        if self.margin_scale not in ("none", "fan_in"):
            raise ValueError(f"margin_scale must be 'none' or 'fan_in', not {self.margin_scale!r}")
        if int(self.hard_margin) != self.hard_margin or self.hard_margin < 0:
            raise ValueError(f"hard_margin must be an integer >= 0, not {self.hard_margin!r}")
        if self.hard_margin and self.loss != "hinge":
            raise ValueError("hard_margin needs loss='hinge' (it shifts the hinge's target)")
        unknown = set(self.penalties) - {"and", "sign", "tie"}
        if unknown:
            raise ValueError(
                f"unknown penalty name(s) {sorted(unknown)}; valid: 'and', 'sign', 'tie'"
            )
        for k, v in self.penalties.items():
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"penalty '{k}' must be a positive number, not {v!r}")


@dataclass(frozen=True)
class ProductTerms:
    """weight * sum_r scale_r * (A_r x + a_r) * (B_r x + b_r); ``B is None`` means B = A."""

    name: str
    role: Literal["constraint", "loss", "regulariser"]
    weight: str
    A: sp.csr_matrix
    a: np.ndarray
    B: sp.csr_matrix | None
    b: np.ndarray | None
    scale: np.ndarray
    sample: np.ndarray  # row -> sample n
    unit: np.ndarray  # row -> neuron j

    @property
    def n_rows(self) -> int:
        return int(self.a.size)

    def row_values(self, x: np.ndarray) -> np.ndarray:
        """Value of each row (without the weight) for 0/1 assignments x (n_vars,) or (S, n_vars)."""
        left = (self.A @ x.T).T + self.a
        right = left if self.B is None else (self.B @ x.T).T + self.b
        return self.scale * left * right


@dataclass(frozen=True)
class PolyTerms:
    """weight * sum over rows of (const_r + sum lin_coef x_i + sum quad_coef x_i x_j)."""

    name: str
    role: Literal["constraint", "loss", "regulariser"]
    weight: str
    n_rows: int
    const: np.ndarray  # (rows,)
    lin_row: np.ndarray
    lin_var: np.ndarray
    lin_coef: np.ndarray
    quad_row: np.ndarray
    quad_i: np.ndarray
    quad_j: np.ndarray
    quad_coef: np.ndarray
    sample: np.ndarray
    unit: np.ndarray  # neuron j, or arc e for arc-level rows (see unit_kind)
    unit_kind: Literal["neuron", "arc", "parameter"] = "neuron"

    def row_values(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        out = np.tile(self.const.astype(float), (x.shape[0], 1))
        for s in range(x.shape[0]):
            np.add.at(out[s], self.lin_row, self.lin_coef * x[s, self.lin_var])
            np.add.at(out[s], self.quad_row, self.quad_coef * x[s, self.quad_i] * x[s, self.quad_j])
        return out


Terms = ProductTerms | PolyTerms

#: The quadratic fields of a PolyTerms that has only linear monomials.
_NO_QUADRATIC = {
    "quad_row": np.zeros(0, dtype=np.int64),
    "quad_i": np.zeros(0, dtype=np.int64),
    "quad_j": np.zeros(0, dtype=np.int64),
    "quad_coef": np.zeros(0),
}


@dataclass(frozen=True)
class Layout:
    """Where each kind of variable lives in the flat index space, and its label."""

    n_samples: int
    n_arcs: int
    bias_neurons: np.ndarray  # neurons with a bias, in order
    alpha_neurons: np.ndarray  # neurons with activation variables
    u_arcs: np.ndarray  # arcs with product variables
    tie_neurons: np.ndarray  # neurons with a tie bit (even K, alpha variable)
    slack_row_sample: np.ndarray  # per slack bit: sample
    slack_row_neuron: np.ndarray  # per slack bit: neuron
    slack_bit: np.ndarray  # per slack bit: bit number k
    slack_coef: np.ndarray  # per slack bit: its weight in the slack integer

    @property
    def w0(self) -> int:
        return 0

    @property
    def b0(self) -> int:
        return self.n_arcs

    @property
    def a0(self) -> int:
        return self.b0 + self.bias_neurons.size

    @property
    def u0(self) -> int:
        return self.a0 + self.n_samples * self.alpha_neurons.size

    @property
    def t0(self) -> int:
        return self.u0 + self.n_samples * self.u_arcs.size

    @property
    def s0(self) -> int:
        return self.t0 + self.n_samples * self.tie_neurons.size

    @property
    def n_vars(self) -> int:
        return self.s0 + self.slack_bit.size

    @property
    def n_parameters(self) -> int:
        return self.n_arcs + self.bias_neurons.size

    def labels(self) -> list[str]:
        """Variable labels in index order (what the BQM and PyQUBO use)."""
        n = self.n_samples
        out = [f"w[{e}]" for e in range(self.n_arcs)]
        out += [f"b[{j}]" for j in self.bias_neurons]
        out += [f"a[{s},{j}]" for s in range(n) for j in self.alpha_neurons]
        out += [f"u[{s},{e}]" for s in range(n) for e in self.u_arcs]
        out += [f"t[{s},{j}]" for s in range(n) for j in self.tie_neurons]
        out += [
            f"s[{s},{j},{k}]"
            for s, j, k in zip(
                self.slack_row_sample.tolist(),
                self.slack_row_neuron.tolist(),
                self.slack_bit.tolist(),
                strict=True,
            )
        ]
        return out


@dataclass(frozen=True)
class Formulation:
    """Everything an engine needs: variables, terms, and the weights to apply to them."""

    network: Network
    objective: Objective
    layout: Layout
    terms: tuple[Terms, ...]
    weights: dict[str, float]  # "and", "sign", "tie", "loss", "margin"
    linear_penalties: np.ndarray  # h_e per parameter (arcs, then biases)
    targets: np.ndarray  # (N, n_outputs) 0/1

    def with_weights(self, **weights: float) -> Formulation:
        """New weights; constraint penalties not set explicitly are recomputed to stay safe."""
        unknown = set(weights) - set(self.weights)
        if unknown:
            raise ValueError(f"unknown weight(s) {sorted(unknown)}; valid: {sorted(self.weights)}")
        merged = {**self.weights, **weights}
        objective = replace(
            self.objective,
            loss_weight=merged["loss"],
            margin=merged["margin"],
            penalties={
                **self.objective.penalties,
                **{k: v for k, v in weights.items() if k in ("and", "sign", "tie")},
            },
        )
        # penalties the user never set follow the loss and margin weights, so they stay safe
        safe = safe_penalties(self.network, objective)
        for k, v in safe.items():
            if k not in objective.penalties:
                merged[k] = v
        return replace(self, weights=merged, objective=objective)


def slack_coefficients(upper: int) -> np.ndarray:
    """Bit weights 1, 2, 4, ..., trimmed so that the bits reach exactly every integer 0..upper."""
    if upper <= 0:
        return np.zeros(0, dtype=np.int64)
    k = int(upper).bit_length()
    coefs = 1 << np.arange(k, dtype=np.int64)
    coefs[-1] = upper - (coefs[:-1].sum())
    return coefs


def as_targets(y: np.ndarray, n_outputs: int) -> np.ndarray:
    """Labels -> (N, n_outputs) 0/1 targets.  Accepts +-1 or 0/1, shape (N,) or (N, n_outputs)."""
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ValueError(
            f"targets have shape {np.asarray(y).shape}; the network has {n_outputs} output(s), "
            f"so pass (N,) for one output or (N, {n_outputs}) with one column per output"
        )
    values = set(np.unique(y).tolist())
    if values <= {0, 1}:
        return y.astype(np.int8)
    if values <= {-1, 1}:
        return ((y + 1) // 2).astype(np.int8)
    raise ValueError(f"targets must be +-1 or 0/1; found values {sorted(values)[:5]}")


def thresholds(network: Network, hard_margin: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """theta_j = ceil(K_j / 2) and the slack ranges (R0 for alpha = 0, R1 for alpha = 1).

    alpha = 1 iff c >= theta (sign(0) = +1); with margin m the +1 side is c in [theta + m, K] and
    the -1 side c in [0, theta - 1 - m].
    """
    K = network.fan_in.astype(np.int64)
    theta = (K + 1) // 2
    r0 = theta - 1 - hard_margin
    r1 = K - theta - hard_margin
    return theta, r0, r1


def build(
    network: Network,
    X: np.ndarray,
    y: np.ndarray,
    objective: Objective | None = None,
    linear_penalties: np.ndarray | None = None,
) -> Formulation:
    """Formulate the training problem of ``network`` on +-1 data ``X`` with targets ``y``."""
    objective = objective or Objective()
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != network.n_inputs:
        raise ValueError(
            f"X has shape {X.shape}; the network needs (N, {network.n_inputs}) +-1 inputs"
        )
    if X.shape[0] == 0:
        raise ValueError("X has no samples")
    if not np.all((X == 1) | (X == -1)):
        raise ValueError("X must contain only -1 and +1 (binarise the data first)")
    N = X.shape[0]
    Y = as_targets(y, network.n_outputs)
    if Y.shape[0] != N:
        raise ValueError(f"X has {N} samples but y has {Y.shape[0]}")
    n_neurons = network.n_neurons
    n_in = network.n_inputs
    src, dst = network.arc_src, network.arc_dst
    K = network.fan_in.astype(np.int64)
    theta, r0, r1 = thresholds(network)
    clamped = np.zeros(n_neurons, dtype=bool)
    if objective.loss == "hinge":
        clamped[network.outputs] = True
        feeds = src[src >= n_in] - n_in
        if np.any(clamped[feeds]):
            j = int(feeds[clamped[feeds]][0])
            raise ValueError(
                f"output {network.neuron_names[j]} feeds another neuron; the hinge loss clamps "
                "outputs to their labels, so use loss='01' for such networks"
            )
        m = objective.hard_margin
        out = network.outputs
        r0o = theta[out] - 1 - m
        if np.any(r0o < 0):
            j = int(out[np.argmax(r0o < 0)])
            raise ValueError(
                f"hard_margin={m} needs fan-in >= {2 * m + 1} at every output; "
                f"{network.neuron_names[j]} has fan-in {int(K[j])}"
            )
    alpha_neurons = np.nonzero(~clamped)[0]
    alpha_pos = np.full(n_neurons, -1, dtype=np.int64)
    alpha_pos[alpha_neurons] = np.arange(alpha_neurons.size)
    u_arcs = np.nonzero(src >= n_in)[0]
    u_pos = np.full(src.size, -1, dtype=np.int64)
    u_pos[u_arcs] = np.arange(u_arcs.size)
    tie_neurons = alpha_neurons[K[alpha_neurons] % 2 == 0]
    tie_pos = np.full(n_neurons, -1, dtype=np.int64)
    tie_pos[tie_neurons] = np.arange(tie_neurons.size)
    bias_neurons = np.nonzero(network.has_bias)[0]
    bias_pos = np.full(n_neurons, -1, dtype=np.int64)
    bias_pos[bias_neurons] = np.arange(bias_neurons.size)

    # --- slack bits: alpha neurons use range r0 (r0 + tie bit on the +1 side); clamped outputs
    # use r1 or r0 (with the hard margin) by label.
    m = objective.hard_margin
    ranges = np.zeros((N, n_neurons), dtype=np.int64)
    ranges[:, alpha_neurons] = r0[alpha_neurons]
    if clamped.any():
        out = network.outputs
        ranges[:, out] = np.where(Y == 1, (r1 - m)[out], (r0 - m)[out])
    nbits = np.zeros_like(ranges)
    pos = ranges > 0
    nbits[pos] = np.floor(np.log2(ranges[pos])).astype(np.int64) + 1
    # rows (n, j) in sample-major order; each gets nbits[n, j] consecutive slack variables
    flat_bits = nbits.reshape(-1)
    slack_start = np.concatenate([[0], np.cumsum(flat_bits)[:-1]])
    total_bits = int(flat_bits.sum())
    slack_owner = np.repeat(np.arange(N * n_neurons), flat_bits)
    slack_k = np.arange(total_bits) - slack_start[slack_owner]
    slack_coef = (1 << slack_k).astype(np.int64)
    last = slack_k == nbits.reshape(-1)[slack_owner] - 1
    owner_range = ranges.reshape(-1)[slack_owner]
    slack_coef[last] = owner_range[last] - ((1 << slack_k[last]) - 1)

    layout = Layout(
        n_samples=N,
        n_arcs=int(src.size),
        bias_neurons=bias_neurons,
        alpha_neurons=alpha_neurons,
        u_arcs=u_arcs,
        tie_neurons=tie_neurons,
        slack_row_sample=slack_owner // n_neurons,
        slack_row_neuron=slack_owner % n_neurons,
        slack_bit=slack_k,
        slack_coef=slack_coef,
    )
    n_vars = layout.n_vars
    n_alpha = alpha_neurons.size
    n_u = u_arcs.size

    def alpha_var(n: np.ndarray, j: np.ndarray) -> np.ndarray:
        return layout.a0 + n * n_alpha + alpha_pos[j]

    def u_var(n: np.ndarray, e: np.ndarray) -> np.ndarray:
        return layout.u0 + n * n_u + u_pos[e]

    # --- count forms c_nj = const + sum coef * var, for every (n, j): CSR rows n * n_neurons + j
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
    if n_u:
        e = u_arcs
        r = n_idx[:, None] * n_neurons + dst[e][None, :]
        shape = r.shape
        src_neuron = src[e] - n_in
        rows += [r.ravel()] * 3
        cols.append(np.broadcast_to(e, shape).ravel())
        vals.append(np.full(r.size, -1))
        cols.append(alpha_var(n_idx[:, None], src_neuron[None, :]).ravel())
        vals.append(np.full(r.size, -1))
        cols.append(u_var(n_idx[:, None], e[None, :]).ravel())
        vals.append(np.full(r.size, 2))
        np.add.at(const, r.ravel(), 1)
    if bias_neurons.size:
        r = n_idx[:, None] * n_neurons + bias_neurons[None, :]
        rows.append(r.ravel())
        cols.append(np.broadcast_to(layout.b0 + np.arange(bias_neurons.size), r.shape).ravel())
        vals.append(np.ones(r.size, dtype=np.int64))
    count = sp.csr_matrix(
        (np.concatenate(vals).astype(float), (np.concatenate(rows), np.concatenate(cols))),
        shape=(N * n_neurons, n_vars),
    )
    count.sum_duplicates()

    # --- the signed residual of each sign constraint / hinge: c - theta' * (alpha or y) - r - t
    slack_mat = sp.csr_matrix(
        (-slack_coef.astype(float), (slack_owner, layout.s0 + np.arange(total_bits))),
        shape=(N * n_neurons, n_vars),
    )
    row_n = np.repeat(n_idx, n_neurons)
    row_j = np.tile(np.arange(n_neurons), N)
    shift = np.where(clamped, theta + m, theta)[row_j]
    resid_rows, resid_cols, resid_vals = [], [], []
    resid_const = const.copy()
    a_rows = np.nonzero(~clamped[row_j])[0]
    resid_rows.append(a_rows)
    resid_cols.append(alpha_var(row_n[a_rows], row_j[a_rows]))
    resid_vals.append(-shift[a_rows].astype(float))
    t_rows = np.nonzero(tie_pos[row_j] >= 0)[0]
    resid_rows.append(t_rows)
    resid_cols.append(layout.t0 + row_n[t_rows] * tie_neurons.size + tie_pos[row_j[t_rows]])
    resid_vals.append(-np.ones(t_rows.size))
    c_rows = np.nonzero(clamped[row_j])[0]
    if c_rows.size:
        out_pos = np.full(n_neurons, -1, dtype=np.int64)
        out_pos[network.outputs] = np.arange(network.n_outputs)
        yv = Y[row_n[c_rows], out_pos[row_j[c_rows]]]
        resid_const[c_rows] -= shift[c_rows] * yv
    resid = (
        count
        + slack_mat
        + sp.csr_matrix(
            (np.concatenate(resid_vals), (np.concatenate(resid_rows), np.concatenate(resid_cols))),
            shape=(N * n_neurons, n_vars),
        )
    )
    resid = resid.tocsr()

    def squares(name: str, role: str, rows: np.ndarray) -> ProductTerms:
        """weight * sum over ``rows`` of residual^2."""
        return ProductTerms(
            name=name,
            role=role,
            weight=name,
            A=resid[rows],
            a=resid_const[rows],
            B=None,
            b=None,
            scale=np.ones(rows.size),
            sample=row_n[rows],
            unit=row_j[rows],
        )

    terms: list[Terms] = [squares("sign", "constraint", a_rows)]
    if c_rows.size:
        terms.append(squares("loss", "loss", c_rows))
    else:  # 0-1 loss: L * [alpha != y] = L * (y + (1 - 2y) alpha)
        out = network.outputs
        nn = np.repeat(n_idx, out.size)
        jj = np.tile(out, N)
        yv = Y.reshape(-1).astype(float)
        terms.append(
            PolyTerms(
                name="loss",
                role="loss",
                weight="loss",
                n_rows=nn.size,
                const=yv,
                lin_row=np.arange(nn.size),
                lin_var=alpha_var(nn, jj),
                lin_coef=1 - 2 * yv,
                **_NO_QUADRATIC,
                sample=nn,
                unit=jj,
            )
        )

    if n_u:  # Rosenberg: omega*alpha - 2 omega*u - 2 alpha*u + 3u, zero iff u = omega*alpha
        nn = np.repeat(n_idx, n_u)
        ee = np.tile(u_arcs, N)
        om = ee
        al = alpha_var(nn, src[ee] - n_in)
        uu = u_var(nn, ee)
        rr = np.arange(nn.size)
        terms.append(
            PolyTerms(
                name="and",
                role="constraint",
                weight="and",
                n_rows=nn.size,
                const=np.zeros(nn.size),
                lin_row=rr,
                lin_var=uu,
                lin_coef=np.full(nn.size, 3.0),
                quad_row=np.concatenate([rr, rr, rr]),
                quad_i=np.concatenate([om, om, al]),
                quad_j=np.concatenate([al, uu, uu]),
                quad_coef=np.concatenate(
                    [np.ones(nn.size), np.full(nn.size, -2.0), np.full(nn.size, -2.0)]
                ),
                sample=nn,
                unit=ee,
                unit_kind="arc",
            )
        )
    if tie_neurons.size:  # t <= alpha:  t - t*alpha
        nn = np.repeat(n_idx, tie_neurons.size)
        jj = np.tile(tie_neurons, N)
        tt = layout.t0 + nn * tie_neurons.size + tie_pos[jj]
        rr = np.arange(nn.size)
        terms.append(
            PolyTerms(
                name="tie",
                role="constraint",
                weight="tie",
                n_rows=nn.size,
                const=np.zeros(nn.size),
                lin_row=rr,
                lin_var=tt,
                lin_coef=np.ones(nn.size),
                quad_row=rr,
                quad_i=tt,
                quad_j=alpha_var(nn, jj),
                quad_coef=-np.ones(nn.size),
                sample=nn,
                unit=jj,
            )
        )

    # soft margin: -mu_j (2 alpha - 1)(2c - K)   (alpha -> label for clamped outputs)
    mu_scale = np.ones(n_neurons) if objective.margin_scale == "none" else 1.0 / K
    act = sp.csr_matrix(
        (
            np.full(a_rows.size, 2.0),
            (np.arange(a_rows.size), alpha_var(row_n[a_rows], row_j[a_rows])),
        ),
        shape=(a_rows.size, n_vars),
    )
    act_const = np.full(a_rows.size, -1.0)
    all_rows = np.concatenate([a_rows, c_rows])
    A = sp.vstack([act, sp.csr_matrix((c_rows.size, n_vars))]).tocsr()
    a_const = act_const
    if c_rows.size:
        out_pos = np.full(n_neurons, -1, dtype=np.int64)
        out_pos[network.outputs] = np.arange(network.n_outputs)
        yv = Y[row_n[c_rows], out_pos[row_j[c_rows]]].astype(float)
        a_const = np.concatenate([act_const, 2 * yv - 1])
    terms.append(
        ProductTerms(
            name="margin",
            role="regulariser",
            weight="margin",
            A=A,
            a=a_const,
            B=(2 * count[all_rows]).tocsr(),
            b=2 * const[all_rows] - K[row_j[all_rows]],
            scale=-mu_scale[row_j[all_rows]],
            sample=row_n[all_rows],
            unit=row_j[all_rows],
        )
    )

    # linear parameter penalties: sum_e h_e * w_e = sum_e h_e (2 omega_e - 1)
    n_par = layout.n_parameters
    par = np.arange(n_par)
    terms.append(
        PolyTerms(
            name="params",
            role="regulariser",
            weight="params",
            n_rows=n_par,
            const=-np.ones(n_par),
            lin_row=par,
            lin_var=par,
            lin_coef=np.full(n_par, 2.0),
            **_NO_QUADRATIC,
            sample=np.full(n_par, -1),
            unit=par,
            unit_kind="parameter",
        )
    )

    h = np.zeros(n_par) if linear_penalties is None else np.asarray(linear_penalties, float)
    if h.shape != (n_par,):
        raise ValueError(f"linear_penalties has shape {h.shape}; this network needs ({n_par},)")
    weights = {
        "loss": float(objective.loss_weight),
        "margin": float(objective.margin),
        **safe_penalties(network, objective),
    }
    for k, v in objective.penalties.items():
        weights[k] = float(v)
    return Formulation(
        network=network,
        objective=objective,
        layout=layout,
        terms=tuple(terms),
        weights=weights,
        linear_penalties=h,
        targets=Y,
    )


def hidden_sources(network: Network) -> np.ndarray:
    """H_j: number of arcs into neuron j that come from a neuron (those carry product terms)."""
    n_in = network.n_inputs
    src, dst = network.arc_src, network.arc_dst
    return np.bincount(dst[src >= n_in], minlength=network.n_neurons)


def max_loss_per_sample(network: Network, objective: Objective) -> float:
    """The largest value the loss of one sample can take on a feasible state."""
    out = network.outputs
    if objective.loss == "01":
        return objective.loss_weight * out.size
    K = network.fan_in[out].astype(np.int64)
    theta = (K + 1) // 2
    m = objective.hard_margin
    worst = np.maximum(theta + m, K - (theta - 1 - m))  # distance of c to the wrong interval
    return float(objective.loss_weight * np.sum(worst.astype(float) ** 2))


def safe_penalties(network: Network, objective: Objective) -> dict[str, float]:
    """Constraint weights that make every violation unprofitable.

    Given the weights, the energy splits into independent per-sample parts.  A feasible sample
    part equals loss_n + margin_n.  Any violated constraint costs at least its weight (every
    constraint is an integer-valued non-negative polynomial), and the loss stays >= 0.  The soft
    margin term -mu_j a z is within mu_j (K_j + 4 H_j) of zero even on infeasible states (a broken
    product makes an agreement bit range over -1..3), and within mu_j K_j on feasible ones.  So a
    weight above  max loss_n + sum_j mu_j (2 K_j + 4 H_j)  makes every infeasible state of sample
    n cost more than the feasible one.  We add 1 for a strict margin.
    """
    K = network.fan_in.astype(float)
    H = hidden_sources(network).astype(float)
    mu = objective.margin * (np.ones_like(K) if objective.margin_scale == "none" else 1.0 / K)
    bound = max_loss_per_sample(network, objective) + float(np.sum(mu * (2 * K + 4 * H)))
    p = float(np.floor(bound) + 1)
    return {"and": p, "sign": p, "tie": p}


def objective_value(
    network: Network,
    X: np.ndarray,
    y: np.ndarray,
    weights,
    objective: Objective | None = None,
    linear_penalties: np.ndarray | None = None,
) -> float:
    """Loss + regularisers of the forward pass with ``weights``: what the QUBO's minimum over
    all non-parameter variables must equal (the exactness oracle)."""
    objective = objective or Objective()
    Y = as_targets(y, network.n_outputs)
    z = network.preactivations(X, weights).astype(np.int64)
    a = np.where(z >= 0, 1, -1)
    K = network.fan_in.astype(np.int64)
    out = network.outputs
    L = objective.loss_weight
    if objective.loss == "hinge":
        c = (z[:, out] + K[out]) // 2
        theta = (K[out] + 1) // 2
        m = objective.hard_margin
        lo = np.where(Y == 1, theta + m, 0)
        hi = np.where(Y == 1, K[out], theta - 1 - m)
        dist = np.maximum(lo - c, 0) + np.maximum(c - hi, 0)
        loss = L * float(np.sum(dist.astype(float) ** 2))
        a = a.copy()
        a[:, out] = 2 * Y - 1
    else:
        loss = L * float(np.sum(a[:, out] != 2 * Y - 1))
    mu = objective.margin * (np.ones(K.size) if objective.margin_scale == "none" else 1.0 / K)
    margin = -float(np.sum(mu[None, :] * a * z))
    total = loss + margin
    if linear_penalties is not None:
        params = np.concatenate([weights.w, weights.b[network.has_bias]]).astype(float)
        total += float(np.dot(linear_penalties, params))
    return total
