"""The network model: unit numbering and the forward pass against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from qubonn.errors import NetworkError
from qubonn.language import parse
from qubonn.network import NetworkBuilder, Source, Weights


def W(w, b):
    return Weights(np.array(w, dtype=np.int8), np.array(b, dtype=np.int8))


def test_even_fan_in_tie_gives_plus_one():
    net = parse("input x[2]\noutput y[1] <- x nobias\n")
    weights = W([1, 1], [0])
    X = np.array([[1, -1], [-1, 1], [-1, -1], [1, 1]])
    assert net.preactivations(X, weights)[:, 0].tolist() == [0, 0, -2, 2]
    assert net.forward(X, weights)[:, 0].tolist() == [1, 1, -1, 1]


def test_skip_connection_by_hand():
    net = parse("input x[3]\nhidden h[1] <- x\noutput y[1] <- h, x nobias\n")
    # arcs: h <- x0, x1, x2; then y <- x0, x1, x2, h (unit 3), sorted by source unit
    assert net.arc_dst.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert net.arc_src.tolist() == [0, 1, 2, 0, 1, 2, 3]
    weights = W([1, -1, 1, 1, 1, 1, -1], [-1, 0])
    X = np.array([[1, 1, -1], [-1, 1, 1], [1, -1, 1], [-1, -1, -1]])
    z = net.preactivations(X, weights)
    assert z.tolist() == [[-2, 2], [-2, 2], [2, 0], [-2, -2]]
    a = net.forward(X, weights)
    assert a.dtype == np.int8
    assert a.tolist() == [[-1, 1], [-1, 1], [1, 1], [-1, -1]]
    out_a, out_z = net.predict_outputs(X, weights)
    assert out_a[:, 0].tolist() == [1, 1, 1, -1] and out_z[:, 0].tolist() == [2, 2, 0, -2]


def test_window_units_and_forward():
    net = parse("input p[3x3]\nhidden l[2x2] <- p window 2x2\noutput y[1] <- l nobias\n")
    # l[0,1] (neuron 1) sees pixels (0,1), (0,2), (1,1), (1,2) = units 1, 2, 4, 5
    assert net.arc_src[net.arc_dst == 1].tolist() == [1, 2, 4, 5]
    assert net.unit_name(5) == "p[1,2]"
    assert net.unit_name(9 + 1) == "l[0,1]"
    assert net.neuron_names[-1] == "y[0]"
    weights = W([1] * 16 + [1, 1, 1, 1], [1, 1, 1, 1, 0])
    X = -np.ones((1, 9), dtype=np.int8)
    X[0, 0] = X[0, 1] = X[0, 3] = X[0, 4] = 1  # the top-left window is all +1
    z = net.preactivations(X, weights)[0]
    # l[0,0]: 4 + 1 = 5; l[0,1]: (1 + -1 + 1 + -1) + 1 = 1; l[1,0]: 1; l[1,1]: 1 - 3 + 1 = -1
    assert z[:4].tolist() == [5, 1, 1, -1]
    assert z[4] == 1 + 1 + 1 - 1


def test_fan_in_and_summary():
    net = parse("input x[4]\nhidden h[3] <- x nobias\noutput y[2] <- h, x[0:2]\n")
    assert net.fan_in.tolist() == [4, 4, 4, 6, 6]
    assert net.hidden.tolist() == [0, 1, 2] and net.outputs.tolist() == [3, 4]
    assert net.summary()["parameters"] == 12 + 10 + 2


def test_weights_and_inputs_are_checked():
    net = parse("input x[2]\noutput y[1] <- x nobias\n")
    with pytest.raises(ValueError, match="shape"):
        net.forward(np.ones((1, 2)), W([1], [0]))
    with pytest.raises(ValueError, match="-1 and \\+1"):
        net.forward(np.ones((1, 2)), W([1, 2], [0]))
    with pytest.raises(ValueError, match="0 for the others"):
        net.forward(np.ones((1, 2)), W([1, 1], [1]))
    with pytest.raises(ValueError, match="binarise"):
        net.forward(np.zeros((1, 2)), W([1, 1], [0]))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        net.forward(np.ones((1, 3)), W([1, 1], [0]))


def test_random_weights_respect_bias_switch():
    net = parse("input x[4]\nhidden h[3] <- x nobias\noutput y[1] <- h\n")
    w = net.random_weights(0)
    assert net.check_weights(w) == w
    assert w.b.tolist()[:3] == [0, 0, 0] and abs(int(w.b[3])) == 1
    assert net.random_weights(0) == w


def test_builder_matches_language():
    built = (
        NetworkBuilder()
        .input("p", (4, 4))
        .hidden("l", (2, 2), Source("p", window=(2, 2), stride=(2, 2)))
        .output("y", 1, "l", Source("p", slice=(0, 3)), bias=False)
        .build()
    )
    text = "input p[4x4]\nhidden l[2x2] <- p window 2x2 stride 2\noutput y[1] <- l, p[0:3] nobias\n"
    assert parse(text) == built


def test_source_with_slice_and_window_is_refused():
    with pytest.raises(NetworkError, match="not both"):
        Source("p", slice=(0, 2), window=(1, 1))


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("input x[1024x1024]\noutput y[20] <- x\n", "group 'y' has 20 neurons x 1,048,576"),
        (
            "input x[1024x1024]\nhidden a[9] <- x\nhidden b[9] <- x\noutput y[1] <- a, b\n",
            "more than 16,777,216 arcs .* group 'b'",
        ),
    ],
)
def test_too_many_arcs_are_refused_before_any_array_is_built(text, fragment):
    """Counted, not built: 20 x 2**20 arcs would take 160 MB of indices before the check."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(NetworkError, match=fragment):
            parse(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20
