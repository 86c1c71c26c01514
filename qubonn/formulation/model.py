"""The objective model: one resolved :class:`Objective` on one training set, as numpy arrays.

Everything that needs the objective's meaning reads it here: thresholds, slack ranges, the
hinge's count intervals, the multiclass pair ranges, margins, class weights, the safe penalty
weights and the exactness oracle :func:`objective_value`.  The term builders, the feasible
completion, the size estimate, the structured annealer and CP-SAT all take an
:class:`ObjectiveModel`; none derives these again, so a new term or weight domain changes this
module and its own builder.  numpy only: the GPU machines have no scipy.

Notation (docs/formulation.md): K_j fan-in (arcs + bias), c = (z + K) / 2 the count of agreeing
terms, theta_j = ceil(K_j / 2) (a = +1 iff c >= theta: sign(0) = +1), m the hard margin.

The language's wider domains keep every term exact by one generalisation, per row (sample n,
neuron j): K_nj = sum |v| + |bias| is the largest |z_nj| the row's inputs allow (the fan-in on
+-1 inputs; sum |x| over integer inputs), and the count is c = (z + K_nj) / g_j with g = 2 for
binary weights (z and K_nj have the same parity) and g = 1 for ternary ones (a zero weight
changes the parity).  So c runs over 0 .. S_nj = 2 K_nj / g_j, a = +1 iff c >= ceil(S / 2), and
the hinge, the slacks and the ties are those of the +-1 case with K replaced by S_nj.  The
``*_n`` arrays are per row; the others are the neuron-level bounds (equal on +-1 inputs and
binary weights), which size estimates and safe penalties use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qubonn.formulation.objective import Objective, as_targets, loss_row_weights, true_class
from qubonn.network import Network


@dataclass(frozen=True, eq=False)
class ObjectiveModel:
    """The objective's arrays for one network and one set of targets (N may be 0: the
    network-level arrays alone, as the size estimate needs them)."""

    loss: str  # "hinge", "01" or "multiclass" (resolved)
    loss_weight: float  # L
    margin: float  # mu (the soft margin's weight; mu_j = mu * margin_scale_j)
    hard_margin: int  # m
    K: np.ndarray  # (J,) fan-in
    theta: np.ndarray  # (J,) ceil(K / 2)
    hidden_sources: np.ndarray  # (J,) arcs into j that come from a neuron (product terms)
    outputs: np.ndarray  # (n_out,) output neurons, in class order
    out_pos: np.ndarray  # (J,) column of an output in the targets, -1 elsewhere
    has_alpha: np.ndarray  # (J,) bool: an activation variable per sample
    clamped: np.ndarray  # (J,) bool: hinge outputs, activation clamped to the label
    out01: np.ndarray  # (J,) bool: outputs charged by the 0-1 loss
    multiclass: np.ndarray  # (J,) bool: multiclass outputs (plain pre-activations)
    margin_divisor: np.ndarray  # (J,) mu_j = mu / divisor_j: 1, or K_j (fan_in); inf: no margin
    shift: np.ndarray  # (J,) count threshold of the +1 side: theta, or theta + m if clamped
    label_range: np.ndarray  # (J, 2) slack range of the sign constraint, label 0 / label 1
    mc_margin: int  # the pairwise margin 2m + 1 (multiclass)
    pair_range: np.ndarray  # (n_out, n_out) range of the multiclass pair slacks
    targets: np.ndarray  # (N, n_out) 0/1
    true_class: np.ndarray  # (N,) class index (multiclass), 0 otherwise
    row_weights: np.ndarray  # (N, n_out) class weights of each output row (without L)
    lo: np.ndarray  # (N, n_out) count interval of a correct hinge output
    hi: np.ndarray
    g: np.ndarray  # (J,) z = g c - K_nj: 2 (binary weights), 1 (ternary)
    K_n: np.ndarray  # (N, J) the row's |z| bound
    theta_n: np.ndarray  # (N, J) ceil(S_nj / 2), S = 2 K_n / g the count's range
    shift_n: np.ndarray  # (N, J) theta_n, or theta_n + m if clamped (1 on forced rows)
    offset_n: np.ndarray  # (N, J) constant added to a residual (rows an interval cannot hold)
    label_range_n: np.ndarray  # (N, J, 2) the rows' slack ranges (>= 0), label 0 / label 1
    pair_range_n: np.ndarray  # (N, n_out) range of pair (n, k)'s slack (0 at the true class)
    tie: np.ndarray  # (J,) bool: an activation neuron with a tie bit (S even on some row)
    sparsity: float  # lambda, per link kept in a ternary group
    ternary_params: np.ndarray  # (P,) bool: parameters of ternary groups (arcs, then biases)

    @property
    def n_samples(self) -> int:
        return int(self.targets.shape[0])

    @property
    def mu(self) -> np.ndarray:
        """(J,) soft margin weight per neuron: mu / K_j (fan_in) or mu; 0 at multiclass
        outputs.  Divided, not multiplied by 1 / K_j: mu / K is the float that CP-SAT's
        rational scaling recognises as mu's fraction."""
        return self.margin / self.margin_divisor

    @property
    def margin_scale(self) -> np.ndarray:
        """(J,) mu_j / mu, the coefficient of the QUBO's margin rows (weighted by "margin")."""
        return 1.0 / self.margin_divisor

    @property
    def slack_range(self) -> np.ndarray:
        """(N, J) range R of each sign constraint's (or hinge's, or pair's) slack: R0 for
        neurons with activations (a tie bit adds the one value more of the +1 side), by label
        for clamped outputs, and S[y_n, k] in row (n, k) under the multiclass loss."""
        N, J = self.n_samples, self.K.size
        ranges = np.zeros((N, J), dtype=np.int64)
        ranges[:, self.has_alpha] = self.label_range_n[:, self.has_alpha, 0]
        out = self.outputs
        if self.loss == "multiclass":
            ranges[:, out] = self.pair_range_n
        elif self.loss == "hinge":
            ranges[:, out] = np.where(self.targets == 1, self.label_range_n[:, out, 1],
                                      self.label_range_n[:, out, 0])
        return ranges

    def counts(self, z: np.ndarray) -> np.ndarray:
        """(N, J) counts c = (z + K_n) / g of pre-activations ``z`` (N, J)."""
        return (np.asarray(z, dtype=np.int64) + self.K_n) // self.g

    def hinge_distance(self, c_out: np.ndarray) -> np.ndarray:
        """(N, n_out) distance of the outputs' counts to their label's interval."""
        return np.maximum(self.lo - c_out, 0) + np.maximum(c_out - self.hi, 0)

    def multiclass_losses(self, z_out: np.ndarray) -> np.ndarray:
        """Per sample: sum over k != y of max(0, (2m + 1) - (z_y - z_k))^2."""
        return multiclass_losses(z_out, self.true_class, self.mc_margin)

    def max_sample_loss(self) -> float:
        """The largest loss one sample can have on a feasible state (times its class weight)."""
        wmax = float(self.row_weights.max()) if self.row_weights.size else 1.0
        L, out = self.loss_weight * wmax, self.outputs
        if self.loss == "01":
            return L * out.size
        K = self.K[out]
        if self.loss == "multiclass":
            worst = self.mc_margin + K[:, None] + K[None, :]  # z_y = -K_y, z_k = K_k
            np.fill_diagonal(worst, 0)
            return float(L * np.sum(worst.astype(float) ** 2, axis=1).max())
        span = 2 * K // self.g[out]
        theta, m = (span + 1) // 2, self.hard_margin
        worst = np.maximum(theta + m, span - (theta - 1 - m))  # distance to the wrong interval
        return float(L * np.sum(worst.astype(float) ** 2))

    def safe_penalty(self) -> float:
        """A constraint weight above which no violation pays (see :func:`safe_penalties`)."""
        K, H = self.K.astype(float), self.hidden_sources.astype(float)
        bound = self.max_sample_loss() + float(np.sum(self.mu * (2 * K + 4 * H)))
        return float(np.floor(bound) + 1)

    def link_cost(self, params: np.ndarray) -> float:
        """The sparsity regulariser: lambda per nonzero parameter of a ternary group."""
        if not self.sparsity:
            return 0.0
        kept = np.count_nonzero(np.asarray(params)[self.ternary_params])
        return float(self.sparsity * kept)

    def value(self, z: np.ndarray, params: np.ndarray | None = None,
              linear_penalties: np.ndarray | None = None) -> float:
        """Loss + regularisers of the pre-activations ``z`` (N, J) of a forward pass (and of
        the ``params``, arcs then biases, under linear penalties or sparsity): the objective
        the QUBO's minimum must equal."""
        z = np.asarray(z, dtype=np.int64)
        a = np.where(z >= 0, 1, -1)
        out, rw, L = self.outputs, self.row_weights, self.loss_weight
        if self.loss == "hinge":
            dist = self.hinge_distance(self.counts(z)[:, out])
            loss = L * float(np.sum(rw * dist.astype(float) ** 2))
            a = a.copy()
            a[:, out] = 2 * self.targets - 1
        elif self.loss == "multiclass":
            loss = L * float(np.sum(rw[:, 0] * self.multiclass_losses(z[:, out])))
        else:
            loss = L * float(np.sum(rw * (a[:, out] != 2 * self.targets - 1)))
        total = loss - float(np.sum(self.mu[None, :] * a * z))
        if linear_penalties is not None:
            total += float(np.dot(linear_penalties, np.asarray(params, dtype=float)))
        if self.sparsity:
            if params is None:
                raise ValueError("the sparsity term needs the parameters")
            total += self.link_cost(params)
        return total


