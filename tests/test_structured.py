"""The structured annealer: every read valid, energies exact, incremental state right."""

from __future__ import annotations

import time

import dimod
import numpy as np
import pytest
from conftest import random_networks
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from strategies import (
    domain_cases,
    objectives,
    random_problem,
    tiny_networks,
)

import qubonn
from qubonn.backends.native import structured as sm
from qubonn.errors import SolverOptionError
from qubonn.formulation import Objective
from qubonn.verify import all_weight_assignments, expected_energy


def _objective(problem, weights):
    return problem.objective_value(weights)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    case=st.one_of(st.tuples(random_networks(max_groups=2), objectives()), domain_cases()),
    seed=st.integers(0, 10**6),
    algorithm=st.sampled_from(["sa", "pt"]),
)
def test_every_read_is_valid_and_its_energy_is_the_replayed_objective(case, seed, algorithm):
    """Every read is a valid QUBO state, its parameters in their domains (integer inputs and
    ternary groups included, sparsity too), and its energy is the exact replay."""
    net, objective = case
    problem = random_problem(net, objective, seed, n=5)
    assume(problem is not None)
    ss = qubonn.solve(
        problem, backend="native", num_reads=4, num_sweeps=20, seed=seed, algorithm=algorithm
    )
    assert ss.info["mode"] == "structured"
    assert problem.broken_share(ss) == 0.0
    for sample, energy in ss.data(["sample", "energy"]):
        decoded = problem.decode(sample)
        assert decoded.report.ok
        w = decoded.weights
        assert np.all((np.abs(w.w) == 1) | ((w.w == 0) & net.ternary[net.arc_dst]))
        assert energy == pytest.approx(decoded.loss, abs=1e-7)
        assert energy == pytest.approx(_objective(problem, w), abs=1e-7)
        assert problem.energy(sample) == pytest.approx(energy, rel=1e-11, abs=1e-8)
    assert ss.info["max_energy_mismatch"] < 1e-7


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=tiny_networks(), objective=objectives(), seed=st.integers(0, 10**6))
@example(
    net=qubonn.parse(
        "input x[1]\nhidden h0[1] <- x\nhidden h1[1] <- x nobias\noutput y[1] <- h0, h1, x nobias\n"
    ),
    objective=Objective(loss="hinge", margin=0.25, hard_margin=1),
    seed=326,
)
def test_finds_the_exact_minimum_of_small_problems(net, objective, seed):
    """A heuristic's property, so with reads to spare (as the multiclass one): 4 x 200 sweeps
    ended 0.25 above the minimum of the example (hypothesis found it); 16 x 500 reach it."""
    problem = random_problem(net, objective, seed, n=3)
    assume(problem is not None)
    best = min(expected_energy(problem, w) for w in all_weight_assignments(problem))
    ss = qubonn.solve(problem, backend="native", num_reads=16, num_sweeps=500, seed=seed)
    assert ss.first.energy == pytest.approx(best, abs=1e-7)


def test_matches_the_exact_backend_on_a_qubo_small_enough_for_it():
    net = qubonn.parse("input x[3]\nhidden h[1] <- x\noutput y[1] <- h, x nobias\n")
    X = np.array([[1, 1, -1], [1, -1, 1], [-1, 1, 1]])
    problem = qubonn.compile(net, X, np.array([1, -1, -1]), margin=0.25)
    exact = qubonn.solve(problem, backend="exact")
    ours = qubonn.solve(problem, backend="native", num_reads=4, num_sweeps=100, seed=3)
    assert ours.first.energy == pytest.approx(exact.first.energy, abs=1e-9)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    case=st.one_of(st.tuples(random_networks(max_groups=3), objectives()), domain_cases()),
    seed=st.integers(0, 10**6),
)
def test_incremental_state_equals_a_recomputation_after_random_moves(case, seed):
    """Binary networks and the wider domains (integer inputs, ternary groups, sparsity)."""
    net, objective = case
    problem = random_problem(net, objective, seed, n=6)
    assume(problem is not None)
    model = sm.model_from_problem(problem)
    state = sm.state_from_params(model, sm.random_params(model, 3, seed))
    hot = np.full((7, 3), 1e-3)  # nearly every move accepted
    sm._run_sweeps(model, state, sm._Scratch(model, 3), hot, 0, sm._rng.seed_key(seed, 0))
    assert sm.in_domain(model, state.params)
    fresh = sm.state_from_params(model, state.params)
    np.testing.assert_array_equal(state.z, fresh.z)
    np.testing.assert_array_equal(state.loss_int, fresh.loss_int)
    np.testing.assert_array_equal(state.marg_int, fresh.marg_int)
    np.testing.assert_allclose(state.hw, fresh.hw, atol=1e-9)
    np.testing.assert_allclose(state.energy, fresh.energy, atol=1e-9)
    for r in range(3):
        w = model.weights(state.params[r])
        assert state.energy[r] == pytest.approx(_objective(problem, w), abs=1e-9)
        assert state.best_energy[r] <= state.energy[r] + 1e-9


