"""Data sets: shapes, values, seeds, few-shot sampling, and every user-file error."""

from __future__ import annotations

import numpy as np
import pytest

from qubonn import datasets
from qubonn.datasets import load_csv, load_data, load_npz
from qubonn.errors import DataError
from qubonn.language import parse


def _is_pm1(X):
    return X.dtype == np.int8 and set(np.unique(X).tolist()) <= {-1, 1}


def test_digits_default_split():
    d = datasets.digits()
    assert d.classes == (3, 8)
    assert d.X_train.shape[1] == 64 and d.X_test.shape[1] == 64
    assert _is_pm1(d.X_train) and _is_pm1(d.X_test)
    assert set(np.unique(d.y_train)) == {3, 8}
    n = len(d.y_train) + len(d.y_test)
    assert n == 357  # 183 threes + 174 eights in scikit-learn's digits
    assert len(d.y_test) == round(0.25 * n)
    assert len(d.X_train) == len(d.y_train)


def test_digits_seeds_are_reproducible_and_differ():
    a, b, c = datasets.digits(seed=1), datasets.digits(seed=1), datasets.digits(seed=2)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_digits_are_scikit_learns():
    from sklearn.datasets import load_digits

    raw = load_digits()
    images, target = datasets._digits_raw()
    assert np.array_equal(images, raw.images) and np.array_equal(target, raw.target)
    d = datasets.digits(classes=(0, 1), test=0)
    keep = np.isin(raw.target, (0, 1))
    assert len(d.y_train) == int(keep.sum())
    expected = np.where(raw.data[keep] >= 8, 1, -1)
    assert np.array_equal(np.unique(d.X_train, axis=0), np.unique(expected, axis=0))


def test_digits_few_shot_counts():
    d = datasets.digits(classes=(1, 7, 9), per_class=4, seed=3)
    assert d.X_train.shape == (12, 64)
    assert np.bincount(d.y_train, minlength=10)[[1, 7, 9]].tolist() == [4, 4, 4]
    assert d.X_test.shape[0] > 100  # the test set is not cut down


def test_digits_train_count_is_stratified():
    d = datasets.digits(train=20)
    assert len(d.y_train) == 20
    assert sorted(np.bincount(d.y_train)[[3, 8]].tolist()) == [10, 10]


def test_digits_4x4_is_block_mean_then_threshold():
    d = datasets.digits(size=4, test=0, seed=0, classes=(0, 1))
    assert d.X_train.shape[1] == 16 and _is_pm1(d.X_train)
    images, target = datasets._digits_raw()
    img = images[np.isin(target, (0, 1))]
    blocks = img.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)
    # block (0, 1) of image 0 is the mean of pixels (0..1, 2..3)
    assert blocks[0, 1] == img[0, 0:2, 2:4].mean()
    expected = np.where(blocks >= 8, 1, -1)
    # the training set is a permutation of all samples: compare as sorted rows
    assert np.array_equal(np.unique(d.X_train, axis=0), np.unique(expected, axis=0))


def test_digits_threshold_changes_ink():
    low = datasets.digits(threshold=1, test=0)
    high = datasets.digits(threshold=15, test=0)
    assert (low.X_train == 1).mean() > (high.X_train == 1).mean()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"size": 5}, "size must be 8"),
        ({"classes": (3,)}, "at least two"),
        ({"classes": (3, 12)}, "0..9"),
        ({"per_class": 2, "train": 4}, "not both"),
        ({"per_class": 1000}, "only"),
        ({"train": 0}, "train must be"),
        ({"test": 1.5}, "test fraction"),
    ],
)
def test_digits_bad_arguments(kwargs, fragment):
    with pytest.raises(DataError, match=fragment):
        datasets.digits(**kwargs)


def test_bars_and_stripes():
    d = datasets.bars_and_stripes(3)
    assert d.X_train.shape == (12, 9) and _is_pm1(d.X_train)
    imgs = d.X_train.reshape(-1, 3, 3)
    for img, label in zip(imgs, d.y_train, strict=True):
        cols_constant = bool(np.all(img == img[0:1, :]))
        rows_constant = bool(np.all(img == img[:, 0:1]))
        assert (cols_constant, rows_constant) == ((True, False) if label == 0 else (False, True))
    assert len(np.unique(d.X_train, axis=0)) == 12
    assert np.array_equal(d.X_test, d.X_train)


