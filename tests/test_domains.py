"""The language's wider domains: integer inputs (``values lo..hi``) and ternary weight groups,
through the spec text, the network IR, both forward passes and the model files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qubonn
from qubonn.errors import ModelFileError, SpecError
from qubonn.network import Weights

SPEC = """\
input gray[4x4] values 0..255
input flags[3]
hidden h[4] <- gray, flags ternary
hidden l[2x2] <- gray window 3x3 ternary
output y[2] <- h, l, flags nobias
"""


def _data(net: qubonn.Network, n: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = net.input_values
    X = rng.integers(lo, hi + 1, size=(n, net.n_inputs))
    return np.where(net.input_binary, np.where(rng.random(X.shape) < 0.5, 1, -1), X)


def test_spec_round_trip_and_unit_view():
    net = qubonn.parse(SPEC)
    assert qubonn.parse(net.to_text()) == net
    assert "values 0..255" in net.to_text() and net.to_text().count("ternary") == 2
    assert net.group("h").domain == "ternary" and net.group("y").domain == "binary"
    assert net.ternary.tolist() == [True] * 8 + [False] * 2
    assert net.has_integer_inputs and net.has_ternary and not net.is_binary
    # |z| bound: 16 pixels of 255, 3 flags and a bias into h; 9 pixels and a bias into l
    assert net.preactivation_bound.tolist()[:5] == [16 * 255 + 4] * 4 + [9 * 255 + 1]
    assert net.preactivation_bound.tolist()[8:] == [4 + 4 + 3] * 2
    assert qubonn.parse("input x[3]\noutput y[1] <- x").is_binary


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("input x[2] values 3..3\noutput y[1] <- x", "1:7", "lo < hi"),
        ("input x[2] values 9..2\noutput y[1] <- x", "1:7", "lo < hi"),
        ("input x[2] values 0..40000\noutput y[1] <- x", "1:7", "limit"),
        ("input x[2] values 0..\noutput y[1] <- x", "1:22", "expected an integer"),
        ("input x[2]\noutput y[1] <- x ternary binary", "2:26", "set twice"),
        ("input x[2]\noutput y[1] <- x quaternary", "2:18", "'binary' or 'ternary'"),
    ],
)
def test_bad_domains_are_positioned(text, where, words):
    with pytest.raises(SpecError) as e:
        qubonn.parse(text)
    assert f":{where}:" in str(e.value) and words in str(e.value)


def test_inputs_outside_the_declared_values_name_the_column():
    net = qubonn.parse(SPEC)
    w = net.random_weights(0)
    X = _data(net, 3, np.random.default_rng(0))
    bad = X.copy()
    bad[2, 5] = 256
    with pytest.raises(ValueError, match=r"X\[2, 5\] is 256: column 5 is input gray\[1,1\], "
                                         r"which takes an integer in 0\.\.255"):
        net.forward(bad, w)
    bad = X.copy()
    bad[1, 17] = 0
    with pytest.raises(ValueError, match=r"column 17 is input flags\[1\], which takes -1 or"):
        net.forward(bad, w, packed=True)
    with pytest.raises(ValueError, match="integer"):
        net.forward(X + 0.5, w)
    binary = qubonn.parse("input x[3]\noutput y[1] <- x")
    with pytest.raises(ValueError, match="values 0..255"):  # the hint names the declaration
        binary.forward(np.array([[0, 1, 1]]), binary.random_weights(0))


def test_weights_follow_each_groups_domain():
    net = qubonn.parse(SPEC)
    w = net.random_weights(1)
    arc_t = net.ternary[net.arc_dst]
    assert np.any(w.w[arc_t] == 0) and np.all(w.w[~arc_t] != 0)
    zero_binary = w.w.copy()
    zero_binary[~arc_t] = 0
    with pytest.raises(ValueError, match="takes only -1 and \\+1"):
        net.check_weights(Weights(zero_binary, w.b))
    two = w.w.copy()
    two[0] = 2
    with pytest.raises(ValueError, match=r"weights.w\[0\] is 2"):
        net.check_weights(Weights(two, w.b))
    assert net.n_links(w) == np.count_nonzero(w.w) + np.count_nonzero(w.b)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lo=st.integers(-20, 3), width=st.integers(1, 40),
       n=st.integers(1, 70))
def test_packed_forward_equals_plain(seed, lo, width, n):
    """The bit-plane / masked XOR pass gives the plain forward pass's pre-activations."""
    spec = (f"input x[3x4] values {lo}..{lo + width}\ninput s[5]\n"
            "hidden h[3] <- x, s ternary\nhidden k[2x3] <- x window 2x2 ternary\n"
            "hidden g[2] <- s, h\noutput y[2] <- g, k, x[2:7]\n")
    net = qubonn.parse(spec)
    rng = np.random.default_rng(seed)
    w = net.random_weights(rng)
    X = _data(net, n, rng)
    plain = net.preactivations(X, w)
    assert np.array_equal(net.preactivations(X, w, packed=True), plain)
    # the plain pass is the definition: z = b + sum w x over each neuron's arcs
    v = np.concatenate([X, np.where(plain >= 0, 1, -1)], axis=1).astype(np.int64)
    ref = np.zeros_like(plain, dtype=np.int64) + w.b
    np.add.at(ref.T, net.arc_dst, (w.w[:, None] * v[:, net.arc_src].T))
    assert np.array_equal(ref, plain)


