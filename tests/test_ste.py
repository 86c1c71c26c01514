"""Tests of the straight-through-estimator baseline (qubonn.training.ste)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning, NotFittedError

import qubonn
from qubonn.network import Network, Weights
from qubonn.training.ste import STEClassifier, _plan

# -- data -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sklearn digits: 8x8 images binarised at pixel > 7, the 4x4 down-sampled version, labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x8 = np.where(d.data > 7, 1, -1).astype(np.int8)
    small = d.images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)
    x4 = np.where(small > 7, 1, -1).astype(np.int8)
    return x8, x4, d.target


def split(y: np.ndarray, classes: tuple[int, ...], n_per_class: int, seed: int = 0):
    """Indices of n_per_class random training samples per class and of all remaining test ones."""
    rng = np.random.default_rng(seed)
    tr = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n_per_class] for c in classes])
    te = np.setdiff1d(np.flatnonzero(np.isin(y, classes)), tr)
    return tr, te


def teacher_data(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random +-1 inputs labelled by a random binary teacher of the same architecture, so the
    task is realisable by the network."""
    rng = np.random.default_rng(seed)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, net.n_inputs))
    act, _ = net.predict_outputs(X, net.random_weights(rng))
    return X, act[:, 0]


SKIP = """
input  x[4x4]
hidden h[3]  <- x
output y[1]  <- h, x nobias
"""

# overlapping windows on a hidden group (sources differ per neuron and repeat across neurons),
# windows mixed with a slice, skip connections, several hidden layers, two outputs
MIXED = """
input  x[5x5]
hidden a[4x4]   <- x window 2x2
hidden loc[2x2] <- a window 3x3, x[0:3]
hidden h[3]     <- loc, x[4:10]
output y[2]     <- h, loc nobias
"""


# -- learning ---------------------------------------------------------------------------------


def test_learns_linearly_separable_toy_problem_perfectly() -> None:
    net = qubonn.parse("input x[15]\noutput y[1] <- x nobias")
    rng = np.random.default_rng(1)
    X = rng.choice(np.array([-1, 1]), size=(300, 15))
    teacher = rng.choice(np.array([-1, 1]), size=15)
    y = np.where(X @ teacher > 0, "pos", "neg")  # fan-in 15 is odd: no ties
    clf = STEClassifier(net, epochs=60).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert list(clf.classes_) == ["neg", "pos"]
    # the only perfect single-neuron classifier on this much data is the teacher itself
    assert np.array_equal(clf.weights_.w, teacher)


def test_digits_3_vs_8_generalises(digits) -> None:
    x8, _, y = digits
    tr, te = split(y, (3, 8), 100)
    net = qubonn.load_spec("examples/digits.qnn")
    clf = STEClassifier(net).fit(x8[tr], y[tr])
    assert clf.score(x8[tr], y[tr]) > 0.95
    assert clf.score(x8[te], y[te]) > 0.90
    assert set(clf.predict(x8[te])) == {3, 8}


def test_multiclass_beats_chance(digits) -> None:
    _, x4, y = digits
    tr, te = split(y, (0, 1, 2), 100)
    net = qubonn.load_spec("examples/multiclass.qnn")
    clf = STEClassifier(net).fit(x4[tr], y[tr])
    assert list(clf.classes_) == [0, 1, 2]
    assert clf.score(x4[te], y[te]) > 0.6  # chance is 1/3
    assert set(clf.predict(x4[te])) == {0, 1, 2}


def test_skip_connection_network_fits_a_realisable_task() -> None:
    net = qubonn.parse(SKIP)
    X, y = teacher_data(net, 400, seed=3)
    majority = max(np.mean(y == 1), np.mean(y == -1))
    clf = STEClassifier(net, epochs=80).fit(X, y)
    acc = clf.score(X, y)
    assert acc > 0.9 and acc > majority + 0.1


def test_locally_connected_network_learns_digits(digits) -> None:
    x8, _, y = digits
    tr, te = split(y, (3, 8), 100)
    net = qubonn.load_spec("examples/local.qnn")
    clf = STEClassifier(net).fit(x8[tr], y[tr])
    assert clf.score(x8[tr], y[tr]) > 0.95
    assert clf.score(x8[te], y[te]) > 0.85


# -- the model is a binary network -------------------------------------------------------------