def objective_model(
    network: Network,
    objective: Objective,
    targets: np.ndarray | None = None,
    X: np.ndarray | None = None,
) -> ObjectiveModel:
    """The :class:`ObjectiveModel` of ``objective`` (resolved here for ``network``) on the
    0/1 or +-1 ``targets``; without targets, the network-level arrays only (N = 0).  A network
    with integer inputs needs the training inputs ``X`` for exact per-row bounds ``K_n``
    (without them K_n is the bound, enough for safe penalties).  Refuses
    networks the loss cannot describe, naming the neuron."""
    obj = objective.for_network(network)
    n_out = network.n_outputs
    Y = np.zeros((0, n_out), np.int8) if targets is None else as_targets(targets, n_out)
    K = network.preactivation_bound.astype(np.int64)
    g = np.where(network.ternary, 1, 2).astype(np.int64)
    span = 2 * K // g
    theta = (span + 1) // 2
    m, J, out = int(obj.hard_margin), network.n_neurons, network.outputs
    is_out = np.zeros(J, dtype=bool)
    is_out[out] = True
    out_pos = np.full(J, -1, dtype=np.int64)
    out_pos[out] = np.arange(n_out)
    clamped = is_out & (obj.loss == "hinge")
    multiclass = is_out & (obj.loss == "multiclass")
    K_n = row_bounds(network, X, Y.shape[0])
    span_n = 2 * K_n // g
    theta_n = (span_n + 1) // 2
    _check_outputs(network, obj, span, theta)
    divisor = np.ones(J) if obj.margin_scale == "none" else K.astype(float)
    divisor[multiclass] = np.inf  # multiclass outputs have no activation: the pair margin instead
    label_range, label_range_n = _label_ranges(span, theta, clamped, m), _label_ranges(
        span_n, theta_n, clamped, m)
    cls = true_class(Y) if obj.loss == "multiclass" else np.zeros(Y.shape[0], dtype=np.int64)
    mc_margin = 2 * m + 1
    Ko = K[out]
    has_alpha = ~(clamped | multiclass)
    return ObjectiveModel(
        loss=obj.loss,
        loss_weight=float(obj.loss_weight),
        margin=float(obj.margin),
        hard_margin=m,
        K=K,
        theta=theta,
        hidden_sources=hidden_sources(network),
        outputs=out,
        out_pos=out_pos,
        has_alpha=has_alpha,
        clamped=clamped,
        out01=is_out & (obj.loss == "01"),
        multiclass=multiclass,
        margin_divisor=divisor,
        shift=np.where(clamped, theta + m, theta),
        label_range=label_range,
        mc_margin=mc_margin,
        pair_range=np.maximum(Ko[:, None] + Ko[None, :] - mc_margin, 0),
        targets=Y,
        true_class=cls,
        row_weights=loss_row_weights(obj, Y),
        lo=np.where(Y == 1, theta_n[:, out] + m, 0).astype(np.int64),
        hi=np.where(Y == 1, span_n[:, out], theta_n[:, out] - 1 - m).astype(np.int64),
        g=g,
        K_n=K_n,
        theta_n=theta_n,
        shift_n=np.where(clamped, theta_n + m, np.where(has_alpha & (theta_n == 0), 1, theta_n)),
        offset_n=_offsets(theta_n, has_alpha, clamped, label_range_n, Y, out),
        label_range_n=np.maximum(label_range_n, 0),
        pair_range_n=_pair_ranges(K_n[:, out], cls, mc_margin),
        tie=has_alpha & np.any(span_n % 2 == 0, axis=0) if Y.shape[0] else has_alpha & (
            span % 2 == 0),
        sparsity=float(obj.sparsity),
        ternary_params=network.parameter_ternary,
    )


