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
    if args.data == "digits":
        selection["classes"] = [int(c) for c in data.classes]
    return selection


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("data")
    g.add_argument(
        "--data",
        default="digits",
        help="'digits' (scikit-learn's bundled 8x8 digits), or a .npz (arrays X, y) or .csv "
        "(label in the last column) file (default: digits)",
    )
    g.add_argument("--classes", help="digits to keep, e.g. 3,8 (default: 3,8)")
    g.add_argument("--size", type=int, choices=(8, 4), help="digits image size: 8 or 4 (4x4)")
    g.add_argument(
        "--per-class",
        type=int,
        help="few-shot: training samples per class, picked by --seed (digits or a data file)",
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
    if args.data != "digits":
        return
    if args.size is None and network.n_inputs == 16:
        args.size = 4
    if args.classes is None and 3 <= network.n_outputs <= 10:
        args.classes = ",".join(str(c) for c in range(network.n_outputs))


def check_data_fits(data: Dataset, network, args: argparse.Namespace) -> None:
    """The data must fit the spec: one input per feature, one output per class (or one output
    for two classes), every class present in the training set.  The errors name the flag (or
    the spec change) that fixes it."""
    n_feat = data.X_train.shape[1]
    if n_feat != network.n_inputs:
        fix = "change the spec's input shape to match the data"
        if args.data == "digits":
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
    if not (n_out == n_cls or (n_out == 1 and n_cls == 2)):
        want = "2 classes" if n_out == 1 else f"{n_out} classes"
        flag = "--classes" if args.data == "digits" else "a data file with"
        example = ",".join(str(c) for c in range(min(max(n_out, 2), 10)))
        fix = f"pass {flag} {example}" if args.data == "digits" else f"use {flag} {want}"
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


def dataset_from_args(args: argparse.Namespace) -> Dataset:
    from qubonn import datasets

    if args.data == "digits":
        kwargs = {"seed": args.seed}
        if args.classes:
            try:
                kwargs["classes"] = tuple(int(c) for c in args.classes.split(","))
            except ValueError:
                raise DataError(
                    f"--classes must be digits separated by commas, e.g. 3,8; not {args.classes!r}"
                ) from None
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
