"""bench/export.py: a smoke run (one network, one C variant) and its bad input."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from qubonn.export.toolchain import find_c_compiler

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench" / "export.py"


def run_bench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *argv], capture_output=True, text=True, timeout=300
    )


@pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")
def test_smoke_run_prints_both_tables():
    proc = run_bench("--quick", "--only", "skip", "--repeats", "1", "--batch", "50",
                     "--c-batch", "20")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| examples/skip.qnn")]
    assert [r.split(" | ")[1] for r in rows[:3]] == [
        "numpy plain", "numpy bit-packed", "C tables 32-bit `-O2`"
    ]
    assert rows[-1].split(" | ")[1] == "70"  # parameters, in the bytes table


def test_bad_counts_are_refused():
    proc = run_bench("--repeats", "0")
    assert proc.returncode == 2 and "must be at least 1" in proc.stderr
