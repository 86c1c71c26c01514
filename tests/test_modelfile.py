"""Model files: round trip, atomic writes, and every reading error."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qubonn
from qubonn.errors import ModelFileError
from qubonn.language import parse
from qubonn.modelfile import TrainedModel, load_model, save_model

SPEC = "input x[4]\nhidden h[3] <- x nobias\noutput y[1] <- h, x[0:2]\n"


@pytest.fixture
def model(tmp_path):
    net = parse(SPEC)
    weights = net.random_weights(7)
    path = save_model(tmp_path / "m.json", net, weights, {"classes": [3, 8], "acc": 0.75})
    return path, net, weights


def test_round_trip(model):
    path, net, weights = model
    loaded = load_model(path)
    assert isinstance(loaded, TrainedModel)
    assert loaded.network == net and loaded.weights == weights
    assert loaded.metadata == {"classes": [3, 8], "acc": 0.75}
    network, w, meta = load_model(path)  # unpacks as a triple
    assert network == net and w == weights and meta["acc"] == 0.75
    assert qubonn.load_model is load_model and qubonn.save_model is save_model


def test_document_layout(model):
    path, net, weights = model
    doc = json.loads(path.read_text())
    assert list(doc) == ["format", "version", "spec", "weights", "biases", "links", "metadata"]
    assert doc["links"] == net.n_parameters  # binary: every arc and bias is a link
    assert doc["format"] == "qubonn-model" and doc["version"] == 1
    assert doc["spec"] == net.to_text()
    assert doc["weights"] == weights.w.tolist() and doc["biases"] == weights.b.tolist()
    assert doc["biases"][:3] == [0, 0, 0]


def test_numpy_metadata_and_trained_model_argument(tmp_path):
    net = parse(SPEC)
    tm = TrainedModel(net, net.random_weights(0), {"classes": np.array([1, 2]), "e": np.int64(3)})
    save_model(tmp_path / "n.json", tm)
    assert load_model(tmp_path / "n.json").metadata == {"classes": [1, 2], "e": 3}


def test_atomic_write_leaves_only_the_file(model, tmp_path):
    path, net, weights = model
    save_model(path, net, net.random_weights(8))  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
    assert load_model(path).weights == net.random_weights(8)


def test_failed_write_keeps_old_file_and_no_temp(model, tmp_path):
    path, net, weights = model
    before = path.read_text()
    with pytest.raises(ModelFileError, match="cannot save"):
        save_model(path, net, weights, {"bad": float("nan")})
    with pytest.raises(ModelFileError, match="cannot save"):
        save_model(path, net, weights, {"bad": object()})
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_save_into_missing_folder(tmp_path):
    net = parse(SPEC)
    with pytest.raises(ModelFileError, match="cannot write in folder"):
        save_model(tmp_path / "no" / "m.json", net, net.random_weights(0))


def test_save_checks_weights(tmp_path):
    net = parse(SPEC)
    w = net.random_weights(0)
    with pytest.raises(ValueError, match="shape"):
        save_model(tmp_path / "m.json", net, type(w)(w.w[:3], w.b))


def _rewrite(path, **changes):
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"format": "other"}, "not a qubonn model file"),
        ({"version": 3}, "version 3 is newer than this qubonn reads .version 2.; upgrade qubonn"),
        ({"version": "1"}, "'version' must be a positive integer"),
        ({"version": None}, "'version' must be a positive integer"),
        ({"spec": "input x[4]\noutput y[1] <- z\n"}, "spec.*:2:16: 'z' is not defined"),
        ({"spec": None}, "'spec' must be"),
        ({"weights": [1, -1]}, "'weights' has 2 entries but the network in 'spec' needs 17"),
        ({"weights": [1] * 16 + [3]}, r"weights\[16\] is 3"),
        ({"weights": [1.0] * 17}, "'weights' must be a list of integers"),
        ({"biases": [0, 0, 0, 0]}, r"biases\[3\] \(y\[0\]\) is 0; it must be -1 or \+1"),
        ({"biases": [1, 0, 0, 1]}, r"biases\[0\] \(h\[0\]\) is 1; it must be 0"),
        ({"biases": [0, 0, 0]}, "'biases' has 3 entries"),
        ({"metadata": [1]}, "'metadata' must be a JSON object"),
        ({"weights": [1] * 16 + [10**30]}, r"weights\[16\] is 1000000000000000"),
        ({"biases": [0, 0, 0, -(10**40)]}, r"biases\[3\] is -1000000"),
        ({"metadata": {"classes": 5}}, r"'metadata.classes' must be a list of class labels"),
        ({"metadata": {"classes": [3, 3]}}, r"'metadata.classes' lists 3 more than once"),
        ({"metadata": {"classes": [[3], 8]}}, r"'metadata.classes'\[0\] is \[3\]; class labels"),
        ({"metadata": {"classes": [3, 8, 9]}}, r"'metadata.classes' has 3 labels; a single-out"),
    ],
)
def test_reading_errors(model, changes, fragment):
    path = model[0]
    _rewrite(path, **changes)
    with pytest.raises(ModelFileError, match=fragment) as info:
        load_model(path)
    assert str(info.value).startswith(str(path))


def test_missing_metadata_is_empty(model):
    path = model[0]
    _rewrite(path, metadata=None)
    assert load_model(path).metadata == {}


def test_corrupted_json_names_position(model):
    path = model[0]
    path.write_text(path.read_text()[:40])
    with pytest.raises(ModelFileError, match=r"m\.json:\d+:\d+: not valid JSON"):
        load_model(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "none.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ModelFileError, match="not UTF-8"):
        load_model(tmp_path / "b.json")


def test_predict_single_output(model):
    path, net, weights = model
    m = load_model(path)
    X = np.random.default_rng(0).choice([-1, 1], (20, 4))
    a = net.forward(X, weights)[:, net.outputs[0]]
    assert m.predict(X).tolist() == np.where(a > 0, 8, 3).tolist()


def test_predict_multi_output_argmax_first_on_ties():
    net = parse("input x[2]\noutput y[3] <- x nobias\n")
    from qubonn.network import Weights

    # outputs: y0 = x0 + x1, y1 = x0 - x1, y2 = -x0 - x1
    w = Weights(np.array([1, 1, 1, -1, -1, -1], np.int8), np.zeros(3, np.int8))
    m = TrainedModel(net, w, {"classes": [5, 6, 7]})
    X = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]])
    # z: [2,0,-2], [0,2,0], [-2,0,2], [0,-2,0] -> argmax 0, 1, 2, first of the ties (0)
    assert m.predict(X).tolist() == [5, 6, 7, 5]


def test_predict_needs_classes():
    net = parse("input x[2]\noutput y[3] <- x\n")
    m = TrainedModel(net, net.random_weights(0))
    with pytest.raises(ModelFileError, match="no 'classes'"):
        m.predict(np.ones((1, 2)))
    with pytest.raises(ModelFileError, match="2 labels; a model with 3 outputs needs 3"):
        TrainedModel(net, net.random_weights(0), {"classes": [0, 1]}).predict(np.ones((1, 2)))


def test_deeply_nested_json_is_a_model_file_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match=r"deep\.json: .*nested too deeply"):
        load_model(path)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_file_follows_the_umask(tmp_path, umask):
    import os
    import stat

    old = os.umask(umask)
    try:
        path = save_model(tmp_path / "u.json", parse(SPEC), parse(SPEC).random_weights(0))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_save_without_overwrite_leaves_an_existing_file(tmp_path):
    from qubonn.modelfile import ModelExistsError

    net = parse(SPEC)
    path = tmp_path / "m.json"
    path.write_text("mine")
    with pytest.raises(ModelExistsError, match="exists now"):
        save_model(path, net, net.random_weights(0), overwrite=False)
    assert path.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
    fresh = save_model(tmp_path / "n.json", net, net.random_weights(0), overwrite=False)
    assert load_model(fresh).weights.w.size


def test_a_huge_integer_in_a_model_file_names_the_file_and_field(tmp_path):
    net = parse(SPEC)
    path = save_model(tmp_path / "m.json", net, net.random_weights(0))
    text = path.read_text()
    doc = json.loads(text)
    first = json.dumps(doc["weights"][0])
    path.write_text(text.replace(f'"weights": [{first}', '"weights": [' + "9" * 5000, 1))
    with pytest.raises(ModelFileError, match=r"m.json: weights\[0\] is a 5000-digit number"):
        load_model(path)
