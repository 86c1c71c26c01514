"""The multiclass loss and class weights: exact in the QUBO, in the structured annealer and in
CP-SAT, and one class rule (arg-max, lowest index on ties) everywhere."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import multiclass_objectives, objectives, tiny_multiclass_networks

import qubonn
from qubonn.backends.native import structured as sm
from qubonn.formulation import Objective, feasible_state, objective_value, safe_penalties
from qubonn.formulation.model import multiclass_losses, objective_model
from qubonn.formulation.objective import loss_row_weights
from qubonn.network import Weights, class_of_outputs
from qubonn.verify import all_weight_assignments, check_exact, expected_energy

SEEDS = st.integers(0, 10**6)


def _one_hot(net, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], (n, net.n_inputs))
    cls = rng.integers(0, net.n_outputs, n)
    return X, np.eye(net.n_outputs, dtype=np.int64)[cls], cls


def _objective(problem, weights):
    f = problem.formulation
    return objective_value(
        f.network, problem.X, f.targets, weights, f.objective, f.linear_penalties
    )


# -- the formulation is exact ------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=tiny_multiclass_networks(), objective=multiclass_objectives(), seed=SEEDS)
def test_every_weight_assignment_is_exact(net, objective, seed):
    X, Y, _ = _one_hot(net, 3, seed)
    problem = qubonn.compile(net, X, Y, objective=objective)
    assert check_exact(problem, all_weight_assignments(problem)) == []


@pytest.mark.parametrize("loss", ["multiclass", "hinge", "01"])
def test_both_engines_build_the_same_qubo(loss):
    net = qubonn.parse("input x[2]\nhidden h[2] <- x nobias\noutput y[3] <- h, x\n")
    X, Y, _ = _one_hot(net, 4, 3)
    kw = dict(loss=loss, margin=0.25, class_weight="balanced")
    fast = qubonn.compile(net, X, Y, **kw)
    sym = qubonn.compile(net, X, Y, engine="pyqubo", **kw)
    rng = np.random.default_rng(0)
    states = rng.integers(0, 2, (20, fast.n_variables))
    assert fast.labels == sym.labels
    np.testing.assert_allclose(
        [fast.energy(s) for s in states], [sym.energy(s) for s in states], atol=1e-9
    )
    assert check_exact(sym, [net.random_weights(s) for s in range(4)]) == []


def test_a_digits_sized_network_is_exact_for_random_weights():
    net = qubonn.parse("input pixels[8x8]\nhidden h[2] <- pixels\noutput y[5] <- h, pixels\n")
    data = qubonn.datasets.digits(classes=tuple(range(5)), per_class=2, seed=0)
    Y = np.eye(5, dtype=np.int64)[data.y_train]
    for objective in (
        Objective(loss="multiclass", margin=0.1, margin_scale="fan_in"),
        Objective(loss="multiclass", hard_margin=1, class_weight="balanced"),
        Objective(loss="multiclass", class_weight=(1, 2, 0.5, 1, 3)),
    ):
        problem = qubonn.compile(net, data.X_train, Y, objective=objective)
        rng = np.random.default_rng(1)
        assert check_exact(problem, [net.random_weights(rng) for _ in range(2)]) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=tiny_multiclass_networks(), objective=multiclass_objectives(), seed=SEEDS)
def test_the_feasible_completion_is_valid_and_costs_the_objective(net, objective, seed):
    X, Y, _ = _one_hot(net, 4, seed)
    problem = qubonn.compile(net, X, Y, objective=objective)
    w = net.random_weights(seed)
    x = feasible_state(problem.formulation, X, w)
    assert problem.decode(x).report.ok
    assert problem.energy(x) == pytest.approx(_objective(problem, w), abs=1e-9)


def test_weak_penalties_are_caught():
    """The exactness check can fail: penalties below the safe value break it."""
    net = qubonn.parse("input x[2]\nhidden h[1] <- x nobias\noutput y[2] <- h\n")
    X, Y, _ = _one_hot(net, 4, 2)
    weak = qubonn.compile(
        net, X, Y, loss="multiclass", penalties={"sign": 0.4, "and": 0.4, "tie": 0.4}
    )
    assert check_exact(weak, all_weight_assignments(weak)) != []
    safe = qubonn.compile(net, X, Y, loss="multiclass")
    assert check_exact(safe, all_weight_assignments(safe)) == []


def test_the_loss_is_the_pairwise_squared_hinge():
    z = np.array([[3, 1, -1], [1, 1, 1], [-3, 3, 1]])
    cls = np.array([0, 1, 0])
    # margin 1: sample 0 wins both pairs by 2 and 4; sample 1 ties twice (1 + 1); sample 2
    # loses by 6 and 4: (1 + 6)^2 + (1 + 4)^2
    np.testing.assert_array_equal(multiclass_losses(z, cls, 1), [0, 2, 49 + 25])
    # margin 3: sample 0's pair at distance 2 now costs (3 - 2)^2
    np.testing.assert_array_equal(multiclass_losses(z, cls, 3)[0], 1)


def test_balanced_weights_make_every_class_weigh_the_same():
    Y = np.eye(3, dtype=np.int64)[[0, 0, 0, 0, 1, 1, 2]]
    w = loss_row_weights(Objective(loss="multiclass", class_weight="balanced"), Y)
    per_class = [w[Y[:, k] == 1, 0].sum() for k in range(3)]
    np.testing.assert_allclose(per_class, [7 / 3] * 3)
    w = loss_row_weights(Objective(class_weight="balanced"), Y)
    for k in range(3):  # one-vs-rest: positives and negatives of each output weigh N / 2
        assert w[Y[:, k] == 1, k].sum() == pytest.approx(3.5)
        assert w[Y[:, k] == 0, k].sum() == pytest.approx(3.5)
    assert np.all(loss_row_weights(Objective(), Y) == 1)


def test_class_weights_raise_the_safe_penalty_with_the_largest_weight():
    net = qubonn.parse("input x[3]\nhidden h[2] <- x\noutput y[3] <- h\n")
    Y = np.eye(3, dtype=np.int64)[[0, 0, 0, 0, 0, 1, 2]]
    plain = safe_penalties(net, Objective(loss="multiclass"), Y)["sign"]
    weighted = safe_penalties(net, Objective(loss="multiclass", class_weight="balanced"), Y)
    assert weighted["sign"] > plain


# -- one class rule ----------------------------------------------------------------------------
def test_ties_go_to_the_lowest_index_everywhere():
    net = qubonn.parse("input x[1]\noutput y[3] <- x nobias\n")
    w = Weights(w=np.array([1, 1, -1], dtype=np.int8), b=np.zeros(3, dtype=np.int8))
    X = np.array([[1], [-1]])  # z = (1, 1, -1): tie of 0 and 1; z = (-1, -1, 1): class 2
    for packed in (False, True):
        np.testing.assert_array_equal(net.predict_classes(X, w, packed=packed), [0, 2])
    np.testing.assert_array_equal(qubonn.training.metrics.predict_targets(net, X, w), [0, 2])
    # the objective: the tied class 1 is not predicted, and the loss says so (margin >= 1)
    Y = np.eye(3, dtype=np.int64)[[1, 2]]
    plain = Objective(loss="multiclass", hard_margin=0, margin=0.0)
    loss = objective_value(net, X, Y, w, plain)
    assert loss == pytest.approx(1.0)  # sample 0: (1 - 0)^2 against class 0; sample 1: 0
    Y0 = np.eye(3, dtype=np.int64)[[0, 2]]
    assert objective_value(net, X, Y0, w, plain) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(
    net=tiny_multiclass_networks(max_parameters=12),
    hard=st.integers(0, 1),
    seed=st.integers(0, 10**6),
)
def test_forward_packed_and_objective_agree_on_the_class(net, hard, seed):
    X, Y, cls = _one_hot(net, 16, seed)
    w = net.random_weights(seed)
    plain = net.predict_classes(X, w)
    np.testing.assert_array_equal(net.predict_classes(X, w, packed=True), plain)
    a, z = net.predict_outputs(X, w)
    np.testing.assert_array_equal(class_of_outputs(a, z), plain)
    per_sample = multiclass_losses(z, cls, 2 * hard + 1)
    assert np.all(plain[per_sample == 0] == cls[per_sample == 0])  # zero loss: a strict win
    assert np.all(per_sample[plain != cls] > 0)


# -- the structured annealer -------------------------------------------------------------------
def _structured_problem(net, objective, seed, n):
    X, Y, _ = _one_hot(net, n, seed)
    h = np.random.default_rng(seed).normal(0, 0.3, net.n_parameters)
    return qubonn.compile(net, X, Y, objective=objective, linear_penalties=h)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    net=tiny_multiclass_networks(max_parameters=14),
    objective=st.one_of(multiclass_objectives(), objectives()),
    seed=st.integers(0, 10**6),
)
def test_structured_reads_are_valid_and_their_energy_is_the_objective(net, objective, seed):
    try:
        problem = _structured_problem(net, objective, seed, 6)
    except ValueError as e:  # the hinge's hard margin on a too-small fan-in: refused by design
        assert "hard_margin" in str(e) and objective.loss == "hinge"
        return
    ss = qubonn.solve(problem, backend="native", num_reads=3, num_sweeps=15, seed=seed)
    assert ss.info["mode"] == "structured"
    for sample, energy in ss.data(["sample", "energy"]):
        decoded = problem.decode(sample)
        assert decoded.report.ok
        assert energy == pytest.approx(decoded.loss, abs=1e-7)
    model = sm.model_from_problem(problem)
    state = sm.state_from_params(model, sm.random_params(model, 2, seed))
    scratch = sm._Scratch(model, 2)
    sm._run_sweeps(model, state, scratch, np.full((5, 2), 1e-3), 0, sm._rng.seed_key(seed, 0))
    fresh = sm.state_from_params(model, state.params)
    np.testing.assert_array_equal(state.z, fresh.z)
    np.testing.assert_array_equal(state.loss_int, fresh.loss_int)
    np.testing.assert_array_equal(state.marg_int, fresh.marg_int)
    for r in range(2):
        assert state.energy[r] == pytest.approx(
            _objective(problem, model.weights(state.params[r])), abs=1e-9
        )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=tiny_multiclass_networks(), objective=multiclass_objectives(), seed=SEEDS)
@example(
    net=qubonn.parse("input x[1]\noutput y[3] <- x\n"),
    objective=Objective(loss="multiclass", margin=0.0, margin_scale="none", hard_margin=0),
    seed=39,
)
def test_structured_finds_the_exact_minimum_of_small_problems(net, objective, seed):
    """A heuristic's property, so with reads to spare: 4 x 200 sweeps missed a minimum that
    needs all three output biases flipped together (each single flip is uphill; CI found it)."""
    problem = _structured_problem(net, objective, seed, 3)
    best = min(expected_energy(problem, w) for w in all_weight_assignments(problem))
    ss = qubonn.solve(problem, backend="native", num_reads=16, num_sweeps=500, seed=seed)
    assert ss.first.energy == pytest.approx(best, abs=1e-7)


@pytest.mark.parametrize(
    "objective",
    [
        Objective(loss="multiclass", margin=0.3, margin_scale="fan_in"),
        Objective(loss="multiclass", hard_margin=1, class_weight="balanced", margin=0.1),
        Objective(loss="hinge", class_weight="balanced", margin=0.2),
        Objective(loss="01", class_weight="balanced"),
        Objective(loss="hinge", class_weight=(2.0, 0.5, 1.0, 1.5), margin=0.2),
        Objective(loss="multiclass", class_weight=(1, 3, 1, 0.25)),
    ],
)
def test_move_deltas_are_the_objective_changes(objective):
    spec = (
        "input x[3x3]\nhidden a[2x2] <- x window 2x2\nhidden b[3] <- a, x\n"
        "output y[4] <- b, a\n"
    )
    net = qubonn.parse(spec)
    problem = _structured_problem(net, objective, 4, 14)
    model = sm.model_from_problem(problem)
    state = sm.state_from_params(model, sm.random_params(model, 1, 5))
    deltas = sm.move_deltas(model, state)
    base = _objective(problem, model.weights(state.params[0]))
    assert state.energy[0] == pytest.approx(base, abs=1e-9)
    for p in range(model.n_params):
        flipped = state.params[0].copy()
        flipped[p] = -flipped[p]
        assert deltas[p] == pytest.approx(_objective(problem, model.weights(flipped)) - base)


# -- CP-SAT ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "objective",
    [
        Objective(loss="multiclass", margin=0.25),
        Objective(loss="multiclass", hard_margin=1, class_weight="balanced"),
        Objective(loss="hinge", class_weight="balanced", margin=0.25),
        Objective(loss="multiclass", class_weight=(1, 2.5, 0.5)),
    ],
)
def test_cpsat_proves_the_brute_force_optimum(objective):
    pytest.importorskip("ortools")
    net = qubonn.parse("input x[3]\nhidden h[1] <- x\noutput y[3] <- h, x[0:1] nobias\n")
    problem = _structured_problem(net, objective, 7, 6)
    best = min(expected_energy(problem, w) for w in all_weight_assignments(problem))
    ss = qubonn.solve(problem, backend="cpsat", time_limit=30, seed=0)
    assert ss.first.energy == pytest.approx(best, abs=1e-6)
    assert ss.info["status"] == "optimal"


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, Y, kwargs, message",
    [
        ("input x[2]\noutput y[1] <- x\n", np.array([[1], [0]]), {}, "two or more outputs"),
        (
            "input x[2]\noutput y[3] <- x\n",
            np.array([[1, 1, 0], [0, 0, 1]]),
            {},
            "exactly one true class per sample, but sample 0 has 2",
        ),
        (
            "input x[2]\noutput y[2] <- x\noutput z[2] <- y\n",
            np.array([[1, 0], [0, 1]]),
            {},
            "feeds another neuron",
        ),
        (
            "input x[2]\noutput y[2] <- x\n",
            np.array([[1, 0], [0, 1]]),
            {"class_weight": "auto"},
            "class_weight must be None, 'balanced' or one weight per class",
        ),
        (
            "input x[2]\noutput y[2] <- x\n",
            np.array([[1, 0], [0, 1]]),
            {"hard_margin": -1},
            "hard_margin must be",
        ),
    ],
)
def test_bad_multiclass_input_is_refused_clearly(spec, Y, kwargs, message):
    net = qubonn.parse(spec)
    if net.n_outputs != Y.shape[1]:
        Y = np.concatenate([Y, np.zeros((2, net.n_outputs - Y.shape[1]), int)], axis=1)
    X = np.array([[1, -1], [-1, 1]])
    with pytest.raises(ValueError, match=message):
        qubonn.compile(net, X, Y, loss="multiclass", **kwargs)


# -- the trainer -------------------------------------------------------------------------------
def test_the_trainer_defaults_to_the_multiclass_loss_for_several_outputs():
    from qubonn.training import BNNClassifier

    three = qubonn.parse("input x[4]\noutput y[3] <- x\n")
    one = qubonn.parse("input x[4]\noutput y[1] <- x\n")
    assert BNNClassifier(three).check_params().objective.for_network(three).loss == "multiclass"
    assert BNNClassifier(one).check_params().objective.for_network(one).loss == "hinge"
    hinge = BNNClassifier(three, loss="hinge").check_params().objective
    assert hinge.for_network(three).loss == "hinge"
    # prototypes of three classes: separable by the arg-max, learnt exactly
    rng = np.random.default_rng(0)
    protos = np.array([[1, 1, -1, -1], [-1, -1, 1, 1], [1, -1, 1, -1]])
    y = rng.integers(0, 3, 30)
    clf = BNNClassifier(
        three, num_reads=4, solver_options={"num_sweeps": 100}, random_state=0,
        class_weight="balanced",
    )
    assert clf.fit(protos[y], y).score(protos[y], y) == 1.0
    assert clf.problem_.formulation.objective.loss == "multiclass"


def test_compile_resolves_the_automatic_loss():
    net = qubonn.parse("input x[2]\noutput y[3] <- x\n")
    X, Y, _ = _one_hot(net, 3, 0)
    problem = qubonn.compile(net, X, Y, loss="auto")
    assert problem.formulation.objective.loss == "multiclass"
    assert check_exact(problem, all_weight_assignments(problem)) == []


def test_per_class_weights_weigh_each_sample_by_its_class():
    Y = np.eye(3, dtype=np.int64)[[0, 1, 1, 2]]
    w = loss_row_weights(Objective(loss="multiclass", class_weight=(1, 2, 0.5)), Y)
    np.testing.assert_allclose(w[:, 0], [1, 2, 2, 0.5])
    binary = loss_row_weights(Objective(class_weight=[3, 1]), np.array([[0], [1], [0]]))
    np.testing.assert_allclose(binary[:, 0], [3, 1, 3])
    with pytest.raises(ValueError, match=r"class_weight\[1\] must be a positive number"):
        Objective(class_weight=(1, 0))
    with pytest.raises(ValueError, match="has 2 weights but the targets have 3 classes"):
        loss_row_weights(Objective(loss="multiclass", class_weight=(1, 2)), Y)


def test_a_class_weight_dict_is_scikit_learns_label_to_weight():
    from qubonn.training import BNNClassifier

    net = qubonn.parse("input x[4]\nhidden h[3] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], (40, 4))
    y = np.where(rng.random(40) < 0.5, "a", "b")  # labels unrelated to X: weights decide
    kw = dict(num_reads=4, solver_options={"num_sweeps": 200}, random_state=0)
    heavy_a = BNNClassifier(net, class_weight={"a": 1000.0, "b": 0.001}, **kw).fit(X, y)
    heavy_b = BNNClassifier(net, class_weight={"b": 1000.0}, **kw).fit(X, y)
    plain = BNNClassifier(net, **kw).fit(X, y).predict(X)
    # the heavy class's every sample is right (a network can say "a" everywhere, or "b")
    assert np.all(heavy_a.predict(X)[y == "a"] == "a")
    assert np.all(heavy_b.predict(X)[y == "b"] == "b")
    assert np.mean(heavy_a.predict(X) == "a") > np.mean(plain == "a") > 0
    assert heavy_a.objective_.class_weight == (1000.0, 0.001)
    with pytest.raises(ValueError, match=r"label\(s\) \['c'\] that are not in y"):
        BNNClassifier(net, class_weight={"c": 2.0}, **kw).fit(X, y)
    with pytest.raises(ValueError, match=r"class_weight\['a'\] must be a positive number"):
        BNNClassifier(net, class_weight={"a": -1}, **kw).fit(X, y)


# -- the "auto" margins ------------------------------------------------------------------------
def test_auto_margins_are_the_measured_ones_per_loss():
    ten = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[3] <- h\n")
    two = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    auto = Objective(loss="auto")
    assert (auto.hard_margin, auto.margin) == ("auto", "auto") and not auto.resolved
    multi = auto.for_network(ten)
    assert (multi.loss, multi.hard_margin, multi.margin) == ("multiclass", 3, 0.5)
    assert multi.resolved
    hinge = auto.for_network(two)
    assert (hinge.loss, hinge.hard_margin, hinge.margin) == ("hinge", 0, 0.2)
    # a value the user gave is kept; 0-1 has no margin of its own
    mine = Objective(loss="multiclass", margin=0.2, hard_margin=1).for_network(ten)
    assert (mine.hard_margin, mine.margin) == (1, 0.2)
    assert Objective(loss="01").for_network(ten).hard_margin == 0
    # the objective model resolves "auto" itself: nobody reads an unresolved margin
    model = objective_model(ten, auto)
    assert model.mc_margin == 7 and model.margin == 0.5 and not model.mu[ten.outputs].any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(margin="big"), "margin \\(mu\\) must be a number >= 0 or 'auto', not 'big'"),
        (dict(margin=True), "margin \\(mu\\) must be a number"),
        (dict(hard_margin=1.5), "hard_margin must be an integer >= 0 or 'auto', not 1.5"),
        (dict(hard_margin="auto", loss="01", margin=-1.0), "margin \\(mu\\) must be"),
    ],
)
def test_bad_margins_are_refused_with_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Objective(**kwargs)


def test_the_classifier_and_compile_use_the_auto_margins_for_several_outputs():
    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[3] <- h\n")
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], (9, 4))
    y = np.arange(9) % 3
    clf = qubonn.BNNClassifier(net, num_reads=2, solver_options={"num_sweeps": 20}).fit(X, y)
    objective = clf.objective_
    assert (objective.loss, objective.hard_margin, objective.margin) == ("multiclass", 3, 0.5)
    problem = qubonn.compile(net, X, np.eye(3, dtype=int)[y], loss="multiclass")
    assert problem.formulation.objective == objective
    assert problem.term_weights["margin"] == 0.5


def test_the_auto_margin_bench_runs_on_one_task_and_seed():
    import pathlib

    from test_bench_solvers import run_script, table_of

    bench = pathlib.Path(__file__).resolve().parents[1] / "bench" / "multiclass_auto.py"
    out = table_of(bench, "--tasks", "16-6-3", "--seeds", "1")
    row = next(line for line in out.splitlines() if line.startswith("| 16-6-3 |"))
    values = [float(c.strip("* ")) for c in row.split("|")[3:8]]
    assert len(values) == 5 and all(0 <= v <= 100 for v in values)
    assert run_script(bench, "--seeds", "0").returncode == 2
