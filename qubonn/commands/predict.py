"""qubonn predict MODEL INPUT: class labels for the samples in a file."""

from __future__ import annotations

import argparse

from qubonn.commands._types import finite_float


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict classes for inputs in a .npz/.csv file",
        description="Print one predicted class per sample of INPUT (.npz with array X, or .csv "
        "without a label column; values -1/+1, 0/1, or continuous with --threshold; for a "
        "network that declares integer inputs, 'values lo..hi', the integers it declares).",
    )
    p.add_argument("model", help="model file written by qubonn train")
    p.add_argument("input", help="inputs: .npz (array X) or .csv (one sample per row)")
    p.add_argument(
        "--threshold", type=finite_float, help="binarisation threshold for continuous inputs"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import qubonn

    model = qubonn.load_model(args.model)
    X = _load_inputs(args.input, model.network, args.threshold)
    for label in model.predict(X):
        print(label)
    return 0


def _load_inputs(path: str, network, threshold: float | None):
    """Inputs without labels: array X of a .npz, or every column of a .csv; binarised, or the
    integers the network declares (``values lo..hi``), checked."""
    from pathlib import Path

    import numpy as np

    from qubonn.datasets import InputValues, _check_npy_header, _checked_inputs
    from qubonn.errors import DataError

    width = network.n_inputs
    values = InputValues.of(network) if network.has_integer_inputs else None
    p = Path(path)
    try:
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as f:
                if "X" not in f.files:
                    raise DataError(f"{p}: no array named 'X' (found: {', '.join(f.files)})")
                _check_npy_header(f.zip, "X.npy", str(p), "X")
                X = np.asarray(f["X"], dtype=float)
        elif p.suffix.lower() == ".csv":
            X, lines = _read_csv_inputs(p)
        else:
            raise DataError(f"{p}: inputs must be a .npz (array X) or .csv file")
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    except UnicodeDecodeError:
        raise DataError(f"{p}: not a UTF-8 text file; save it as CSV text") from None
    except ValueError as e:
        raise DataError(f"{p}: cannot read numbers from it ({e})") from None
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != width:
        raise DataError(f"{p}: inputs have shape {X.shape}; the model needs (N, {width})")
    if X.shape[0] == 0:
        raise DataError(f"{p}: X has no rows (shape {X.shape}); there is nothing to predict")
    if p.suffix.lower() == ".csv":  # the file's own line numbers, as qubonn.datasets.load_csv
        return _checked_inputs(
            X, threshold, values, str(p), lambda r, c: f"line {lines[r]}, column {c + 1}"
        )
    return _checked_inputs(
        X, threshold, values, str(p), lambda r, c: f"X row {r + 1}, column {c + 1}"
    )


def _read_csv_inputs(p):
    """The numbers of a CSV file (blank lines skipped) and each row's line number (1-based)."""
    import csv

    import numpy as np

    from qubonn.errors import DataError

    rows, lines = [], []
    with p.open(newline="", encoding="utf-8-sig") as f:  # a BOM is allowed
        for line, row in enumerate(csv.reader(f), start=1):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            values = []
            for c, text in enumerate(cells):
                try:
                    values.append(float(text))
                except ValueError:
                    what = "an empty cell" if text == "" else f"'{text[:40]}'"
                    raise DataError(
                        f"{p}: line {line}, column {c + 1} is {what}, not a number"
                    ) from None
            if rows and len(values) != len(rows[0]):
                raise DataError(
                    f"{p}: line {line} has {len(values)} columns but line {lines[0]} has "
                    f"{len(rows[0])}; every line needs the same number of values"
                )
            rows.append(values)
            lines.append(line)
    if not rows:
        raise DataError(f"{p}: the file has no rows; expected one sample per line")
    return np.array(rows, dtype=float), lines
