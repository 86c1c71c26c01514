"""The ten-class task through the command line: specs that work with no flags, errors that name
the flag that fixes a spec/data mismatch."""

from __future__ import annotations

import json

import pytest

from qubonn.cli import main


def _train(argv, tmp_path, capsys):
    out = tmp_path / "m.json"
    code = main(["train", *argv, "--quiet", "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, out


def test_multiclass_example_trains_with_default_flags(tmp_path, capsys):
    """examples/multiclass.qnn (16 inputs, 3 outputs): the size and classes come from the spec."""
    code, out, err, model = _train(
        ["examples/multiclass.qnn", "--per-class", "6", "--sweeps", "50", "--reads", "4"],
        tmp_path,
        capsys,
    )
    assert code == 0, err
    assert "classes [0, 1, 2]" in out
    assert "loss='multiclass'" in out
    meta = json.loads(model.read_text())["metadata"]
    assert meta["classes"] == [0, 1, 2]
    assert meta["objective"]["loss"] in ("multiclass", "auto")  # auto: multiclass here


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["examples/digits10.qnn", "examples/digits10_local.qnn"])
def test_ten_class_examples_train_with_no_flags(spec, tmp_path, capsys):
    code, out, err, model = _train([spec], tmp_path, capsys)
    assert code == 0, err
    assert "classes [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in out
    test_line = next(line for line in out.splitlines() if line.startswith("test:"))
    assert float(test_line.split()[1].rstrip("%")) > 30  # ten classes: chance is 10%


def test_class_weight_flag(tmp_path, capsys):
    code, out, err, model = _train(
        ["examples/multiclass.qnn", "--per-class", "4", "--sweeps", "20", "--reads", "2",
         "--class-weight", "balanced"],
        tmp_path,
        capsys,
    )
    assert code == 0, err
    assert json.loads(model.read_text())["metadata"]["objective"]["class_weight"] == "balanced"
    argv = ["examples/multiclass.qnn", "--class-weight", "equal"]
    code, _, err, _ = _train(argv, tmp_path, capsys)
    assert code == 2 and "--class-weight: invalid choice: 'equal'" in err


def test_ten_class_example_compiles_with_no_flags(tmp_path, capsys):
    out = tmp_path / "p.npz"
    code = main(["compile", "examples/digits10.qnn", "--per-class", "2", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "classes (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)" in captured.out


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (
            ["examples/multiclass.qnn", "--size", "8"],
            ["the data has 64 inputs per sample but the network has 16", "--size 4"],
        ),
        (
            ["examples/digits.qnn", "--size", "4"],
            ["the data has 16 inputs per sample but the network has 64", "--size 8"],
        ),
        (
            ["examples/digits10.qnn", "--classes", "3,8"],
            ["the network has 10 output(s) but the data has 2 classes", "--classes 0,1,2"],
        ),
        (
            ["examples/digits.qnn", "--classes", "1,2,3"],
            ["the network has 1 output(s) but the data has 3 classes", "--classes 0,1"],
        ),
    ],
)
def test_spec_and_data_mismatches_name_the_fix(argv, fragments, tmp_path, capsys):
    code, _, err, model = _train(argv, tmp_path, capsys)
    assert code == 2
    assert err.startswith("qubonn train: error: ")
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err
    assert not model.exists()


def test_a_class_missing_from_the_training_data_is_named(tmp_path):
    """A split can leave a class without training samples; the error names it."""
    from types import SimpleNamespace

    import numpy as np

    import qubonn
    from qubonn.commands._data import check_data_fits
    from qubonn.datasets import Dataset
    from qubonn.errors import DataError

    X = np.random.default_rng(0).choice([-1, 1], (12, 4))
    data = Dataset(X[:8], np.array([0, 1] * 4), X[8:], np.array([0, 1, 2, 2]), (0, 1, 2), "d")
    net = qubonn.parse("input x[4]\noutput y[3] <- x\n")
    with pytest.raises(DataError, match=r"class\(es\) \[2\] have no training samples"):
        check_data_fits(data, net, SimpleNamespace(data="d.npz"))


def _objective(argv, tmp_path, capsys):
    code, out, err, model = _train(argv, tmp_path, capsys)
    assert code == 0, err
    return json.loads(model.read_text())["metadata"]["objective"]


def test_multiclass_margins_default_to_the_measured_ones(tmp_path, capsys):
    """Under the multiclass loss, train defaults to hard margin 3 and mu 0.5 (docs/results.md,
    ten classes); explicit flags win, and one-output networks keep 0 and 0.2."""
    quick = ["--per-class", "4", "--sweeps", "20", "--reads", "2", "--force"]
    objective = _objective(["examples/multiclass.qnn", *quick], tmp_path, capsys)
    assert (objective["hard_margin"], objective["margin"]) == (3, 0.5)
    argv = ["examples/multiclass.qnn", *quick, "--hard-margin", "0", "--margin", "0.2"]
    objective = _objective(argv, tmp_path, capsys)
    assert (objective["hard_margin"], objective["margin"]) == (0, 0.2)
    objective = _objective(["examples/digits.qnn", *quick], tmp_path, capsys)
    assert (objective["hard_margin"], objective["margin"]) == (0, 0.2)
    # "auto" said out loud is the Objective's one rule, the same as no flag: mu 0.2 for one
    argv = ["examples/digits.qnn", *quick, "--margin", "auto", "--hard-margin", "auto"]
    objective = _objective(argv, tmp_path, capsys)
    assert (objective["hard_margin"], objective["margin"]) == (0, 0.2)


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--margin", "big", "argument --margin: 'big' is not a number or 'auto'"),
        ("--hard-margin", "1.5", "argument --hard-margin: '1.5' is not an integer or 'auto'"),
    ],
)
def test_bad_margin_flags_say_what_is_allowed(flag, value, message, capsys):
    assert main(["compile", "examples/digits.qnn", flag, value]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
