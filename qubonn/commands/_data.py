"""Command-line options shared by the commands that read data."""

from __future__ import annotations

import argparse

from qubonn.datasets import Dataset, load_data
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
    g.add_argument("--per-class", type=int, help="few-shot: training samples per class")
    g.add_argument("--train", type=int, help="training samples in all (stratified)")
    g.add_argument("--test", type=float, help="held-out share (fraction) or count")
    g.add_argument("--threshold", type=float, help="binarisation threshold (value >= t -> +1)")
    g.add_argument("--seed", type=int, default=0, help="seed for splits and sampling (default 0)")


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
    if args.per_class or args.train:
        raise DataError("--per-class and --train apply to the digits data only")
    return data
