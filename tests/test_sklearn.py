"""Both classifiers are scikit-learn estimators: check_estimator, clone, searches, pipelines.

scikit-learn's checks feed arbitrary float data of every width, so they run on classifiers with
``network=None`` (a perceptron sized from the data) and ``input_threshold=0.0`` (binarise inside
the classifier); the default, -1/+1 inputs only, is tested on its own below.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_classifiers_train, parametrize_with_checks

import qubonn
from qubonn.errors import ConstantPredictionWarning
from qubonn.training import BNNClassifier, Dropout, STEClassifier
from qubonn.training.trainer import HISTORY_KEYS

SPEC = "input x[4]\nhidden h[2] <- x\noutput y[1] <- h"
FAST = {"backend": "neal", "num_reads": 2, "solver_options": {"num_sweeps": 30}}

#: the checks that cannot apply to a classifier of +-1 inputs, and why
NOT_FOR_BINARY_INPUTS = {
    "check_classifiers_train": (
        "its 0.83 training-accuracy bar: make_blobs' three classes in two features are, "
        "binarised at 0, four distinct +-1 inputs, on which a one-vs-rest +-1 perceptron "
        "reaches about 0.75; test_classifiers_train_apart_from_its_accuracy_bar runs the rest"
    ),
    "check_class_weight_classifiers": (
        "its bar of 87% predictions of the heavy class: on two features binarised at 0 a +-1 "
        "perceptron z = w.x + b has z(x) + z(-x) = 2b, so it cannot say one class on more than "
        "three of the four quadrants; test_class_weights_apart_from_their_accuracy_bar runs "
        "the rest"
    ),
}


def _checked_estimators():
    return [
        BNNClassifier(
            input_threshold=0.0, num_reads=2, solver_options={"num_sweeps": 20}, backend="native"
        ),
        STEClassifier(input_threshold=0.0, epochs=3),
    ]


@parametrize_with_checks(
    _checked_estimators(), expected_failed_checks=lambda est: NOT_FOR_BINARY_INPUTS
)
def test_scikit_learn_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantPredictionWarning)  # tiny random check data
        check(estimator)


def _with_poor_score(estimator):
    """A copy of ``estimator`` whose class declares scikit-learn's ``poor_score`` tag, which
    turns off only the accuracy bars of the checks."""

    class Declared(type(estimator)):
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.classifier_tags.poor_score = True
            return tags

    return Declared(**estimator.get_params(deep=False))


@pytest.mark.parametrize("estimator", _checked_estimators(), ids=lambda e: type(e).__name__)
def test_classifiers_train_apart_from_its_accuracy_bar(estimator):
    """check_classifiers_train with only its accuracy bar off (scikit-learn's ``poor_score``
    tag, declared by a subclass here, not by the estimator): fit on lists, shapes, errors on
    malformed input, and decision_function agreeing with predict (binary and multiclass)."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantPredictionWarning)
        check_classifiers_train(type(estimator).__name__, _with_poor_score(estimator))


def test_class_weights_apart_from_their_accuracy_bar():
    """check_class_weight_classifiers (scikit-learn's {label: weight} dicts, binary and three
    classes) with only its accuracy bar off, as above."""
    from sklearn.utils.estimator_checks import check_class_weight_classifiers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantPredictionWarning)
        check_class_weight_classifiers("BNNClassifier", _with_poor_score(_checked_estimators()[0]))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(40, 4)).astype(np.int8)
    y = np.where(X[:, 0] + X[:, 1] + X[:, 2] > 0, 8, 3)
    return X, y


@pytest.mark.parametrize("cls", [BNNClassifier, STEClassifier])
def test_is_a_classifier_with_params_and_clone(cls):
    net = qubonn.parse(SPEC)
    clf = cls(net)
    assert is_classifier(clf)
    copy = clone(clf)
    assert copy is not clf and copy.get_params().keys() == clf.get_params().keys()
    # the network is a parameter object: clone deep-copies it, the copy is the same network
    assert copy.network is not net and copy.network.to_text() == net.to_text()
    assert repr(copy).startswith(cls.__name__)


def test_init_only_stores_and_fit_checks(data):
    """Before: BNNClassifier(margin=-1) raised in __init__ and clone/set_params could not work."""
    X, y = data
    clf = BNNClassifier(qubonn.parse(SPEC), margin=-1, dropout={"p": 2}, backend="nael")
    assert clf.margin == -1 and clf.dropout == {"p": 2} and clf.backend == "nael"
    with pytest.raises(ValueError, match="margin"):
        clf.fit(X, y)
    clf.set_params(margin=0.1)
    with pytest.raises(ValueError, match="dropout p must be in"):
        clf.fit(X, y)
    with pytest.raises(TypeError, match="needs a qubonn Network"):
        BNNClassifier("examples/digits.qnn").fit(X, y)