def test_model_file_round_trip_counts_links(tmp_path):
    net = qubonn.parse(SPEC)
    w = net.random_weights(2)
    path = tmp_path / "m.json"
    qubonn.save_model(path, net, w, {"classes": [0, 1]})
    doc = json.loads(path.read_text())
    assert doc["links"] == net.n_links(w) < net.n_parameters
    loaded = qubonn.load_model(path)
    assert loaded.network == net and loaded.weights == w
    doc["links"] += 1
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="'links' is .* the file is damaged"):
        qubonn.load_model(path)
    doc["links"] -= 1
    e = int(np.nonzero(~net.ternary[net.arc_dst])[0][0])
    doc["weights"][e] = 0
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=rf"weights\[{e}\] is 0; it must be -1 or \+1"):
        qubonn.load_model(path)


# -- the exact formulation of the wider domains -------------------------------------------------
from strategies import domain_data, domain_networks  # noqa: E402

from qubonn.formulation import Objective  # noqa: E402
from qubonn.verify import all_weight_assignments, check_exact, min_energy_given_weights  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(net=domain_networks(), seed=st.integers(0, 10**6),
       loss=st.sampled_from(["hinge", "01", "multiclass"]), margin=st.sampled_from([0.0, 0.3]),
       sparsity=st.sampled_from([0.0, 0.5, 2.0]), hard=st.integers(0, 1),
       encoding=st.sampled_from(["binary", "unary"]))
def test_every_assignment_of_the_wider_domains_is_exact(
    net, seed, loss, margin, sparsity, hard, encoding
):
    """Integer inputs and ternary weights: the QUBO's minimum over everything but the
    parameters is the replayed objective (loss, margins, sparsity) of every assignment."""
    if loss == "multiclass" and net.n_outputs < 2 or loss == "01":
        hard = 0
    if loss == "multiclass" and net.n_outputs < 2:
        loss = "hinge"
    if loss != "01" and net.group("y").sources != (net.group("y").sources[0],) and any(
        s.group == "y" for g in net.groups for s in g.sources
    ):
        return
    X = domain_data(net, 3, seed)
    rng = np.random.default_rng(seed)
    y = (np.eye(net.n_outputs)[rng.integers(0, net.n_outputs, 3)] if loss == "multiclass"
         else rng.choice([-1, 1], (3, net.n_outputs)))
    objective = Objective(loss=loss, margin=margin, hard_margin=hard, sparsity=sparsity,
                          slack_encoding=encoding)
    try:
        problem = qubonn.compile(net, X, y, objective=objective)
    except ValueError as e:  # a hard margin the inputs leave no room for is refused
        assert "hard_margin" in str(e)
        return
    assert check_exact(problem, all_weight_assignments(problem)) == []


