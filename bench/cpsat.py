"""How many training images CP-SAT can prove the optimum for: digits 3 vs 8, margin 0.2 fan-in.

For each network (``examples/digits.qnn``, 64-4-1 on 8x8 images, and a 16-4-1 network on 4x4
images) the training set grows (stratified, seed 0) until CP-SAT no longer proves the optimum
within ``--time-limit`` seconds, or the whole run's ``--budget`` is spent.  The largest proven
size per network is the answer; one line is printed per solve as it finishes.  On every proven
instance the native backend's structured annealer (defaults) runs with ``--native-seeds`` seeds
beside it: ``hits`` is how many reached the proven optimum, ``native_s`` their median time.

    .venv/bin/python bench/cpsat.py                       # about 5-10 minutes on 2 cores
    .venv/bin/python bench/cpsat.py --nets 16 --sizes 2 4 --time-limit 10
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import qubonn

ROOT = pathlib.Path(__file__).resolve().parents[1]
NETS = {
    "64": ("64-4-1", 8, (ROOT / "examples" / "digits.qnn").read_text()),
    "16": ("16-4-1", 4, "input x[4x4]\nhidden h[4] <- x\noutput y[1] <- h\n"),
}
DEFAULT_SIZES = (2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64)
HEADER = f"{'network':<8} {'N':>4} {'vars':>6} {'status':<9} {'objective':>11} {'bound':>11} "
HEADER += f"{'time_s':>7} {'hits':>6} {'native_s':>8}"
TOL = 1e-9


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nets", nargs="+", choices=sorted(NETS), default=["64", "16"])
    p.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES))
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve (60)")
    p.add_argument("--budget", type=float, default=540.0, help="seconds for the whole run (540)")
    p.add_argument("--workers", type=int, default=None, help="CP-SAT workers (all cores)")
    p.add_argument("--native-seeds", type=int, default=10, help="structured annealer seeds (10)")
    args = p.parse_args(argv)
    if any(n < 2 for n in args.sizes):
        p.error("--sizes must be >= 2 (one image of each class at least)")
    if args.time_limit <= 0 or args.budget <= 0:
        p.error("--time-limit and --budget must be > 0")
    if args.native_seeds < 0:
        p.error("--native-seeds must be >= 0")
    return args


def run_net(key: str, args: argparse.Namespace, deadline: float) -> int | None:
    """Solve growing training sets of one network; the largest N proven optimal (or None)."""
    label, size, spec = NETS[key]
    net = qubonn.parse(spec)
    proven = None
    for n in sorted(set(args.sizes)):
        left = deadline - time.perf_counter()
        if left < 1.0:
            print(f"{label:<8} {n:>4}  (budget spent)")
            break
        data = qubonn.datasets.digits(classes=(3, 8), train=n, size=size, seed=0)
        problem = qubonn.compile(
            net, data.X_train, data.y_train == 8, margin=0.2, margin_scale="fan_in"
        )
        options = {"time_limit": min(args.time_limit, left), "seed": 0}
        if args.workers is not None:
            options["num_workers"] = args.workers
        info = qubonn.solve(problem, backend="cpsat", **options).info
        native = ""
        if info["status"] == "optimal" and args.native_seeds:
            hits, secs = native_hits(problem, info["objective"], args.native_seeds)
            native = f" {hits:>3}/{args.native_seeds:<2} {secs:>8.2f}"
        print(
            f"{label:<8} {n:>4} {problem.n_variables:>6} {info['status']:<9} "
            f"{info['objective']:>11.6f} {info['bound']:>11.6f} {info['time']:>7.2f}{native}",
            flush=True,
        )
        if info["status"] != "optimal":
            break
        proven = n
    return proven


def native_hits(problem, optimum: float, seeds: int) -> tuple[int, float]:
    """(seeds whose structured anneal reached ``optimum``, median seconds per run)."""
    hits, times = 0, []
    for seed in range(seeds):
        t0 = time.perf_counter()
        ss = qubonn.solve(problem, backend="native", seed=seed)
        times.append(time.perf_counter() - t0)
        hits += ss.first.energy <= optimum + TOL
    return hits, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = time.perf_counter() + args.budget
    print(HEADER)
    print("-" * len(HEADER))
    largest = {NETS[k][0]: run_net(k, args, deadline) for k in args.nets}
    for label, n in largest.items():
        print(f"{label}: largest training set proven optimal: {n if n else 'none'}")
    return 0


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        sys.exit(main())