def test_parity():
    d = datasets.parity(4)
    assert d.X_train.shape == (16, 4) and len(np.unique(d.X_train, axis=0)) == 16
    assert np.array_equal(d.y_train, (d.X_train == 1).sum(axis=1) % 2)
    assert d.classes == (0, 1)


def test_teacher_single_and_multi_output():
    net = parse("input x[6]\nhidden h[3] <- x\noutput y[1] <- h\n")
    d = datasets.teacher(net, 40, seed=5)
    w = d.info["weights"]
    a = net.forward(d.X_train, w)[:, net.outputs[0]]
    assert np.array_equal(d.y_train, (a > 0).astype(int))
    assert d.X_test.shape == (40, 6)
    assert np.array_equal(datasets.teacher(net, 40, seed=5).X_train, d.X_train)
    multi = parse("input x[6]\noutput y[3] <- x\n")
    m = datasets.teacher(multi, 30, seed=1, n_test=0)
    _, z = multi.predict_outputs(m.X_train, m.info["weights"])
    assert np.array_equal(m.y_train, z.argmax(axis=1)) and m.classes == (0, 1, 2)
    assert m.X_test.shape == (0, 6)


def test_split_is_stratified_and_seeded():
    d = datasets.bars_and_stripes(4)
    s = d.split(0.5, seed=1)
    assert len(s.y_test) == len(d.y_train)  # train + test of bars_and_stripes double the set
    assert np.bincount(s.y_test).tolist() == np.bincount(s.y_train).tolist()
    assert np.array_equal(s.X_train, d.split(0.5, seed=1).X_train)


# -- user files -------------------------------------------------------------------------------


def _npz(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_load_npz_pm1_kept_and_01_mapped(tmp_path):
    X = np.array([[1, -1, 1], [-1, -1, 1]])
    d = load_npz(_npz(tmp_path, X=X, y=np.array([2, 5])))
    assert np.array_equal(d.X_train, X) and d.X_train.dtype == np.int8
    assert d.y_train.tolist() == [2, 5] and d.classes == (2, 5)
    assert d.X_test.shape == (0, 3)
    d01 = load_npz(_npz(tmp_path, X=(X > 0).astype(float), y=np.array([0.0, 1.0])))
    assert np.array_equal(d01.X_train, X)


def test_load_npz_continuous_needs_threshold(tmp_path):
    path = _npz(tmp_path, X=np.array([[0.2, 0.9], [0.7, 0.1]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match="pass a threshold") as info:
        load_npz(path)
    assert str(path) in str(info.value) and "X row 1, column 1" in str(info.value)
    assert load_npz(path, threshold=0.5).X_train.tolist() == [[-1, 1], [1, -1]]


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"X": np.ones((2, 2))}, "no array named 'y'"),
        ({"X": np.ones(3), "y": np.zeros(3)}, "2 dimensions"),
        ({"X": np.ones((0, 3)), "y": np.zeros(0)}, "at least one sample"),
        ({"X": np.ones((3, 2)), "y": np.zeros(2)}, "one label per row"),
        ({"X": np.array([[1.0, np.nan]]), "y": np.zeros(1)}, "X row 1, column 2 is nan"),
        ({"X": np.ones((2, 2)), "y": np.array([0.5, 1.0])}, "y row 1 is 0.5"),
        ({"X": np.ones((2, 2)), "y": np.array([1.0, np.nan])}, "y row 2"),
        ({"X": np.array([["a", "b"]]), "y": np.zeros(1)}, "must hold numbers"),
        # out-of-range labels are refused, never wrapped into another class
        ({"X": np.ones((1, 2)), "y": np.array([2**64 - 1], np.uint64)}, "y row 1 is 1844674"),
        ({"X": np.ones((2, 2)), "y": np.array([0, -(2**63)])}, "y row 2 .*out of range"),
        ({"X": np.ones((1, 2)), "y": np.array([1e30])}, "y row 1 is 1e\\+30, out of range"),
        ({"X": np.ones((1, 2)), "y": np.array([1e300])}, "y row 1 is 1e\\+300, out of range"),
        ({"X": np.ones((1, 2)), "y": np.array([np.inf])}, "y row 1 is inf"),
        ({"X": np.array([[-1, 0, 1]]), "y": np.zeros(1)}, "0 at X row 1, column 2"),
    ],
)
def test_load_npz_errors(tmp_path, arrays, fragment):
    path = _npz(tmp_path, **arrays)
    with pytest.raises(DataError, match=fragment) as info:
        load_npz(path)
    assert str(info.value).startswith(str(path))


