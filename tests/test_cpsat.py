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

    from qubonn.backends.network.cpsat import CpsatSampler

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

    from qubonn.backends.network.cpsat import _build, _integer_objective

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


# -- the wider domains: integer inputs and ternary weights ---------------------------------------
from strategies import domain_data, domain_networks  # noqa: E402

from qubonn.formulation import Objective  # noqa: E402


def _domain_problem(net, seed: int, loss: str, margin: float, sparsity: float, hard: int,
                    n: int = 3, penalised: bool = False):
    """The training problem of a drawn network of the wider domains, or None where the
    objective refuses it by design (a hard margin without room, an output feeding a neuron)."""
    if loss == "multiclass" and net.n_outputs < 2:
        loss = "hinge"
    if loss == "01":
        hard = 0
    X = domain_data(net, n, seed)
    rng = np.random.default_rng(seed)
    y = (np.eye(net.n_outputs)[rng.integers(0, net.n_outputs, n)] if loss == "multiclass"
         else rng.choice([-1, 1], (n, net.n_outputs)))
    h = rng.normal(0, 0.3, net.n_parameters) if penalised else None
    objective = Objective(loss=loss, margin=margin, hard_margin=hard, sparsity=sparsity)
    try:
        return qubonn.compile(net, X, y, objective=objective, linear_penalties=h)
    except ValueError as e:
        assert "hard_margin" in str(e) or "feeds another neuron" in str(e)
        return None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=domain_networks(max_assignments=1 << 9), seed=st.integers(0, 10**6),
       loss=st.sampled_from(["hinge", "01", "multiclass"]), margin=st.sampled_from([0.0, 0.3]),
       sparsity=st.sampled_from([0.0, 0.5, 2.0]), hard=st.integers(0, 1),
       penalised=st.booleans(), n=st.integers(1, 4), symmetry=st.booleans())
def test_optimum_of_the_wider_domains_equals_brute_force(
    net, seed, loss, margin, sparsity, hard, penalised, n, symmetry
):
    """Integer inputs, ternary weights, products of ternary weights with activations and the
    sparsity term: CP-SAT's proven optimum is the enumerated minimum of objective_value, and
    its read is the valid QUBO state of the network it returns."""
    problem = _domain_problem(net, seed, loss, margin, sparsity, hard, n, penalised)
    if problem is None:
        return
    ss = qubonn.solve(problem, backend="cpsat", num_workers=1, symmetry_breaking=symmetry)
    assert ss.info["status"] == "optimal"
    _check_read(problem, ss)
    best = min(problem.objective_value(w) for w in all_weight_assignments(problem))
    assert ss.info["objective"] == pytest.approx(best, abs=1e-9)
    assert ss.info["bound"] == pytest.approx(best, abs=1e-6)


@pytest.mark.parametrize(
    "spec, X",
    [
        # a binary neuron on integer inputs whose |z| bound is odd on every row (sign rule on),
        # feeding a ternary output (its first outgoing weight is fixed to >= 0, not to +1)
        ("input x[2] values 0..2\nhidden h[2] <- x\noutput y[1] <- h ternary\n",
         [[2, 0], [1, 1], [0, 0], [2, 2], [1, 1]]),
        # the same network on rows with an even bound: z = 0 is possible, no sign rule
        ("input x[2] values 0..2\nhidden h[2] <- x\noutput y[1] <- h ternary\n",
         [[2, 1], [1, 1], [0, 1], [2, 2], [1, 0]]),
        # ternary hidden neurons: z = 0 is reachable, no sign rule; permutations are ordered
        ("input x[2]\nhidden h[2] <- x nobias ternary\noutput y[1] <- h\n",
         [[1, 1], [1, -1], [-1, 1], [-1, -1], [1, 1]]),
        # same sources and destinations, other domains: never one permutation class
        ("input x[1] values -2..2\nhidden a[2] <- x nobias\nhidden b[2] <- x nobias ternary\n"
         "output y[1] <- a, b nobias\n", [[2], [-1], [0], [1], [-2]]),
    ],
)
@pytest.mark.parametrize("objective", [{"margin": 0.5, "sparsity": 0.25},
                                       {"loss": "01", "margin": 0.25}])