def row_bounds(network: Network, X: np.ndarray | None, n_samples: int) -> np.ndarray:
    """(N, J) K_nj = sum over j's arcs of |v_n| + |bias|: the largest |z_nj| on sample n.
    Neurons see +-1 values, so only integer inputs make rows differ (then ``X`` is needed)."""
    K = network.preactivation_bound.astype(np.int64)
    if not network.has_integer_inputs or X is None:  # without X: the bound (safe penalties)
        return np.broadcast_to(K, (n_samples, K.size)).copy()
    if np.asarray(X).shape[0] != n_samples:
        raise ValueError(f"X has {np.asarray(X).shape[0]} samples but y has {n_samples}")
    src, dst, n_in = network.arc_src, network.arc_dst, network.n_inputs
    integer = np.nonzero((src < n_in) & ~network.input_binary[np.minimum(src, n_in - 1)])[0]
    K_n = np.broadcast_to(K, (n_samples, K.size)).copy()
    absx = np.abs(np.asarray(X, dtype=np.int64))
    bound = network.source_bound[integer]
    for e, j, bnd in zip(integer.tolist(), dst[integer].tolist(), bound.tolist(), strict=True):
        K_n[:, j] -= bnd - absx[:, src[e]]  # the bound counted max |x|; the row has |x_n|
    return K_n


