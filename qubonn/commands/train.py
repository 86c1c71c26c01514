"""qubonn train SPEC: the main job.  Compile, solve, decode, evaluate, save."""

from __future__ import annotations

import argparse
import time

from qubonn.commands._data import (
    add_data_arguments,
    check_data_fits,
    data_selection,
    dataset_from_args,
    infer_digits_options,
)
from qubonn.commands._output import add_force_argument, check_output, data_input
from qubonn.commands.compile import add_objective_arguments, objective_from_args
from qubonn.options import parse_key_value


def _solver_option(text: str) -> tuple[str, object]:
    name, value = parse_key_value(
        text,
        what="a solver option",
        example="num_sweeps=2000",
        error=argparse.ArgumentTypeError,
    )
    return name.replace("-", "_"), value


#: trainer settings that have a flag of their own: not backend options (--option)
_TRAINER_FLAGS = {
    "seed": "--seed",
    "num_reads": "--reads",
    "backend": "--backend",
    "loss": "--loss",
    "loss_weight": "--loss-weight",
    "margin": "--margin",
    "margin_scale": "--margin-scale",
    "hard_margin": "--hard-margin",
    "class_weight": "--class-weight",
    "penalties": "--penalty",
    "dropout": "--dropout-p and the other --dropout-* options",
    "progress": "--quiet",
    "engine": "the Python API (BNNClassifier(engine=...))",
    "executor": "the Python API (BNNClassifier(executor=...))",
    "network": "the SPEC argument",
}


def _backend_options(args: argparse.Namespace) -> dict:
    """The --option values and --sweeps as backend options; a name given twice, or one that
    a flag sets, is an error (never a silent winner, never a Python TypeError)."""
    from qubonn.errors import SolverOptionError

    options: dict = {}
    for name, value in args.option:
        if name in _TRAINER_FLAGS:
            raise SolverOptionError(
                f"--option {name}: {name} is a trainer setting, not a backend option; "
                f"use {_TRAINER_FLAGS[name]}"
            )
        if name in options:
            raise SolverOptionError(f"--option {name} is given twice; give it once")
        options[name] = value
    if args.sweeps is not None:
        if "num_sweeps" in options:
            raise SolverOptionError(
                "--sweeps and --option num_sweeps both set the number of sweeps; give one"
            )
        options["num_sweeps"] = args.sweeps
    return options


