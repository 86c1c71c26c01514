"""bench/cpsat.py: a smoke run prints the table and the largest proven size; bad input exits 2."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench" / "cpsat.py"

pytest.importorskip("ortools")


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *argv], capture_output=True, text=True, timeout=300
    )


def test_smoke_run_prints_one_line_per_solve() -> None:
    proc = run(
        "--nets", "16", "--sizes", "2", "4", "--time-limit", "20", "--budget", "60",
        "--native-seeds", "2",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [
        "network", "N", "vars", "status", "objective", "bound", "time_s", "hits", "native_s"
    ]
    rows = [line.split() for line in lines if line.startswith("16-4-1 ")]
    assert [r[1] for r in rows] == ["2", "4"] and all(r[3] == "optimal" for r in rows)
    assert all(float(r[4]) == pytest.approx(float(r[5]), abs=1e-9) for r in rows)
    assert all(r[7].endswith("/2") and float(r[8]) > 0 for r in rows)
    assert lines[-1] == "16-4-1: largest training set proven optimal: 4"


def test_bad_sizes_are_refused() -> None:
    proc = run("--sizes", "1")
    assert proc.returncode == 2 and "--sizes" in proc.stderr


DOMAINS = BENCH.parent / "cpsat_domains.py"


def test_domains_smoke_run_proves_each_variant() -> None:
    proc = subprocess.run(
        [sys.executable, str(DOMAINS), "--sizes", "2", "--time-limit", "20", "--repeats", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["variant", "N", "status", "objective", "bound", "solve_s",
                                "cp_vars"]
    rows = [line.split() for line in lines[1:]]
    assert [r[0] for r in rows] == ["binary", "integer", "ternary"]
    assert all(r[2] == "optimal" and float(r[3]) == pytest.approx(float(r[4])) for r in rows)
    bad = subprocess.run([sys.executable, str(DOMAINS), "--sizes", "3"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--sizes" in bad.stderr
