"""Executors: local, process pool and Ray give the same results; dead workers are retried."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import qubonn
from qubonn.distributed import (
    DistributedError,
    LocalExecutor,
    ProcessExecutor,
    get_executor,
    gpus_for,
)

TINY = "input x[4]\noutput y[1] <- x"


def _problem():
    rng = np.random.default_rng(3)
    X = rng.choice([-1, 1], size=(10, 4)).astype(np.int8)
    T = np.where(X[:, :1].sum(axis=1) > 0, 1, -1).reshape(-1, 1)
    return qubonn.compile(qubonn.parse(TINY), X, T)


# Task functions live at module level so that workers can unpickle them.
def solve_seed(seed: int, problem) -> object:
    return qubonn.solve(problem, backend="neal", num_reads=4, num_sweeps=50, seed=seed)


def pid_and_shared_id(item: int, shared) -> tuple[int, int]:
    return os.getpid(), id(shared)


def square(x: int) -> int:
    return x * x


def die_once(args: tuple[str, int]) -> int:
    """Kills its worker process the first time (marker file absent), then succeeds."""
    marker, x = args
    if x == 2 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return x * 10


def always_die(x: int) -> int:
    os._exit(1)


def raise_value_error(x: int) -> int:
    raise ValueError(f"bad item {x}")


def _same_samples(a, b) -> bool:
    return (
        list(a.variables) == list(b.variables)
        and np.array_equal(a.record.sample, b.record.sample)
        and np.array_equal(a.record.energy, b.record.energy)
    )


# -- local and process pool ----------------------------------------------------------------
def test_local_map_is_ordered_and_matches_direct_solves():
    problem = _problem()
    with LocalExecutor() as ex:
        results = ex.map(solve_seed, [5, 1, 7], shared=problem)
    for seed, ss in zip([5, 1, 7], results, strict=True):
        assert _same_samples(ss, solve_seed(seed, problem))
    assert ex.map(square, [3, 1, 2]) == [9, 1, 4]


def test_process_pool_matches_local_and_loads_shared_once_per_worker():
    seeds = [0, 1, 2, 3, 4]
    problem = _problem()
    local = LocalExecutor().map(solve_seed, seeds, shared=problem)  # builds problem.bqm first
    with ProcessExecutor(workers=2) as ex:
        pooled = ex.map(solve_seed, seeds, shared=problem)
        ids = ex.map(pid_and_shared_id, range(8), shared=problem)
    assert all(_same_samples(a, b) for a, b in zip(local, pooled, strict=True))
    by_pid: dict[int, set[int]] = {}
    for pid, obj in ids:
        by_pid.setdefault(pid, set()).add(obj)
    assert os.getpid() not in by_pid
    assert all(len(objs) == 1 for objs in by_pid.values())  # one unpickled copy per worker


def test_process_pool_resubmits_after_a_worker_dies(tmp_path):
    marker = str(tmp_path / "died")
    with ProcessExecutor(workers=2, max_retries=2) as ex:
        out = ex.map(die_once, [(marker, x) for x in range(5)])
        assert out == [0, 10, 20, 30, 40]
        assert ex.restarts == 1
    assert os.path.exists(marker)


def test_process_pool_gives_up_after_max_retries():
    with ProcessExecutor(workers=1, max_retries=1) as ex:
        with pytest.raises(DistributedError, match="died 2 times"):
            ex.map(always_die, [1])


def test_process_pool_task_errors_propagate():
    with ProcessExecutor(workers=1) as ex:
        with pytest.raises(ValueError, match="bad item 1"):
            ex.map(raise_value_error, [1])


def test_imap_unordered_yields_each_index_once():
    with ProcessExecutor(workers=2) as ex:
        pairs = list(ex.imap_unordered(square, range(6)))
    assert sorted(pairs) == [(i, i * i) for i in range(6)]


def test_problem_pickle_keeps_solver_results():
    import pickle

    problem = _problem()
    here = solve_seed(0, problem)  # builds and caches problem.bqm
    assert _same_samples(here, solve_seed(0, pickle.loads(pickle.dumps(problem))))


# -- choosing an executor ------------------------------------------------------------------
def test_get_executor_names_instances_and_errors():
    assert isinstance(get_executor(None), LocalExecutor)
    assert isinstance(get_executor("local"), LocalExecutor)
    ex = get_executor("process", workers=2, max_retries=1)
    assert isinstance(ex, ProcessExecutor) and ex.workers == 2 and ex.max_retries == 1
    assert get_executor(ex) is ex
    with pytest.raises(ValueError, match="unknown executor 'dask'; use one of local"):
        get_executor("dask")
    with pytest.raises(ValueError, match="unexpected keyword"):
        get_executor("process", address="auto")
    with pytest.raises(ValueError, match="takes no options"):
        get_executor("local", workers=2)
    with pytest.raises(ValueError, match="workers must be"):
        get_executor("process", workers=0)


def test_ray_missing_gives_install_advice(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(DistributedError, match=r"pip install 'ray>=2.9' \(in the "):
        get_executor("ray")


def test_gpu_requests():
    assert gpus_for("neal", {}) == 0
    assert gpus_for("neal", {}, cluster_gpus=4) == 0
    assert gpus_for("native", {"device": "gpu"}) == 1
    assert gpus_for("native", {"device": "cpu"}, cluster_gpus=4) == 0
    assert gpus_for("native", {}, cluster_gpus=4) == 1  # auto picks the GPU where there is one
    assert gpus_for("native", {"device": "auto"}, cluster_gpus=0) == 0


# -- Ray -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip(
        "ray", reason="ray is not installed (pip install 'qubonn[distributed]')"
    )
    from ray import cloudpickle

    # workers cannot import this test module by name: ship its functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_matches_local_and_puts_shared_once(ray_local, monkeypatch):
    seeds = [0, 1, 2, 3, 4, 5]
    problem = _problem()
    local = LocalExecutor().map(solve_seed, seeds, shared=problem)
    puts = []
    real_put = ray_local.put
    monkeypatch.setattr(ray_local, "put", lambda obj, **kw: puts.append(obj) or real_put(obj, **kw))
    with get_executor("ray") as ex:
        assert not ex._owns  # uses the instance the fixture started
        remote = ex.map(solve_seed, seeds, shared=problem)
    assert all(_same_samples(a, b) for a, b in zip(local, remote, strict=True))
    assert len(puts) == 2 and puts[1] is problem  # the function and the problem, once each
    assert ray_local.is_initialized()  # not shut down: the executor did not start it


def test_ray_retries_a_killed_task(ray_local, tmp_path):
    marker = str(tmp_path / "died")
    with get_executor("ray", max_retries=2) as ex:
        assert ex.map(die_once, [(marker, x) for x in range(4)]) == [0, 10, 20, 30]
    assert os.path.exists(marker)  # the task really died once


def test_ray_gives_up_and_reraises_task_errors(ray_local):
    with get_executor("ray", max_retries=0) as ex:
        with pytest.raises(DistributedError, match="worker died 1 time"):
            ex.map(always_die, [1])
        with pytest.raises(ValueError, match="bad item 3"):
            ex.map(raise_value_error, [3])
        with pytest.raises(DistributedError, match="asks for 1 GPU"):
            ex.map(square, [1], num_gpus=1)


# -- the places that run many solves -------------------------------------------------------
SPEC2 = "input x[4]\nhidden h[2] <- x\noutput y[1] <- h"
FIXED = {"backend": "neal", "num_reads": 2, "num_sweeps": 30}


def _data():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(14, 4)).astype(np.int8)
    y = (X[:, 0] + X[:, 1] + X[:, 2] > 0).astype(int)
    return X[:8], y[:8], X[8:], y[8:]


def _fit_independent(executor):
    X, y, _, _ = _data()
    clf = qubonn.BNNClassifier(
        qubonn.parse(SPEC2),
        dropout={"p": 0.5, "rounds": 3, "variant": "independent"},
        executor=executor,
        random_state=4,
        backend="neal",
        num_reads=2,
        solver_options={"num_sweeps": 30},
    )
    return clf.fit(X, y)


def _same_fit(a, b) -> bool:
    def strip(h):
        return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in h]

    return (
        np.array_equal(a.weights_.w, b.weights_.w)
        and np.array_equal(a.weights_.b, b.weights_.b)
        and np.array_equal(a.linear_penalties_, b.linear_penalties_)
        and strip(a.history_) == strip(b.history_)
    )


def test_trainer_rounds_on_a_process_pool_match_serial():
    serial = _fit_independent(None)
    with ProcessExecutor(workers=2) as ex:
        pooled = _fit_independent(ex)
    assert _same_fit(serial, pooled)


def test_ray_trainer_rounds_and_sweep_match_local(ray_local):
    from qubonn.sweep import sweep

    with get_executor("ray") as ex:
        assert _same_fit(_fit_independent(None), _fit_independent(ex))
        grid = {"margin": [0, 0.5], "dropout.p": [0, 0.5]}
        local = sweep(qubonn.parse(SPEC2), grid, seeds=2, data=_data(), **FIXED)
        remote = sweep(qubonn.parse(SPEC2), grid, seeds=2, data=_data(), executor=ex, **FIXED)
    volatile = {"compile_s", "solve_s", "fit_s", "worker", "finished"}
    strip = [{k: v for k, v in r.items() if k not in volatile} for r in local]
    assert strip == [{k: v for k, v in r.items() if k not in volatile} for r in remote]
    assert len(strip) == 8 and {r["worker"] for r in remote}.isdisjoint(
        {r["worker"] for r in local}
    )


def test_ray_sweep_cli(ray_local, tmp_path, capsys):
    from qubonn.cli import main

    spec = tmp_path / "net.qnn"
    spec.write_text(SPEC2 + "\n")
    X, y, Xt, yt = _data()
    np.savez(tmp_path / "d.npz", X=np.concatenate([X, Xt]), y=np.concatenate([y, yt]))
    out = tmp_path / "r.csv"
    argv = [
        "sweep", str(spec), "--grid", "margin=0,0.5", "--seeds", "2", "--executor", "ray",
        "--retries", "1", "--backend", "neal", "--reads", "2", "--set", "num_sweeps=30",
        "--data", str(tmp_path / "d.npz"), "--test", "0.4", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert "4 runs in" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 5
