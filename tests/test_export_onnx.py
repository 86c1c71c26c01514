"""The ONNX export, run by onnxruntime, equals ``model.predict`` and the outputs'
pre-activations exactly (sign(0) = +1, the arg-max's lowest index among ties)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_networks
from exported_models import (
    DOMAIN_SPECS,
    sparse_weights,
    train_domain_example,
    train_examples,
    widened_networks,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import domain_data, domain_networks

from qubonn.language import parse
from qubonn.modelfile import TrainedModel
from qubonn.network import Weights

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from qubonn.export.onnx import generate_onnx  # noqa: E402


def session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(generate_onnx(model), options, providers=["CPUExecutionProvider"])


def model_of(net, weights):
    n = 2 if net.n_outputs == 1 else net.n_outputs
    return TrainedModel(net, weights, {"classes": [f"c{i}" for i in range(n)]})


def check(model, X, dtype=np.float32):
    index, scores = session(model).run(None, {"x": X.astype(np.float32)})
    labels = model.metadata["classes"]
    want = np.array([labels.index(c) for c in model.predict(X)])
    assert index.dtype == np.int64 and np.array_equal(index, want)
    _, z = model.network.predict_outputs(X, model.weights)
    assert scores.dtype == dtype and np.array_equal(scores, z.astype(dtype))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.integers(0, 2**32 - 1))
def test_random_networks(net, seed):
    X = np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), (100, net.n_inputs))
    check(model_of(net, net.random_weights(seed)), X)


def test_tie_rules():
    """Outputs 0 and 2 always tie, all three tie at 0 on half the inputs: the lowest index
    wins; one output with z = 0 predicts class 1 (ONNX Sign would say 0)."""
    net = parse("input x[2]\noutput y[3] <- x nobias\n")
    model = model_of(net, Weights(np.array([1, -1, 1, 1, 1, -1], np.int8), np.zeros(3, np.int8)))
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    index, _ = session(model).run(None, {"x": X.astype(np.float32)})
    assert index.tolist() == [1, 0, 1, 0]
    check(model, X)
    one = parse("input x[2]\nhidden h[1] <- x nobias\noutput y[1] <- h, x[0:1] nobias\n")
    model = model_of(one, Weights(np.array([1, 1, 1, 1], np.int8), np.zeros(2, np.int8)))
    check(model, X)


def test_windows_slices_and_word_sized_networks():
    net = parse(
        "input p[9x40]\n"
        "input q[5]\n"
        "hidden l[3x13] <- p window 3x4 stride 3x3\n"
        "hidden m[65] <- l, q nobias\n"
        "output y[2x3] <- m[1:64], q[2:4], p[30:100], l window 2x5 stride 1x4, m[64:65]\n"
    )
    X = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (300, net.n_inputs))
    check(model_of(net, net.random_weights(0)), X)


def test_metadata_carries_classes_and_spec():
    net = parse("input x[3]\noutput y[1] <- x\n")
    model = TrainedModel(net, net.random_weights(0), {"classes": [3, "eight"]})
    proto = onnx.load_from_string(generate_onnx(model, "digits"))
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["classes"]) == [3, "eight"]
    assert props["spec"] == net.to_text()
    assert proto.graph.name == "digits" and proto.producer_name == "qubonn"
    assert {o.op_type for o in proto.graph.node} <= {
        "Slice", "Gather", "MatMul", "Mul", "ReduceSum", "Sum", "GreaterOrEqual", "Where",
        "Concat", "Identity", "Reshape", "Cast", "ArgMax",
    }
    no_classes = generate_onnx(TrainedModel(net, net.random_weights(0), {}))
    props = {p.key: p.value for p in onnx.load_from_string(no_classes).metadata_props}
    assert json.loads(props["classes"]) == [0, 1]


def test_a_zero_in_a_binary_group_is_refused():
    from qubonn.errors import ExportError

    net = parse("input x[3]\noutput y[1] <- x\n")
    w = net.random_weights(0)
    w.w[2] = 0
    with pytest.raises(ExportError, match=r"weights\[2\] is 0; .*binary group 'y'.*'ternary'"):
        generate_onnx(TrainedModel(net, w, {}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(domain_networks(), widened_networks()), st.integers(0, 2**32 - 1))
def test_integer_inputs_and_ternary_groups(net, seed):
    """Classes and output pre-activations of the forward pass, on random inputs of the declared
    values (windows, slices, skips; float64 when the pre-activations pass 2**24)."""
    wide = int(net.preactivation_bound.max()) >= 1 << 24
    model = model_of(net, sparse_weights(net, seed, zeros=seed % 3 / 2))
    check(model, domain_data(net, 100, seed), np.float64 if wide else np.float32)


@pytest.mark.parametrize("stem", sorted(DOMAIN_SPECS))
def test_domain_specs(stem):
    net = parse(DOMAIN_SPECS[stem])
    for zeros in (0.0, 0.5, 0.97):
        check(model_of(net, sparse_weights(net, 5, zeros)), domain_data(net, 200, 5))


def test_sums_past_float32_compute_in_float64():
    """1024 inputs of -32767..32767 reach 33,553,409: beyond float32's integers, so the graph
    casts x to float64 and the scores are float64; exact on values near the limits."""
    net = parse("input x[1024] values -32767..32767\noutput y[3] <- x ternary\n")
    model = model_of(net, sparse_weights(net, 2, zeros=0.0))
    rng = np.random.default_rng(2)
    k = rng.integers(0, 3, (100, 1024))
    sign = np.where(model.weights.w[:1024] < 0, -1, 1)  # output 0's links: z_0 near 3.3e7
    X = np.where(rng.random((100, 1024)) < 0.98, sign, -sign) * (32767 - k)
    assert np.abs(model.network.predict_outputs(X, model.weights)[1]).min(axis=0)[0] > 1 << 24
    check(model, X, np.float64)
    proto = onnx.load_from_string(generate_onnx(model))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_without_the_onnx_package(monkeypatch):
    import builtins

    from qubonn.errors import ExportError

    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    net = parse("input x[3]\noutput y[1] <- x\n")
    with pytest.raises(ExportError, match=r"pip install \"onnx>=1.16\" \(in the clone of qubonn"):
        generate_onnx(TrainedModel(net, net.random_weights(0), {}))


def test_trained_examples_on_every_image():
    for stem, (model, X) in train_examples().items():
        check(model, X)
        assert len(X) >= 99, stem  # 10+ training images and the rest of the split


def test_a_trained_network_of_integer_pixels_and_ternary_groups():
    model, X = train_domain_example()
    check(model, X)