def test_move_deltas_are_the_objective_changes():
    net = qubonn.load_spec("examples/skip.qnn")
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], (12, net.n_inputs))
    problem = qubonn.compile(net, X, rng.choice([-1, 1], 12), margin=0.3, margin_scale="fan_in")
    model = sm.model_from_problem(problem)
    state = sm.state_from_params(model, sm.random_params(model, 1, 5))
    deltas = sm.move_deltas(model, state)
    base = _objective(problem, model.weights(state.params[0]))
    for p in range(model.n_params):
        flipped = state.params[0].copy()
        flipped[p] = -flipped[p]
        assert deltas[p] == pytest.approx(_objective(problem, model.weights(flipped)) - base)


def test_same_seed_same_samples_and_a_different_seed_differs():
    data = qubonn.datasets.digits(classes=(3, 8), per_class=10, seed=0)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.2)
    a, b, c = (
        qubonn.solve(problem, backend="native", num_reads=3, num_sweeps=30, seed=s)
        for s in (4, 4, 5)
    )
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert not np.array_equal(a.record.sample, c.record.sample)


def test_trains_a_two_class_digits_network_by_itself():
    """The point of the mode: valid reads at sizes where single-spin annealers find none."""
    data = qubonn.datasets.digits(classes=(3, 8), per_class=20, seed=1)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train == 8)
    ss = qubonn.solve(problem, backend="native", num_reads=8, num_sweeps=200, seed=1)
    assert problem.broken_share(ss) == 0.0
    assert problem.decode(ss.first.sample).accuracy == 1.0


def test_exchange_keeps_a_permutation_and_swaps_downhill_pairs():
    ladder = np.geomspace(0.1, 10, 6)
    rung_of = np.arange(6)
    energy = np.array([1.0, 2, 3, 4, 5, 6])  # hot rungs hold the low energies: always swap
    assert sm.exchange(ladder, rung_of, energy, 0, 123) == 3
    np.testing.assert_array_equal(rung_of, [1, 0, 3, 2, 5, 4])
    for sweep in range(1, 50):
        sm.exchange(ladder, rung_of, np.random.default_rng(sweep).normal(size=6), sweep, 9)
        assert sorted(rung_of.tolist()) == list(range(6))


def test_a_bqm_keeps_the_single_spin_annealer():
    problem = qubonn.compile(
        qubonn.parse("input x[2]\noutput y[1] <- x\n"), np.array([[1, -1]]), np.array([1])
    )
    ss = qubonn.solve(problem.bqm, backend="native", num_reads=2, num_sweeps=10, seed=0)
    assert "mode" not in ss.info
    spin = qubonn.solve(problem, backend="native", mode="spin", num_reads=2, num_sweeps=10)
    assert "mode" not in spin.info


@pytest.fixture
def small_problem():
    net = qubonn.parse("input x[3]\nhidden h[2] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(0)
    return qubonn.compile(net, rng.choice([-1, 1], (5, 3)), rng.choice([-1, 1], 5))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"algorithm": "ma"}, "option 'algorithm': 'ma'; expected one of 'sa', 'pt'"),
        ({"num_reads": 0}, "option 'num_reads': 0; expected an integer >= 1"),
        ({"algorithm": "pt", "num_reads": 1}, "num_reads=1 must be an integer >= 2"),
        ({"num_sweeps": 2.5}, "option 'num_sweeps': 2.5; expected an integer in [1, "),
        ({"time_limit": -1}, "option 'time_limit': -1; expected a finite number > 0"),
        ({"beta_range": (2, 1)}, "option 'beta_range': (2, 1); expected None or two finite"),
        ({"device": "tpu"}, "option 'device': 'tpu'; expected one of 'auto', 'cpu', 'gpu'"),
        ({"mode": "fast"}, "option 'mode': 'fast'; expected one of"),
        ({"initial_states": np.zeros((1, 3))}, "initial_states must be"),
    ],
)
def test_bad_options_get_clear_errors(small_problem, options, message):
    with pytest.raises(SolverOptionError) as err:
        qubonn.solve(small_problem, backend="native", **options)
    assert message in str(err.value)


def test_the_memory_budget_is_checked_before_allocating(small_problem, monkeypatch):
    monkeypatch.setenv("QUBONN_MAX_MEMORY", "1K")
    with pytest.raises(SolverOptionError, match="over the memory budget"):
        qubonn.solve(small_problem, backend="native", num_reads=1000)


