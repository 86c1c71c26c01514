"""The description language: valid specs, every error with its line and column, round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import random_networks
from hypothesis import HealthCheck, given, settings

import qubonn
from qubonn.errors import NetworkError, SourcePos, SpecError
from qubonn.language import load_spec, parse, to_text
from qubonn.network import NetworkBuilder, Source

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.qnn"))


def test_examples_exist():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_parses_and_round_trips(path):
    net = load_spec(path)
    assert net.n_outputs >= 1
    assert parse(to_text(net)) == net
    assert qubonn.load_spec(path) == net


def test_digits_example_counts():
    net = load_spec(EXAMPLES[0].parent / "digits.qnn")
    assert net.summary() == {
        "inputs": 64,
        "neurons": 5,
        "hidden": 4,
        "outputs": 1,
        "arcs": 64 * 4 + 4,
        "biases": 5,
        "parameters": 265,
    }


def test_every_construct():
    text = """
    # a comment line
    input  pixels[6x6]          # 2-D input
    input  extra[3]
    hidden local[2x2] <- pixels window 3x3 stride 3
    hidden flat[4] <- pixels window 3 stride 3x3, extra[1:3]
    hidden h[2x3] <- local, extra nobias
    output y[2] <- h, flat, pixels[0:5] bias

    """
    net = parse(text)
    assert [i.name for i in net.inputs] == ["pixels", "extra"]
    assert net.inputs[0].shape == (6, 6)
    assert [g.name for g in net.groups] == ["local", "flat", "h", "y"]
    local = net.group("local")
    assert local.sources == (Source("pixels", window=(3, 3), stride=(3, 3)),)
    flat = net.group("flat")
    assert flat.shape == (4,)
    assert flat.sources[0].window == (3, 3) and flat.sources[0].stride == (3, 3)
    assert flat.sources[1] == Source("extra", slice=(1, 3))
    h = net.group("h")
    assert h.shape == (2, 3) and not h.bias and not h.output
    y = net.group("y")
    assert y.output and y.bias
    assert y.sources[2] == Source("pixels", slice=(0, 5))
    # local neuron (1, 0) sees the 3x3 window whose top-left pixel is (3, 0)
    k = 2  # neuron index of local[1,0]
    arcs = net.arc_src[net.arc_dst == k]
    expected = sorted(r * 6 + c for r in range(3, 6) for c in range(0, 3))
    assert arcs.tolist() == expected
    assert net.fan_in[4] == 9 + 2 + 1  # flat[0] (after 4 local neurons): window, slice, bias
    assert parse(to_text(net)) == net


def test_declaration_order_does_not_matter():
    a = parse("input x[3]\nhidden h[2] <- x\noutput y[1] <- h\n")
    b = parse("output y[1] <- h\nhidden h[2] <- x\ninput x[3]\n")
    assert a == b
    assert np.array_equal(a.arc_src, b.arc_src)


def test_windows_accept_one_number_and_spaces_in_sizes():
    a = parse("input p[4 x 4]\nhidden l[2x2] <- p window 2 stride 2\noutput y[1] <- l\n")
    assert a.group("l").sources[0].window == (2, 2)
    assert a.inputs[0].shape == (4, 4)


# every error kind: (spec text, line, column, a piece of the message)
ERRORS = {
    "syntax error": ("input x[4]\noutput y[1] <- x,\n", 2, 18, "unexpected end of line"),
    "unexpected character": ("input x[4]\noutput y[1] <- x $\n", 2, 18, "unexpected character"),
    "undefined name": ("input x[4]\noutput y[1] <- z\n", 2, 16, "'z' is not defined"),
    "duplicate name": (
        "input x[4]\nhidden x[2] <- x\noutput y[1] <- x\n",
        2,
        8,
        "'x' is declared twice",
    ),
    "cycle": (
        "input x[4]\nhidden a[2] <- x, b\nhidden b[2] <- a\noutput y[1] <- b\n",
        2,
        8,
        "cycle: a -> b -> a",
    ),
    "self loop": ("input x[4]\nhidden a[2] <- x, a\noutput y[1] <- a\n", 2, 19, "itself"),
    "group with no inputs": (
        "input x[4]\nhidden a[2] <-\noutput y[1] <- x\n",
        2,
        15,
        "expected a name",
    ),
    "group not reaching an output": (
        "input x[4]\nhidden a[2] <- x\noutput y[1] <- x\n",
        2,
        8,
        "group 'a' does not reach any output",
    ),
    "input not reaching an output": (
        "input x[4]\ninput u[2]\noutput y[1] <- x\n",
        2,
        7,
        "input 'u' does not reach any output",
    ),
    "window out of bounds": (
        "input p[4x4]\nhidden l[1x1] <- p window 5x2\noutput y[1] <- l\n",
        2,
        18,
        "window 5x2 is out of bounds",
    ),
    "window grid mismatch": (
        "input p[4x4]\nhidden l[2x2] <- p window 2x2\noutput y[1] <- l\n",
        2,
        18,
        "declare 'l[3x3]'",
    ),
    "window on a 1-D source": (
        "input p[16]\nhidden l[2x2] <- p window 2x2\noutput y[1] <- l\n",
        2,
        18,
        "needs a 2-D source",
    ),
    "slice out of bounds": ("input x[4]\noutput y[1] <- x[2:5]\n", 2, 16, "out of bounds"),
    "empty slice": ("input x[4]\noutput y[1] <- x[3:3]\n", 2, 18, "empty slice"),
    "group size over limit": (
        "input x[4]\nhidden a[70000] <- x\noutput y[1] <- a\n",
        2,
        8,
        "over the limit 65536",
    ),
    "input size over limit": ("input x[2000x2000]\noutput y[1] <- x\n", 1, 7, "over the limit"),
    "bias set twice": ("input x[4]\noutput y[1] <- x bias nobias\n", 2, 23, "bias is set twice"),
    "zero size": ("input x[0]\noutput y[1] <- x\n", 1, 9, "at least 1"),
    "overlapping sources": ("input x[4]\noutput y[1] <- x, x[0:2]\n", 2, 8, "same unit twice"),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_error_line_and_column(kind):
    text, line, col, fragment = ERRORS[kind]
    with pytest.raises(SpecError) as info:
        parse(text, filename="net.qnn")
    e = info.value
    assert e.pos == SourcePos(line, col), e.format()
    assert fragment in e.message
    lines = str(e).splitlines()
    assert lines[0] == f"net.qnn:{line}:{col}: {e.message}"
    assert lines[1] == "    " + text.splitlines()[line - 1]
    assert lines[2] == "    " + " " * (col - 1) + "^"
    assert isinstance(e, ValueError)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("input x[4]\nhidden a[2] <- x\n", "no output group"),
        ("", "no input"),
        ("input x[4]\n", "no neuron group"),
    ],
)
def test_errors_without_position_name_the_file(text, fragment):
    with pytest.raises(SpecError) as info:
        parse(text, filename="f.qnn")
    assert str(info.value).startswith("f.qnn: ")
    assert fragment in str(info.value)


def test_builder_group_without_sources_is_refused():
    with pytest.raises(NetworkError, match="has no inputs"):
        NetworkBuilder().input("x", 2).output("y", 1).build()


def test_load_spec_missing_file(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.qnn")


def test_parse_rejects_bytes():
    with pytest.raises(TypeError):
        parse(b"input x[1]")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks())
def test_round_trip_random_networks(net):
    text = to_text(net)
    back = parse(text)
    assert back == net
    assert to_text(back) == text
    for attr in ("arc_src", "arc_dst", "has_bias", "is_output", "group_of", "fan_in"):
        assert np.array_equal(getattr(back, attr), getattr(net, attr)), attr
    assert back.neuron_names == net.neuron_names