@pytest.mark.parametrize("spec", ["examples/digits.qnn", "examples/multiclass.qnn"])
def test_weights_are_binary_and_predict_is_the_forward_pass(spec: str) -> None:
    net = qubonn.load_spec(spec)
    rng = np.random.default_rng(0)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(120, net.n_inputs))
    labels = np.array(["a", "b", "c"])[: max(2, net.n_outputs)]
    y = labels[rng.integers(0, labels.size, size=120)]
    clf = STEClassifier(net, epochs=5).fit(X, y)
    w = clf.weights_
    assert isinstance(w, Weights)
    assert np.array_equal(net.check_weights(w).w, w.w)  # +-1 arcs, +-1 / 0 biases
    assert set(np.unique(w.w)) <= {-1, 1}
    assert np.array_equal(w.b == 0, ~net.has_bias)
    # predictions are exactly those of the binary network's forward pass
    a = net.forward(X, w)[:, net.outputs]
    z = net.preactivations(X, w)[:, net.outputs]
    expected = (
        clf.classes_[(a[:, 0] > 0).astype(int)]
        if net.n_outputs == 1
        else (clf.classes_[np.argmax(z, axis=1)])
    )
    assert np.array_equal(clf.predict(X), expected)
    # two classes: shape (n,), z + 1/2 so that > 0 is classes_[1] (sign(0) = +1)
    assert np.array_equal(clf.decision_function(X), z[:, 0] + 0.5 if net.n_outputs == 1 else z)
    assert clf.score(X, y) == np.mean(expected == y)


def test_keeps_best_epoch_by_train_accuracy_ties_later() -> None:
    net = qubonn.parse(SKIP)
    X, y = teacher_data(net, 200, seed=5)
    clf = STEClassifier(net, epochs=30, lr=0.03).fit(X, y)
    acc = np.array([h["train_accuracy"] for h in clf.history_])
    assert len(acc) == 30 and [h["step"] for h in clf.history_] == list(range(30))
    assert clf.best_epoch_ == int(np.flatnonzero(acc == acc.max())[-1])
    assert clf.score(X, y) == acc.max()
    # the latent weights of that epoch are kept too, clipped to [-1, 1], and binarise to weights_
    assert np.max(np.abs(clf.latent_w_)) <= 1 and np.max(np.abs(clf.latent_b_)) <= 1
    assert np.array_equal(np.where(clf.latent_w_ >= 0, 1, -1), clf.weights_.w)
    assert np.max(np.abs(clf.latent_w_)) == 1  # lr 0.03 for 30 epochs reaches the clip
    assert acc.min() < acc.max()  # otherwise this test would not test the selection


def test_reproducible_with_seed() -> None:
    net = qubonn.parse(MIXED)
    X, y = teacher_data(net, 150, seed=7)  # two classes for the two outputs (one-vs-rest)
    a = STEClassifier(net, epochs=10, random_state=4).fit(X, y)
    b = STEClassifier(net, epochs=10, random_state=4).fit(X, y)
    c = STEClassifier(net, epochs=10, random_state=5).fit(X, y)
    assert a.weights_ == b.weights_
    for key in ("objective", "train_accuracy"):
        assert [h[key] for h in a.history_] == [h[key] for h in b.history_]
    assert a.weights_ != c.weights_


# -- the gradient ---------------------------------------------------------------------------


def reference_loss_and_grad(net, latent_w, latent_b, X, T, loss):
    """The same STE mathematics, neuron by neuron with a dense weight matrix: no groups, no
    fancy indexing, so it checks the grouped implementation independently."""
    n, n_in, n_units = X.shape[0], net.n_inputs, net.n_inputs + net.n_neurons
    sign = lambda v: np.where(v >= 0, 1.0, -1.0)  # noqa: E731
    W = np.zeros((net.n_neurons, n_units))
    W[net.arc_dst, net.arc_src] = sign(latent_w)
    bias = sign(latent_b) * net.has_bias
    scale = 1 / np.sqrt(net.fan_in)
    values = np.zeros((n, n_units))
    values[:, :n_in] = X
    z = np.zeros((n, net.n_neurons))
    for j in range(net.n_neurons):  # neurons are numbered in topological order
        z[:, j] = (values @ W[j] + bias[j]) * scale[j]
        values[:, n_in + j] = sign(z[:, j])
    direct = np.zeros_like(z)
    slack = np.maximum(0, 1 - T * z[:, net.outputs])
    if loss == "squared_hinge":
        value = np.sum(slack**2) / n
        direct[:, net.outputs] = -2 * T * slack / n
    else:
        value = np.sum(slack) / n
        direct[:, net.outputs] = -T * (slack > 0) / n
    dvalues = np.zeros((n, n_units))
    gW = np.zeros_like(W)
    gb = np.zeros(net.n_neurons)
    for j in reversed(range(net.n_neurons)):
        draw = (direct[:, j] + dvalues[:, n_in + j] * (np.abs(z[:, j]) <= 1)) * scale[j]
        gW[j] = draw @ values
        gb[j] = draw.sum() * net.has_bias[j]
        dvalues += np.outer(draw, W[j])
    return value, gW[net.arc_dst, net.arc_src], gb


