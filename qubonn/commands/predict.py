"""qubonn predict MODEL INPUT: class labels for the samples in a file."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict classes for inputs in a .npz/.csv file",
        description="Print one predicted class per sample of INPUT (.npz with array X, or .csv "
        "without a label column; values -1/+1, 0/1, or continuous with --threshold).",
    )
    p.add_argument("model", help="model file written by qubonn train")
    p.add_argument("input", help="inputs: .npz (array X) or .csv (one sample per row)")
    p.add_argument("--threshold", type=float, help="binarisation threshold for continuous inputs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import qubonn

    model = qubonn.load_model(args.model)
    X = _load_inputs(args.input, model.network.n_inputs, args.threshold)
    for label in model.predict(X):
        print(label)
    return 0


def _load_inputs(path: str, width: int, threshold: float | None):
    """Inputs without labels: array X of a .npz, or every column of a .csv."""
    from pathlib import Path

    import numpy as np

    from qubonn.datasets import _binarize_checked
    from qubonn.errors import DataError

    p = Path(path)
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as f:
                if "X" not in f.files:
                    raise DataError(f"{p}: no array named 'X' (found: {', '.join(f.files)})")
                X = np.asarray(f["X"], dtype=float)
        elif p.suffix.lower() == ".csv":
            X = np.loadtxt(p, delimiter=",", ndmin=2)
        else:
            raise DataError(f"{p}: inputs must be a .npz (array X) or .csv file")
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except ValueError as e:
        raise DataError(f"{p}: cannot read numbers from it ({e})") from None
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != width:
        raise DataError(f"{p}: inputs have shape {X.shape}; the model needs (N, {width})")
    return _binarize_checked(X, threshold, str(p), lambda r, c: f"row {r + 1}, column {c + 1}")
