"""qubonn train SPEC: the main job.  Compile, solve, decode, evaluate, save."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

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


#: the flags of trainer settings whose flag is not ``--`` + the name with dashes
_IRREGULAR_FLAGS = {
    "seed": "--seed",
    "random_state": "--seed",
    "num_reads": "--reads",
    "penalties": "--penalty",
    "dropout": "--dropout-p and the other --dropout-* options",
    "verbose": "--quiet",
    "network": "the SPEC argument",
    "solver_options": "--option NAME=VALUE itself",
    "strategy_options": "--strategy-option NAME=VALUE",
}


def _trainer_flag(name: str, args: argparse.Namespace) -> str | None:
    """How to set trainer setting ``name`` (a BNNClassifier parameter), or None when ``name``
    is not one (so it is a backend option)."""
    from qubonn.training import BNNClassifier

    if name in _IRREGULAR_FLAGS:
        return _IRREGULAR_FLAGS[name]
    if name not in BNNClassifier().get_params(deep=False):
        return None
    if hasattr(args, name):
        return "--" + name.replace("_", "-")
    return f"the Python API (BNNClassifier({name}=...))"


def _backend_options(args: argparse.Namespace) -> dict:
    """The --option values and --sweeps as backend options; a name given twice, or one that
    a flag sets, is an error (never a silent winner, never a Python TypeError)."""
    from qubonn.errors import SolverOptionError

    options: dict = {}
    for name, value in args.option:
        flag = _trainer_flag(name, args)
        if flag is not None:
            raise SolverOptionError(
                f"--option {name}: {name} is a trainer setting, not a backend option; use {flag}"
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


@contextlib.contextmanager
def _warnings_as_lines():
    """Warnings (e.g. a constant classifier) as ``qubonn train: warning: ...`` lines."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"qubonn train: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _settings_line(clf) -> str:
    """The classifier's settings that differ from its defaults, on one line (the network has
    a line of its own)."""
    defaults = type(clf)().get_params(deep=False)
    parts = [
        f"{name}={value!r}"
        for name, value in clf.get_params(deep=False).items()
        if name not in ("network", "verbose")
        and value not in (None, {})
        and repr(value) != repr(defaults[name])
    ]
    return f"{type(clf).__name__}({', '.join(parts)})"


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
    s.add_argument(
        "--strategy",
        default="direct",
        help="how the backend solves: direct (the whole QUBO at once), decompose (mini-batch "
        "sub-QUBOs: generic samplers such as neal train) or continuation (default %(default)s)",
    )
    s.add_argument(
        "--strategy-option",
        type=_solver_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy option, e.g. --strategy-option batch_size=4 (repeatable)",
    )
    e = p.add_argument_group("ensemble")
    e.add_argument(
        "--ensemble",
        choices=("ovo",),
        help="ovo: train SPEC (a network with one output) once per pair of classes and "
        "predict by their vote (one-vs-one); saved as one model file",
    )
    e.add_argument(
        "--jobs",
        type=int,
        help="ensemble members trained at once, in processes (default 1; -1: one per CPU; "
        "with --executor ray: the cluster's CPUs)",
    )
    e.add_argument(
        "--executor",
        choices=("process", "ray"),
        help="where the members train: process (local processes, --jobs; the default) or ray "
        "(a Ray cluster, through Ray's joblib backend)",
    )
    e.add_argument("--address", help="Ray cluster address ('auto': the local 'ray start' head)")
    p.add_argument("--out", default="model.json", help="model file to write (default model.json)")
    add_force_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run, per_class_default=20)


def run(args: argparse.Namespace) -> int:

    import qubonn
    from qubonn.training import BNNClassifier, Dropout, STEClassifier

    if args.data == "digits" and args.per_class is None and args.train is None:
        args.per_class = args.per_class_default
    network = qubonn.load_spec(args.spec)
    _check_ensemble_flags(args, network)
    infer_digits_options(args, network)
    data = dataset_from_args(args, network)
    check_data_fits(data, network, args, ensemble=args.ensemble is not None)
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
    clf = BNNClassifier(
        network,
        dropout=dropout,
        backend=args.backend,
        num_reads=args.reads,
        solver_options=_backend_options(args),
        strategy=args.strategy,
        strategy_options=dict(args.strategy_option) or None,
        random_state=args.seed,
        verbose=0 if args.quiet or args.ensemble else 1,
        **dataclasses.asdict(objective),
    )
    clf.check_params()
    if args.ensemble:
        return _run_ensemble(args, clf, network, data)
    # before any training: a wrong --out must not cost a training run
    check_output(args.out, [("spec", args.spec), data_input(args)], force=args.force)
    print(f"network:  {args.spec}: {network!r}")
    print(
        f"data:     {data.name}: {len(data.y_train)} training / {len(data.y_test)} test samples, "
        f"classes {list(data.classes)}"
    )
    print(f"trainer:  {_settings_line(clf)}")
    t0 = time.perf_counter()
    with _warnings_as_lines():
        clf.fit(data.X_train, data.y_train)
    elapsed = time.perf_counter() - t0
    final = clf.history_[-1]
    rounds = [h for h in clf.history_ if h["stage"] == "dropout"]
    print(f"QUBO:     {final['variables']:,} variables, {final['couplings']:,} couplings")
    if rounds:
        print(f"dropout:  {len(rounds)} rounds, {sum(h['solve_s'] for h in rounds):.1f} s solving")
    print(f"solve:    {_solve_line(final, args.backend)}")
    if final.get("subsolves"):
        subs = final["subsolves"]
        invalid = sum(1 for s in subs if s["valid_share"] == 0)
        print(
            f"strategy: {args.strategy}: {len(subs)} sub-solves, "
            f"{sum(s['accepted'] for s in subs)} accepted, {invalid} without a valid read"
        )
    print(f"train:    {final['train_accuracy']:.1%} (the solver's best network, replayed)")
    if network.has_ternary:
        print(f"links:    {network.n_links(clf.weights_):,} of {network.n_parameters:,} kept")
    ste = STEClassifier(network, random_state=args.seed)
    test_acc = _test_and_baseline(clf, ste, data, "STE")
    metadata = _run_metadata(args, data, test_acc, elapsed)
    path = _save_new(lambda p, overwrite: clf.save(p, metadata, overwrite=overwrite), args)
    print(f"saved:    {path} ({elapsed:.1f} s in all)")
    return 0


