"""The gradient baseline: a binary neural network trained with the straight-through estimator.

Every result table of qubonn compares the exact QUBO training against this baseline, so it runs on
*the same* :class:`~qubonn.network.Network` (any DAG: skip connections, slices, windows) and the
same data (+-1, or the integers a network declares with ``values lo..hi``), and the model it
returns is exactly a BNN: ``weights_`` is a
:class:`~qubonn.network.Weights` of +-1 values, and :meth:`STEClassifier.predict` and
:meth:`STEClassifier.score` evaluate it through :meth:`Network.forward
<qubonn.network.Network.forward>`, never through the real-valued training graph.  An accuracy
reported for the baseline is therefore the accuracy of the binary network itself.

Training (the usual recipe, e.g. Courbariaux et al. 2016, "BinaryNet"):

* each arc and bias has a real-valued *latent* weight in [-1, 1]; the forward pass uses its sign
  (``sign(0) = +1``, the tie rule of the IR);
* a neuron's pre-activation ``z = b + sum w v`` is scaled by ``1 / sqrt(K)`` (``K`` the fan-in,
  counting the bias; on integer inputs the sum of the squared largest |value| of each source) so
  that every layer sees pre-activations of order one whatever its fan-in; the scale is positive,
  so the signs, and hence the binary network, are unchanged;
* hidden activations are ``sign(z)``; the backward pass uses the straight-through estimator of
  ``hardtanh``: the gradient goes through where ``|z / sqrt(K)| <= 1`` and is cut elsewhere;
* the gradient of a binarised weight is applied to its latent weight unchanged, and the latent
  weights are clipped to [-1, 1] after each step so that a weight never drifts so far that it
  cannot flip back;
* the loss is a (squared) hinge on the scaled output pre-activations against +-1 targets
  (one-vs-rest for several outputs), minimised with Adam on shuffled mini-batches.

Because the gradient is only a surrogate, the training accuracy of the binary network is not
monotone in the epochs.  :meth:`STEClassifier.fit` therefore measures the exact training accuracy
of the binarised network after every epoch and keeps the weights of the best epoch (ties: the later
epoch, which has trained longer on the same accuracy and usually has the larger margins).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qubonn.network import Network, Weights
from qubonn.training.trainer import (
    binary_inputs,
    default_network,
    seed_sequence,
    warn_if_constant,
)

__all__ = ["STEClassifier"]

_LOSSES = ("squared_hinge", "hinge")


@dataclass(frozen=True)
class _Group:
    """The arrays of one neuron group that forward and backward passes need, computed once."""

    lo: int  # first neuron
    hi: int  # one past the last neuron
    arc_lo: int  # first arc (arcs are sorted by destination neuron)
    arc_hi: int
    src: np.ndarray  # (size, fan) source unit ids
    shared: np.ndarray | None  # (fan,) source units when every neuron has the same sources
    scale: np.ndarray  # (size,) 1 / sqrt(fan-in including the bias)
    bias: np.ndarray  # (size,) 1.0 where the neuron has a bias, else 0.0
    # scatter of source gradients back to the hidden units (None: only input units are sources)
    back_order: np.ndarray | None  # permutation of the flattened (size * fan) arcs, by source unit
    back_starts: np.ndarray | None  # start of each run of equal source units in that order
    back_units: np.ndarray | None  # the source unit (>= n_inputs) of each run

    @property
    def size(self) -> int:
        return self.hi - self.lo


def _plan(network: Network) -> list[_Group]:
    """Per-group arc ranges and index arrays, in topological order.

    Arcs are sorted by destination and every neuron of a group has the same number of arcs, so a
    group's arcs form one contiguous range, and reshaping it to ``(size, fan)`` gives one row of
    source units (and of weights) per neuron.
    """
    arc_dst = network.arc_dst
    arc_src = network.arc_src
    n_in = network.n_inputs
    groups: list[_Group] = []
    lo = 0
    for g in network.groups:
        hi = lo + g.size
        arc_lo = int(np.searchsorted(arc_dst, lo, side="left"))
        arc_hi = int(np.searchsorted(arc_dst, hi, side="left"))
        src = arc_src[arc_lo:arc_hi].reshape(g.size, -1)
        shared = src[0] if np.all(src == src[0]) else None
        bias = network.has_bias[lo:hi].astype(np.float64)
        # sum of squared source bounds (+1 for the bias): the fan-in K on +-1 inputs, so that
        # integer inputs (values 0..255) give pre-activations of the same order
        bound = network.source_bound[arc_lo:arc_hi].astype(np.float64).reshape(g.size, -1)
        fan_in = np.sum(bound**2, axis=1) + bias
        # the backward pass produces one source gradient per entry of ``flat``
        flat = shared if shared is not None else src.reshape(-1)
        if np.any(flat >= n_in):
            order = np.argsort(flat, kind="stable")
            order = order[flat[order] >= n_in]
            units_sorted = flat[order]
            starts = np.flatnonzero(np.r_[True, units_sorted[1:] != units_sorted[:-1]])
            back = (order, starts, units_sorted[starts])
        else:
            back = (None, None, None)
        groups.append(
            _Group(lo, hi, arc_lo, arc_hi, src, shared, 1.0 / np.sqrt(fan_in), bias, *back)
        )
        lo = hi
    return groups


def _inputs(X: np.ndarray, input_threshold: float | None, network: Network) -> np.ndarray:
    """X for the network: +-1 (binarised at ``input_threshold`` if given), or, for a network
    that declares integer inputs (``values lo..hi``), the integers it declares (int16); the
    gradient graph is z = b + sum w x either way."""
    if not network.has_integer_inputs:
        return binary_inputs(X, input_threshold, network)
    if input_threshold is not None:
        raise ValueError(
            "input_threshold binarises inputs, but the network declares integer inputs "
            "('values lo..hi'); pass the integers as they are (input_threshold=None)"
        )
    return network.check_inputs(X)


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while training.

    Mini-batch products are small (tens of rows), so a multi-threaded BLAS spends more time
    synchronising its threads than multiplying; on a busy machine this made training a 64-256-10
    network about 5x slower.  ``threadpoolctl`` comes with scikit-learn; without it, nothing is
    limited.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn, a dependency, requires it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _sign(x: np.ndarray) -> np.ndarray:
    """sign with the IR's tie rule sign(0) = +1, as float."""
    return np.where(x >= 0, 1.0, -1.0)


