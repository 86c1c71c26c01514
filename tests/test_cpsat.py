"""The ``cpsat`` backend proves the optimum of the same training objective the QUBO encodes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_networks
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import objectives, tiny_networks

import qubonn
from qubonn.backends import get_backend
from qubonn.errors import QubonnError, SolverOptionError
from qubonn.formulation import objective_value
from qubonn.verify import all_weight_assignments

pytest.importorskip("ortools")

SMALL_NET = "input x[3]\nhidden h[2] <- x\noutput y[1] <- h\n"


def _data(net, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.choice([-1, 1], (n, net.n_inputs)), rng.choice([-1, 1], (n, net.n_outputs))


def _best_objective(problem) -> float:
    f = problem.formulation
    return min(
        objective_value(f.network, problem.X, f.targets, w, f.objective, f.linear_penalties)
        for w in all_weight_assignments(problem)
    )


def _check_read(problem, ss) -> None:
    """One valid read whose QUBO energy is the reported objective, which is objective_value."""
    assert len(ss) == 1
    decoded = problem.decode(ss.first.sample)
    assert decoded.report.ok
    # the QUBO sums large penalty terms that cancel: its energy carries round-off
    assert ss.first.energy == pytest.approx(ss.info["objective"], rel=1e-9, abs=1e-9)
    assert decoded.loss == pytest.approx(ss.info["objective"], abs=1e-9)
    assert ss.info["bound"] <= ss.info["objective"] + 1e-9
    assert ss.info["time"] >= 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    net=tiny_networks(),
    objective=objectives(),
    n=st.integers(1, 5),
    penalised=st.booleans(),
    seed=st.integers(0, 10**6),
)
def test_optimum_equals_brute_force_and_exact(net, objective, n, penalised, seed):
    X, y = _data(net, n, seed)
    h = np.random.default_rng(seed).normal(0, 0.3, net.n_parameters) if penalised else None
    try:
        problem = qubonn.compile(net, X, y, objective=objective, linear_penalties=h)
    except ValueError as e:  # hard margin on a too-small output fan-in is refused, by design
        assert "hard_margin" in str(e)
        return
    ss = qubonn.solve(problem, backend="cpsat", num_workers=1)
    assert ss.info["status"] == "optimal"
    _check_read(problem, ss)
    best = _best_objective(problem)
    assert ss.info["objective"] == pytest.approx(best, abs=1e-9)
    assert ss.info["bound"] == pytest.approx(best, abs=1e-6)
    if problem.n_variables <= 20:
        exact = qubonn.solve(problem, backend="exact", num_reads=1).first.energy
        assert ss.first.energy == pytest.approx(exact, abs=1e-9)


def test_fan_in_scaled_margin_is_scaled_exactly():
    net = qubonn.parse(SMALL_NET)
    X, y = _data(net, 5, 1)
    problem = qubonn.compile(net, X, y, margin=0.2, margin_scale="fan_in")
    ss = qubonn.solve(problem, backend="cpsat")
    assert ss.info["scaling"].startswith("exact")  # 0.2 / 4 = 1/20: an integer model
    assert ss.info["objective"] == pytest.approx(_best_objective(problem), abs=1e-12)
    h = np.full(net.n_parameters, np.pi / 100)  # no small fraction: rounded, with an error bound
    problem.set_linear_penalties(h)
    ss = qubonn.solve(problem, backend="cpsat")
    assert ss.info["scaling"].startswith("rounded")
    assert ss.info["objective"] == pytest.approx(_best_objective(problem), abs=1e-9)
    _check_read(problem, ss)


@pytest.mark.parametrize(
    "spec",
    [
        "input x[2]\nhidden h[3] <- x\noutput y[1] <- h\n",  # 3! orders, odd fan-in
        "input x[1]\nhidden a[2] <- x\nhidden b[2] <- x\noutput y[1] <- a, b\n",  # across groups
        "input x[2]\nhidden h[3] <- x nobias\noutput y[1] <- h nobias\n",  # even K: ties
    ],
)
@pytest.mark.parametrize("objective", [{"margin": 0.5}, {"loss": "01", "margin": 0.25}])
def test_symmetry_breaking_keeps_the_optimum(spec, objective):
    net = qubonn.parse(spec)
    X, y = _data(net, 6, 2)
    problem = qubonn.compile(net, X, y, **objective)
    best = _best_objective(problem)
    on = qubonn.solve(problem, backend="cpsat", seed=1)
    off = qubonn.solve(problem, backend="cpsat", symmetry_breaking=False, seed=1)
    assert on.info["status"] == off.info["status"] == "optimal"
    assert on.info["objective"] == pytest.approx(best, abs=1e-12)
    assert off.info["objective"] == pytest.approx(best, abs=1e-12)


def test_time_limit_returns_a_valid_state():
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=10, seed=0)
    problem = qubonn.compile(
        net, data.X_train, data.y_train == 8, margin=0.2, margin_scale="fan_in"
    )
    ss = qubonn.solve(problem, backend="cpsat", time_limit=0.5, num_workers=1)
    assert ss.info["status"] in ("feasible", "timed_out")
    assert ss.info["bound"] < ss.info["objective"]
    _check_read(problem, ss)


def test_initial_states_are_a_start_it_never_returns_worse_than():
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=10, seed=0)
    problem = qubonn.compile(
        net, data.X_train, data.y_train == 8, margin=0.2, margin_scale="fan_in"
    )
    tabu = qubonn.solve(problem, backend="repair:tabu", num_reads=2, seed=0)
    start = tabu.first
    ss = qubonn.solve(
        problem, backend="cpsat", time_limit=0.2, num_workers=1, initial_states=start.sample
    )
    _check_read(problem, ss)
    assert ss.info["objective"] <= start.energy + 1e-9
    only_weights = {v: start.sample[v] for v in problem.labels if v[0] in "wb"}
    again = qubonn.solve(problem, backend="cpsat", time_limit=0.2, initial_states=only_weights)
    assert again.info["objective"] <= start.energy + 1e-9
    with pytest.raises(SolverOptionError, match="missing"):
        qubonn.solve(problem, backend="cpsat", initial_states={"w[0]": 1})
    with pytest.raises(SolverOptionError, match="initial_states"):
        qubonn.solve(problem, backend="cpsat", initial_states="all ones")


def test_bare_qubo_and_bad_options_are_refused_clearly():
    net = qubonn.parse(SMALL_NET)
    problem = qubonn.compile(net, *_data(net, 2, 0))
    sampler = get_backend("cpsat")
    with pytest.raises(QubonnError, match="compiled qubonn Problem"):
        sampler.sample(problem.bqm)
    with pytest.raises(QubonnError, match="compiled qubonn Problem"):
        sampler.sample_problem(problem.bqm)
    ss = sampler.sample(problem.bqm, problem=problem)  # the BQM plus its problem is fine
    assert ss.info["status"] == "optimal"
    for option, value in [("time_limit", 0), ("num_workers", 0), ("seed", -1)]:
        with pytest.raises(SolverOptionError, match=option):
            sampler.sample_problem(problem, **{option: value})
    import dimod

    from qubonn.backends.cpsat import CpsatSampler

    with pytest.warns(dimod.exceptions.SamplerUnknownArgWarning, match="did you mean 'time_limit'"):
        sampler.sample_problem(problem, time_limt=3)  # dimod's contract: ignored, with a warning
    with pytest.raises(SolverOptionError, match="did you mean 'time_limit'"):
        CpsatSampler(strict=True).sample_problem(problem, time_limt=3)


def test_trainer_uses_cpsat():
    from qubonn.training import BNNClassifier

    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    X, y = _data(net, 6, 3)
    clf = BNNClassifier(net, backend="cpsat", margin=0.0).fit(X, y[:, 0])
    problem = qubonn.compile(net, X, y, margin=0.0)
    assert clf.history_[-1]["objective"] == pytest.approx(_best_objective(problem))


def _max_margin_weights(problem, seed: int):
    """Hidden neurons (fed by inputs) at weights where the margin cut is tight: alternate
    w = sign(sum_n s_n x_n) and s = sign(z) to a fixed point, where sum_n |z_n| = M(s).  These
    are the networks a too tight cut would wrongly remove."""
    net = problem.network
    rng = np.random.default_rng(seed)
    weights = net.random_weights(seed)
    X = problem.X
    for j in net.hidden:
        into = np.nonzero(net.arc_dst == j)[0]
        s = rng.choice([-1, 1], len(X))
        for _ in range(100):
            weights.w[into] = np.where(s @ X[:, net.arc_src[into]] >= 0, 1, -1)
            if net.has_bias[j]:
                weights.b[j] = 1 if s.sum() >= 0 else -1
            new = np.where(net.preactivations(X, weights)[:, j] >= 0, 1, -1)
            if np.array_equal(new, s):
                break
            s = new
    return weights


@pytest.mark.parametrize(("size", "n"), [(4, 6), (4, 14), (8, 5)])
def test_model_admits_every_network_at_its_objective(size, n):
    """Fixing the weights, the model (with its margin cuts) must still be feasible and its
    objective must be objective_value: a cut that removed a real network would fail here."""
    from ortools.sat.python import cp_model

    from qubonn.backends.cpsat import _build, _integer_objective

    spec = "input x[4x4]\nhidden h[3] <- x\noutput y[1] <- h\n"
    net = qubonn.load_spec("examples/digits.qnn") if size == 8 else qubonn.parse(spec)
    data = qubonn.datasets.digits(classes=(3, 8), train=n, size=size, seed=0)
    problem = qubonn.compile(
        net, data.X_train, data.y_train == 8, margin=0.2, margin_scale="fan_in"
    )
    f = problem.formulation
    for seed in range(4):
        weights = net.random_weights(seed) if seed < 2 else _max_margin_weights(problem, seed)
        m = _build(problem, symmetry_breaking=False)
        ints, scale, err, _ = _integer_objective(m)
        m.model.Minimize(sum(i * t[1] for i, t in zip(ints, m.terms, strict=True) if i))
        for e, var in enumerate(m.omega):
            m.model.Add(var == int(weights.w[e] > 0))
        for j, var in m.beta.items():
            m.model.Add(var == int(weights.b[j] > 0))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.Solve(m.model) == cp_model.OPTIMAL
        expected = objective_value(net, problem.X, f.targets, weights, f.objective)
        assert solver.ObjectiveValue() / scale + m.constant == pytest.approx(expected, abs=1e-9)


@pytest.mark.slow
def test_proven_optimum_beats_every_repaired_heuristic_read():
    net = qubonn.parse("input x[4x4]\nhidden h[4] <- x\noutput y[1] <- h\n")
    data = qubonn.datasets.digits(classes=(3, 8), train=8, size=4, seed=0)
    problem = qubonn.compile(
        net, data.X_train, data.y_train == 8, margin=0.2, margin_scale="fan_in"
    )
    ss = qubonn.solve(problem, backend="cpsat", time_limit=120)
    assert ss.info["status"] == "optimal"
    _check_read(problem, ss)
    tabu = qubonn.solve(problem, backend="repair:tabu", num_reads=8, seed=0)
    assert ss.info["objective"] <= tabu.first.energy + 1e-9
    native = qubonn.solve(problem, backend="native", seed=0)  # the structured mode
    assert ss.info["objective"] <= native.first.energy + 1e-9


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(net=random_networks(max_groups=2), seed=st.integers(0, 10**6))
def test_optimum_on_random_dags(net, seed):
    """Windows, slices, skips and outputs that feed other neurons (0-1 loss)."""
    assume(net.n_parameters <= 12)
    X, y = _data(net, 3, seed)
    problem = qubonn.compile(net, X, y, loss="01", margin=0.5, margin_scale="fan_in")
    ss = qubonn.solve(problem, backend="cpsat", num_workers=1)
    assert ss.info["status"] == "optimal"
    _check_read(problem, ss)
    assert ss.info["objective"] == pytest.approx(_best_objective(problem), abs=1e-9)