def _test_and_baseline(model, baseline, data, name: str) -> float:
    """Print the trained model's test accuracy and that of ``baseline`` (fitted here on the same
    training data, the STE gradient reference); return the model's (nan without test images)."""
    test_acc = model.score(data.X_test, data.y_test) if len(data.y_test) else float("nan")
    print(f"test:     {test_acc:.1%}")
    with _warnings_as_lines():
        baseline.fit(data.X_train, data.y_train)
    if len(data.y_test):
        print(
            f"baseline: {name} gradient training on the same data: test "
            f"{baseline.score(data.X_test, data.y_test):.1%}"
        )
    return test_acc


def _run_metadata(args: argparse.Namespace, data, test_acc: float, elapsed: float) -> dict:
    """What a model file records of its training run (data selection, accuracy, time)."""
    import math

    return {
        "data": data.name,
        "data_selection": data_selection(args, data),
        "test_accuracy": test_acc if math.isfinite(test_acc) else None,
        "train_seconds": elapsed,
    }


def _check_ensemble_flags(args: argparse.Namespace, network) -> None:
    from qubonn.errors import DataError

    if args.jobs is not None and (args.ensemble is None or args.jobs == 0 or args.jobs < -1):
        raise DataError(
            "--jobs needs --ensemble ovo and is -1 or an integer >= 1"
            if args.ensemble is None
            else f"--jobs must be -1 or an integer >= 1, not {args.jobs}"
        )
    for flag, value in (("--executor", args.executor), ("--address", args.address)):
        if value is not None and args.ensemble is None:
            raise DataError(f"{flag} needs --ensemble ovo (it says where the members train)")
    if args.address is not None and args.executor != "ray":
        raise DataError("--address applies to --executor ray")
    if args.ensemble and network.n_outputs != 1:
        raise DataError(
            f"--ensemble ovo trains SPEC once per pair of classes, so SPEC needs one output; "
            f"{args.spec} has {network.n_outputs} (e.g. output y[1] <- h)"
        )


def _run_ensemble(args: argparse.Namespace, clf, network, data) -> int:
    """``--ensemble ovo``: a one-vs-one ensemble of ``clf`` over the data's classes, its
    training and test accuracy beside the same ensemble of STE networks, saved as one file."""
    import numpy as np

    from qubonn.training import STEClassifier, ovo_classifier, save_ensemble
    from qubonn.training.ensemble import member_backend, member_seconds

    check_output(args.out, [("spec", args.spec), data_input(args)], force=args.force)
    n_cls = len(data.classes)
    print(f"network:  {args.spec}: {network!r}, one per pair of classes")
    print(
        f"data:     {data.name}: {len(data.y_train)} training / {len(data.y_test)} test samples, "
        f"classes {list(data.classes)}"
    )
    print(f"trainer:  {_settings_line(clf)}, one-vs-one: {n_cls * (n_cls - 1) // 2} members")
    ray = args.executor == "ray"
    jobs = -1 if ray and args.jobs is None else args.jobs
    ensemble = ovo_classifier(clf, n_jobs=jobs)
    t0 = time.perf_counter()
    with _warnings_as_lines(), member_backend(args.executor or "process", args.address):
        ensemble.fit(data.X_train, data.y_train)
    elapsed = time.perf_counter() - t0
    seconds = member_seconds(ensemble)
    print(
        f"members:  {len(seconds)} trained in {elapsed:.1f} s (each {np.median(seconds):.1f} s "
        f"median, {max(seconds):.1f} s at most)"
    )
    print(f"train:    {ensemble.score(data.X_train, data.y_train):.1%} (the members' vote)")
    ste = ovo_classifier(STEClassifier(network, random_state=args.seed), n_jobs=args.jobs)
    test_acc = _test_and_baseline(ensemble, ste, data, "one-vs-one STE")
    metadata = _run_metadata(args, data, test_acc, elapsed)
    path = _save_new(lambda p, overwrite: save_ensemble(p, ensemble, metadata, overwrite), args)
    print(f"saved:    {path} ({elapsed:.1f} s in all)")
    return 0


def _save_new(save: Callable[[Path, bool], Path], args: argparse.Namespace) -> Path:
    """``save(--out, overwrite=--force)``.  Without --force a file that another run wrote there
    since :func:`check_output` is never replaced: this run's model goes to the first free name
    NAME-2.json, NAME-3.json, ..., and the command fails saying so (nothing is lost)."""
    from qubonn.errors import OutputError
    from qubonn.modelfile import ModelExistsError

    out = Path(args.out)
    try:
        return save(out, args.force)
    except ModelExistsError as e:
        for i in itertools.count(2):
            try:
                kept = save(out.with_name(f"{out.stem}-{i}{out.suffix}"), False)
            except ModelExistsError:
                continue
            raise OutputError(f"{e}; this run's model is saved as {kept} instead") from None
    raise AssertionError("unreachable")
