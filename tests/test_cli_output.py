"""--out safety: never an input, an existing file only with --force, checked before any work;
saved models follow the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from qubonn.cli import main

SPEC = "input x[4x4]\nhidden h[2] <- x\noutput y[1] <- h\n"
TRAIN = ["--size", "4", "--per-class", "4", "--reads", "2", "--sweeps", "50", "--quiet"]


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "net.qnn"
    path.write_text(SPEC)
    return path


def _data_file(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(12, 16))
    y = np.array([0, 1] * 6)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    return path


@pytest.mark.parametrize("command", ["train", "compile"])
def test_out_may_not_be_the_spec(spec, capsys, command):
    before = spec.read_text()
    rc = main([command, str(spec), *TRAIN[:4], "--out", str(spec), "--force"])
    assert rc == 2
    assert "is the spec" in capsys.readouterr().err
    assert spec.read_text() == before


@pytest.mark.parametrize("command", ["train", "compile", "sweep"])
def test_out_may_not_be_the_data_file(spec, tmp_path, capsys, command):
    data = _data_file(tmp_path)
    before = data.read_bytes()
    extra = ["--force"] if command != "sweep" else []
    assert main([command, str(spec), "--data", str(data), "--out", str(data), *extra]) == 2
    assert "is the data file" in capsys.readouterr().err
    assert data.read_bytes() == before


def test_sweep_out_may_not_be_the_spec(spec, capsys):
    before = spec.read_text()
    assert main(["sweep", str(spec), "--out", str(spec)]) == 2
    assert "is the spec" in capsys.readouterr().err
    assert spec.read_text() == before


@pytest.mark.parametrize("command", ["train", "compile"])
def test_existing_out_needs_force_and_is_checked_before_work(spec, tmp_path, capsys, command):
    out = tmp_path / ("m.json" if command == "train" else "p.npz")
    out.write_text("keep me\n")
    assert main([command, str(spec), *TRAIN[:4], "--out", str(out)]) == 2
    err = capsys.readouterr()
    assert "exists; pass --force" in err.err
    assert "QUBO" not in err.out and "trainer:" not in err.out  # refused before the work
    assert out.read_text() == "keep me\n"
    argv = [command, str(spec), *(TRAIN if command == "train" else TRAIN[:4])]
    assert main([*argv, "--out", str(out), "--force"]) == 0
    assert out.read_bytes() != b"keep me\n"


def test_out_in_a_missing_folder_is_refused_before_training(spec, tmp_path, capsys):
    out = tmp_path / "no" / "such" / "m.json"
    assert main(["train", str(spec), *TRAIN, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "does not exist" in captured.err and "trainer:" not in captured.out


def test_train_model_follows_the_umask(spec, tmp_path):
    out = tmp_path / "m.json"
    old = os.umask(0o022)
    try:
        assert main(["train", str(spec), *TRAIN, "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_a_model_saved_by_another_run_meanwhile_is_not_replaced(spec, tmp_path, capsys,
                                                                monkeypatch):
    """Two runs without --force both pass the --out check; the second to finish must neither
    replace the first's model nor lose its own."""
    from qubonn.training import BNNClassifier

    out = tmp_path / "new.json"
    fit = BNNClassifier.fit

    def fit_while_another_run_saves(self, X, y):
        fitted = fit(self, X, y)
        out.write_text("the other run's model")
        return fitted

    monkeypatch.setattr(BNNClassifier, "fit", fit_while_another_run_saves)
    assert main(["train", str(spec), *TRAIN, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists now" in err and "new-2.json" in err
    assert out.read_text() == "the other run's model"
    assert (tmp_path / "new-2.json").is_file()
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_killed_writers_temporary_file_is_cleaned_by_the_next_save(tmp_path):
    import subprocess
    import sys

    from qubonn.language import parse
    from qubonn.modelfile import save_model

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".m.json.{dead.stdout.strip()}.abcd1234.tmp"
    stale.write_text("half a model")
    live = tmp_path / f".m.json.{os.getpid()}.efgh5678.tmp"  # a live writer: left alone
    live.write_text("being written")
    net = parse(SPEC)
    save_model(tmp_path / "m.json", net, net.random_weights(0))
    assert not stale.exists() and live.exists()


def test_out_in_a_folder_where_no_file_can_be_created_is_refused_before_training(
    spec, capsys, monkeypatch
):
    import tempfile

    from qubonn.training import BNNClassifier

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(BNNClassifier, "fit", lambda *a: pytest.fail("trained first"))
    assert main(["train", str(spec), *TRAIN, "--out", str(spec.parent / "m.json")]) == 2
    assert "cannot create a file in the folder" in capsys.readouterr().err


@pytest.mark.parametrize("flag, count", [("--per-class", "3"), ("--train", "6")])
def test_few_shot_flags_apply_to_a_data_file(spec, tmp_path, capsys, flag, count):
    data = _data_file(tmp_path)
    argv = ["train", str(spec), "--data", str(data), flag, count, *TRAIN[4:]]
    assert main([*argv, "--out", str(tmp_path / "m.json")]) == 0
    assert "6 training / 0 test samples" in capsys.readouterr().out
    assert main(["train", str(spec), "--data", str(data), "--per-class", "7", "--force",
                 "--out", str(tmp_path / "m.json")]) == 2
    assert "--per-class: class 0 has only 6 training samples" in capsys.readouterr().err


def test_short_version_flag(capsys):
    assert main(["-V"]) == 0
    assert capsys.readouterr().out.startswith("qubonn ")
