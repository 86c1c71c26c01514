"""The ONNX export, run by onnxruntime, equals ``model.predict`` and the outputs'
pre-activations exactly (sign(0) = +1, the arg-max's lowest index among ties)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_networks
from exported_models import train_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def check(model, X):
    index, scores = session(model).run(None, {"x": X.astype(np.float32)})
    labels = model.metadata["classes"]
    want = np.array([labels.index(c) for c in model.predict(X)])
    assert index.dtype == np.int64 and np.array_equal(index, want)
    _, z = model.network.predict_outputs(X, model.weights)
    assert np.array_equal(scores, z.astype(np.float32))


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


def test_ternary_weights_are_refused():
    from qubonn.errors import ExportError

    net = parse("input x[3]\noutput y[1] <- x\n")
    w = net.random_weights(0)
    w.w[2] = 0
    with pytest.raises(ExportError, match=r"weights\[2\] is 0"):
        generate_onnx(TrainedModel(net, w, {}))


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
