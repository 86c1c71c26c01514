"""Shared by the export tests (C and ONNX): the shipped examples trained quickly, networks of
the wider domains (integer inputs, ternary groups) with windows, slices and skips, and explicit
specs of them."""

from __future__ import annotations

import functools
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from conftest import random_networks
from hypothesis import strategies as st

from qubonn.network import Network

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_SPECS = {p.stem: p for p in EXAMPLES_DIR.glob("*.qnn")}


@functools.cache
def train_examples() -> dict:
    """Every examples/*.qnn trained quickly on its data (5 images a class, a short anneal):
    the 8x8 or 4x4 digits, or MNIST for 28x28 inputs (digits 3 and 8 for one output), in the
    levels the spec's inputs declare, with all its training and test images:
    {stem: (TrainedModel, X)}."""
    import qubonn
    from qubonn.modelfile import TrainedModel
    from qubonn.training import BNNClassifier

    out = {}
    for stem, path in sorted(EXAMPLE_SPECS.items()):
        net = qubonn.load_spec(path)
        classes = (3, 8) if net.n_outputs == 1 else tuple(range(net.n_outputs))
        values = {i.values for i in net.inputs}  # integer examples declare values 0..K-1
        levels = {} if values == {None} else {"encoding": "levels", "levels": max(
            v[1] for v in values if v) + 1}
        if net.n_inputs == 28 * 28:
            data = qubonn.datasets.mnist(classes=classes, per_class=5, seed=0, **levels)
        else:
            size = 4 if net.n_inputs == 16 else 8
            data = qubonn.datasets.digits(
                classes=classes, per_class=5, size=size, seed=0, **levels)
        clf = BNNClassifier(
            net, backend="native", num_reads=2, solver_options={"num_sweeps": 50}, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant predictor is still a model to export
            clf.fit(data.X_train, data.y_train)
        model = TrainedModel(net, clf.weights_, {"classes": [int(c) for c in data.classes]})
        out[stem] = (model, np.concatenate([data.X_train, data.X_test]))
    return out


@st.composite
def widened_networks(draw):
    """The DAGs of ``random_networks`` (windows with strides, slices, skips, several outputs)
    with each input drawn -1/+1 or integer ``values lo..hi`` (negative, zero-crossing and wide
    ranges) and each group binary or ternary."""
    net = draw(random_networks())
    ranges = st.sampled_from([None, (0, 1), (0, 255), (-3, 2), (-7, -2), (-32767, 32767)])
    inputs = [replace(i, values=draw(ranges)) for i in net.inputs]
    domains = st.sampled_from(["binary", "ternary"])
    groups = [replace(g, domain=draw(domains)) for g in net.groups]
    return Network(inputs, groups)


#: Explicit networks of the wider domains: windows over integer inputs, ternary groups fed by
#: windows, slices and skips, mixed -1/+1 and integer inputs, word boundaries.
DOMAIN_SPECS = {
    "windows": (
        "input p[9x40] values 0..255\n"
        "input q[5]\n"
        "hidden l[3x13] <- p window 3x4 stride 3x3 ternary\n"
        "hidden m[65] <- l, q nobias ternary\n"
        "output y[2x3] <- m[1:64], q[2:4], p[30:100], l window 2x5 stride 1x4, m[64:65]\n"
    ),
    "skip": (
        "input x[33] values -5..5\n"
        "hidden h[40] <- x ternary\n"
        "output y[1] <- h, x[3:20]\n"
    ),
    "mnist_like": (
        "input gray[28x28] values 0..255\nhidden h[16] <- gray ternary\noutput y[10] <- h\n"
    ),
    "full_range": "input x[7] values -32767..32767\noutput y[3] <- x ternary\n",
    "binary_ternary": (
        "input x[70]\nhidden h[33] <- x ternary\noutput y[2] <- h, x ternary nobias\n"
    ),
}


def sparse_weights(net: Network, seed: int, zeros: float = 0.6):
    """Random weights of ``net``'s domains with most ternary parameters 0 (some neurons keep no
    link at all, so a bias of -1 alone decides them)."""
    from qubonn.network import Weights

    rng = np.random.default_rng(seed)
    w = net.random_weights(rng)
    arc_t = net.ternary[net.arc_dst]
    ww = np.where(arc_t & (rng.random(net.n_arcs) < zeros), 0, w.w).astype(np.int8)
    return Weights(ww, w.b)


#: A network of the wider domains trained on the digits' raw pixels (0..16), not binarised.
DOMAIN_EXAMPLE = (
    "input px[8x8] values 0..16\n"
    "hidden h[3x3] <- px window 4x4 stride 2x2 ternary\n"
    "output y[1] <- h\n"
)


@functools.cache
def train_domain_example() -> tuple:
    """:data:`DOMAIN_EXAMPLE` trained quickly (40 images of 3 and 8, a short anneal), with every
    3 and 8 of the digits as integer pixels: (TrainedModel, X)."""
    import qubonn
    from qubonn.datasets import _digits_raw
    from qubonn.modelfile import TrainedModel
    from qubonn.training import BNNClassifier

    images, target = _digits_raw()
    keep = np.isin(target, [3, 8])
    X = images[keep].reshape(int(keep.sum()), -1).astype(np.int64)
    y = target[keep]
    net = qubonn.parse(DOMAIN_EXAMPLE)
    clf = BNNClassifier(net, backend="native", num_reads=2, solver_options={"num_sweeps": 50},
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X[:40], y[:40])
    return TrainedModel(net, clf.weights_, {"classes": [3, 8]}), X
