"""qubonn evaluate MODEL: accuracy of a saved model on data."""

from __future__ import annotations

import argparse

from qubonn.commands._data import add_data_arguments, dataset_from_args


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="accuracy of a saved model on data",
        description="Evaluate a model file on the training and test parts of a data set.",
    )
    p.add_argument("model", help="model file written by qubonn train")
    add_data_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import qubonn

    model = qubonn.load_model(args.model)
    if args.data == "digits" and not args.classes and "classes" in model.metadata:
        args.classes = ",".join(str(c) for c in model.metadata["classes"])
    if args.data == "digits" and args.size is None and model.network.n_inputs == 16:
        args.size = 4
    data = dataset_from_args(args)
    for part, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        if len(y):
            acc = float(np.mean(model.predict(X) == y))
            print(f"{part}: {acc:.1%} of {len(y)} samples")
    return 0