def test_initial_states_are_valid_qubo_states_or_parameter_rows(small_problem):
    model = sm.model_from_problem(small_problem)
    rows = sm.random_params(model, 2, 0)
    full = np.stack([small_problem.feasible_state(model.weights(r)) for r in rows])
    cold = {"num_reads": 2, "num_sweeps": 1, "beta_range": (1e6, 1e6), "seed": 0}
    for init in (rows, full):
        ss = qubonn.solve(small_problem, backend="native", initial_states=init, **cold)
        start = min(_objective(small_problem, model.weights(r)) for r in rows)
        assert ss.first.energy <= start + 1e-9


def test_time_limit_stops_the_run_and_reports_it():
    data = qubonn.datasets.digits(classes=(3, 8), per_class=40, seed=0)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.2)  # no early end
    ss = qubonn.solve(problem, backend="native", num_sweeps=10**6, time_limit=0.5, seed=0)
    assert ss.info["timed_out"] and ss.info["num_sweeps"] < 10**6
    assert ss.info["timing"]["sample_s"] < 30  # 10**6 sweeps would take many minutes
    assert problem.broken_share(ss) == 0.0


def test_interrupt_returns_the_best_so_far():
    data = qubonn.datasets.digits(classes=(3, 8), per_class=10, seed=0)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.2)

    def stop(done, total, best):
        if done >= 2:
            raise KeyboardInterrupt

    ss = qubonn.solve(problem, backend="native", num_sweeps=500, progress=stop, seed=0)
    assert ss.info["interrupted"]
    assert problem.broken_share(ss) == 0.0


def test_a_problem_with_extra_terms_is_sampled_single_spin():
    pyqubo = pytest.importorskip("pyqubo")
    net = qubonn.parse("input x[2]\noutput y[1] <- x\n")
    problem = qubonn.compile(
        net, np.array([[1, -1]]), np.array([1]), extra=2 * pyqubo.Binary("w[0]")
    )
    ss = qubonn.solve(problem, backend="native", num_reads=2, num_sweeps=5)
    assert "mode" not in ss.info
    with pytest.raises(SolverOptionError, match="extra PyQUBO terms"):
        qubonn.solve(problem, backend="native", mode="structured")


def test_one_vs_rest_and_01_loss_objectives_are_followed_exactly():
    data = qubonn.datasets.digits(classes=(0, 1, 2), per_class=5, size=4, seed=0)
    net = qubonn.load_spec("examples/multiclass.qnn")
    from qubonn.training.labels import encode_targets

    T = encode_targets(data.y_train, [0, 1, 2], 3)
    for objective in (Objective(margin=0.2), Objective(loss="01", margin=0.1)):
        problem = qubonn.compile(net, data.X_train, T, objective=objective)
        ss = qubonn.solve(problem, backend="native", num_reads=2, num_sweeps=20, seed=0)
        for sample, e in ss.data(["sample", "energy"]):
            assert e == pytest.approx(problem.decode(sample).loss, abs=1e-7)
        assert isinstance(ss, dimod.SampleSet)


def test_a_zero_loss_network_of_the_plain_objective_ends_the_run_as_proven_optimal():
    data = qubonn.datasets.digits(classes=(0, 1), per_class=10, seed=0)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train, margin=0)
    ss = qubonn.solve(problem, backend="native", num_sweeps=5000, seed=0)
    assert ss.first.energy == 0.0 and ss.info["optimal"]
    assert ss.info["num_sweeps"] < 5000
    margin = qubonn.compile(problem.network, data.X_train, data.y_train, margin=0.1)
    assert not qubonn.solve(margin, backend="native", num_sweeps=20, seed=0).info["optimal"]


def test_gpu_without_a_gpu_is_a_clear_error(small_problem):
    from qubonn.backends.native.anneal import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SolverOptionError, match="no usable CUDA GPU"):
        qubonn.solve(small_problem, backend="native", device="gpu")


def test_the_cuda_kernel_source_compiles(tmp_path):
    """The structured RawKernel compiles to PTX, checked with nvcc where there is no GPU."""
    import shutil
    import subprocess

    from qubonn.backends.native import _kernels_structured_cuda as kc

    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    src = tmp_path / "structured.cu"
    src.write_text(kc.source())
    out = tmp_path / "structured.ptx"
    subprocess.run([nvcc, "--ptx", *kc.NVCC_OPTIONS, str(src), "-o", str(out)], check=True)
    assert ".entry structured_sweeps" in out.read_text()


@pytest.mark.parametrize("algorithm", ["sa", "pt"])
def test_a_time_limit_alone_is_used_to_the_end(algorithm):
    data = qubonn.datasets.digits(classes=(3, 8), per_class=20, seed=0)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.2)
    qubonn.solve(problem, backend="native", num_sweeps=1, seed=0)  # compiled kernels loaded
    t0 = time.perf_counter()
    ss = qubonn.solve(problem, backend="native", time_limit=1.0, algorithm=algorithm, seed=0)
    elapsed = time.perf_counter() - t0
    assert 0.95 <= elapsed < 15.0  # used to the end, and not run past it by much
    assert not ss.info["timed_out"] and ss.info["num_sweeps"] > 10
    assert problem.broken_share(ss) == 0.0


