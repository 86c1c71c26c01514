"""The bit-packed forward pass equals the plain one exactly."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_networks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qubonn.inference as inference
from qubonn.inference import PackedForward, forward_packed, preactivations_packed
from qubonn.language import parse
from qubonn.network import NetworkBuilder, Source, Weights


def _batch(n_inputs: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), (n, n_inputs))


def _assert_same(net, X, weights):
    a = forward_packed(net, X, weights)
    assert a.dtype == np.int8
    assert np.array_equal(a, net.forward(X, weights))
    assert np.array_equal(preactivations_packed(net, X, weights), net.preactivations(X, weights))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_packed_equals_plain_on_random_networks(net, seed, n):
    _assert_same(net, _batch(net.n_inputs, n, seed), net.random_weights(seed))


def test_tie_rule_with_even_fan_in():
    net = parse("input x[2]\noutput y[1] <- x nobias\n")
    X = np.array([[1, -1], [-1, 1], [-1, -1]])
    # with equal weights the first two samples tie at z = 0 and must give +1
    w = Weights(np.array([1, 1], np.int8), np.array([0], np.int8))
    assert forward_packed(net, X, w)[:, 0].tolist() == [1, 1, -1]
    assert preactivations_packed(net, X, w)[:, 0].tolist() == [0, 0, -2]
    w = Weights(np.array([1, -1], np.int8), np.array([0], np.int8))
    assert forward_packed(net, X, w)[:, 0].tolist() == [1, -1, 1]


@pytest.mark.parametrize("width", [7, 8, 9, 16, 17, 32, 33, 63, 64, 65, 130, 200])
def test_word_boundaries(width):
    """Fan-ins around 8/16/32/64-bit words, and several uint64 words, with and without bias."""
    for bias in (True, False):
        net = NetworkBuilder().input("x", width).hidden("h", 5, "x", bias=bias)
        net = net.output("y", 3, "h", Source("x", slice=(1, width)) if width > 1 else "x").build()
        for seed in range(3):
            _assert_same(net, _batch(width, 25, seed), net.random_weights(seed))


def test_windows_with_skip_and_strides():
    net = parse(
        "input p[9x7]\n"
        "hidden l[3x3] <- p window 3x3 stride 3x2\n"
        "hidden m[4] <- l window 2x2 stride 1\n"
        "output y[2] <- m, l, p[5:40] nobias\n"
    )
    for seed in range(5):
        _assert_same(net, _batch(net.n_inputs, 50, seed), net.random_weights(seed))


def test_chunks_of_samples(monkeypatch):
    """Large batches are processed in chunks; results must not depend on the chunk size."""
    net = NetworkBuilder().input("x", (6, 6)).hidden("h", (4, 4), Source("x", window=(3, 3)))
    net = net.output("y", 2, "h", "x").build()
    monkeypatch.setattr(inference, "_CHUNK_BYTES", 1)  # one sample per chunk
    _assert_same(net, _batch(36, 7, 0), net.random_weights(0))


def test_empty_batch_and_single_vector():
    net = parse("input x[3]\noutput y[1] <- x\n")
    w = net.random_weights(0)
    assert forward_packed(net, np.empty((0, 3), np.int8), w).shape == (0, 1)
    assert np.array_equal(forward_packed(net, np.array([1, -1, 1]), w), net.forward([1, -1, 1], w))


def test_packed_forward_reuses_weights():
    net = parse("input x[10]\nhidden h[4] <- x\noutput y[2] <- h\n")
    w = net.random_weights(1)
    pf = PackedForward(net, w)
    for seed in range(3):
        X = _batch(10, 20, seed)
        assert np.array_equal(pf.forward(X), net.forward(X, w))


def test_bad_inputs_are_refused():
    net = parse("input x[3]\noutput y[1] <- x\n")
    w = net.random_weights(0)
    with pytest.raises(ValueError, match="binarise"):
        forward_packed(net, np.zeros((2, 3)), w)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        forward_packed(net, np.ones((2, 4)), w)
    with pytest.raises(ValueError, match="shape"):
        forward_packed(net, np.ones((2, 3)), Weights(w.w[:2], w.b))