def test_clone_gives_independent_dropout_and_nested_params(data):
    clf = BNNClassifier(qubonn.parse(SPEC), dropout=Dropout(p=0.2, rounds=2), **FAST)
    assert clf.get_params()["dropout__p"] == 0.2
    copy = clone(clf).set_params(dropout__p=0.4)
    assert copy.dropout.p == 0.4 and clf.dropout.p == 0.2
    with pytest.raises(ValueError, match="invalid dropout parameter 'q'"):
        copy.set_params(dropout__q=1)


@pytest.mark.parametrize("cls", [BNNClassifier, STEClassifier])
def test_fitted_attributes_and_binary_decision_function(cls, data):
    X, y = data
    kwargs = FAST if cls is BNNClassifier else {"epochs": 5}
    clf = cls(qubonn.parse(SPEC), **kwargs)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, y)
    assert clf.n_features_in_ == 4 and list(clf.classes_) == [3, 8]
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    assert np.array_equal(clf.classes_[(scores > 0).astype(int)], clf.predict(X))


@pytest.mark.parametrize("cls", [BNNClassifier, STEClassifier])
def test_one_history_format(cls, data):
    X, y = data
    kwargs = {**FAST, "dropout": Dropout(p=0.3, rounds=2)} if cls is BNNClassifier else {}
    clf = cls(qubonn.parse(SPEC), **kwargs).fit(X, y)
    assert isinstance(clf.history_, list) and clf.history_
    for record in clf.history_:
        assert set(HISTORY_KEYS) <= set(record)
        assert 0 <= record["train_accuracy"] <= 1 and record["time_s"] >= 0
    stages = [r["stage"] for r in clf.history_]
    assert stages == (["dropout", "dropout", "final"] if cls is BNNClassifier else ["epoch"] * 60)


@pytest.mark.parametrize("cls", [BNNClassifier, STEClassifier])
def test_inputs_are_plus_minus_one_unless_a_threshold_is_set(cls, data):
    X, y = data
    Xf = X * 0.7 + 0.1  # floats: +-1 only after binarising at 0
    kwargs = FAST if cls is BNNClassifier else {"epochs": 5}
    with pytest.raises(ValueError, match="only -1 and \\+1.*input_threshold"):
        cls(qubonn.parse(SPEC), **kwargs).fit(Xf, y)
    a = cls(qubonn.parse(SPEC), input_threshold=0.0, **kwargs).fit(Xf, y)
    b = cls(qubonn.parse(SPEC), **kwargs).fit(X, y)
    assert a.weights_ == b.weights_ and np.array_equal(a.predict(Xf), b.predict(X))


@pytest.mark.parametrize("cls", [BNNClassifier, STEClassifier])
def test_random_state_replaces_seed(cls, data):
    X, y = data
    kwargs = FAST if cls is BNNClassifier else {"epochs": 5}
    a = cls(qubonn.parse(SPEC), random_state=3, **kwargs).fit(X, y)
    b = cls(qubonn.parse(SPEC), random_state=3, **kwargs).fit(X, y)
    assert a.weights_ == b.weights_
    with pytest.raises(TypeError, match="seed"):
        cls(qubonn.parse(SPEC), seed=3)


def test_cross_val_score(data):
    X, y = data
    scores = cross_val_score(BNNClassifier(qubonn.parse(SPEC), **FAST), X, y, cv=3)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))


def test_pipeline_with_a_binarising_step(data):
    X, y = data
    Xf = X * 0.4 + 0.5  # real values; binarised at 0.5 they are X again
    binarise = FunctionTransformer(qubonn.datasets.binarize, kw_args={"threshold": 0.5})
    pipe = make_pipeline(binarise, BNNClassifier(qubonn.parse(SPEC), **FAST)).fit(Xf, y)
    direct = BNNClassifier(qubonn.parse(SPEC), **FAST).fit(X, y)
    assert pipe.score(Xf, y) == direct.score(X, y)


