"""The training QUBO is exact: its minimum over everything but the weights is the training loss."""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import objectives, tiny_networks

import qubonn
from qubonn.formulation import Objective, safe_penalties, slack_coefficients
from qubonn.verify import (
    all_weight_assignments,
    check_exact,
    expected_energy,
    min_energy_given_weights,
)


def _data(net, n, seed):
    rng = np.random.default_rng(seed)
    return rng.choice([-1, 1], (n, net.n_inputs)), rng.choice([-1, 1], (n, net.n_outputs))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=tiny_networks(), objective=objectives(), seed=st.integers(0, 10**6))
def test_every_weight_assignment_is_exact(net, objective, seed):
    X, y = _data(net, 3, seed)
    try:
        problem = qubonn.compile(net, X, y, objective=objective)
    except ValueError as e:  # hard margin on a too-small output fan-in is refused, by design
        assert "hard_margin" in str(e)
        return
    assert check_exact(problem, all_weight_assignments(problem)) == []


@pytest.mark.parametrize("loss", ["hinge", "01"])
def test_even_fan_in_uses_the_tie_rule(loss):
    net = qubonn.parse("input x[2]\nhidden h[2] <- x nobias\noutput y[1] <- h\n")
    assert set(net.fan_in.tolist()) == {2, 3}
    X = np.array([[1, -1], [-1, 1], [1, 1], [-1, -1]])
    problem = qubonn.compile(net, X, np.array([1, -1, 1, -1]), loss=loss, margin=0.5)
    assert any(lab.startswith("t[") for lab in problem.labels)
    assert check_exact(problem, all_weight_assignments(problem)) == []


def test_digits_sized_network_is_exact_for_random_weights():
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=5, seed=0)
    y = np.where(data.y_train == 8, 1, -1)
    for objective in (Objective(), Objective(loss="01", margin=0.1, margin_scale="fan_in")):
        problem = qubonn.compile(net, data.X_train, y, objective=objective)
        rng = np.random.default_rng(0)
        weights = [net.random_weights(rng) for _ in range(3)]
        assert check_exact(problem, weights) == []


def test_weak_penalties_are_caught():
    """The exactness check can fail: penalties below the safe value break it."""
    net = qubonn.parse("input x[2]\nhidden h[2] <- x nobias\noutput y[1] <- h\n")
    X, y = _data(net, 6, 1)
    problem = qubonn.compile(net, X, y, margin=0.5, penalties={"sign": 0.4, "and": 0.4, "tie": 0.4})
    assert check_exact(problem, all_weight_assignments(problem)) != []


def test_global_minimum_equals_best_training_loss():
    net = qubonn.parse("input x[2]\nhidden h[1] <- x\noutput y[1] <- h, x nobias\n")
    X = np.array([[1, 1], [1, -1], [-1, 1]])
    y = np.array([1, -1, -1])
    problem = qubonn.compile(net, X, y, margin=0.25)
    ground = dimod.ExactSolver().sample(problem.bqm).first
    best = min(expected_energy(problem, w) for w in all_weight_assignments(problem))
    assert ground.energy == pytest.approx(best, abs=1e-9)
    decoded = problem.decode(ground.sample)
    assert decoded.report.ok
    assert decoded.loss == pytest.approx(best, abs=1e-9)


def test_separable_data_trains_to_full_accuracy_through_the_exact_solver():
    net = qubonn.parse("input x[3]\noutput y[1] <- x\n")
    X = np.array(list(itertools.product([-1, 1], repeat=3)))
    y = np.where(X.sum(1) > 0, 1, -1)  # majority: separable by w = (1, 1, 1), b = +-1
    problem = qubonn.compile(net, X, y, margin=0)
    best = dimod.ExactSolver().sample(problem.bqm).first
    assert best.energy == pytest.approx(0.0)
    decoded = problem.decode(best.sample)
    assert decoded.accuracy == 1.0
    assert decoded.report.ok


