"""Interrupts: a partial solve is never passed off as a whole one (SIGINT sent to a child)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "digits.qnn"


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "qubonn", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module", autouse=True)
def _compiled_kernels():
    """Compile (and cache on disk, numba cache=True) the structured kernels here, so that the
    child's solve starts within the settle time even on a fresh checkout."""
    import qubonn
    from qubonn.training import BNNClassifier

    data = qubonn.datasets.digits(per_class=3, seed=0)
    BNNClassifier(
        qubonn.load_spec(SPEC), num_reads=2, solver_options={"num_sweeps": 5}, margin=0.2
    ).fit(data.X_train, data.y_train)


def _interrupt_mid_solve(proc: subprocess.Popen, marker: str, settle: float = 5.0):
    """Wait for ``marker`` on stdout (printed just before the solve), let the solve start, then
    send SIGINT; returns (rc, stdout, stderr)."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            break
    time.sleep(settle)  # compile (well under a second) and the solver's start-up
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, "".join(seen) + out, err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_train_solve_exits_130_and_keeps_the_model(tmp_path):
    model = tmp_path / "model.json"
    model.write_text("previous model\n")
    before = model.stat().st_mtime_ns
    # a solve that would take hours: only the interrupt ends it
    proc = _start(
        ["train", str(SPEC), "--quiet", "--sweeps", "100000000", "--out", str(model), "--force"],
        tmp_path,
    )
    rc, out, err = _interrupt_mid_solve(proc, "trainer:")
    assert rc == 130, (out, err)
    assert "interrupted" in err and "solve" in err, err
    assert "Traceback" not in err
    assert "saved:" not in out
    assert model.read_text() == "previous model\n"
    assert model.stat().st_mtime_ns == before
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_sweep_solve_records_no_row(tmp_path):
    out_csv = tmp_path / "r.csv"
    proc = _start(
        [
            "sweep", str(SPEC), "--quiet", "--out", str(out_csv),
            # a margin, so that no proven optimum ends the solve early
            "--set", "num_sweeps=100000000", "margin=0.2", "margin_scale=fan_in",
        ],
        tmp_path,
    )
    # the sweep prints nothing before its first run; the child's start-up takes a few seconds
    time.sleep(12.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "solve" in err, err
    rows = out_csv.read_text().splitlines()[1:] if out_csv.exists() else []
    assert rows == [], rows


def test_trainer_raises_on_an_interrupted_sampleset(monkeypatch):
    """Any backend's ``info["interrupted"]`` stops fit: no model from a partial solve."""
    import qubonn
    from qubonn.errors import Interrupted
    from qubonn.training import BNNClassifier

    real_solve = qubonn.solve

    def solve(problem, **kw):
        ss = real_solve(problem, **kw)
        ss.info["interrupted"] = True
        ss.info["num_sweeps"] = 3
        return ss

    monkeypatch.setattr(qubonn, "solve", solve)
    net = qubonn.parse("input x[4]\noutput y[1] <- x")
    X = np.array([[1, 1, -1, -1], [-1, -1, 1, 1], [1, -1, 1, -1], [-1, 1, -1, 1]])
    y = np.array([0, 1, 0, 1])
    clf = BNNClassifier(
        net, backend="native", num_reads=2, solver_options={"num_sweeps": 10}, random_state=0
    )
    with pytest.raises(Interrupted, match="after 3 of 10 sweeps"):
        clf.fit(X, y)
    assert not hasattr(clf, "weights_")
    assert issubclass(Interrupted, KeyboardInterrupt) and not issubclass(Interrupted, Exception)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("backend", ["neal", "openjij-sa"])
def test_sigint_stops_a_long_anneal_of_a_c_backend_promptly(tmp_path, backend):
    """neal ran to the end of its C++ call (46 s after the signal), OpenJij to the end of
    its read: both now anneal in segments of about a second and stop between them."""
    model = tmp_path / "model.json"
    budget = ["--reads", "1", "--sweeps", "10000000"]  # one read: hours in one call before
    proc = _start(
        ["train", str(SPEC), "--quiet", "--backend", backend, *budget, "--out", str(model)],
        tmp_path,
    )
    for line in proc.stdout:
        if "trainer:" in line:
            break
    time.sleep(4.0)  # compile and the first segments
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    latency = time.monotonic() - sent
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and backend in err, err
    # the run had hours of sweeps left; segments are about a second (bench/neal_segments.py
    # measures the latency): 20 s tells a stop between segments from none on a loaded machine
    assert latency < 20.0, latency
    assert not model.exists()
