"""bench/solvers.py: its time-to-target protocol, and a smoke run of the whole table."""

from __future__ import annotations

import importlib.util
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench" / "solvers.py"
needs_gset = pytest.mark.skipif(
    not (BENCH.parents[1].parent / "shared" / "benchmarks" / "gset" / "G1").exists(),
    reason="shared/benchmarks/gset not found",
)


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_solvers", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_time_to_target_doubles_then_repeats_and_counts_failed_runs(monkeypatch) -> None:
    bench = load_bench()
    clock = [0.0]
    monkeypatch.setattr(bench.time, "perf_counter", lambda: clock[0])
    calls = []

    def fake(sweeps: int, seed: int) -> float:
        calls.append((sweeps, seed))
        clock[0] += sweeps / 1000  # 1 ms per sweep
        return 0.0 if len(calls) == 5 else 1.0  # the fifth run hits

    t = bench.time_to_target(
        fake, seed=2, rungs=[100, 200, 400, 800], cap=0.3, target=0.0, budget=10.0
    )
    # 100, 200, 400 (past the 0.3 s cap: repeated), 400, 400
    assert [c[0] for c in calls] == [100, 200, 400, 400, 400]
    assert len({c[1] for c in calls}) == 5  # fresh seed per run
    assert t == pytest.approx(1.5)
    calls.clear()

    def never(sweeps: int, seed: int) -> float:
        calls.append((sweeps, seed))
        clock[0] += 1.0
        return 1.0

    assert math.isinf(bench.time_to_target(never, 0, [100], 0.3, 0.0, budget=3.0))
    assert len(calls) == 3  # stops once the budget is spent


@needs_gset
def test_smoke_table_has_every_solver(tmp_path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--gset",
            "G1",
            "--no-bnn",
            "--seeds",
            "1",
            "--max-sweeps",
            "250",
            "--cap",
            "0.2",
            "--ttt-budget",
            "0.3",
            "--ttt-min-time",
            "0",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("G1 ")]
    assert all(len(r) == 10 for r in rows), out
    assert [r[2] for r in rows] == ["native", "neal", "openjij"], out
    assert "target energy -11624.0" in out


def test_exported_problem_reads_back_identical(tmp_path) -> None:
    bench = load_bench()
    from qubonn.backends.native.problem import IsingProblem

    rng = np.random.default_rng(3)
    rows, cols = rng.integers(0, 30, 200), rng.integers(0, 30, 200)
    p = IsingProblem.from_ising(rng.normal(size=30), rows, cols, rng.normal(size=200), 2.5)
    bench.export_problem(p, str(tmp_path / "p.npz"))
    q = bench.import_problem(str(tmp_path / "p.npz"))
    for name in ("h", "indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(p, name), getattr(q, name))
    assert q.offset == p.offset


def test_seconds_per_hit() -> None:
    bench = load_bench()
    assert bench.seconds_per_hit([1.0, math.inf, 3.0], 24.0) == 12.0
    assert math.isinf(bench.seconds_per_hit([math.inf], 20.0))


def test_bad_problem_file_is_a_clear_error(tmp_path) -> None:
    bench = load_bench()
    (tmp_path / "junk.npz").write_text("not an archive")
    with pytest.raises(SystemExit, match="not an instance written by --export"):
        bench.import_problem(str(tmp_path / "junk.npz"))
    with pytest.raises(SystemExit, match="not an instance written by --export"):
        bench.import_problem(str(tmp_path / "missing.npz"))


FREE_MOVES = BENCH.parent / "free_moves.py"


@needs_gset
def test_free_moves_bench_prints_a_row_per_rule() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(FREE_MOVES),
            "--gset",
            "G1",
            "--rules",
            "0.5",
            "1",
            "--seeds",
            "1",
            "--budget",
            "0.5",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("G1 ")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("G1", "-11624.0", "0.50"),
        ("G1", "-11624.0", "1.00"),
    ]
    assert all(r[3] in ("0/1", "1/1") for r in rows)


@pytest.mark.parametrize(
    "argv, message",
    [(["--rules", "2"], "--rules: probabilities in [0, 1]"), (["--bnn", "100"], "--bnn-target")],
)
def test_free_moves_bench_rejects_bad_arguments(argv: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(FREE_MOVES), *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr


def test_bnn_targets_must_match_the_sizes() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--bnn", "100", "500", "--bnn-targets", "150"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "--bnn-targets: one energy per --bnn size" in proc.stderr


def test_bnn_targets_replace_the_best_found() -> None:
    argv = ["--gset", "--bnn", "20", "--bnn-targets", "1e9", "--solvers", "native", "neal"]
    argv += ["--seeds", "1", "--max-sweeps", "250", "--cap", "0.1", "--ttt-budget", "0.2"]
    argv += ["--ttt-min-time", "0"]
    out = subprocess.run(
        [sys.executable, str(BENCH), *argv], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    assert "target energy 1000000000.0" in out, out
    rows = [line.split() for line in out.splitlines() if line.startswith("BNN N=20 ")]
    assert [r[3] for r in rows] == ["native", "neal"] and all(r[5] == "1/1" for r in rows), out
