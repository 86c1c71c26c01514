"""RepairComposite: any sampler's reads mapped to valid states whose energy is the objective."""

from __future__ import annotations

import dimod
import dimod.testing
import numpy as np
import pytest
from conftest import random_networks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import domain_data, domain_networks, objectives, tiny_networks

import qubonn
from qubonn.backends import UnknownBackendError, get_backend
from qubonn.backends.network.repair import RepairComposite
from qubonn.errors import QubonnError

SMALL_NET = "input x[3]\nhidden h[2] <- x\noutput y[1] <- h\n"


def _problem(net, n: int, seed: int, objective=None):
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], (n, net.n_inputs))
    y = rng.choice([-1, 1], (n, net.n_outputs))
    return qubonn.compile(net, X, y, objective=objective)


def _check_repaired(problem, child: dimod.Sampler, **params) -> dimod.SampleSet:
    """Repair child's reads; every output read is valid, with energy == replayed objective, and
    the data vectors describe the child's own read (rerun with the same seed)."""
    ss = RepairComposite(child).sample_problem(problem, **params)
    raw = child.sample(problem.bqm, **params)
    assert len(ss) == len(raw)
    labels = problem.labels
    for row, raw_row in zip(ss.data(sorted_by=None), raw.data(sorted_by=None), strict=True):
        decoded = problem.decode(row.sample)
        assert decoded.report.ok
        assert row.energy == pytest.approx(decoded.loss, abs=1e-9)
        x = np.array([raw_row.sample[v] for v in labels])
        counts = problem.constraint_report(x).counts
        assert row.broken == sum(counts.values())
        for kind, count in counts.items():
            assert getattr(row, f"broken_{kind}") == count
        assert row.energy_before == pytest.approx(raw_row.energy)
        # the weights' valid completion is the QUBO's minimum given those weights
        assert row.energy <= row.energy_before + 1e-9
        assert problem.weights_of(row.sample) == problem.weights_of(x)  # weights are kept
    dimod.testing.assert_sampleset_energies(ss, problem.bqm)
    return ss


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=tiny_networks(), objective=objectives(), seed=st.integers(0, 10**6))
def test_repaired_energy_is_the_replayed_objective(net, objective, seed):
    try:
        problem = _problem(net, 3, seed, objective)
    except ValueError as e:  # hard margin on a too-small output fan-in is refused, by design
        assert "hard_margin" in str(e)
        return
    _check_repaired(problem, dimod.RandomSampler(), num_reads=6, seed=seed)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=random_networks(), seed=st.integers(0, 10**6))
def test_repair_on_random_dags(net, seed):
    try:
        problem = _problem(net, 2, seed, qubonn.Objective(loss="01", margin=0.25))
    except ValueError as e:
        pytest.skip(str(e))
    _check_repaired(problem, dimod.RandomSampler(), num_reads=3, seed=seed)


def test_composite_api_and_ways_to_pass_the_problem():
    problem = _problem(qubonn.parse(SMALL_NET), 4, 0)
    composite = RepairComposite(dimod.RandomSampler())
    dimod.testing.assert_composite_api(composite)
    dimod.testing.assert_sampler_api(composite)
    assert "problem" in composite.parameters and "num_reads" in composite.parameters
    a = composite.sample(problem.bqm, problem=problem, num_reads=3, seed=1)
    b = RepairComposite(dimod.RandomSampler(), problem=problem).sample(
        problem.bqm, num_reads=3, seed=1
    )
    assert np.array_equal(a.record.sample, b.record.sample)
    assert a.record.broken.min() > 0 and a.info["repaired"] == 3  # random reads break signs
    assert np.all(a.record.energy < a.record.energy_before)  # broken penalties are gone
    spin = composite.sample(problem.bqm.spin, problem=problem, num_reads=3, seed=1)
    assert spin.vartype is dimod.SPIN
    dimod.testing.assert_sampleset_energies(spin, problem.bqm.spin)
    assert np.allclose(np.sort(spin.record.energy), np.sort(a.record.energy))
    with pytest.raises(QubonnError, match="needs the compiled qubonn Problem"):
        composite.sample(problem.bqm)
    with pytest.raises(QubonnError, match="not those of the problem"):
        composite.sample(dimod.generators.gnp_random_bqm(4, 0.5, "BINARY"), problem=problem)
    with pytest.raises(QubonnError, match="compiled qubonn Problem"):
        RepairComposite(dimod.RandomSampler(), problem=problem.bqm)
    with pytest.raises(QubonnError, match="dimod.Sampler"):
        RepairComposite("neal")


def test_registry_names_and_solve():
    problem = _problem(qubonn.parse(SMALL_NET), 5, 1)
    sampler = get_backend("repair:neal")
    assert isinstance(sampler, RepairComposite) and sampler.properties["name"] == "repair:neal"
    ss = qubonn.solve(problem, backend="repair:neal", num_reads=4, num_sweeps=20, seed=0)
    for row in ss.data():
        assert row.energy == pytest.approx(problem.decode(row.sample).loss, abs=1e-9)
    with pytest.raises(UnknownBackendError, match="Did you mean 'neal'"):
        get_backend("repair:nael")


def test_repair_through_the_native_array_path():
    problem = _problem(qubonn.parse(SMALL_NET), 5, 3)
    ss = qubonn.solve(problem, backend="repair:native", num_reads=3, num_sweeps=20, seed=0)
    raw = qubonn.solve(problem, backend="native", num_reads=3, num_sweeps=20, seed=0)
    assert np.allclose(np.sort(ss.record.energy_before), np.sort(raw.record.energy))
    for row in ss.data():
        assert row.energy == pytest.approx(problem.decode(row.sample).loss, abs=1e-9)


def test_trainer_accepts_a_repair_backend():
    from qubonn.training import BNNClassifier

    net = qubonn.parse(SMALL_NET)
    problem = _problem(net, 6, 2)
    X, y = problem.X, problem.formulation.targets[:, 0]
    clf = BNNClassifier(net, backend="repair:neal", num_reads=4, solver_options={"num_sweeps": 50})
    clf.fit(X, y)
    best = qubonn.solve(problem, backend="repair:neal", num_reads=4, num_sweeps=50, seed=0)
    assert np.all(best.record.broken >= 0)
    assert clf.history_[-1]["objective"] <= max(best.record.energy) + 1e-9


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(net=domain_networks(), seed=st.integers(0, 10**6), sparsity=st.sampled_from([0.0, 0.5]),
       loss=st.sampled_from(["hinge", "01"]))
def test_repair_in_the_wider_domains(net, seed, sparsity, loss):
    """Integer inputs and ternary weights: random reads (a ternary weight's two bits both on
    among them, the alias of 0) are repaired to the valid state of the weights they hold."""
    rng = np.random.default_rng(seed)
    X = domain_data(net, 3, seed)
    y = rng.choice([-1, 1], (3, net.n_outputs))
    try:
        problem = qubonn.compile(net, X, y, loss=loss, margin=0.25, sparsity=sparsity)
    except ValueError as e:
        assert "feeds another neuron" in str(e)
        return
    _check_repaired(problem, dimod.RandomSampler(), num_reads=6, seed=seed)