# --------------------------------------------------------------------------- wider domains
DOMAIN_SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@settings(DOMAIN_SETTINGS, max_examples=25)
@given(case=domain_cases(max_assignments=1 << 10), seed=st.integers(0, 10**6))
def test_domain_finds_the_exact_minimum_of_small_problems(case, seed):
    """Enumerated minimum (3 values per ternary parameter) against 16 x 500 sweeps; the
    model's lower bound (per-row |z| bounds) is below it."""
    net, objective = case
    problem = random_problem(net, objective, seed, n=3)
    assume(problem is not None)
    best = min(_objective(problem, w) for w in all_weight_assignments(problem))
    assert sm.model_from_problem(problem).lower_bound <= best + 1e-9
    ss = qubonn.solve(problem, backend="native", num_reads=16, num_sweeps=500, seed=seed)
    assert ss.first.energy == pytest.approx(best, abs=1e-7)


def _ternary_problem(sparsity: float = 0.3, n: int = 10):
    net = qubonn.parse(
        "input x[4] values -2..5\nhidden h[2] <- x ternary\noutput y[1] <- h, x ternary\n"
    )
    rng = np.random.default_rng(1)
    X = rng.integers(-2, 6, (n, 4))
    return qubonn.compile(net, X, rng.integers(0, 2, n), margin=0.25, sparsity=sparsity,
                          linear_penalties=rng.normal(0, 0.3, net.n_parameters))


def test_move_deltas_of_ternary_parameters_are_the_objective_changes():
    problem = _ternary_problem()
    model = sm.model_from_problem(problem)
    state = sm.state_from_params(model, sm.random_params(model, 1, 5))
    base = _objective(problem, model.weights(state.params[0]))
    for shift in (1, 2):  # to each of the two other values of every parameter
        new = (state.params[0] + 1 + shift) % 3 - 1
        deltas = sm.move_deltas(model, state, new=new)
        for p in range(model.n_params):
            moved = state.params[0].copy()
            moved[p] = new[p]
            assert deltas[p] == pytest.approx(_objective(problem, model.weights(moved)) - base)


def test_ternary_moves_reach_every_value_and_zero_weights_as_initial_states():
    """Initial states in the ternary domain (parameter rows or QUBO states, whose minus bits
    are read), and a hot run that visits all three values of every parameter."""
    problem = _ternary_problem()
    model = sm.model_from_problem(problem)
    rows = sm.random_params(model, 3, 0)
    assert set(np.unique(rows)) == {-1, 0, 1}
    full = np.stack([problem.feasible_state(model.weights(r)) for r in rows])
    from qubonn.backends.native.sampler import _initial_params

    np.testing.assert_array_equal(_initial_params(problem, model, full), rows)
    np.testing.assert_array_equal(_initial_params(problem, model, rows), rows)
    state = sm.state_from_params(model, rows)
    seen = np.zeros((model.n_params, 3), dtype=bool)
    for sweep in range(30):
        sm._run_sweeps(model, state, sm._Scratch(model, 3), np.full((1, 3), 1e-6), sweep, 7)
        seen[np.arange(model.n_params)[:, None], state.params.T + 1] = True
    assert seen.all()


def test_a_higher_sparsity_price_keeps_fewer_links():
    data = qubonn.datasets.digits(classes=(3, 8), per_class=15, seed=0)
    net = qubonn.parse("input x[8x8]\nhidden h[3] <- x ternary\noutput y[1] <- h\n")
    links = []
    for lam in (0.0, 0.05, 0.5):
        problem = qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.1, sparsity=lam)
        ss = qubonn.solve(problem, backend="native", num_reads=4, num_sweeps=200, seed=0)
        w = problem.decode(ss.first.sample).weights
        assert ss.first.energy == pytest.approx(_objective(problem, w), abs=1e-7)
        links.append(net.n_links(w))
    assert links[0] > links[1] > links[2]


def test_the_cold_end_resolves_one_unit_of_a_ternary_margin_and_one_link():
    problem = _ternary_problem(sparsity=0.001)
    model = sm.model_from_problem(problem)
    assert model.energy_quantum == pytest.approx(0.001)
    problem = _ternary_problem(sparsity=0.0)
    model = sm.model_from_problem(problem)
    ternary_mu = model.mu[model.g == 1]
    assert model.energy_quantum == pytest.approx(min(1.0, ternary_mu[ternary_mu > 0].min()))
