"""Hypothesis strategies shared by the tests: random small networks and objectives, and the
training problem of a drawn network on random data."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from qubonn.formulation import Objective
from qubonn.network import NetworkBuilder, Source


def _at_most(net, max_parameters: int):
    """``net``, or a rejected draw when it has more parameters than the enumeration can take."""
    if net.n_parameters > max_parameters:
        reject()
    return net


@st.composite
def tiny_networks(draw, max_parameters: int = 8):
    """Random small DAGs: skip connections, slices, odd and even fan-in, bias on and off."""
    b = NetworkBuilder()
    n_in = draw(st.integers(1, 3))
    b.input("x", n_in)
    names = ["x"]
    sizes = {"x": n_in}
    for g in range(draw(st.integers(0, 2))):
        name = f"h{g}"
        srcs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        b.hidden(name, draw(st.integers(1, 2)), *srcs, bias=draw(st.booleans()))
        names.append(name)
        sizes[name] = b._groups[-1].size
    # the output must see every hidden group (so each feeds an output); it may skip to inputs
    hidden = names[1:]
    srcs: list[str | Source] = list(hidden)
    if not hidden or draw(st.booleans()):
        if n_in > 1 and draw(st.booleans()):
            a = draw(st.integers(0, n_in - 1))
            srcs.append(Source("x", slice=(a, draw(st.integers(a + 1, n_in)))))
        else:
            srcs.append("x")
    if "x" not in [s if isinstance(s, str) else s.group for s in srcs]:
        # every input must reach an output through some group
        used = any("x" in [s.group for s in g.sources] for g in b._groups)
        if not used:
            srcs.append("x")
    b.output("y", draw(st.integers(1, 2)), *srcs, bias=draw(st.booleans()))
    return _at_most(b.build(), max_parameters)


@st.composite
def domain_networks(draw, max_assignments: int = 1 << 11):
    """Tiny networks of the wider domains: integer inputs (``values lo..hi``, zero and negative
    values allowed) or +-1 ones, ternary or binary groups, one or two layers, skips, biases."""
    b = NetworkBuilder()
    n_in = draw(st.integers(1, 3))
    lo = draw(st.integers(-3, 1))
    values = draw(st.sampled_from([None, (lo, lo + draw(st.integers(1, 4)))]))
    b.input("x", n_in, values=values)
    domain = st.sampled_from(["binary", "ternary"])
    srcs: list[str] = ["x"]
    if draw(st.booleans()):
        b.hidden("h", draw(st.integers(1, 2)), "x", bias=draw(st.booleans()), domain=draw(domain))
        srcs = ["h", "x"] if draw(st.booleans()) else ["h"]
    b.output("y", draw(st.integers(1, 2)), *srcs, bias=draw(st.booleans()), domain=draw(domain))
    net = b.build()
    if np.prod(np.where(net.parameter_ternary, 3, 2).astype(float)) > max_assignments:
        reject()
    return net


def domain_data(net, n: int, seed: int) -> np.ndarray:
    """``n`` random rows of the inputs ``net`` declares."""
    rng = np.random.default_rng(seed)
    lo, hi = net.input_values
    X = rng.integers(lo, hi + 1, size=(n, net.n_inputs))
    return np.where(net.input_binary, np.where(rng.random(X.shape) < 0.5, 1, -1), X)


@st.composite
def objectives(draw):
    loss = draw(st.sampled_from(["hinge", "01"]))
    margin = draw(st.sampled_from([0.0, 0.25, 1.0]))
    scale = draw(st.sampled_from(["none", "fan_in"]))
    hard = draw(st.integers(0, 1)) if loss == "hinge" else 0
    weight = draw(st.sampled_from([None, "balanced"]))
    return Objective(
        loss=loss,
        margin=margin,
        margin_scale=scale,
        hard_margin=hard,
        class_weight=weight,
        slack_encoding=draw(st.sampled_from(["binary", "unary"])),
    )


@st.composite
def multiclass_objectives(draw):
    """The multiclass loss with margins (soft, hard) and class weights on and off."""
    return Objective(
        loss="multiclass",
        margin=draw(st.sampled_from([0.0, 0.25, 1.0])),
        margin_scale=draw(st.sampled_from(["none", "fan_in"])),
        hard_margin=draw(st.integers(0, 1)),
        class_weight=draw(st.sampled_from([None, "balanced"])),
        loss_weight=draw(st.sampled_from([1.0, 0.5])),
        slack_encoding=draw(st.sampled_from(["binary", "unary"])),
    )


@st.composite
def tiny_multiclass_networks(draw, max_parameters: int = 8):
    """Random small networks with 2-3 outputs that feed nothing: optional hidden group, skip
    arcs from the inputs, bias on and off, odd and even fan-ins."""
    b = NetworkBuilder()
    n_in = draw(st.integers(1, 2))
    b.input("x", n_in)
    srcs: list[str] = []
    if draw(st.booleans()):
        b.hidden("h", draw(st.integers(1, 2)), "x", bias=draw(st.booleans()))
        srcs.append("h")
    if not srcs or draw(st.booleans()):
        srcs.append("x")
    b.output("y", draw(st.integers(2, 3)), *srcs, bias=draw(st.booleans()))
    return _at_most(b.build(), max_parameters)


def random_problem(net, objective, seed: int, n: int = 4, penalties: bool = True):
    """The training problem of ``net`` under ``objective`` on ``n`` random samples (one true
    class each under the multiclass loss), with random linear penalties; None where the
    objective refuses the network by design (a hard margin wider than a fan-in, an output that
    feeds a neuron under a loss that clamps it)."""
    import qubonn

    rng = np.random.default_rng(seed)
    if net.has_integer_inputs or net.has_ternary:  # the wider domains: rows of their values
        X = domain_data(net, n, seed)
    else:
        X = rng.choice([-1, 1], (n, net.n_inputs))
    if objective.loss == "multiclass":
        Y = np.eye(net.n_outputs, dtype=np.int64)[rng.integers(0, net.n_outputs, n)]
    else:
        Y = rng.choice([0, 1], (n, net.n_outputs))
    h = rng.normal(0, 0.3, net.n_parameters) if penalties else None
    try:
        return qubonn.compile(net, X, Y, objective=objective, linear_penalties=h)
    except ValueError as e:
        assert "hard_margin" in str(e) or "feeds another neuron" in str(e)
        return None


@st.composite
def domain_cases(draw, max_assignments: int = 1 << 11):
    """(network, objective): a :func:`domain_networks` network and an objective of
    :func:`objectives` (or the multiclass loss where there are several outputs) with a
    sparsity price."""
    net = draw(domain_networks(max_assignments))
    several = net.n_outputs > 1 and draw(st.booleans())
    base = draw(multiclass_objectives() if several else objectives())
    return net, dataclasses.replace(base, sparsity=draw(st.sampled_from([0.0, 0.1, 0.5, 2.0])))
