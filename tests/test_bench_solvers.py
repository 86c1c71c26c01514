"""bench/solvers.py and bench/free_moves.py: the time-to-target protocol, smoke runs, bad input."""

from __future__ import annotations

import importlib.util
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench" / "solvers.py"
FREE_MOVES = BENCH.parent / "free_moves.py"
needs_gset = pytest.mark.skipif(
    not (BENCH.parents[1].parent / "shared" / "benchmarks" / "gset" / "G1").exists(),
    reason="shared/benchmarks/gset not found",
)


def run_script(script: pathlib.Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, timeout=300
    )


def table_of(script: pathlib.Path, *argv: str) -> str:
    """The script's output; the test fails with its stderr if it did not succeed."""
    proc = run_script(script, *argv)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


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
def test_smoke_table_has_every_solver() -> None:
    argv = ["--gset", "G1", "--no-bnn", "--seeds", "1", "--max-sweeps", "250", "--cap", "0.2"]
    out = table_of(BENCH, *argv, "--ttt-budget", "0.3", "--ttt-min-time", "0")
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


@needs_gset
def test_free_moves_bench_prints_a_row_per_rule() -> None:
    out = table_of(
        FREE_MOVES, "--gset", "G1", "--rules", "0.5", "1", "--seeds", "1", "--budget", "0.5"
    )
    rows = [line.split() for line in out.splitlines() if line.startswith("G1 ")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("G1", "-11624.0", "0.50"),
        ("G1", "-11624.0", "1.00"),
    ]
    assert all(r[3] in ("0/1", "1/1") for r in rows)


@pytest.mark.parametrize(
    "script, argv, message",
    [
        (FREE_MOVES, ["--rules", "2"], "--rules: probabilities in [0, 1]"),
        (FREE_MOVES, ["--bnn", "100"], "--bnn-target"),
        (FREE_MOVES, ["--seeds", "0"], "--seeds and --reads must be >= 1"),
        (BENCH, ["--bnn", "100", "500", "--bnn-targets", "150"], "--bnn-targets: one energy per"),
        pytest.param(
            FREE_MOVES, ["--gset", "G99"], "--gset G99: no such instance", marks=needs_gset
        ),
        pytest.param(BENCH, ["--gset", "G99", "--no-bnn"], "--gset G99: no such", marks=needs_gset),
    ],
)
def test_bad_arguments_are_clear_errors(
    script: pathlib.Path, argv: list[str], message: str
) -> None:
    proc = run_script(script, *argv)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_bnn_targets_replace_the_best_found() -> None:
    argv = ["--gset", "--bnn", "20", "--bnn-targets", "1e9", "--solvers", "native", "neal"]
    argv += ["--seeds", "1", "--max-sweeps", "250", "--cap", "0.1", "--ttt-budget", "0.2"]
    out = table_of(BENCH, *argv, "--ttt-min-time", "0")
    assert "target energy 1000000000.0" in out, out
    rows = [line.split() for line in out.splitlines() if line.startswith("BNN N=20 ")]
    assert [r[3] for r in rows] == ["native", "neal"] and all(r[5] == "1/1" for r in rows), out
