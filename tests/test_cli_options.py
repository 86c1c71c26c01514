"""Command-line options: conflicts are errors, every option has help, one position style."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from qubonn.cli import build_parser, main

SPEC = "input x[4x4]\nhidden h[2] <- x\noutput y[1] <- h\n"


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "net.qnn"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--option", "seed=5"], "seed is a trainer setting, not a backend option; use --seed"),
        (["--option", "num_reads=4"], "use --reads"),
        (["--option", "num-reads=4"], "use --reads"),
        (["--sweeps", "10", "--option", "num_sweeps=20"], "--sweeps and --option num_sweeps"),
        (["--option", "algorithm=pt", "--option", "algorithm=sa"], "algorithm is given twice"),
    ],
)
def test_train_option_conflicts_are_errors(spec, tmp_path, capsys, extra, fragment):
    out = tmp_path / "m.json"
    argv = ["train", str(spec), "--size", "4", "--per-class", "4", "--quiet", "--out", str(out)]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qubonn train: error: ") and fragment in err, err
    assert "multiple values" not in err and "Traceback" not in err
    assert not out.exists()


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            yield action


@pytest.mark.parametrize("command", ["train", "compile", "sweep", "evaluate", "predict", "check"])
def test_every_option_has_help(command):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    missing = [a.option_strings[0] for a in _options(sub.choices[command]) if not a.help]
    assert missing == [], f"qubonn {command}: options without help: {missing}"


@pytest.mark.parametrize(
    "flag", ["--loss-weight", "--engine", "--sweeps", "--dropout-rounds", "--margin-scale"]
)
def test_the_options_named_in_the_issue_explain_themselves(flag):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command in ("train", "compile"):
        for action in _options(sub.choices[command]):
            if flag in action.option_strings:
                assert len(action.help) > 20
                if action.default is not None:
                    assert "default" in action.help


def test_predict_csv_positions_are_the_files_lines(tmp_path, capsys):
    from qubonn.language import parse
    from qubonn.modelfile import save_model

    net = parse("input x[2]\noutput y[1] <- x\n")
    model = save_model(tmp_path / "m.json", net, net.random_weights(0), {"classes": [0, 1]})
    inputs = tmp_path / "x.csv"
    inputs.write_text("1,0\n\n0.5,1\n")  # a blank line: the bad value is on line 3
    assert main(["predict", str(model), str(inputs)]) == 2
    err = capsys.readouterr().err
    assert "line 3, column 1" in err, err
    inputs.write_text("1,0\nx,1\n")
    assert main(["predict", str(model), str(inputs)]) == 2
    assert "line 2, column 1 is 'x', not a number" in capsys.readouterr().err
    np.savez(tmp_path / "x.npz", X=np.array([[1.0, 0.0], [0.5, 1.0]]))
    assert main(["predict", str(model), str(tmp_path / "x.npz")]) == 2
    assert "X row 2, column 1" in capsys.readouterr().err


SPIN = ("--option", "mode=spin")


def _train(spec, tmp_path, *extra, solver=SPIN):
    out = tmp_path / "m.json"
    argv = ["train", str(spec), "--size", "4", "--per-class", "4", "--quiet", "--out", str(out)]
    return main([*argv, *solver, *extra]), out


@pytest.mark.parametrize(
    "solver, extra, fragment",
    [
        (SPIN, ["--reads", "1000000000"], "1,000,000,000 replicas of 141 variables need 10.3 TB"),
        (SPIN, ["--sweeps", "1000000000000"], "'num_sweeps': 1000000000000; expected an integer"),
        # the structured mode (the default) ran 10**12 sweeps: hours, without a word
        ((), ["--sweeps", "1000000000000"], "'num_sweeps': 1000000000000; expected an integer"),
        (("--backend", "neal"), ["--reads", "1000000000"], "over the memory budget"),
        (("--backend", "neal"), ["--sweeps", "1000000000000"], "'num_sweeps': 1000000000000"),
    ],
)
def test_solver_memory_and_sweeps_are_checked_before_allocating(
    spec, tmp_path, capsys, solver, extra, fragment
):
    rc, out = _train(spec, tmp_path, *extra, solver=solver)
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("qubonn train: error: ") and fragment in err, err
    assert "Traceback" not in err and "Unable to allocate" not in err
    assert not out.exists()


def test_a_dense_matrix_over_the_budget_is_refused(spec, tmp_path, capsys, monkeypatch):
    """Dense on 77k variables needs ~90 GB; the same check, at a budget this small problem
    compiles under."""
    monkeypatch.setenv("QUBONN_MAX_MEMORY", "200K")
    rc, out = _train(spec, tmp_path, "--reads", "4", "--option", "matrix=dense")
    err = capsys.readouterr().err
    assert rc == 2 and "dense 141 x 141 coupling matrix need" in err, err
    assert "over the memory budget of 200.0 KB" in err
    assert "matrix='sparse'" in err
    rc, out = _train(spec, tmp_path, "--reads", "4")  # sparse fits
    assert rc == 0 and out.exists()


def test_an_unknown_solver_option_is_an_error_on_the_command_line(spec, tmp_path, capsys):
    """The Python API warns (dimod's contract); a typo on the command line is an error."""
    rc, out = _train(spec, tmp_path, "--option", "num_sweep=3")
    err = capsys.readouterr().err
    assert rc == 2 and "no option 'num_sweep' (did you mean 'num_sweeps'?)" in err, err
    assert not out.exists()


def test_predict_refuses_an_input_file_without_rows(tmp_path, capsys):
    from qubonn.language import parse
    from qubonn.modelfile import save_model

    net = parse("input x[2]\noutput y[1] <- x\n")
    model = save_model(tmp_path / "m.json", net, net.random_weights(0), {"classes": [0, 1]})
    np.savez(tmp_path / "x.npz", X=np.zeros((0, 2)))
    assert main(["predict", str(model), str(tmp_path / "x.npz")]) == 2
    assert "X has no rows" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--seed", "18446744073709551616"], "argument --seed: 18446744073709551616 is out of"),
        (["--seed", "-1"], "argument --seed: -1 is out of range"),
        (["--threshold", "nan"], "argument --threshold: 'nan' must be a finite number"),
        (["--threshold", "inf"], "argument --threshold: 'inf' must be a finite number"),
    ],
)
def test_bad_numbers_name_their_flag_before_any_work(tmp_path, capsys, argv, fragment):
    spec = tmp_path / "net.qnn"
    spec.write_text("input x[4x4]\noutput y[1] <- x\n")
    assert main(["train", str(spec), *argv, "--out", str(tmp_path / "m.json")]) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("size", ["-1", "0", "inf", "nan", "lots"])
def test_max_memory_must_be_a_positive_size(tmp_path, capsys, size):
    spec = tmp_path / "net.qnn"
    spec.write_text("input x[4x4]\noutput y[1] <- x\n")
    argv = ["compile", str(spec), "--max-memory", size, "--out", str(tmp_path / "p.npz")]
    assert main(argv) == 2
    assert "argument --max-memory" in capsys.readouterr().err
