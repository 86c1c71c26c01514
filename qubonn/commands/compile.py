"""qubonn compile SPEC: build the training QUBO, print its size, write it to a file."""

from __future__ import annotations

import argparse
import dataclasses
import time

from qubonn.commands._data import (
    add_data_arguments,
    check_data_fits,
    dataset_from_args,
    infer_digits_options,
)
from qubonn.commands._output import add_force_argument, check_output, data_input
from qubonn.commands._types import memory_size, non_negative_float


def _class_weight(text: str) -> str | None:
    """--class-weight none|balanced -> the Objective's value (None or "balanced")."""
    if text not in ("none", "balanced"):
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from none, balanced)")
    return None if text == "none" else text


def _auto_or(kind: type, what: str):
    """An argparse type: the word "auto" (the Objective's per-loss default) or a ``kind``."""

    def parse(text: str):
        if text == "auto":
            return "auto"
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} or 'auto'") from None

    return parse


def add_objective_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("objective")
    g.add_argument(
        "--loss",
        choices=("auto", "hinge", "01", "multiclass"),
        default="auto",
        help="training loss: hinge (by how much outputs miss, one-vs-rest), 01 (misclassified "
        "outputs), multiclass (the true class's output against every other's, pairwise "
        "squared hinge) or auto (hinge for one output, multiclass for several) "
        "(default %(default)s)",
    )
    g.add_argument(
        "--class-weight",
        type=_class_weight,
        metavar="{none,balanced}",
        help="balanced: weigh the loss rows so that every class counts the same "
        "(default %(default)s)",
    )
    g.add_argument(
        "--loss-weight",
        type=float,
        default=1.0,
        help="weight of the loss term against the regularisers (default %(default)s)",
    )
    g.add_argument(
        "--margin",
        type=_auto_or(float, "a number"),
        help="soft margin strength mu, divided by each neuron's fan-in unless --margin-scale "
        "none, or auto (0.5 under the multiclass loss, otherwise 0) (default: auto; for "
        "train 0.2 under the hinge and 0-1 losses)",
    )
    g.add_argument(
        "--margin-scale",
        choices=("fan_in", "none"),
        default="fan_in",
        help="how mu applies per neuron: fan_in (mu / fan-in, so one mu means the same for narrow "
        "and wide neurons; the default everywhere, as in BNNClassifier and qubonn sweep) or none "
        "(mu unscaled) (default %(default)s)",
    )
    g.add_argument(
        "--hard-margin",
        type=_auto_or(int, "an integer"),
        help="hard margin m for the hinge and multiclass losses, or auto (3 under the "
        "multiclass loss, 0 otherwise) (default: auto)",
    )
    g.add_argument(
        "--slack-encoding",
        choices=("binary", "unary"),
        default="binary",
        help="how each sign constraint's slack becomes bits: binary (fewest bits) or unary (one "
        "bit per unit: generic single-spin samplers such as neal return valid states on it) "
        "(default %(default)s)",
    )
    g.add_argument(
        "--sparsity",
        type=non_negative_float,
        default=0.0,
        help="lambda: the price of each link a ternary group keeps (the sparsity regulariser; "
        "binary groups keep every link) (default %(default)s)",
    )
    g.add_argument(
        "--penalty",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a constraint weight: and=, sign=, tie= (repeatable)",
    )


#: flags whose absence means the Objective's "auto" (resolved per loss: AUTO_MARGINS)
AUTO_FLAGS = ("margin", "hard_margin")


def objective_from_args(args: argparse.Namespace, network=None):
    """The objective of the flags; every "auto" (the loss, and the margins of a flag not given)
    is resolved for ``network`` when given."""
    from qubonn.formulation import Objective
    from qubonn.options import parse_key_value

    penalties = {}
    for item in args.penalty:
        name, value = parse_key_value(item, what="--penalty", example="sign=40")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"--penalty {name} needs a number, e.g. {name}=40; not {item!r}")
        penalties[name] = float(value)
    # every other field of the objective has a flag of its own name (--loss-weight: loss_weight)
    names = [f.name for f in dataclasses.fields(Objective) if f.name != "penalties"]
    fields = {name: getattr(args, name) for name in names}
    fields.update({name: "auto" for name in AUTO_FLAGS if fields[name] is None})
    objective = Objective(**fields, penalties=penalties)
    return objective if network is None else objective.for_network(network)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "compile",
        help="build the training QUBO of a spec on data and write it to a file",
        description="Compile the training problem of SPEC on the data into a QUBO; print its "
        "size report and write it (.npz: plain COO; other suffixes: dimod's format).",
    )
    p.add_argument("spec", help="network description (.qnn)")
    add_data_arguments(p)
    add_objective_arguments(p)
    p.add_argument(
        "--engine",
        choices=("fast", "pyqubo"),
        default="fast",
        help="compiler engine: fast (numpy/scipy) or pyqubo (symbolic, slow; a cross-check) "
        "(default %(default)s)",
    )
    p.add_argument(
        "--max-memory",
        type=memory_size,
        help="refuse problems needing more, e.g. 8G (default: none)",
    )
    p.add_argument("--out", help="output file (.npz or .bqm)")
    add_force_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import qubonn
    from qubonn.training.labels import encode_targets

    if args.out:  # before compiling, which can take long on big problems
        check_output(args.out, [("spec", args.spec), data_input(args)], force=args.force)
    network = qubonn.load_spec(args.spec)
    infer_digits_options(args, network)
    data = dataset_from_args(args, network)
    check_data_fits(data, network, args)
    y = encode_targets(data.y_train, data.classes, network.n_outputs)
    objective = objective_from_args(args, network)
    t0 = time.perf_counter()
    problem = qubonn.compile(
        network,
        data.X_train,
        y,
        objective=objective,
        engine=args.engine,
        max_memory=args.max_memory,
    )
    problem.qubo()
    elapsed = time.perf_counter() - t0
    print(f"data:       {data.name}: {len(data.y_train)} training samples, classes {data.classes}")
    print(problem.size_report())
    print(f"compiled in {elapsed:.2f} s with the {args.engine} engine")
    if args.out:
        # .npz keeps the formulation too (crossval, cpsat); other suffixes: dimod's format
        path = problem.save(args.out)
        print(f"wrote {path}")
    return 0
