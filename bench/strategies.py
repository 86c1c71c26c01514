"""Strategies side by side: how generic samplers train through direct, decompose, continuation.

Digits 3-vs-8, the 64-4-1 network (examples/digits.qnn), margin 0.2 with fan-in scaling, polish
and repair off.  For every training-set size, backend (neal, openjij-sa) and strategy, and for
the structured native annealer as the reference, in the same run, it prints medians over seeds:
the share of valid reads the solver returned (for a strategy, of its sub-solves' reads), whether
the returned network is a valid state, train and test accuracy, the replayed objective, the
time, and the test-accuracy gap to the structured native annealer.  ``--encodings`` adds the
third approach, a slack encoding that single-spin samplers can follow: every (backend, strategy)
cell runs on the QUBO of each encoding (binary, the default, and unary).

    .venv/bin/python bench/strategies.py                     # N = 40 and 100, 5 seeds
    .venv/bin/python bench/strategies.py --sizes 40 --seeds 7
    .venv/bin/python bench/strategies.py --quick             # a smoke run (seconds)
    .venv/bin/python bench/strategies.py --sizes 40 --encodings binary unary --strategies direct
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings

import numpy as np

import qubonn
from qubonn.backends.network.strategies import StrategyError
from qubonn.formulation import objective_value
from qubonn.training.labels import encode_targets

SPEC = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"
#: bench label -> (strategy, strategy options); "decompose-nomerge" is the ablation of the merge,
#: "decompose-neuron" block coordinate descent (one neuron's parameters free per sub-QUBO),
#: "decompose-8epochs" twice the default passes, "decompose-anchor1" a 4x stronger consensus prior,
#: "decompose-batch1"/"-batch2" a fixed batch of 1 or 2 (2: what the probe picks on binary QUBOs)
STRATEGIES = {
    "direct": ("direct", None),
    "continuation": ("continuation", None),
    "decompose": ("decompose", None),
    "decompose-nomerge": ("decompose", {"merge": False}),
    "decompose-neuron": ("decompose", {"blocks": "neuron"}),
    "decompose-8epochs": ("decompose", {"epochs": 8}),
    "decompose-anchor1": ("decompose", {"anchor": 1.0}),
    "decompose-batch1": ("decompose", {"batch_size": 1}),
    "decompose-batch2": ("decompose", {"batch_size": 2}),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[40, 100], help="training images")
    p.add_argument("--seeds", type=int, default=5, help="seeds per cell (5)")
    p.add_argument("--backends", nargs="+", default=["neal", "openjij-sa"])
    p.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    p.add_argument(
        "--encodings",
        nargs="+",
        choices=("binary", "unary"),
        default=["binary"],
        help="slack encodings of the QUBO the samplers get (binary)",
    )
    p.add_argument("--reads", type=int, default=8, help="num_reads per (sub-)solve (8)")
    p.add_argument("--sweeps", type=int, default=1000, help="num_sweeps per read (1000)")
    p.add_argument("--quick", action="store_true", help="N = 8, 1 seed, 200 sweeps: a smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.sweeps, args.reads = [8], 1, 200, 4
    for name in ("seeds", "reads", "sweeps"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, not {getattr(args, name)}")
    if any(n < 2 for n in args.sizes):
        p.error("--sizes must be >= 2 (one image per class at least)")
    return args


def build(n: int, encoding: str = "binary"):
    data = qubonn.datasets.digits(classes=(3, 8), train=n, seed=0)
    net = qubonn.parse(SPEC)
    T = encode_targets(data.y_train, list(data.classes), 1)
    problem = qubonn.compile(
        net, data.X_train, T, margin=0.2, margin_scale="fan_in", slack_encoding=encoding
    )
    return data, net, problem


def run_one(problem, data, net, backend: str, strategy: str | None, seed: int, args) -> dict:
    """One training solve; the best read by replayed objective (no polish, no repair).  A
    strategy that got no valid sub-solve trains nothing: the run counts as not trained and its
    accuracies stay out of the medians (the "trained" column says how many runs did)."""
    from qubonn.training.trainer import _pick_best

    options: dict = {"num_reads": args.reads, "seed": seed}
    if strategy is not None:
        name, strategy_options = STRATEGIES[strategy]
        options.update(strategy=name, strategy_options=strategy_options, num_sweeps=args.sweeps)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ss = qubonn.solve(problem, backend=backend, **options)
    except StrategyError:  # no sub-solve came back valid: nothing trained
        return {"valid": 0.0, "returned_valid": 0.0, "time": time.perf_counter() - start}
    elapsed = time.perf_counter() - start
    weights, _, _ = _pick_best(problem, ss)
    f = problem.formulation
    subs = ss.info.get("subsolves")
    reads_valid = (
        float(np.mean([s["valid_share"] for s in subs])) if subs else 1.0 - problem.broken_share(ss)
    )
    test_pred = net.predict_outputs(data.X_test, weights)[0][:, 0] > 0
    return {
        "valid": reads_valid,
        "returned_valid": 1.0 - problem.broken_share(ss),
        "train": problem.accuracy(weights),
        "test": float(np.mean(test_pred == (data.y_test == data.classes[1]))),
        "objective": objective_value(f.network, problem.X, f.targets, weights, f.objective),
        "time": elapsed,
    }


def median(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else float("nan")


def cell(value: float, spec: str, unit: str = "") -> str:
    """A table cell: ``value`` formatted, or "-" when no run measured it (nothing trained)."""
    return "-" if value != value else format(value, spec) + unit


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"# bench/strategies.py on {platform.node()}, python {platform.python_version()}")
    print(f"# {args.seeds} seeds, {args.reads} reads x {args.sweeps} sweeps per (sub-)solve\n")
    for n in args.sizes:
        problems = {e: build(n, e) for e in dict.fromkeys(["binary", *args.encodings])}
        data, net, _ = problems["binary"]
        sizes = ", ".join(f"{p.n_variables:,} ({e})" for e, (_, _, p) in problems.items())
        cells = [("native", None, "binary")] + [
            (b, s, e) for b in args.backends for s in args.strategies for e in args.encodings
        ]
        print(f"## N = {n} (variables {sizes}; {len(data.y_test)} test images)\n")
        print(
            "| backend | strategy | slack | trained | valid reads | returned valid | train | test "
            "| objective | time s | test gap to native |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
        ref = None
        for backend, strategy, encoding in cells:  # a row as soon as its cell is done
            problem = problems[encoding][2]
            rows = [
                run_one(problem, data, net, backend, strategy, seed, args)
                for seed in range(args.seeds)
            ]
            test = median(rows, "test")
            ref = test if ref is None else ref  # the structured native annealer, run first
            print(
                f"| {backend} | {strategy or 'structured'} | {encoding} "
                f"| {sum('test' in r for r in rows)}/{len(rows)} | {median(rows, 'valid'):.0%} "
                f"| {median(rows, 'returned_valid'):.0%} | {cell(median(rows, 'train'), '.1%')} "
                f"| {cell(test, '.1%')} | {cell(median(rows, 'objective'), '.2f')} "
                f"| {median(rows, 'time'):.1f} | {cell(100 * (test - ref), '+.1f', ' pt')} |",
                flush=True,
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
