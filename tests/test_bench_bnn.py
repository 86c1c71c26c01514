"""bench/bnn_solver.py and bench/structured_gpu.py: smoke runs, the baseline, bad input."""

from __future__ import annotations

import pathlib
import sys

import numpy as np
import pytest
from test_bench_solvers import run_script, table_of

import qubonn

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.slow
def test_bnn_solver_quick_run_prints_every_pipeline_with_valid_structured_reads():
    out = table_of(BENCH / "bnn_solver.py", "--quick")
    for label in ("spin-native+polish", "neal+polish", "structured", "structured@equal-time"):
        assert f"| {label} |" in out
    row = next(line for line in out.splitlines() if line.startswith("| structured |"))
    assert row.split("|")[2].strip() == "100%"
    assert "moves/s structured / polish" in out


def test_bnn_solver_refuses_bad_counts():
    proc = run_script(BENCH / "bnn_solver.py", "--seeds", "0")
    assert proc.returncode == 2 and "must be >= 1" in proc.stderr


def test_the_previous_pipelines_polish_never_worsens_its_start():
    sys.path.insert(0, str(BENCH))
    from _previous_pipeline import polish

    from qubonn.verify import expected_energy

    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(0)
    problem = qubonn.compile(net, rng.choice([-1, 1], (10, 4)), rng.choice([-1, 1], 10))
    start = net.random_weights(1)
    better, moves = polish(problem, start, sweeps=3)
    assert moves > net.n_parameters
    assert expected_energy(problem, better) <= expected_energy(problem, start)


def test_structured_gpu_export_rebuilds_the_same_model(tmp_path):
    path = tmp_path / "pair.npz"
    out = table_of(BENCH / "structured_gpu.py", "--export", str(path))
    assert "265 parameters" in out
    sys.path.insert(0, str(BENCH))
    import structured_gpu

    model = structured_gpu.load(str(path))
    d = np.load(path)
    from qubonn.backends.native import structured

    again = structured.anneal_structured(model, device="cpu", **structured_gpu.IDENTITY)
    np.testing.assert_array_equal(again.params, d["ref_params"])
    assert float(d["cpu_rate"]) > 0


def test_structured_gpu_needs_a_file():
    proc = run_script(BENCH / "structured_gpu.py")
    assert proc.returncode == 2 and "--export FILE" in proc.stderr