def test_decode_reports_broken_constraints_by_name_sample_and_neuron():
    net = qubonn.parse("input x[2]\nhidden h[1] <- x\noutput y[1] <- h\n")
    X = np.array([[1, 1], [-1, 1]])
    problem = qubonn.compile(net, X, np.array([1, -1]))
    sample = dict.fromkeys(problem.labels, 0)
    sample["u[1,2]"] = 1  # product bit on without omega and alpha: breaks an AND constraint
    report = problem.decode(sample).report
    assert not report.ok
    names = {(b.name, b.sample, b.where) for b in report.broken}
    assert ("and", 1, "h[0]->y[0]") in names
    assert report.counts["and"] == 1
    assert "and[n=1,h[0]->y[0]]" in str(report)
    assert problem.broken_share(dimod.SampleSet.from_samples(sample, "BINARY", 0.0)) == 1.0


def test_decoded_accuracy_is_replayed_not_read_from_activation_bits():
    net = qubonn.parse("input x[2]\nhidden h[1] <- x\noutput y[1] <- h\n")
    X = np.array([[1, 1], [-1, -1]])
    y = np.array([1, -1])
    problem = qubonn.compile(net, X, y)
    w = net.random_weights(3)
    x = np.zeros(problem.n_variables, dtype=int)
    x[: net.n_arcs] = (w.w + 1) // 2
    x[net.n_arcs : net.n_arcs + net.n_biases] = (w.b[net.has_bias] + 1) // 2
    x[problem.labels.index("a[0,0]")] = 1  # nonsense activation bits must not matter
    decoded = problem.decode(x)
    assert decoded.weights == w
    assert decoded.accuracy == qubonn.training.metrics.accuracy_from_targets(
        net, X, problem.formulation.targets, w
    )


def test_slack_coefficients_reach_exactly_the_range():
    for upper in range(0, 40):
        c = slack_coefficients(upper)
        reach = {int(np.dot(bits, c)) for bits in itertools.product([0, 1], repeat=c.size)}
        assert reach == set(range(upper + 1))


def test_safe_penalties_grow_with_margin_and_loss_weight():
    net = qubonn.load_spec("examples/digits.qnn")
    base = safe_penalties(net, Objective())["sign"]
    assert safe_penalties(net, Objective(margin=1.0))["sign"] > base
    assert safe_penalties(net, Objective(loss_weight=3.0))["sign"] > base


def test_min_energy_checker_matches_brute_force_on_a_tiny_problem():
    net = qubonn.parse("input x[2]\nhidden h[1] <- x\noutput y[1] <- h\n")
    X, y = _data(net, 2, 5)
    problem = qubonn.compile(net, X, y, margin=0.5)
    bqm = problem.bqm
    p = net.n_parameters
    for w in list(all_weight_assignments(problem))[:4]:
        bits = np.concatenate([(w.w + 1) // 2, (w.b[net.has_bias] + 1) // 2])
        fixed = dict(zip(problem.labels[:p], bits, strict=True))
        sub = bqm.copy()
        for v, val in fixed.items():
            sub.fix_variable(v, int(val))
        brute = dimod.ExactSolver().sample(sub).first.energy
        assert min_energy_given_weights(problem, w) == pytest.approx(brute)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(loss="mse"), "loss must be"),
        (dict(margin=-1), "margin"),
        (dict(hard_margin=1, loss="01"), "hard_margin needs loss='hinge'"),
        (dict(penalties={"sgn": 3}), "unknown penalty"),
        (dict(hard_margin=5), "hard_margin=5 needs fan-in"),
        (dict(engine="gurobi"), "engine must be"),
    ],
)
def test_bad_objectives_are_refused_clearly(kwargs, message):
    net = qubonn.parse("input x[3]\noutput y[1] <- x\n")
    X = np.ones((2, 3), dtype=int)
    with pytest.raises(ValueError, match=message):
        qubonn.compile(net, X, np.array([1, -1]), **kwargs)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.ones((2, 4)), np.array([1, -1]), r"shape \(2, 4\)"),
        (np.full((2, 3), 0.5), np.array([1, -1]), "only -1 and \\+1"),
        (np.ones((2, 3)), np.array([1, -1, 1]), "2 samples but y has 3"),
        (np.ones((2, 3)), np.array([1, 2]), "targets must be"),
    ],
)
def test_bad_data_is_refused_clearly(X, y, message):
    net = qubonn.parse("input x[3]\noutput y[1] <- x\n")
    with pytest.raises(ValueError, match=message):
        qubonn.compile(net, X, y)