def test_symmetry_breaking_keeps_the_optimum_of_the_wider_domains(spec, X, objective):
    net = qubonn.parse(spec)
    X = np.array(X)
    y = np.array([1, -1, 1, 1, -1])
    problem = qubonn.compile(net, X, y, **objective)
    best = min(problem.objective_value(w) for w in all_weight_assignments(problem))
    on = qubonn.solve(problem, backend="cpsat", seed=1, num_workers=2)
    off = qubonn.solve(problem, backend="cpsat", symmetry_breaking=False, seed=1, num_workers=2)
    assert on.info["status"] == off.info["status"] == "optimal"
    assert on.info["objective"] == pytest.approx(best, abs=1e-12)
    assert off.info["objective"] == pytest.approx(best, abs=1e-12)


def test_sign_rule_only_where_no_row_can_tie():
    """The sign rule fixes a hidden neuron's outgoing weight only where z is never 0: binary
    weights and an odd |z| bound on every row (integer inputs change the bound per row)."""
    from qubonn.backends.network.cpsat import _build

    spec = "input x[2] values 0..2\nhidden h[1] <- x\noutput y[1] <- h ternary\n"
    net = qubonn.parse(spec)
    y = np.array([1, -1])

    def fixed(X):
        problem = qubonn.compile(net, np.array(X), y, margin=0.0)
        on, off = (_build(problem, s).model.Proto() for s in (True, False))
        return len(on.constraints) - len(off.constraints)

    assert fixed([[2, 0], [1, 1]]) == 1  # K_n = 3, 3: odd everywhere
    assert fixed([[2, 0], [1, 0]]) == 0  # K_n = 3, 2: a row can tie
    ternary = qubonn.parse("input x[2]\nhidden h[1] <- x ternary\noutput y[1] <- h\n")
    problem = qubonn.compile(ternary, np.array([[1, 1], [1, -1]]), y, margin=0.0)
    assert len(_build(problem, True).model.Proto().constraints) == len(
        _build(problem, False).model.Proto().constraints)


def test_warm_start_in_the_wider_domains():
    """A start of ternary weights (zeros included, and a zero given as both bits on) is hinted
    and never returned worse; a start without the minus bits is refused, naming one."""
    spec = "input x[3] values -2..3\nhidden h[2] <- x ternary\noutput y[1] <- h ternary\n"
    net = qubonn.parse(spec)
    rng = np.random.default_rng(4)
    X = rng.integers(-2, 4, (8, 3))
    y = rng.choice([-1, 1], 8)
    problem = qubonn.compile(net, X, y, margin=0.2, sparsity=0.3)
    start = net.random_weights(5)
    assert np.any(start.w == 0)
    x = problem.feasible_state(start)
    ss = qubonn.solve(problem, backend="cpsat", initial_states=(x[None, :], problem.labels),
                      time_limit=0.2, num_workers=1)
    _check_read(problem, ss)
    assert ss.info["objective"] <= problem.objective_value(start) + 1e-9
    lay = problem.formulation.layout
    bits = {v: int(b) for v, b in zip(problem.labels, x, strict=False)
            if v.startswith(("w", "b"))}
    assert len(bits) == lay.n_parameter_bits
    zero = int(np.nonzero(start.w == 0)[0][0])
    bits[f"w[{zero}]"] = bits[f"wm[{zero}]"] = 1  # the alias of 0
    again = qubonn.solve(problem, backend="cpsat", initial_states=bits, time_limit=0.2,
                         num_workers=1)
    assert again.info["objective"] <= problem.objective_value(start) + 1e-9
    del bits[f"wm[{zero}]"]
    with pytest.raises(SolverOptionError, match=rf"missing \['wm\[{zero}\]'\]"):
        qubonn.solve(problem, backend="cpsat", initial_states=bits)


def test_long_count_ranges_use_the_squared_distance():
    """Integer inputs make a count range longer than the indicators' limit: the hinge and the
    multiclass loss then square one distance variable, and stay exact."""
    import qubonn.backends.network.cpsat as cpsat

    net = qubonn.parse("input x[2] values 0..9\noutput y[2] <- x ternary\n")
    rng = np.random.default_rng(0)
    X = rng.integers(0, 10, (4, 2))
    for loss in ("hinge", "multiclass"):
        y = np.eye(2)[[0, 1, 1, 0]] if loss == "multiclass" else rng.choice([-1, 1], (4, 2))
        problem = qubonn.compile(net, X, y, loss=loss, margin=0.1, sparsity=0.5)
        best = min(problem.objective_value(w) for w in all_weight_assignments(problem))
        for limit in (cpsat.MAX_INDICATORS, 3):
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(cpsat, "MAX_INDICATORS", limit)
                ss = qubonn.solve(problem, backend="cpsat", num_workers=1)
            assert ss.info["status"] == "optimal"
            assert ss.info["objective"] == pytest.approx(best, abs=1e-9)