def _offsets(theta_n: np.ndarray, has_alpha: np.ndarray, clamped: np.ndarray,
             label_range_n: np.ndarray, Y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(N, J) constants that keep two kinds of row exact where the slack cannot: an activation
    whose inputs are all zero on the row (z = 0, so a = +1: the residual becomes 1 - alpha, with
    shift 1), and a clamped output whose label-0 interval 0 .. theta - 1 - m is empty on the
    row (the residual becomes c - (theta - 1 - m), the hinge's distance)."""
    offset = np.where(has_alpha & (theta_n == 0), 1, 0).astype(np.int64)
    if clamped.any() and theta_n.size:
        top0 = label_range_n[:, out, 0]
        offset[:, out] = np.where(clamped[out] & (Y == 0) & (top0 < 0), -top0, offset[:, out])
    return offset


def _label_ranges(span: np.ndarray, theta: np.ndarray, clamped: np.ndarray, m: int) -> np.ndarray:
    """(..., J, 2) slack ranges by label: theta - 1 for activation neurons (a tie bit adds the
    +1 side's one value more); for clamped outputs the hinge's, theta - 1 - m and S - theta - m."""
    ranges = np.repeat((theta - 1)[..., None], 2, axis=-1)
    ranges[..., 0] = np.where(clamped, theta - 1 - m, ranges[..., 0])
    ranges[..., 1] = np.where(clamped, span - theta - m, ranges[..., 1])
    return ranges


def _pair_ranges(K_out: np.ndarray, cls: np.ndarray, mc_margin: int) -> np.ndarray:
    """(N, n_out) range of the slack of pair (n, k): z_y - z_k - (2m + 1) <= K_ny + K_nk - (2m
    + 1); 0 at the true class (no pair)."""
    N = K_out.shape[0]
    if N == 0:
        return np.zeros_like(K_out)
    ky = K_out[np.arange(N), cls]
    ranges = np.maximum(ky[:, None] + K_out - mc_margin, 0)
    ranges[np.arange(N), cls] = 0
    return ranges


def _check_outputs(network: Network, obj: Objective, span: np.ndarray, theta: np.ndarray) -> None:
    """The hinge and multiclass losses give outputs no activation variable: no output may
    feed another neuron, and the hinge's hard margin needs room at every output."""
    if obj.loss == "01":
        return
    n_in, src, out = network.n_inputs, network.arc_src, network.outputs
    is_out = np.zeros(network.n_neurons, dtype=bool)
    is_out[out] = True
    feeds = src[src >= n_in] - n_in
    if np.any(is_out[feeds]):
        j = int(feeds[is_out[feeds]][0])
        what = (
            "the hinge loss clamps outputs to their labels"
            if obj.loss == "hinge"
            else "the multiclass loss gives outputs no activation"
        )
        raise ValueError(
            f"output {network.neuron_names[j]} feeds another neuron; {what}, so use "
            "loss='01' for such networks"
        )
    m = int(obj.hard_margin)
    if obj.loss == "hinge" and np.any(theta[out] - 1 - m < 0):
        j = int(out[np.argmax(theta[out] - 1 - m < 0)])
        raise ValueError(
            f"hard_margin={m} needs fan-in >= {2 * m + 1} at every output; "
            f"{network.neuron_names[j]} has fan-in {int(span[j])}"
        )



def hidden_sources(network: Network) -> np.ndarray:
    """H_j: number of arcs into neuron j that come from a neuron (those carry product terms)."""
    src, dst = network.arc_src, network.arc_dst
    return np.bincount(dst[src >= network.n_inputs], minlength=network.n_neurons)


def multiclass_losses(z_out: np.ndarray, cls: np.ndarray, margin: int) -> np.ndarray:
    """Per sample: sum over k != y of max(0, margin - (z_y - z_k))^2, from the outputs'
    pre-activations (N, n_outputs) and the true classes."""
    z_out = np.asarray(z_out, dtype=np.int64)
    zy = np.take_along_axis(z_out, cls[:, None], axis=1)
    short = np.maximum(margin - (zy - z_out), 0)
    short[np.arange(cls.size), cls] = 0
    return np.sum(short.astype(float) ** 2, axis=1)


def max_loss_per_sample(
    network: Network, objective: Objective, targets: np.ndarray | None = None
) -> float:
    """The largest value the loss of one sample can take on a feasible state.  With class
    weights it needs the ``targets`` (0/1, (N, n_outputs)) the weights come from."""
    if objective.class_weight is not None and targets is None:
        raise ValueError("class weights: the safe penalties need the targets")
    return objective_model(network, objective, targets).max_sample_loss()


def safe_penalties(
    network: Network, objective: Objective, targets: np.ndarray | None = None
) -> dict[str, float]:
    """Constraint weights that make every violation unprofitable.

    Given the weights, the energy splits into independent per-sample parts.  A feasible sample
    part equals loss_n + margin_n.  Any violated constraint costs at least its weight (every
    constraint is an integer-valued non-negative polynomial), and the loss stays >= 0.  The soft
    margin term -mu_j a z is within mu_j (K_j + 4 H_j) of zero even on infeasible states (a broken
    product makes an agreement bit range over -1..3), and within mu_j K_j on feasible ones.  So a
    weight above  max loss_n + sum_j mu_j (2 K_j + 4 H_j)  makes every infeasible state of sample
    n cost more than the feasible one.  We add 1 for a strict margin.  (Multiclass outputs
    carry no margin term and no constraint of their own; their loss is >= 0 everywhere.)
    """
    if objective.class_weight is not None and targets is None:
        raise ValueError("class weights: the safe penalties need the targets")
    p = objective_model(network, objective, targets).safe_penalty()
    return {"and": p, "sign": p, "tie": p}


def initial_weights(
    network: Network, objective: Objective, targets: np.ndarray | None = None
) -> dict[str, float]:
    """The term weights of a fresh formulation: loss, margin, then the constraint penalties
    (safe values unless the objective overrides them)."""
    obj = objective.for_network(network)
    weights = {
        "loss": float(obj.loss_weight),
        "margin": float(obj.margin),
        **safe_penalties(network, obj, targets),
    }
    if network.has_ternary:
        weights["sparsity"] = float(obj.sparsity)
    for k, v in obj.penalties.items():
        weights[k] = float(v)
    return weights


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
    model = objective_model(network, objective or Objective(), y, X)
    z = network.preactivations(X, weights)
    params = np.concatenate([weights.w, weights.b[network.has_bias]])
    return model.value(z, params, linear_penalties)