def _solve_line(record: dict, backend: str) -> str:
    """What the solver returned: time, mode, valid reads, best objective."""
    reads = record["reads"]
    valid = round(record["valid_share"] * reads)
    mode = f"{backend}, {record['mode']} mode" if backend == "native" else backend
    line = (
        f"{record['solve_s']:.2f} s ({mode}): {valid}/{reads} reads are valid networks, "
        f"best objective {record['objective']:.4g}"
    )
    if valid < reads:
        line += " (invalid reads break constraints; their networks were replayed)"
    return line


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a network on data (the main job)",
        description="Train the network of SPEC exactly as a QUBO: compile the training problem, "
        "solve it with a backend, decode and evaluate the trained network, and save it. "
        "Defaults: digits 3 vs 8, 20 training images per class, native annealer.",
    )
    p.add_argument("spec", help="network description (.qnn)")
    add_data_arguments(p)
    add_objective_arguments(p)
    g = p.add_argument_group("dropout-inspired regulariser")
    g.add_argument("--dropout-p", type=float, help="drop probability (enables the scheme)")
    g.add_argument(
        "--dropout-rounds",
        type=int,
        default=8,
        help="thinned subnetworks trained before the final solve (default %(default)s)",
    )
    g.add_argument(
        "--dropout-eta",
        type=float,
        default=0.5,
        help="step of the linear penalties each round sets (default %(default)s)",
    )
    g.add_argument(
        "--dropout-variant",
        choices=("iterative", "independent", "frequency"),
        default="iterative",
        help="iterative (penalties fed back into later rounds), independent (rounds run "
        "apart, can run in parallel), frequency (penalties from how often each weight was "
        "+1) (default %(default)s)",
    )
    g.add_argument("--dropout-batch", type=int, help="mini-batch size per round (default: all)")
    s = p.add_argument_group("solver")
    s.add_argument(
        "--backend", default="native", help="solver backend (qubonn backends lists them)"
    )
    s.add_argument("--reads", type=int, default=16, help="num_reads (default 16)")
    s.add_argument(
        "--sweeps",
        type=int,
        help="sweeps per read, the backend's num_sweeps (default: the backend's own)",
    )
    s.add_argument(
        "--option",
        type=_solver_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another backend option, e.g. --option algorithm=pt (repeatable; trainer "
        "settings such as seed and num_reads have their own flags)",
    )
    p.add_argument("--out", default="model.json", help="model file to write (default model.json)")
    add_force_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    # the regularisation experiment (docs/results.md): the soft margin helps on unseen data
    p.set_defaults(func=run, per_class_default=20, margin=0.2, margin_scale="fan_in")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import qubonn
    from qubonn.training import BNNClassifier, Dropout, STEClassifier

    if args.data == "digits" and args.per_class is None and args.train is None:
        args.per_class = args.per_class_default
    network = qubonn.load_spec(args.spec)
    infer_digits_options(args, network)
    data = dataset_from_args(args)
    check_data_fits(data, network, args)
    objective = objective_from_args(args, network)
    dropout = None
    if args.dropout_p is not None:
        dropout = Dropout(
            p=args.dropout_p,
            rounds=args.dropout_rounds,
            eta=args.dropout_eta,
            variant=args.dropout_variant,
            batch_size=args.dropout_batch,
        )
    options = _backend_options(args)
    clf = BNNClassifier(
        network,
        loss=objective.loss,
        loss_weight=objective.loss_weight,
        margin=objective.margin,
        margin_scale=objective.margin_scale,
        hard_margin=objective.hard_margin,
        penalties=objective.penalties,
        class_weight=objective.class_weight,
        dropout=dropout,
        backend=args.backend,
        num_reads=args.reads,
        seed=args.seed,
        progress=not args.quiet,
        **options,
    )
    # before any training: a wrong --out must not cost a training run
    check_output(args.out, [("spec", args.spec), data_input(args)], force=args.force)
    print(f"network:  {args.spec}: {network!r}")
    print(
        f"data:     {data.name}: {len(data.y_train)} training / {len(data.y_test)} test samples, "
        f"classes {list(data.classes)}"
    )
    print(f"trainer:  {clf!r}")
    t0 = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    elapsed = time.perf_counter() - t0
    final = clf.history_[-1]
    rounds = [h for h in clf.history_ if h["stage"] == "dropout"]
    print(f"QUBO:     {final['variables']:,} variables, {final['couplings']:,} couplings")
    if rounds:
        print(f"dropout:  {len(rounds)} rounds, {sum(h['solve_s'] for h in rounds):.1f} s solving")
    print(f"solve:    {_solve_line(final, args.backend)}")
    print(f"train:    {final['train_accuracy']:.1%} (the solver's best network, replayed)")
    test_acc = clf.score(data.X_test, data.y_test) if len(data.y_test) else float("nan")
    print(f"test:     {test_acc:.1%}")
    ste = STEClassifier(network, seed=args.seed).fit(data.X_train, data.y_train)
    if len(data.y_test):
        print(
            f"baseline: STE gradient training on the same data: test "
            f"{ste.score(data.X_test, data.y_test):.1%}"
        )
    path = clf.save(
        args.out,
        metadata={
            "data": data.name,
            "data_selection": data_selection(args, data),
            "test_accuracy": test_acc if np.isfinite(test_acc) else None,
            "train_seconds": elapsed,
        },
    )
    print(f"saved:    {path} ({elapsed:.1f} s in all)")
    return 0