def test_grid_search_over_margin_nested_dropout_and_network(data):
    X, y = data
    clf = BNNClassifier(qubonn.parse(SPEC), dropout=Dropout(rounds=1), **FAST)
    grid = {"margin": [0.0, 0.2], "dropout__p": [0.0, 0.5]}
    search = GridSearchCV(clf, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    assert best.dropout.p == search.best_params_["dropout__p"]
    assert best.margin == search.best_params_["margin"]
    assert clf.dropout.p == 0.3  # the search clones: the original is unchanged
    wide = qubonn.parse("input x[4]\nhidden h[3] <- x\noutput y[1] <- h")
    search = GridSearchCV(BNNClassifier(**FAST), {"network": [qubonn.parse(SPEC), wide]}, cv=2).fit(
        X, y
    )
    assert len(search.cv_results_["params"]) == 2
    chosen = search.best_params_["network"].to_text()
    assert search.best_estimator_.network_.to_text() == chosen


def test_n_jobs_runs_independent_rounds_on_processes_like_serial(data):
    X, y = data
    dropout = Dropout(p=0.5, rounds=2, variant="independent")
    serial = BNNClassifier(qubonn.parse(SPEC), dropout=dropout, **FAST).fit(X, y)
    pooled = BNNClassifier(qubonn.parse(SPEC), dropout=dropout, n_jobs=2, **FAST).fit(X, y)
    assert np.array_equal(serial.linear_penalties_, pooled.linear_penalties_)
    assert serial.weights_ == pooled.weights_


# -- one meaning per option: fan-in margin scaling, and a warning for constant fits ----------
def test_fan_in_margin_scaling_is_the_default_everywhere(data):
    """Before: BNNClassifier(margin=0.2) and qubonn sweep --grid margin=0.2 were unscaled while
    qubonn train --margin 0.2 was scaled."""
    from qubonn.cli import build_parser
    from qubonn.formulation import Objective

    X, y = data
    assert Objective().margin_scale == "fan_in"
    clf = BNNClassifier(qubonn.parse(SPEC), margin=0.2, **FAST).fit(X, y)
    assert clf.objective_.margin_scale == "fan_in"
    parser = build_parser()
    for command in ("train", "compile"):
        args = parser.parse_args([command, "net.qnn"])
        assert args.margin_scale == "fan_in", command


@pytest.mark.parametrize("cls", [BNNClassifier, STEClassifier])
def test_a_constant_fit_warns(cls):
    """Identical inputs with both labels: every network predicts one class for all of them."""
    X = np.ones((6, 3), dtype=np.int8)
    y = np.array([0, 1, 0, 1, 0, 1])
    kwargs = FAST if cls is BNNClassifier else {"epochs": 3}
    with pytest.warns(ConstantPredictionWarning, match="for all 6 training samples.*try"):
        cls(qubonn.parse("input x[3]\noutput y[1] <- x"), **kwargs).fit(X, y)


def test_a_fit_that_separates_the_classes_does_not_warn(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantPredictionWarning)
        clf = BNNClassifier(qubonn.parse("input x[4]\noutput y[1] <- x"), **FAST).fit(X, y)
    assert len(set(clf.predict(X))) == 2


def test_cli_train_prints_the_constant_fit_warning_as_a_line(tmp_path, capsys):
    from qubonn.cli import main

    spec = tmp_path / "net.qnn"
    spec.write_text("input x[3]\noutput y[1] <- x")
    rows = "\n".join(f"1,1,1,{label}" for label in (0, 1, 0, 1, 0, 1))
    (tmp_path / "d.csv").write_text(rows + "\n")
    argv = ["train", str(spec), "--data", str(tmp_path / "d.csv"), "--quiet"]
    argv += ["--backend", "exact", "--reads", "1", "--out", str(tmp_path / "m.json")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "qubonn train: warning: BNNClassifier: the trained network predicts class" in err
    assert "constant classifier" in err and "Warning:" not in err


def test_cli_margin_scale_help_says_fan_in_is_the_default(capsys):
    from qubonn.cli import main

    assert main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(default fan_in)" in out and "the default everywhere" in out


@pytest.mark.parametrize(
    "params, match",
    [
        ({"num_reads": "4"}, "num_reads must be an integer"),
        ({"input_threshold": "half"}, "input_threshold must be a number"),
        ({"n_jobs": 0}, "n_jobs must be"),
        ({"random_state": -1}, "random_state must be"),
        ({"random_state": "x"}, "random_state must be"),
        ({"solver_options": {"num_reads": 3}}, "num_reads is set by the classifier"),
    ],
)
def test_bad_parameters_are_named_by_fit(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        BNNClassifier(qubonn.parse(SPEC), **params).fit(X, y)


def test_a_random_state_object_is_accepted(data):
    X, y = data
    clf = BNNClassifier(qubonn.parse(SPEC), random_state=np.random.RandomState(1), **FAST)
    assert set(clf.fit(X, y).predict(X)) <= {3, 8}


def test_clone_shares_the_executor_instead_of_copying_its_workers(data):
    """Before: clone deep-copied a used ProcessExecutor and failed on its pool's locks."""
    from qubonn.distributed import ProcessExecutor

    X, y = data
    dropout = Dropout(p=0.5, rounds=2, variant="independent")
    with ProcessExecutor(workers=2) as ex:
        clf = BNNClassifier(qubonn.parse(SPEC), dropout=dropout, executor=ex, **FAST).fit(X, y)
        copy = clone(clf)
        assert copy.executor is ex
        assert copy.fit(X, y).weights_ == clf.weights_