def test_a_zeros_alias_costs_twice_the_sparsity():
    """Both bits of a ternary weight on is a second zero: exact too, 2 lambda dearer."""
    net = qubonn.parse("input x[2] values 0..3\nhidden h[1] <- x ternary\noutput y[1] <- h\n")
    X = np.array([[0, 3], [2, 1], [3, 3]])
    problem = qubonn.compile(net, X, np.array([1, -1, 1]), sparsity=0.75, margin=0.2)
    w = Weights(np.array([0, 1, 1], dtype=np.int8), np.array([-1, 1], dtype=np.int8))
    lay = problem.formulation.layout
    bits = lay.parameter_bits(np.concatenate([w.w, w.b]))
    assert lay.parameter_values(bits).tolist() == [0, 1, 1, -1, 1]
    alias = bits.copy()
    alias[0] = alias[lay.minus_var(np.array([0]))[0]] = 1
    assert lay.parameter_values(alias).tolist() == [0, 1, 1, -1, 1]
    base = min_energy_given_weights(problem, w)
    assert base == pytest.approx(problem.objective_value(w))
    assert min_energy_given_weights(problem, w, alias) == pytest.approx(base + 2 * 0.75)


def test_the_ground_state_of_a_ternary_problem_is_its_best_network():
    """Brute force over the whole QUBO: its ground state decodes to the network with the
    lowest objective among every assignment, and the decoded network keeps only real links."""
    import dimod

    net = qubonn.parse("input x[3] values -1..2\noutput y[1] <- x ternary\n")
    X = np.array([[2, -1, 0], [1, 1, 2], [0, 0, -1]])
    y = np.array([1, -1, -1])
    problem = qubonn.compile(net, X, y, sparsity=0.3, margin=0.1, loss="01")
    assert problem.n_variables <= 20
    ground = dimod.ExactSolver().sample(problem.bqm).first
    best = min(problem.objective_value(w) for w in all_weight_assignments(problem))
    assert ground.energy == pytest.approx(best)
    decoded = problem.decode(ground.sample)
    assert decoded.report.ok and decoded.loss == pytest.approx(best)
    assert set(decoded.weights.w.tolist()) <= {-1, 0, 1}


def test_check_names_the_domains(tmp_path, capsys):
    from qubonn.cli import main

    spec = tmp_path / "t.qnn"
    spec.write_text("input gray[8x8] values 0..16\nhidden h[8] <- gray ternary\noutput y[1] <- h\n")
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "integer inputs: gray 0..16" in out and "ternary weights: h" in out


@pytest.mark.parametrize("spec, exact", [
    ("input x[6]\nhidden h[3] <- x ternary\noutput y[2] <- h, x ternary\n", True),
    ("input x[6]\nhidden h[3] <- x\noutput y[1] <- h ternary\n", False),  # hinge: wider side
    ("input x[6] values 0..255\nhidden h[3] <- x ternary\noutput y[1] <- h\n", False),
])
def test_the_size_estimate_counts_the_wider_domains(spec, exact):
    """Exact on +-1 inputs (minus bits and second products counted); an upper bound with
    integer inputs, whose slack ranges depend on the data, and for a hinge output whose two
    labels' slacks differ (it counts the wider)."""
    from qubonn.compiler.size import estimate

    net = qubonn.parse(spec)
    X = domain_data(net, 5, 0)
    rng = np.random.default_rng(0)
    y = np.eye(2)[rng.integers(0, 2, 5)] if net.n_outputs == 2 else rng.choice([-1, 1], 5)
    problem = qubonn.compile(net, X, y)
    est = estimate(net, 5, Objective())
    if exact:
        assert est.variables == problem.n_variables
    else:
        assert problem.n_variables <= est.variables < 2 * problem.n_variables
    assert est.quadratic >= problem.qubo().quadratic.nnz
