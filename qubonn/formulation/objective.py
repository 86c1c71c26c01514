"""What training minimises: the :class:`Objective`, its settings, their checks and defaults.

An :class:`Objective` says what to minimise (loss, margins, class weights, penalty overrides,
slack encoding); :func:`~qubonn.formulation.model.objective_model` turns it, on one network and
its targets, into the arrays every builder and solver reads (thresholds, slack ranges, safe
penalties, the exactness oracle).  This module knows the settings and the targets' checks only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from qubonn.formulation.slack import SlackEncoding, check_encoding
from qubonn.network import Network
from qubonn.options import is_finite_real, is_whole

LossName = Literal["auto", "hinge", "01", "multiclass"]
LOSSES = ("auto", "hinge", "01", "multiclass")
ClassWeight = Literal["balanced"] | tuple[float, ...] | None
#: what ``margin="auto"`` and ``hard_margin="auto"`` become, per resolved loss: (m, mu), the one
#: default of the library, BNNClassifier, compile, and the train, compile and sweep commands.
#: Multiclass: m = 3, mu = 0.5, the best of a grid on validation images at ten classes
#: (bench/multiclass.py), checked on four other tasks (bench/multiclass_auto.py; both in
#: docs/results.md, "Margins for ten classes").  One-vs-rest (hinge, 0-1): mu = 0.2, fan-in
#: scaled, +9.3 points on held-out images over no margin in the regularisation experiment
#: (bench/regularisation.py, three digit pairs, 10 seeds; docs/results.md).
AUTO_MARGINS = {"multiclass": (3, 0.5), "hinge": (0, 0.2), "01": (0, 0.2)}
NO_MARGINS = (0, 0.0)


@dataclass(frozen=True)
class Objective:
    """What training minimises.

    loss:          "auto" (the default) is "hinge" for one output and "multiclass" for several (see
                   :meth:`for_network`).  "hinge" clamps each output's activation to its
                   label; the sign constraint's residual becomes a squared hinge on the
                   output's count (0 iff correct, with margin ``hard_margin``).  "01" keeps
                   outputs as variables and charges ``loss_weight`` per misclassified
                   output.  "multiclass" (several outputs,
                   one true class per sample) leaves the outputs as plain pre-activations and
                   charges the pairwise squared hinge
                   sum_{k != y} max(0, 2m + 1 - (z_y - z_k))^2  (m = ``hard_margin``): zero
                   exactly when the true class wins every pair by at least 2m + 1.
    loss_weight:   L, the weight of the loss term.
    margin:        mu >= 0, soft margin reward  -mu * sum_n sum_j a_nj z_nj  (= -mu sum |z|);
                   "auto" (the default): 0.5 under the multiclass loss, 0.2 otherwise
                   (:data:`AUTO_MARGINS`, resolved by :meth:`for_network`).
    margin_scale:  "fan_in" (the default everywhere: mu / K_j per neuron, so that one mu means
                   the same for narrow and wide neurons) or "none" (mu for every neuron).
    hard_margin:   m >= 0 (hinge and multiclass): an output counts as correct only if
                   |z| >= 2m + 1 (hinge), the true class only if z_y - z_k >= 2m + 1
                   (multiclass); "auto" (the default): 3 under the multiclass loss, 0 otherwise.
    class_weight:  None, or "balanced": per-row loss weights so that every class weighs the
                   same (one-vs-rest: each output's positive and negative rows weigh N / 2 in
                   all; multiclass: each class's samples weigh N / n_classes), as scikit-learn;
                   or a tuple of one positive weight per class index (the rows of a sample
                   weigh its class's weight; the classifier maps scikit-learn's dict to it).
    sparsity:      lambda >= 0, the price of each link a ternary group keeps:
                   + lambda * sum |w| over the parameters (arcs and biases) of ``ternary``
                   groups (the sparsity regulariser; exact: a zero weight costs nothing).
                   Binary groups have |w| = 1 everywhere, so it does not touch them.
    penalties:     overrides of the constraint weights {"and", "sign", "tie"}; missing ones get
                   the safe value from :func:`safe_penalties`.
    slack_encoding: how each sign constraint's integer slack becomes bits: "binary" (the
                   fewest bits; the default) or "unary" (one bit per unit, so a single flip
                   follows every change of a count: generic single-spin samplers return valid
                   states far more often).  Both are exact; the minimum is the same
                   (:mod:`qubonn.formulation.slack`).
    """

    loss: LossName = "auto"
    loss_weight: float = 1.0
    margin: float | Literal["auto"] = "auto"
    margin_scale: Literal["none", "fan_in"] = "fan_in"
    hard_margin: int | Literal["auto"] = "auto"
    penalties: dict[str, float] = field(default_factory=dict)
    class_weight: ClassWeight = None
    slack_encoding: SlackEncoding = "binary"
    sparsity: float = 0.0

    def __post_init__(self) -> None:
        check_encoding(self.slack_encoding)
        if self.loss not in LOSSES:
            raise ValueError(
                f"loss must be 'auto', 'hinge', '01' or 'multiclass', not {self.loss!r}"
            )
        if isinstance(self.class_weight, list | tuple):
            object.__setattr__(self, "class_weight", _per_class_weights(self.class_weight))
        elif self.class_weight not in (None, "balanced"):
            raise ValueError(
                f"class_weight must be None, 'balanced' or one weight per class (in class "
                f"order), not {self.class_weight!r}"
            )
        if not (np.isfinite(self.loss_weight) and self.loss_weight > 0):
            raise ValueError(f"loss_weight must be a positive number, not {self.loss_weight!r}")
        if self.margin != "auto" and not (is_finite_real(self.margin) and self.margin >= 0):
            raise ValueError(f"margin (mu) must be a number >= 0 or 'auto', not {self.margin!r}")
        if not (is_finite_real(self.sparsity) and self.sparsity >= 0):
            raise ValueError(f"sparsity (lambda) must be a number >= 0, not {self.sparsity!r}")
        if self.margin_scale not in ("none", "fan_in"):
            raise ValueError(f"margin_scale must be 'none' or 'fan_in', not {self.margin_scale!r}")
        m = self.hard_margin
        if m != "auto" and not (is_whole(m) and m >= 0):
            raise ValueError(f"hard_margin must be an integer >= 0 or 'auto', not {m!r}")
        if m != "auto" and m and self.loss == "01":
            raise ValueError(
                "hard_margin needs loss='hinge' or 'multiclass' (it shifts the hinge's target)"
            )
        unknown = set(self.penalties) - {"and", "sign", "tie"}
        if unknown:
            raise ValueError(
                f"unknown penalty name(s) {sorted(unknown)}; valid: 'and', 'sign', 'tie'"
            )
        for k, v in self.penalties.items():
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"penalty '{k}' must be a positive number, not {v!r}")

    def for_network(self, network: Network) -> Objective:
        """This objective with every "auto" resolved for ``network``: the loss
        (:func:`default_loss`), then the margins of that loss (:data:`AUTO_MARGINS`)."""
        loss = default_loss(network) if self.loss == "auto" else self.loss
        m, mu = AUTO_MARGINS.get(loss, NO_MARGINS)
        return replace(
            self,
            loss=loss,
            hard_margin=m if self.hard_margin == "auto" else int(self.hard_margin),
            margin=mu if self.margin == "auto" else float(self.margin),
        )

    @property
    def resolved(self) -> bool:
        """Whether nothing is left "auto" (:meth:`for_network` resolves it)."""
        return "auto" not in (self.loss, self.margin, self.hard_margin)


def default_loss(network: Network) -> str:
    """The loss ``loss="auto"`` picks: the hinge for one output, the pairwise multiclass hinge
    for several (measured: bench/multiclass.py, docs/results.md)."""
    return "hinge" if network.n_outputs == 1 else "multiclass"


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


def true_class(Y: np.ndarray) -> np.ndarray:
    """The class index of each row of one-hot 0/1 targets (N, n_outputs), checked: the
    multiclass loss needs exactly one true class per sample."""
    per_row = Y.sum(axis=1)
    bad = np.nonzero(per_row != 1)[0]
    if Y.shape[1] < 2:
        raise ValueError("loss='multiclass' needs a network with two or more outputs")
    if bad.size:
        n = int(bad[0])
        raise ValueError(
            f"loss='multiclass' needs exactly one true class per sample, but sample {n} has "
            f"{int(per_row[n])} (targets are one column per class, +1 / 1 for the true class)"
        )
    return np.argmax(Y, axis=1)


def class_weight_value(w: object, where: str) -> float:
    """One class's weight as a float: a positive finite number, or an error naming ``where``."""
    if isinstance(w, bool) or not isinstance(w, int | float | np.number) or not (
        np.isfinite(w) and w > 0
    ):
        raise ValueError(f"{where} must be a positive number, not {w!r}")
    return float(w)


