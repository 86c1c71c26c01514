"""The structured annealer's CPU driver: replica slices on threads, and the kernel's probe mode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import objectives, random_problem, tiny_networks

from qubonn.backends.native import structured as sm


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    net=tiny_networks(),
    objective=objectives(),
    seed=st.integers(0, 10**6),
    algorithm=st.sampled_from(["sa", "pt"]),
)
def test_the_split_of_replicas_over_threads_does_not_change_the_samples(
    net, objective, seed, algorithm
):
    """One slice, one per thread, uneven slices, one per replica: the same reads (random
    numbers are counted per sweep, parameter and replica, and replicas share nothing)."""
    problem = random_problem(net, objective, seed, n=6)
    assume(problem is not None)
    model = sm.model_from_problem(problem)
    runs = []
    for threads in (1, 2, 3, 5):
        with pytest.MonkeyPatch.context() as m:
            m.setattr(sm, "_threads", lambda t=threads: t)
            r = sm.anneal_structured(
                model, algorithm=algorithm, num_reads=5, num_sweeps=12, seed=seed, device="cpu"
            )
        runs.append((r.params, r.energies))
    for params, energies in runs[1:]:
        np.testing.assert_array_equal(params, runs[0][0])
        np.testing.assert_array_equal(energies, runs[0][1])


def test_the_thread_count_is_numbas():
    numba = pytest.importorskip("numba")
    assert sm._threads() == numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assert sm._threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def test_the_probe_mode_applies_nothing():
    """``move_deltas`` runs the sweep kernel in its probe mode: the state is left as it was."""
    import qubonn
    from qubonn.formulation import Objective

    net = qubonn.parse("input x[4]\nhidden h[3] <- x\noutput y[1] <- h\n")
    problem = random_problem(net, Objective(), 7, n=8)
    model = sm.model_from_problem(problem)
    state = sm.state_from_params(model, sm.random_params(model, 3, 7))
    before = {k: np.copy(v) for k, v in vars(state).items()}
    deltas = sm.move_deltas(model, state, 1)
    assert deltas.shape == (model.n_params,) and np.any(deltas != 0)
    for key, value in vars(state).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
