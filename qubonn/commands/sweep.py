"""qubonn sweep SPEC: train over a grid of hyperparameters and seeds, locally or on Ray."""

from __future__ import annotations

import argparse
import sys
import time
import warnings

from qubonn.commands._data import add_data_arguments, dataset_from_args, infer_encoding
from qubonn.commands._output import check_output, data_input


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="train one classifier per grid point and seed; write a results table",
        description="Train the network of SPEC once per grid point and seed and write one row per "
        "run (parameters, seed, train/test accuracy, QUBO size, times) to --out as runs finish. "
        "Running the same command again skips the runs already in --out (resume). Runs go to "
        "an executor: local (serial), process (a local pool) or ray (a Ray cluster).",
        epilog="example: qubonn sweep examples/digits.qnn --grid margin=0,0.5,1 dropout.p=0,0.3 "
        "--seeds 10 --classes 3,8 --per-class 10 --executor ray --address auto --out results.csv",
    )
    p.add_argument("spec", help="network description (.qnn)")
    p.add_argument(
        "--grid",
        nargs="+",
        default=[],
        metavar="KEY=V1,V2",
        help="grid axes: BNNClassifier parameters (margin, margin_scale, loss, backend, num_reads, "
        "...; margin is fan-in scaled as in qubonn train), dropout.* (p, rounds, eta, variant, "
        "scale, batch_size), penalties.* (and, sign, tie) or backend options (num_sweeps, ...)",
    )
    p.add_argument(
        "--set",
        nargs="+",
        default=[],
        dest="fixed",
        metavar="KEY=VALUE",
        help="fixed values for the same keys, e.g. --set num_sweeps=500 dropout.rounds=4",
    )
    p.add_argument("--seeds", default="1", help="a count (seeds 0..n-1) or a list 0,3,7")
    p.add_argument("--backend", help="solver backend (default: native); same as --set backend=")
    p.add_argument("--reads", type=int, help="num_reads; same as --set num_reads=")
    add_data_arguments(p)
    e = p.add_argument_group("execution")
    e.add_argument(
        "--executor",
        choices=("local", "process", "ray"),
        default="local",
        help="where runs go: local (serial), process (a local pool), ray (a cluster) "
        "(default %(default)s)",
    )
    e.add_argument("--address", help="Ray cluster address ('auto': the local 'ray start' head)")
    e.add_argument("--workers", type=int, help="process pool size (default: CPU count)")
    e.add_argument("--retries", type=int, help="reruns of a task whose worker died (default 3)")
    p.add_argument("--out", default="sweep.csv", help="results table, .csv or .parquet")
    p.add_argument("--restart", action="store_true", help="delete --out first instead of resuming")
    p.add_argument("--quiet", action="store_true", help="no line per finished run")
    p.set_defaults(func=run, per_class_default=20)


def _executor_options(args: argparse.Namespace) -> dict:
    from qubonn.sweep import SweepError

    options: dict = {}
    if args.address is not None:
        if args.executor != "ray":
            raise SweepError("--address applies to --executor ray")
        options["address"] = args.address
    if args.workers is not None:
        if args.executor != "process":
            raise SweepError("--workers applies to --executor process (Ray uses the cluster's)")
        options["workers"] = args.workers
    if args.retries is not None:
        if args.executor == "local":
            raise SweepError("--retries applies to --executor process or ray")
        options["max_retries"] = args.retries
    return options


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"qubonn sweep: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import inspect

    from qubonn.sweep import (
        SweepError,
        cell,
        check_table_path,
        parse_grid,
        parse_seeds,
        summarize,
        sweep,
        valid_keys,
    )
    from qubonn.training import BNNClassifier

    grid = parse_grid(args.grid)
    fixed: dict = {}
    for key, values in parse_grid(args.fixed).items():
        if len(values) != 1:
            raise SweepError(f"--set {key} takes one value; sweep several with --grid")
        fixed[key] = values[0]
    own = set(inspect.signature(sweep).parameters) - {"fixed"}  # sweep()'s own arguments
    for key in fixed:
        if key in own:
            raise SweepError(
                f"--set {key}: '{key}' cannot be a sweep parameter (the command sets it); "
                + valid_keys(BNNClassifier())
            )
    for key, value in (("backend", args.backend), ("num_reads", args.reads)):
        if value is not None:
            if key in fixed or key in grid:
                raise SweepError(f"{key} is given twice (option and --set/--grid)")
            fixed[key] = value
    # an existing --out is resumed (that is what it is for); --restart starts over
    check_output(args.out, [("spec", args.spec), data_input(args)], force=False, existing_ok=True)
    check_table_path(args.out)
    seeds = parse_seeds(args.seeds)
    if args.data == "digits" and args.per_class is None and args.train is None:
        args.per_class = args.per_class_default
    import qubonn

    network = qubonn.load_spec(args.spec)
    infer_encoding(args, network)
    data = dataset_from_args(args, network)
    options = _executor_options(args)

    def progress(row: dict, done: int, total: int) -> None:
        if args.quiet:
            return
        point = " ".join(f"{k}={cell(row[k])}" for k in grid)
        test = row["test_accuracy"]
        print(
            f"[{done}/{total}] {point} seed={row['seed']}: train {row['train_accuracy']:.1%}"
            + (f", test {test:.1%}" if test is not None else "")
            + f" ({row['fit_s']:.1f} s, {row['worker']})",
            flush=True,
        )

    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():  # as "qubonn sweep: warning: ...", when they happen
            warnings.showwarning = _show_warning
            rows = sweep(
                args.spec,
                grid,
                seeds,
                data=data,
                executor=args.executor,
                executor_options=options,
                out=args.out,
                resume=not args.restart,
                progress=progress,
                **fixed,
            )
    except KeyboardInterrupt as e:  # an Interrupted run is not recorded: resume redoes it
        detail = f" ({e})" if str(e) else ""
        print(
            f"qubonn sweep: interrupted{detail}; finished runs are in {args.out}, the "
            "interrupted ones are not; run the same command again to do the rest",
            file=sys.stderr,
        )
        return 130
    elapsed = time.perf_counter() - t0
    summary = summarize(rows, list(grid))
    if summary and grid:
        width = {k: max(len(k), *(len(cell(s[k])) for s in summary)) for k in grid}
        print("  ".join(f"{k:>{width[k]}}" for k in grid) + "  runs   valid   train    test (std)")
        for s in summary:
            test = "   n/a" if s["test_mean"] is None else f"{s['test_mean']:6.1%}"
            std = "" if s["test_std"] is None else f" ({s['test_std']:.1%})"
            valid = "   n/a" if s["valid_mean"] is None else f"{s['valid_mean']:6.1%}"
            print(
                "  ".join(f"{cell(s[k]):>{width[k]}}" for k in grid)
                + f"  {s['runs']:>4}  {valid}  {s['train_mean']:6.1%}  {test}{std}"
            )
    broken = [r for r in rows if r.get("valid_share") not in (None, "") and
              float(r["valid_share"]) == 0]
    if broken:
        print(
            f"qubonn sweep: warning: {len(broken)} of {len(rows)} runs returned no valid network "
            "(every read broke a constraint; their accuracies are those of broken reads): use "
            "the native backend, --set strategy=decompose, or a repair: backend",
            file=sys.stderr,
        )
    print(f"{len(rows)} runs in {args.out} ({elapsed:.1f} s)")
    return 0