def _per_class_weights(weights: list | tuple) -> tuple[float, ...]:
    """One positive finite weight per class index, as floats (refusing anything else)."""
    out = [class_weight_value(w, f"class_weight[{k}]") for k, w in enumerate(weights)]
    if len(out) < 2:
        raise ValueError(f"class_weight needs one weight per class (at least two), not {weights!r}")
    return tuple(out)


def loss_row_weights(objective: Objective, Y: np.ndarray) -> np.ndarray:
    """Per-row loss weights (N, n_outputs): 1, or scikit-learn's "balanced" weights.

    One-vs-rest (hinge, 01): output o's rows with label l weigh N / (2 * #rows with label l),
    so its positives and negatives weigh the same in all.  Multiclass: every row of sample n
    weighs N / (n_classes * #samples of its class) (the loss of a sample is the sum over its
    rows k != y)."""
    Y = np.asarray(Y)
    N, n_out = Y.shape
    if objective.class_weight is None or N == 0:
        return np.ones((N, n_out))
    if isinstance(objective.class_weight, tuple):
        n_classes = 2 if n_out == 1 else n_out
        if len(objective.class_weight) != n_classes:
            raise ValueError(
                f"class_weight has {len(objective.class_weight)} weights but the targets have "
                f"{n_classes} classes; give one weight per class"
            )
        cls = Y[:, 0].astype(np.int64) if n_out == 1 else np.argmax(Y, axis=1)
        w = np.asarray(objective.class_weight)[cls]
        return np.repeat(w[:, None], n_out, axis=1)
    if objective.loss == "multiclass":
        cls = true_class(Y)
        count = np.bincount(cls, minlength=n_out)
        w = N / (n_out * np.maximum(count[cls], 1))
        return np.repeat(w[:, None], n_out, axis=1)
    pos = Y.sum(axis=0)
    neg = N - pos
    w_pos = N / (2.0 * np.maximum(pos, 1))
    w_neg = N / (2.0 * np.maximum(neg, 1))
    return np.where(Y == 1, w_pos[None, :], w_neg[None, :])