class STEClassifier(ClassifierMixin, BaseEstimator):
    """Straight-through-estimator training of a binary :class:`~qubonn.network.Network`.

    A scikit-learn estimator (``clone``, ``GridSearchCV``, ``Pipeline`` work), the gradient
    baseline that the exact QUBO training is compared against.

    Parameters
    ----------
    network:
        The binary network to train; any DAG the IR allows; None trains
        :func:`~qubonn.training.trainer.default_network` (inputs wired straight to the outputs),
        sized from the data in ``fit``.  With one output neuron the task must
        be binary (output +1 means ``classes_[1]``); with ``k > 1`` output neurons there must be
        ``k`` classes, one output per class (one-vs-rest), and the prediction is the class whose
        output has the largest pre-activation (ties: the first).
    epochs:
        Passes over the training data.
    lr:
        Adam step size for the latent weights (which live in [-1, 1]).
    batch_size:
        Mini-batch size; the last batch of an epoch may be smaller.
    loss:
        ``"squared_hinge"`` (default, smooth near the margin) or ``"hinge"``, on the output
        pre-activations scaled by ``1/sqrt(fan-in)``, with margin 1.
    init_scale:
        Latent weights start uniform in ``[-init_scale, init_scale]``; small values let the
        weights flip early in training.
    input_threshold:
        None (inputs must be -1/+1) or a number t that binarises X (x >= t -> +1), as in
        :class:`~qubonn.training.BNNClassifier`.
    random_state:
        Seeds the latent-weight initialisation and the shuffling: equal ints give equal models
        (an int, None, or a numpy RandomState).
    verbose:
        > 0 prints one line per epoch (loss, training accuracy).

    Attributes
    ----------
    weights_: Weights
        The trained binary weights (+-1; biases 0 where a neuron has none), from the epoch with
        the best training accuracy of the binarised network (ties: the later epoch).
    classes_: np.ndarray
        The class labels, sorted.
    history_: list[dict]
        One record per epoch, in the format of both classifiers
        (:data:`~qubonn.training.trainer.HISTORY_KEYS`): ``stage`` "epoch", ``step`` (the
        epoch), ``train_accuracy`` (exact accuracy of the binarised network on the training set
        after the epoch), ``objective`` (mean training loss over the mini-batches) and
        ``time_s`` (seconds the epoch took).
    latent_w_, latent_b_: np.ndarray
        The real-valued latent weights (in [-1, 1]) of that epoch, whose signs are ``weights_``;
        their magnitudes say how firmly training settled each weight.
    best_epoch_: int
        Index into ``history_`` of the epoch whose weights are kept.
    n_features_in_: int
        Width of X seen in ``fit`` (the network's number of input units).
    """

    def __init__(
        self,
        network: Network | None = None,
        epochs: int = 60,
        lr: float = 0.005,
        batch_size: int = 32,
        loss: str = "squared_hinge",
        init_scale: float = 0.1,
        *,
        input_threshold: float | None = None,
        random_state: Any = 0,
        verbose: int = 0,
    ) -> None:
        self.network = network
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.loss = loss
        self.init_scale = init_scale
        self.input_threshold = input_threshold
        self.random_state = random_state
        self.verbose = verbose

    # -- public API ---------------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray) -> STEClassifier:
        """Train on +-1 inputs ``X`` (N x n_inputs) and labels ``y`` (N,); returns ``self``."""
        self._check_params()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        net = self.network
        if net is None:
            net = default_network(X.shape[1], np.unique(y).size)
        X = _inputs(X, self.input_threshold, net)
        self.network_ = net
        classes, y_idx = np.unique(y, return_inverse=True)
        n_out = net.n_outputs
        if classes.size < 2:
            raise ValueError(
                f"y has only one class ({classes[0]!r}); a classifier needs at least 2 classes"
            )
        if n_out == 1 and classes.size != 2:
            raise ValueError(
                f"the network has 1 output neuron, so it can only learn 2 classes, but y has "
                f"{classes.size}; give the output group one neuron per class "
                f"(e.g. 'output y[{classes.size}] <- ...') for one-vs-rest training"
            )
        if n_out > 1 and classes.size != n_out:
            raise ValueError(
                f"the network has {n_out} output neurons (one per class, one-vs-rest) but y has "
                f"{classes.size} classes; make the output group {classes.size} neurons wide"
            )
        if n_out == 1:
            T = np.where(y_idx == 1, 1.0, -1.0)[:, None]
        else:
            T = np.where(y_idx[:, None] == np.arange(n_out)[None, :], 1.0, -1.0)

        rng = np.random.default_rng(seed_sequence(self.random_state))
        plan = _plan(net)
        has_bias = net.has_bias
        latent_w = rng.uniform(-self.init_scale, self.init_scale, net.n_arcs)
        latent_b = np.where(
            has_bias, rng.uniform(-self.init_scale, self.init_scale, net.n_neurons), 0
        )
        adam = _Adam(self.lr, [latent_w, latent_b])

        self.classes_ = classes
        history: list[dict] = []
        best: tuple[float, Weights, np.ndarray, np.ndarray] | None = None
        Xf = X.astype(np.float64)
        n = X.shape[0]
        with _single_threaded_blas():  # see there: small products
            for epoch in range(self.epochs):
                t0 = time.perf_counter()
                perm = rng.permutation(n)
                total = 0.0
                for start in range(0, n, self.batch_size):
                    idx = perm[start : start + self.batch_size]
                    batch_loss, gw, gb = self._loss_and_grad(
                        net,
                        plan, latent_w, latent_b, Xf[idx], T[idx]
                    )
                    total += batch_loss * idx.size
                    adam.step([gw, gb])
                    np.clip(latent_w, -1.0, 1.0, out=latent_w)
                    np.clip(latent_b, -1.0, 1.0, out=latent_b)
                weights = self._binarise(latent_w, latent_b)
                acc = float(np.mean(self._predict_idx(X, weights) == y_idx))
                history.append(
                    {
                        "stage": "epoch",
                        "step": epoch,
                        "train_accuracy": acc,
                        "objective": total / n,
                        "time_s": time.perf_counter() - t0,
                    }
                )
                if self.verbose:
                    print(f"epoch {epoch}: loss {total / n:.4g}, train accuracy {acc:.1%}")
                if best is None or acc >= best[0]:
                    best = (acc, weights, latent_w.copy(), latent_b.copy())
                    self.best_epoch_ = epoch
        assert best is not None  # epochs >= 1 is checked above
        self.weights_, self.latent_w_, self.latent_b_ = best[1:]
        self.history_ = history
        warn_if_constant(
            self,
            classes[self._predict_idx(X, self.weights_)],
            "try more epochs, another lr or random_state, or a wider network",
        )
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Integer pre-activations of the output neurons of the binary network: (N,) for two
        classes, as z + 1/2 so that ``> 0`` means ``classes_[1]`` (the IR's sign(0) = +1);
        (N, n_outputs) for one-vs-rest."""
        X = self._inputs(X)
        z = self.network_.predict_outputs(X, self.weights_)[1]
        return z[:, 0] + 0.5 if self.network_.n_outputs == 1 else z

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels predicted by the binarised network (exactly the BNN's forward pass)."""
        X = self._inputs(X)
        return self.classes_[self._predict_idx(X, self.weights_)]

    # -- internals ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.network is not None and not isinstance(self.network, Network):
            raise ValueError(
                f"network must be a qubonn Network (from qubonn.parse or qubonn.load_spec) or "
                f"None, not {type(self.network).__name__}"
            )
        if not (isinstance(self.epochs, int | np.integer) and self.epochs >= 1):
            raise ValueError(f"epochs must be an integer >= 1, not {self.epochs!r}")
        if not (isinstance(self.batch_size, int | np.integer) and self.batch_size >= 1):
            raise ValueError(f"batch_size must be an integer >= 1, not {self.batch_size!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, not {self.lr!r}")
        if not (np.isfinite(self.init_scale) and 0 <= self.init_scale <= 1):
            raise ValueError(f"init_scale must be in [0, 1], not {self.init_scale!r}")
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {', '.join(_LOSSES)}, not {self.loss!r}")

    def _inputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False)
        return _inputs(X, self.input_threshold, self.network_)

    def _predict_idx(self, X: np.ndarray, weights: Weights) -> np.ndarray:
        """Class indices from the exact binary forward pass."""
        act, z = self.network_.predict_outputs(X, weights)
        if act.shape[1] == 1:
            return (act[:, 0] > 0).astype(np.int64)
        return np.argmax(z, axis=1)

    def _binarise(self, latent_w: np.ndarray, latent_b: np.ndarray) -> Weights:
        w = np.where(latent_w >= 0, 1, -1).astype(np.int8)
        b = np.where(self.network_.has_bias, np.where(latent_b >= 0, 1, -1), 0).astype(np.int8)
        return Weights(w=w, b=b)

    def _loss_and_grad(
        self,
        net: Network,
        plan: list[_Group],
        latent_w: np.ndarray,
        latent_b: np.ndarray,
        X: np.ndarray,
        T: np.ndarray,
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Loss of a mini-batch and its STE gradients with respect to the latent parameters."""
        n, n_in = X.shape[0], net.n_inputs
        values = np.empty((n, n_in + net.n_neurons))
        values[:, :n_in] = X
        zs = np.empty((n, net.n_neurons))  # scaled pre-activations
        wb = _sign(latent_w)
        bb = _sign(latent_b)
        for g in plan:
            wg = wb[g.arc_lo : g.arc_hi].reshape(g.size, -1)
            if g.shared is not None:
                raw = values[:, g.shared] @ wg.T
            else:
                raw = np.einsum("nkf,kf->nk", values[:, g.src], wg)
            z = (raw + g.bias * bb[g.lo : g.hi]) * g.scale
            zs[:, g.lo : g.hi] = z
            values[:, n_in + g.lo : n_in + g.hi] = _sign(z)

        # loss on the scaled output pre-activations; grad holds dL/dz (direct part) per neuron
        out = net.outputs
        slack = np.maximum(0.0, 1.0 - T * zs[:, out])
        grad_z = np.zeros((n, net.n_neurons))
        if self.loss == "squared_hinge":
            loss = float(np.sum(slack**2)) / n
            grad_z[:, out] = -2.0 * T * slack / n
        else:
            loss = float(np.sum(slack)) / n
            grad_z[:, out] = -T * (slack > 0) / n

        # backward, groups in reverse topological order; grad_a accumulates dL/d(activation)
        grad_a = np.zeros((n, net.n_neurons))
        gw = np.zeros_like(latent_w)
        gb = np.zeros_like(latent_b)
        for g in reversed(plan):
            z = zs[:, g.lo : g.hi]
            dz = grad_z[:, g.lo : g.hi] + grad_a[:, g.lo : g.hi] * (np.abs(z) <= 1.0)
            draw = dz * g.scale  # dL/d(raw pre-activation)
            gb[g.lo : g.hi] = draw.sum(axis=0) * g.bias
            wg = wb[g.arc_lo : g.arc_hi].reshape(g.size, -1)
            if g.shared is not None:
                gw[g.arc_lo : g.arc_hi] = (draw.T @ values[:, g.shared]).reshape(-1)
            else:
                gw[g.arc_lo : g.arc_hi] = np.einsum("nk,nkf->kf", draw, values[:, g.src]).reshape(
                    -1
                )
            if g.back_order is None:
                continue  # all sources are input units: nothing to pass further back
            if g.shared is not None:
                dv = (draw @ wg).reshape(n, -1)  # one entry per source unit (no repeats)
            else:
                dv = (draw[:, :, None] * wg[None, :, :]).reshape(n, -1)
            sums = np.add.reduceat(dv[:, g.back_order], g.back_starts, axis=1)
            grad_a[:, g.back_units - n_in] += sums
        return loss, gw, gb


class _Adam:
    """Adam (Kingma & Ba 2015) updating a list of arrays in place."""

    def __init__(
        self, lr: float, params: list[np.ndarray], b1: float = 0.9, b2: float = 0.999
    ) -> None:
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, 1e-8
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        c1 = 1.0 - self.b1**self.t
        c2 = 1.0 - self.b2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            p -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)