# -- the unary slack encoding ------------------------------------------------------------------


@pytest.mark.parametrize("loss, hard_margin", [("hinge", 0), ("hinge", 1), ("01", 0)])
@pytest.mark.parametrize(
    "spec",
    [
        "input x[6]\nhidden h[1] <- x\noutput y[1] <- h, x nobias\n",  # slack ranges of 3
        "input x[8]\nhidden h[1] <- x nobias\noutput y[1] <- h, x nobias\n",  # even: tie bits
    ],
)
def test_unary_slack_is_exact_with_the_binary_minimum(spec, loss, hard_margin):
    """The unary encoding gives the same minimum as the binary one for every weight assignment
    tried, and both equal the replayed objective."""
    net = qubonn.parse(spec)
    X, y = _data(net, 4, 7)
    kw = dict(loss=loss, hard_margin=hard_margin, margin=0.5)
    unary = qubonn.compile(net, X, y, slack_encoding="unary", **kw)
    binary = qubonn.compile(net, X, y, **kw)
    assert unary.n_variables > binary.n_variables  # one bit per unit of slack
    rng = np.random.default_rng(3)
    weights = [net.random_weights(rng) for _ in range(24)]
    assert check_exact(unary, weights) == []
    for w in weights:
        assert min_energy_given_weights(unary, w) == pytest.approx(
            min_energy_given_weights(binary, w), abs=1e-9
        )


def test_unary_slack_is_exact_on_a_digits_sized_network():
    """The checker takes a unary slack of 32 bits by its count (its bits are exchangeable)."""
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=3, seed=0)
    y = np.where(data.y_train == 8, 1, -1)
    problem = qubonn.compile(net, data.X_train, y, margin=0.2, slack_encoding="unary")
    assert any(lab.startswith("s[0,0,31]") for lab in problem.labels)
    rng = np.random.default_rng(1)
    assert check_exact(problem, [net.random_weights(rng) for _ in range(3)]) == []


def test_unary_slack_with_weak_penalties_is_caught():
    """The count shortcut of the checker still sees a broken minimum."""
    net = qubonn.parse("input x[2]\nhidden h[2] <- x nobias\noutput y[1] <- h\n")
    X, y = _data(net, 6, 1)
    weak = {"sign": 0.4, "and": 0.4, "tie": 0.4}
    problem = qubonn.compile(net, X, y, margin=0.5, penalties=weak, slack_encoding="unary")
    assert check_exact(problem, all_weight_assignments(problem)) != []


def test_unary_slack_coefficients_reach_exactly_the_range():
    for upper in range(0, 12):
        c = slack_coefficients(upper, "unary")
        assert c.size == max(upper, 0) and set(c.tolist()) <= {1}
        reach = {int(np.dot(bits, c)) for bits in itertools.product([0, 1], repeat=c.size)}
        assert reach == set(range(upper + 1))


def test_unknown_slack_encoding_is_refused_with_the_choices():
    net = qubonn.parse("input x[3]\noutput y[1] <- x\n")
    with pytest.raises(ValueError, match="slack_encoding must be 'binary' or 'unary', not 'gray'"):
        qubonn.compile(net, np.ones((2, 3)), np.array([1, -1]), slack_encoding="gray")
