"""Both engines build the identical QUBO; weights change without reassembly; sizes are known."""

from __future__ import annotations

import gc
import tracemalloc

import dimod
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import objectives, tiny_networks

import qubonn
from qubonn.compiler import estimate, parse_bytes
from qubonn.errors import ProblemTooLargeError


def assert_same_bqm(b1: dimod.BQM, b2: dimod.BQM, tol: float = 1e-9) -> None:
    assert set(b1.variables) == set(b2.variables)
    for v in b1.variables:
        assert b1.get_linear(v) == pytest.approx(b2.get_linear(v), abs=tol), v
    pairs = {frozenset(k) for k in b1.quadratic} | {frozenset(k) for k in b2.quadratic}
    for pair in pairs:
        u, v = tuple(pair)
        q1 = b1.get_quadratic(u, v, default=0)
        q2 = b2.get_quadratic(u, v, default=0)
        assert q1 == pytest.approx(q2, abs=tol), (u, v)
    assert b1.offset == pytest.approx(b2.offset, abs=tol)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    net=tiny_networks(max_parameters=12),
    objective=objectives(),
    seed=st.integers(0, 10**6),
    n=st.integers(1, 4),
)
def test_engines_build_the_same_bqm(net, objective, seed, n):
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], (n, net.n_inputs))
    y = rng.choice([-1, 1], (n, net.n_outputs))
    h = rng.normal(size=net.n_parameters)
    try:
        fast = qubonn.compile(net, X, y, objective=objective, linear_penalties=h)
    except ValueError:
        return
    sym = qubonn.compile(net, X, y, objective=objective, linear_penalties=h, engine="pyqubo")
    assert_same_bqm(fast.bqm, sym.bqm)
    # and after a change of weights through the Placeholder analogue
    new = dict(sign=fast.term_weights["sign"] + 7, margin=0.3, loss=2.0)
    fast.set_term_weights(**new)
    sym.set_term_weights(**new)
    h2 = rng.normal(size=net.n_parameters)
    fast.set_linear_penalties(h2)
    sym.set_linear_penalties(h2)
    assert_same_bqm(fast.bqm, sym.bqm)


def _digits_problem(n_per_class=5, **kw):
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=n_per_class, seed=0)
    return qubonn.compile(net, data.X_train, np.where(data.y_train == 8, 1, -1), **kw)


def test_set_term_weights_equals_a_fresh_compile():
    p = _digits_problem()
    p.set_term_weights(sign=50.0, margin=0.2)
    q = _digits_problem(margin=0.2, penalties={"sign": 50.0})
    assert_same_bqm(p.bqm, q.bqm)


def test_set_term_weights_does_not_reassemble(monkeypatch):
    p = _digits_problem(margin=0.1)
    p.qubo()
    from qubonn.compiler import fast

    def boom(*a, **k):
        raise AssertionError("reassembled")

    monkeypatch.setattr(fast, "assemble", boom)
    p.set_term_weights(sign=99.0, margin=0.5)
    p.set_linear_penalties(np.ones(p.network.n_parameters))
    assert p.term_weights["sign"] == 99.0
    p.qubo()


def test_custom_pyqubo_term_is_added_in_both_engines():
    import pyqubo

    net = qubonn.parse("input x[3]\nhidden h[1] <- x\noutput y[1] <- h\n")
    X = np.array([[1, 1, -1], [-1, 1, 1]])
    y = np.array([1, -1])
    w0, w1 = pyqubo.Binary("w[0]"), pyqubo.Binary("w[1]")
    extra = pyqubo.Placeholder("lam") * (w0 + w1 - 1) ** 2
    base = qubonn.compile(net, X, y)
    fast = qubonn.compile(net, X, y, extra=extra, extra_feed_dict={"lam": 5.0})
    sym = qubonn.compile(net, X, y, extra=extra, extra_feed_dict={"lam": 5.0}, engine="pyqubo")
    assert fast.bqm.get_quadratic("w[0]", "w[1]") == pytest.approx(
        base.bqm.get_quadratic("w[0]", "w[1]", default=0) + 10.0
    )
    # the pyqubo engine compiles the extra term inside its expression
    assert_same_bqm(fast.bqm, sym.bqm)


def test_custom_term_with_unknown_variable_is_refused():
    import pyqubo

    net = qubonn.parse("input x[3]\noutput y[1] <- x\n")
    with pytest.raises(ValueError, match="not in this problem"):
        qubonn.compile(net, np.ones((1, 3)), np.array([1]), extra=pyqubo.Binary("w[99]"))


def test_size_estimate_is_close_and_known_before_building():
    p = _digits_problem(n_per_class=10)
    est = estimate(p.network, p.n_samples)
    assert est.variables == p.n_variables
    assert 0.9 * est.quadratic <= p.qubo().quadratic.nnz <= 1.05 * est.quadratic


def test_too_large_problem_is_refused_with_the_estimate():
    net = qubonn.load_spec("examples/digits.qnn")
    X = np.ones((100_000, 64), dtype=np.int8)
    with pytest.raises(ProblemTooLargeError, match=r"3,400,265 variables.*quadratic"):
        qubonn.compile(net, X, np.ones(100_000), max_memory="1G")


def test_parse_bytes():
    assert parse_bytes("8G") == 8 << 30
    assert parse_bytes("500M") == 500 << 20
    assert parse_bytes(1234) == 1234
    with pytest.raises(ValueError, match="memory size"):
        parse_bytes("lots")


def test_int32_indices_where_they_fit():
    q = _digits_problem().qubo().quadratic
    assert q.indices.dtype == np.int32 and q.indptr.dtype == np.int32


@pytest.mark.slow
def test_memory_stays_flat_over_repeated_compiles():
    net = qubonn.parse("input x[8]\nhidden h[2] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], (20, 8))
    y = rng.choice([-1, 1], 20)

    def run(k):
        for _ in range(k):
            qubonn.compile(net, X, y).bqm  # noqa: B018 - building the BQM is the point

    run(50)
    gc.collect()
    tracemalloc.start()
    run(100)
    gc.collect()
    first, _ = tracemalloc.get_traced_memory()
    run(900)
    gc.collect()
    last, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert last <= 1.10 * first + 64 * 1024, (first, last)


def test_problem_files_round_trip(tmp_path):
    p = _digits_problem()
    npz = p.save(tmp_path / "p.npz")
    data = np.load(npz)
    n = p.n_variables
    Q = np.zeros((n, n))
    np.add.at(Q, (data["row"], data["col"]), data["data"])
    x = np.random.default_rng(0).integers(0, 2, n)
    assert x @ Q @ x + float(data["offset"]) == pytest.approx(p.energy(x))
    assert list(data["labels"][:3]) == p.labels[:3]
    bqm_file = p.save(tmp_path / "p.bqm")
    with open(bqm_file, "rb") as fh:
        back = dimod.BinaryQuadraticModel.from_file(fh)
    assert_same_bqm(back, p.bqm)
    assert not list(tmp_path.glob(".*tmp"))


def test_energy_of_samples_matches_dimod():
    p = _digits_problem()
    rng = np.random.default_rng(1)
    xs = rng.integers(0, 2, (3, p.n_variables))
    want = p.bqm.energies((xs, p.labels))
    assert np.allclose(p.energy(xs), want)
