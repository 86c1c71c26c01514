"""The trainer: fit / predict / score, both regularisers, history, the CLI main job."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import qubonn
from qubonn.network import SubNetwork
from qubonn.training import BNNClassifier, Dropout
from qubonn.verify import all_weight_assignments, expected_energy


@pytest.fixture(scope="module")
def digits():
    return qubonn.datasets.digits(classes=(3, 8), per_class=8, size=4, seed=0)


@pytest.fixture(scope="module")
def net16():
    return qubonn.parse("input x[4x4]\nhidden h[3] <- x\noutput y[1] <- h\n")


def test_separable_toy_problem_reaches_full_training_accuracy():
    net = qubonn.parse("input x[3]\noutput y[1] <- x\n")
    X = np.array([[1, 1, 1], [1, 1, -1], [-1, -1, 1], [-1, -1, -1], [1, -1, -1], [-1, 1, 1]])
    y = np.array([1, 1, 0, 0, 0, 1])  # y = x0 or x1 majority: separable
    clf = BNNClassifier(net, backend="exact", num_reads=1).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.history_[-1]["valid_share"] == 1.0


def test_fit_predict_score_and_history(digits, net16):
    clf = BNNClassifier(net16, num_reads=4, solver_options={"num_sweeps": 300}, random_state=1)
    clf.fit(digits.X_train, digits.y_train)
    assert set(clf.predict(digits.X_test)) <= {3, 8}
    assert 0.0 <= clf.score(digits.X_test, digits.y_test) <= 1.0
    (final,) = clf.history_
    for key in (
        "variables",
        "couplings",
        "solve_s",
        "best_energy",
        "valid_share",
        "objective",
        "train_accuracy",
    ):
        assert key in final
    # the native backend's structured mode: every read is a valid network
    assert final["mode"] == "structured" and final["valid_share"] == 1.0
    # the recorded training accuracy is that of the replayed network
    assert final["train_accuracy"] == clf.score(digits.X_train, digits.y_train)


def test_the_solver_alone_reaches_the_best_objective_of_a_small_network():
    """No polish: the trained network is the solver's own read, and on a network small
    enough to enumerate it is the best one."""
    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(2)
    X = rng.choice([-1, 1], (12, 4))
    y = rng.choice([3, 8], 12)
    clf = BNNClassifier(
        net, margin=0.1, num_reads=4, solver_options={"num_sweeps": 300}, random_state=0
    ).fit(X, y)
    best = min(expected_energy(clf.problem_, w) for w in all_weight_assignments(clf.problem_))
    assert clf.history_[-1]["objective"] == pytest.approx(best, abs=1e-9)


def test_same_seed_same_model(digits, net16):
    a = BNNClassifier(net16, num_reads=2, solver_options={"num_sweeps": 200}, random_state=5).fit(
        digits.X_train, digits.y_train
    )
    b = BNNClassifier(net16, num_reads=2, solver_options={"num_sweeps": 200}, random_state=5).fit(
        digits.X_train, digits.y_train
    )
    assert a.weights_ == b.weights_


@pytest.mark.parametrize("variant", ["iterative", "independent", "frequency"])
def test_dropout_scheme_runs_rounds_and_sets_linear_penalties(digits, net16, variant):
    d = Dropout(p=0.4, rounds=3, eta=0.5, variant=variant, batch_size=10)
    clf = BNNClassifier(
        net16, dropout=d, num_reads=2, solver_options={"num_sweeps": 200}, random_state=0
    )
    clf.fit(digits.X_train, digits.y_train)
    rounds = [h for h in clf.history_ if h["stage"] == "dropout"]
    assert len(rounds) == 3 and clf.history_[-1]["stage"] == "final"
    assert all(1 <= h["kept"] <= 3 for h in rounds)
    h = clf.linear_penalties_
    assert h.shape == (net16.n_parameters,) and np.any(h != 0)
    if variant == "frequency":
        assert np.all(np.abs(h) <= 0.5 + 1e-12)
    # the final problem carries these penalties
    assert np.array_equal(clf.problem_.linear_penalties, h)


def test_dropout_rounds_through_an_executor_match_the_serial_run(digits, net16):
    class SerialMap:
        calls = 0

        def map(self, func, items):
            SerialMap.calls += 1
            return [func(i) for i in items]

    d = Dropout(p=0.3, rounds=2, variant="independent")
    a = BNNClassifier(
        net16, dropout=d, num_reads=2, solver_options={"num_sweeps": 200}, random_state=3
    )
    b = BNNClassifier(
        net16,
        dropout=d,
        num_reads=2,
        solver_options={"num_sweeps": 200},
        random_state=3,
        executor=SerialMap(),
    )
    a.fit(digits.X_train, digits.y_train)
    b.fit(digits.X_train, digits.y_train)
    assert SerialMap.calls == 1
    assert np.array_equal(a.linear_penalties_, b.linear_penalties_)
    assert a.weights_ == b.weights_


def test_subnetworks_keep_outputs_connected(net16):
    rng = np.random.default_rng(0)
    clf = BNNClassifier(net16, dropout=Dropout(p=0.9, rounds=1))
    for _ in range(20):
        keep = clf._sample_keep(net16, 0.9, rng)
        assert keep.any() and SubNetwork(net16, keep).connected_outputs()


def test_multiclass_one_vs_rest():
    data = qubonn.datasets.digits(classes=(0, 1, 2), per_class=5, size=4, seed=0)
    net = qubonn.parse("input x[4x4]\nhidden h[2] <- x\noutput y[3] <- h\n")
    clf = BNNClassifier(net, num_reads=2, solver_options={"num_sweeps": 200}).fit(
        data.X_train, data.y_train
    )
    assert set(clf.predict(data.X_test)) <= {0, 1, 2}
    assert list(clf.classes_) == [0, 1, 2]


def test_margin_changes_the_objective(digits, net16):
    clf = BNNClassifier(
        net16, margin=0.05, margin_scale="fan_in", num_reads=2, solver_options={"num_sweeps": 200}
    )
    clf.fit(digits.X_train, digits.y_train)
    assert clf.problem_.term_weights["margin"] == 0.05
    objective = clf.history_[-1]["objective"]
    assert objective == pytest.approx(expected_energy(clf.problem_, clf.weights_))
    plain = qubonn.compile(net16, clf.problem_.X, clf.problem_.formulation.targets)
    assert objective != pytest.approx(expected_energy(plain, clf.weights_))


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.ones((4, 15)), np.array([3, 8, 3, 8]), "16 inputs"),
        (np.ones(16), np.array([3]), "Expected 2D array"),
        (np.full((2, 16), 0.5), np.array([3, 8]), "-1/\\+1"),
        (np.ones((2, 16)), np.array([3, 3]), "only one class"),
        (np.ones((2, 16)), np.array([3, 8, 8]), "inconsistent numbers of samples"),
        (np.ones((3, 16)), np.array([1, 2, 3]), "one output classifies two classes"),
    ],
)
def test_bad_inputs_are_explained(net16, X, y, message):
    with pytest.raises(ValueError, match=message):
        BNNClassifier(net16, num_reads=1).fit(X, y)


def test_bad_settings_are_explained_by_fit(net16):
    X, y = np.ones((2, 16)), np.array([3, 8])
    with pytest.raises(ValueError, match="dropout p"):
        Dropout(p=1.5)
    with pytest.raises(ValueError, match="unknown dropout option"):
        BNNClassifier(net16, dropout={"prob": 0.3}).fit(X, y)
    with pytest.raises(ValueError, match="dropout p must be in"):
        BNNClassifier(net16, dropout=Dropout()).set_params(dropout__p=2.0).fit(X, y)
    with pytest.raises(ValueError, match="num_reads"):
        BNNClassifier(net16, num_reads=0).fit(X, y)
    with pytest.raises(qubonn.backends.UnknownBackendError, match="neal"):
        BNNClassifier(net16, backend="nael").fit(X, y)
    with pytest.raises(ValueError, match=r"solver_options\['seed'\].*random_state="):
        BNNClassifier(net16, solver_options={"seed": 1}).fit(X, y)
    with pytest.raises(NotFittedError, match="not fitted"):
        BNNClassifier(net16).predict(np.ones((1, 16)))


def test_saved_model_predicts_like_the_classifier(tmp_path, digits, net16):
    clf = BNNClassifier(net16, num_reads=2, solver_options={"num_sweeps": 200}).fit(
        digits.X_train, digits.y_train
    )
    path = clf.save(tmp_path / "m.json")
    model = qubonn.load_model(path)
    assert np.array_equal(model.predict(digits.X_test), clf.predict(digits.X_test))
    assert model.metadata["classes"] == [3, 8]


def test_cli_train_evaluate_predict(tmp_path, capsys):
    from qubonn.cli import main

    model = tmp_path / "m.json"
    spec = tmp_path / "net.qnn"
    spec.write_text("input x[4x4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    rc = main(
        [
            "train",
            str(spec),
            "--size",
            "4",
            "--per-class",
            "5",
            "--reads",
            "2",
            "--sweeps",
            "200",
            "--quiet",
            "--out",
            str(model),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    for word in ("QUBO:", "variables", "solve:", "train:", "test:", "baseline:", "saved:"):
        assert word in out
    doc = json.loads(model.read_text())
    assert doc["metadata"]["classes"] == [3, 8]
    assert main(["evaluate", str(model), "--size", "4"]) == 0
    assert "test:" in capsys.readouterr().out
    inputs = tmp_path / "x.csv"
    np.savetxt(inputs, np.ones((2, 16)), delimiter=",")
    assert main(["predict", str(model), str(inputs)]) == 0
    assert capsys.readouterr().out.split() in (["3", "3"], ["8", "8"])


def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys):
    from qubonn.cli import main

    assert main(["train", "examples/digits.qnn", "--classes", "3,x"]) == 2
    err = capsys.readouterr().err
    assert "--classes" in err and "Traceback" not in err
    assert main(["train", "examples/digits.qnn", "--backend", "gurobi", "--quiet"]) == 2
    assert "gurobi" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.json"), "x.csv"]) == 2


def _train_small(tmp_path, *extra):
    from qubonn.cli import main

    model = tmp_path / "m.json"
    spec = tmp_path / "net.qnn"
    spec.write_text("input x[4x4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    argv = ["train", str(spec), "--size", "4", "--reads", "2", "--sweeps", "200", "--quiet"]
    assert main([*argv, *extra, "--out", str(model)]) == 0
    return model


def test_cli_evaluate_selects_the_training_data(tmp_path, capsys):
    from qubonn.cli import main

    model = _train_small(tmp_path, "--per-class", "6", "--seed", "3")
    trained = json.loads(model.read_text())["metadata"]["train_accuracy"]
    capsys.readouterr()
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out
    assert "12 training" in out and "as at training" in out and "seed 3" in out
    assert f"train: {trained:.1%} of 12 samples" in out
    assert main(["evaluate", str(model), "--train", "8"]) == 0  # not with the recorded per-class
    assert "8 training" in capsys.readouterr().out


def test_cli_evaluate_refuses_labels_that_are_not_the_models_classes(tmp_path, capsys):
    from qubonn.cli import main

    model = _train_small(tmp_path, "--per-class", "5")
    capsys.readouterr()
    assert main(["evaluate", str(model), "--classes", "1,7"]) == 2
    err = capsys.readouterr().err
    assert "[1, 7]" in err and "[3, 8]" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("data", 123, "data_selection.data is 123; it must be text"),
        ("per_class", "6", "data_selection.per_class is '6'; it must be an integer or null"),
        ("classes", [3, "x"], "data_selection.classes is \\[3, 'x'\\]; it must list integers"),
    ],
)
def test_cli_evaluate_names_a_bad_recorded_selection_field(tmp_path, capsys, field, value,
                                                            fragment):
    from qubonn.cli import main
    from qubonn.modelfile import load_model, save_model

    path = tmp_path / "m.json"
    model = load_model(_train_small(tmp_path, "--per-class", "4"))
    model.metadata["data_selection"][field] = value
    save_model(path, model)
    capsys.readouterr()
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    assert re.search(fragment, err), err


def test_the_final_solve_bar_follows_the_solvers_progress(digits, net16, capsys):
    """The bar sat at 0/1 for a whole solve; it now counts the solver's sweeps."""
    clf = BNNClassifier(net16, num_reads=2, solver_options={"num_sweeps": 40}, verbose=1)
    clf.fit(digits.X_train[:10], digits.y_train[:10])
    err = capsys.readouterr().err
    assert "final solve" in err and re.search(r"\d+/40 ", err) and "best=" in err


def test_an_error_line_starts_on_a_line_of_its_own(capsys):
    from tqdm import tqdm

    from qubonn.cli import main

    bar = tqdm(total=10, desc="working", file=sys.stderr)
    bar.update(3)
    assert main(["train", "missing.qnn"]) == 2
    bar.close()
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "qubonn train: error" in x)
    assert line.lstrip("\r").startswith("qubonn train: error"), repr(line)
