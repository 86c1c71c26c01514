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
        ("# only a comment\n", "no input"),
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


# -- long lines, invisible characters, whole-file problems ---------------------------------
def test_a_huge_line_gives_a_short_message_with_a_window_and_caret():
    text = "input x[4]\noutput y[1] <- x" + ", x[0:1]" * 25_000 + " $\n"
    assert len(text.splitlines()[1]) > 200_000
    with pytest.raises(SpecError) as info:
        parse(text, filename="long.qnn")
    shown = str(info.value)
    assert len(shown) < 600, len(shown)
    head, line, caret = shown.splitlines()
    assert head.startswith("long.qnn:2:")
    assert line.startswith("    ...") and line[caret.index("^")] == "$"


def test_a_long_name_is_cut_in_the_message():
    name = "n" * 100_000
    with pytest.raises(SpecError) as info:
        parse(f"input x[4]\noutput y[1] <- {name}\n", filename="f.qnn")
    assert len(str(info.value)) < 600 and " ... " in str(info.value).splitlines()[0]


def test_undefined_name_among_many_does_not_list_them_all():
    groups = "".join(f"hidden g{i}[1] <- x\n" for i in range(5000))
    with pytest.raises(SpecError, match="did you mean") as info:
        parse("input x[1]\n" + groups + "output y[1] <- g1234x\n")
    assert len(str(info.value)) < 600


@pytest.mark.parametrize(
    "text, col, shown",
    [
        ("input x[4]\noutput y[1] <- x\x00\n", 17, "\\x00"),
        ("input x[4]\noutput y[1] <- x \ufeff\n", 18, "\\ufeff"),
        ("input x[4]\noutput y[1] <- x \x1b[31m\n", 18, "\\x1b"),
    ],
)
def test_control_characters_are_shown_escaped(text, col, shown):
    with pytest.raises(SpecError) as info:
        parse(text, filename="c.qnn")
    head, line, caret = str(info.value).splitlines()
    assert head.startswith(f"c.qnn:2:{col}: unexpected character '{shown}'")
    assert line.endswith(shown) or shown in line
    assert line[caret.index("^") :].startswith(shown)
    assert all(c.isprintable() for c in str(info.value).replace("\n", ""))


@pytest.mark.parametrize(
    "data, where, fragment",
    [
        (b"", "1:1", "the spec is empty"),
        (b"  \n\n", "1:1", "the spec is empty"),
        (b"input x[4]\n\xff\xfe", "2:1", "not a UTF-8 text file"),
        (b"PK\x03\x04\x00\x00", "1:5", "not a text file"),
    ],
)
def test_whole_file_problems_have_the_same_format(tmp_path, capsys, data, where, fragment):
    from qubonn.cli import main

    path = tmp_path / "f.qnn"
    path.write_bytes(data)
    with pytest.raises(SpecError, match=fragment) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:{where}: ")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"qubonn check: error: {path}:{where}: {fragment}")


def test_validation_is_linear_in_the_number_of_groups():
    import time

    n = 20_000
    lines = ["input x[1]", "hidden g0[1] <- x"]
    lines += [f"hidden g{i}[1] <- g{i - 1}" for i in range(1, n - 1)]
    lines += [f"output g{n - 1}[1] <- g{n - 2}"]
    t0 = time.perf_counter()
    net = parse("\n".join(reversed(lines)))  # declared last-first: the sort has all the work
    assert time.perf_counter() - t0 < 50  # was 103 s (quadratic); about 2 s now
    assert net.n_neurons == n


def test_a_long_cycle_is_named():
    n = 5000
    lines = ["input x[1]", "hidden g0[1] <- x, g4999", "output y[1] <- g0"]
    lines += [f"hidden g{i}[1] <- g{i - 1}" for i in range(1, n)]
    with pytest.raises(SpecError) as info:
        parse("\n".join(lines), filename="c.qnn")
    cycle = ["g0", *(f"g{i}" for i in range(n - 1, 0, -1)), "g0"]
    assert info.value.message == "cycle: " + " -> ".join(cycle)
    assert str(info.value).startswith("c.qnn:2:8: cycle: g0 -> g4999 -> g4998 -> ")
    assert len(str(info.value)) < 600
    assert info.value.pos == SourcePos(2, 8)


def test_load_spec_accepts_a_bom_and_refuses_pipes_and_huge_files(tmp_path):
    import os

    from qubonn.language import load_spec
    from qubonn.language.parser import MAX_SPEC_BYTES

    bom = tmp_path / "bom.qnn"
    bom.write_bytes("\ufeffinput x[4]\noutput y[1] <- x\n".encode())
    assert load_spec(bom).n_inputs == 4
    fifo = tmp_path / "fifo.qnn"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(fifo)
    huge = tmp_path / "huge.qnn"
    huge.write_text("input x[4]\ninput x[4]\n" + "#\n" * MAX_SPEC_BYTES)
    with pytest.raises(SpecError, match="over the limit"):
        load_spec(huge)
