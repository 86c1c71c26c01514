"""The ``cpsat`` backend proves the optimum of the same training objective the QUBO encodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
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
    assert ss.first.energy == pytest.approx(ss.info["objective"], abs=1e-9)
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
    with pytest.raises(SolverOptionError, match="did you mean 'time_limit'"):
        sampler.sample_problem(problem, time_limt=3)


def test_trainer_uses_cpsat():
    from qubonn.training import BNNClassifier

    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    X, y = _data(net, 6, 3)
    clf = BNNClassifier(net, backend="cpsat", polish=False, margin=0.0).fit(X, y[:, 0])
    problem = qubonn.compile(net, X, y)
    assert clf.history_[-1]["solver_objective"] == pytest.approx(_best_objective(problem))
