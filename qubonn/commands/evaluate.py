"""qubonn evaluate MODEL: accuracy of a saved model on data.

By default it evaluates on the data selection the model was trained on (``qubonn train``
records it in the model's ``metadata.data_selection``), so its "train" figure is the training
accuracy; options given here override it.  It prints what it selected.
"""

from __future__ import annotations

import argparse

from qubonn.commands._data import (
    DATA_OPTIONS,
    add_data_arguments,
    dataset_from_args,
    infer_encoding,
)
from qubonn.errors import DataError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="accuracy of a saved model on data",
        description="Evaluate a model file on the training and test parts of a data set. "
        "Without data options it selects the data the model was trained on (as recorded by "
        "qubonn train); data options given override that selection.",
    )
    p.add_argument("model", help="model file written by qubonn train")
    add_data_arguments(p)
    # None means "not given": fill from the model's recorded selection
    p.set_defaults(func=run, data=None, seed=None)
    return p


#: what each recorded data option may hold (JSON types), as ``qubonn train`` writes them
_RECORDED_TYPES = {
    "data": (str,),
    "classes": (str, list, type(None)),
    "size": (int, type(None)),
    "per_class": (int, type(None)),
    "train": (int, type(None)),
    "test": (int, float, type(None)),
    "threshold": (int, float, type(None)),
    "seed": (int,),
    "encoding": (str, type(None)),
    "levels": (int, type(None)),
}


def _recorded_selection(model, path: str) -> dict | None:
    """The model's ``metadata.data_selection``, checked: a field of the wrong type is an error
    that names the file and the field (the file may have been edited by hand)."""
    from qubonn.errors import ModelFileError

    recorded = model.metadata.get("data_selection")
    if recorded is None:
        return None
    field = "metadata.data_selection"
    if not isinstance(recorded, dict):
        raise ModelFileError(f"{path}: {field} is {recorded!r}; it must be an object")
    for key, types in _RECORDED_TYPES.items():
        value = recorded.get(key)
        if key in recorded and (not isinstance(value, types) or isinstance(value, bool)):
            allowed = " or ".join(
                {str: "text", list: "a list", int: "an integer", float: "a number"}.get(t, "null")
                for t in types
            )
            raise ModelFileError(f"{path}: {field}.{key} is {value!r}; it must be {allowed}")
    if isinstance(recorded.get("classes"), list) and not all(
        isinstance(c, int) and not isinstance(c, bool) for c in recorded["classes"]
    ):
        raise ModelFileError(
            f"{path}: {field}.classes is {recorded['classes']!r}; it must list integers"
        )
    return recorded


def _select(args: argparse.Namespace, model) -> str:
    """Fill the data options not given from the model's training selection; says from where."""
    recorded = _recorded_selection(model, args.model)
    if args.data is None:
        args.data = recorded.get("data", "digits") if isinstance(recorded, dict) else "digits"
    if isinstance(recorded, dict) and recorded.get("data") == args.data:
        taken = [k for k in DATA_OPTIONS if getattr(args, k) is None and k in recorded]
        if args.per_class is not None or args.train is not None:  # one sizes the other out
            taken = [k for k in taken if k not in ("per_class", "train")]
        for key in taken:
            setattr(args, key, recorded[key])
        source = "as at training" if taken else "as given"
    else:  # older models, or other data: the defaults of qubonn train
        source = "qubonn train's defaults"
        if args.data == "digits":
            if not args.classes and "classes" in model.metadata:
                args.classes = ",".join(str(c) for c in model.metadata["classes"])
            if args.size is None and model.network.n_inputs == 16:
                args.size = 4
            if args.per_class is None and args.train is None:
                args.per_class = 20
    if args.seed is None:
        args.seed = 0
    infer_encoding(args, model.network)  # older models: as the network's inputs declare
    if isinstance(args.classes, list | tuple):
        args.classes = ",".join(str(c) for c in args.classes)
    given = ", ".join(
        f"{k.replace('_', '-')} {getattr(args, k)}"
        for k in DATA_OPTIONS
        if getattr(args, k) is not None
    )
    return f"{given} ({source})"


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import qubonn

    model = qubonn.load_model(args.model)
    selection = _select(args, model)
    data = dataset_from_args(args, model.network)
    print(
        f"data:  {data.name}: {len(data.y_train)} training / {len(data.y_test)} test samples; "
        f"{selection}"
    )
    classes = model.metadata.get("classes")
    labels = sorted(set(np.unique(data.y_train).tolist()) | set(np.unique(data.y_test).tolist()))
    if classes is not None:
        unknown = [c for c in labels if c not in classes]
        if unknown:
            raise DataError(
                f"{data.name}: the data's labels {labels} are not the model's classes "
                f"{list(classes)} ({args.model}); labels {unknown} can never be predicted"
            )
    for part, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        if len(y):
            acc = float(np.mean(model.predict(X) == y))
            print(f"{part}: {acc:.1%} of {len(y)} samples")
    return 0