@pytest.mark.parametrize("spec", [MIXED, SKIP, "examples/local.qnn"])
@pytest.mark.parametrize("loss", ["squared_hinge", "hinge"])
def test_gradient_matches_dense_reference(spec: str, loss: str) -> None:
    net = qubonn.load_spec(spec) if spec.endswith(".qnn") else qubonn.parse(spec)
    rng = np.random.default_rng(11)
    X = rng.choice(np.array([-1.0, 1.0]), size=(40, net.n_inputs))
    T = rng.choice(np.array([-1.0, 1.0]), size=(40, net.n_outputs))
    # latent weights of +-0.5: large enough pre-activations that some STE masks are cut
    latent_w = rng.choice(np.array([-0.5, 0.5]), size=net.n_arcs)
    latent_b = rng.choice(np.array([-0.5, 0.5]), size=net.n_neurons) * net.has_bias
    clf = STEClassifier(net, loss=loss)
    got = clf._loss_and_grad(net, _plan(net), latent_w, latent_b, X, T)
    want = reference_loss_and_grad(net, latent_w, latent_b, X, T, loss)
    assert got[0] == pytest.approx(want[0])
    np.testing.assert_allclose(got[1], want[1], atol=1e-12)
    np.testing.assert_allclose(got[2], want[2], atol=1e-12)
    assert np.any(want[1] != 0)
    if net.hidden.size:  # the hidden weights receive gradient through the STE
        hidden_arcs = ~net.is_output[net.arc_dst]
        assert np.any(want[1][hidden_arcs] != 0)


# -- validation and protocol --------------------------------------------------------------------


@pytest.fixture
def small() -> tuple[Network, np.ndarray, np.ndarray]:
    net = qubonn.parse("input x[5]\noutput y[1] <- x")
    X = np.array([[1, -1, 1, -1, 1], [-1, -1, 1, 1, 1], [1, 1, 1, -1, -1], [-1, 1, -1, 1, -1]])
    return net, X, np.array([0, 1, 0, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"lr": -1.0}, "lr must be"),
        ({"loss": "log"}, "loss must be one of"),
        ({"init_scale": 2.0}, "init_scale must be"),
    ],
)
def test_bad_parameters(small, kwargs, match) -> None:
    net, X, y = small
    with pytest.raises(ValueError, match=match):
        STEClassifier(net, **kwargs).fit(X, y)


def test_not_a_network(small) -> None:
    _, X, y = small
    with pytest.raises(ValueError, match="must be a qubonn Network"):
        STEClassifier("examples/digits.qnn").fit(X, y)  # type: ignore[arg-type]


def test_bad_data(small) -> None:
    net, X, y = small
    clf = STEClassifier(net, epochs=2)
    with pytest.raises(ValueError, match="only -1 and \\+1; binarise"):
        clf.fit(np.where(X > 0, 1, 0), y)
    with pytest.raises(ValueError, match="5 input units"):
        clf.fit(X[:, :4], y)
    with pytest.raises(ValueError, match="Expected 2D array"):
        clf.fit(X[0], y[:1])
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples: \\[4, 3\\]"):
        clf.fit(X, y[:3])
    with pytest.raises(ValueError, match="y should be a 1d array"):
        clf.fit(X, np.stack([y, y], axis=1))
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(4))
    with pytest.raises(ValueError, match=r"1 output neuron.*'output y\[3\]"):
        clf.fit(X, np.array([0, 1, 2, 1]))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        clf.predict(X)
    with pytest.warns(DataConversionWarning):  # a column vector of labels: sklearn's rule
        clf.fit(X, y.reshape(-1, 1))
    with pytest.raises(ValueError, match="X has 3 features, but STEClassifier is expecting 5"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.score(X, y[:2])


def test_classes_must_match_outputs() -> None:
    net = qubonn.load_spec("examples/multiclass.qnn")
    X = np.ones((4, 16))
    with pytest.raises(ValueError, match="3 output neurons .* y has 2 classes"):
        STEClassifier(net).fit(X, np.array([0, 1, 0, 1]))


def test_sklearn_clone_and_params(small) -> None:
    from sklearn.base import clone

    net, X, y = small
    clf = STEClassifier(net, epochs=3, lr=0.02)
    assert clf.get_params()["lr"] == 0.02
    copy = clone(clf).set_params(epochs=4)
    assert copy.epochs == 4 and copy.lr == 0.02 and copy.network == net
    assert copy.fit(X, y) is copy
    with pytest.raises(ValueError, match="Invalid parameter 'foo'"):
        clf.set_params(foo=1)