def test_load_npz_missing_and_corrupt(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        load_npz(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(bad)


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_csv_plain_header_and_label_column(tmp_path):
    d = load_csv(_csv(tmp_path, "1,-1,3\n-1,1,4\n\n"))
    assert d.X_train.tolist() == [[1, -1], [-1, 1]] and d.y_train.tolist() == [3, 4]
    h = load_csv(_csv(tmp_path, "label,a,b\n1,0,1\n0,1,1\n"), label_column="label")
    assert h.X_train.tolist() == [[-1, 1], [1, 1]] and h.y_train.tolist() == [1, 0]
    first = load_csv(_csv(tmp_path, "7,1,1\n8,-1,1\n"), label_column=0)
    assert first.y_train.tolist() == [7, 8] and first.X_train.shape == (2, 2)
    t = load_csv(_csv(tmp_path, "0.1,0.8,1\n0.6,0.3,0\n"), threshold=0.5)
    assert t.X_train.tolist() == [[-1, 1], [1, -1]]


@pytest.mark.parametrize(
    "text, kwargs, fragment",
    [
        ("", {}, "no data rows"),
        ("a,b,label\n", {}, "no data rows"),
        ("1,1,0\n1,1\n", {}, "line 2 has 2 columns but line 1 has 3"),
        ("1,1,0\n1,x,1\n", {}, "line 2, column 2 is 'x'"),
        ("1,1,0\n1,,1\n", {}, "line 2, column 2 is an empty cell"),
        ("1,nan,0\n1,1,1\n", {}, "line 1, column 2 is nan"),
        ("0.5,0.2,0\n1,1,1\n", {}, "pass a threshold"),
        ("1,1,0.5\n", {}, "label at line 1, column 3 is 0.5"),
        ("1,1,1e30\n", {}, "label at line 1, column 3 is 1e\\+30, out of range"),
        ("1,1,18446744073709551615\n", {}, "line 1, column 3 .* out of range"),
        ("1,1,0\n", {"label_column": 5}, "out of range"),
        ("1,1,0\n", {"label_column": "y"}, "no column named 'y'"),
        ("1\n2\n", {}, "at least one input"),
    ],
)
def test_load_csv_errors(tmp_path, text, kwargs, fragment):
    path = _csv(tmp_path, text)
    with pytest.raises(DataError, match=fragment) as info:
        load_csv(path, **kwargs)
    assert str(info.value).startswith(str(path))


def test_load_csv_missing_and_binary(tmp_path):
    with pytest.raises(DataError, match="no such data file"):
        load_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bin.csv"
    bad.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match="UTF-8"):
        load_csv(bad)


def test_load_data_dispatch(tmp_path):
    assert load_data("digits").classes == (3, 8)
    d = load_data("digits:0,1,2:4x4", seed=1)
    assert d.classes == (0, 1, 2) and d.X_train.shape[1] == 16
    path = _csv(tmp_path, "".join(f"{i % 2},{1 - i % 2},{i % 2}\n" for i in range(8)))
    assert load_data(str(path)).X_test.shape[0] == 0
    assert load_data(str(path), test=0.5).X_test.shape[0] == 4
    npz = _npz(tmp_path, X=np.ones((2, 2)), y=np.array([0, 1]))
    assert load_data(str(npz)).X_train.shape == (2, 2)
    with pytest.raises(DataError, match="unknown data set"):
        load_data("emnist")
    with pytest.raises(DataError, match="cannot read 'x'"):
        load_data("digits:x")


def test_load_npz_refuses_a_header_that_claims_more_than_the_file_holds(tmp_path):
    """A forged shape (1e11 x 4) is refused from the header, before numpy allocates 400 GB."""
    import io
    import zipfile

    path = tmp_path / "forged.npz"
    np.savez(path, X=np.ones((3, 4), np.int8), y=np.zeros(3, np.int64))
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|i1", "fortran_order": False, "shape": (10**11, 4)}
    )
    parts["X.npy"] = header.getvalue() + np.ones(12, np.int8).tobytes()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    with pytest.raises(DataError, match=r"array X claims shape \(100000000000, 4\)"):
        load_npz(path)


def test_load_csv_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b,label\n1,-1,3\n-1,1,4\n".encode())
    d = load_csv(path)
    assert d.y_train.tolist() == [3, 4] and d.info["header"] == ["a", "b", "label"]
    plain = tmp_path / "bom2.csv"
    plain.write_bytes("\ufeff1,-1,3\n-1,1,4\n".encode())
    assert load_csv(plain).X_train.tolist() == [[1, -1], [-1, 1]]
