"""CP-SAT on the wider domains: the time to prove the optimum as inputs become integer and
weights ternary, on the same images.

Digits 3 vs 8 at 4x4 (2x2 block means of the 0..16 pixels), the first N/2 images of each class
(shuffled with seed 0), three variants of one network (4 hidden neurons, one output), margin 0.2
fan-in scaled:

* ``binary``:  +-1 inputs (block mean >= 8), binary weights (the network bench/cpsat.py times);
* ``integer``: inputs 0..4 (block mean / 4, rounded), binary weights;
* ``ternary``: inputs 0..4, ternary hidden and output groups, sparsity 0.05.

One line per solve (status, objective, proven bound, CP-SAT's solve seconds, model variables),
the median of ``--repeats`` solves with seeds 0, 1, ... (CP-SAT's portfolio varies by seed).

    .venv/bin/python bench/cpsat_domains.py                         # a few minutes on 2 cores
    .venv/bin/python bench/cpsat_domains.py --sizes 2 4 --time-limit 10 --repeats 1
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

import qubonn
from qubonn.datasets import _digits_raw, _downsample_2x2

VARIANTS = {
    "binary": ("input x[4x4]\nhidden h[4] <- x\noutput y[1] <- h\n", 0.0),
    "integer": ("input x[4x4] values 0..4\nhidden h[4] <- x\noutput y[1] <- h\n", 0.0),
    "ternary": (
        "input x[4x4] values 0..4\nhidden h[4] <- x ternary\noutput y[1] <- h ternary\n",
        0.05,
    ),
}
HEADER = f"{'variant':<8} {'N':>3} {'status':<9} {'objective':>10} {'bound':>10} {'solve_s':>8}"
HEADER += f" {'cp_vars':>7}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--sizes", nargs="+", type=int, default=[2, 4, 6, 8, 12])
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve (60)")
    p.add_argument("--repeats", type=int, default=3, help="solves per point, seeds 0.. (3)")
    p.add_argument("--workers", type=int, default=None, help="CP-SAT workers (backend default)")
    args = p.parse_args(argv)
    if any(n < 2 or n % 2 for n in args.sizes):
        p.error("--sizes must be even and >= 2 (as many images of each class)")
    if args.time_limit <= 0 or args.repeats < 1:
        p.error("--time-limit must be > 0 and --repeats >= 1")
    return args


def images(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(+-1 inputs, 0..4 inputs, labels 0/1) of the first n/2 images of each class."""
    raw, target = _digits_raw()
    rng = np.random.default_rng(0)
    rows = []
    for digit in (3, 8):
        idx = np.nonzero(target == digit)[0]
        rows += rng.permutation(idx)[: n // 2].tolist()
    pixels = _downsample_2x2(raw[rows]).reshape(len(rows), 16)
    binary = np.where(pixels >= 8, 1, -1)
    levels = np.rint(pixels / 4).astype(np.int64)
    return binary, levels, (target[rows] == 8).astype(np.int64)


def solve(variant: str, n: int, args: argparse.Namespace) -> str:
    spec, sparsity = VARIANTS[variant]
    binary, levels, y = images(n)
    X = binary if variant == "binary" else levels
    problem = qubonn.compile(qubonn.parse(spec), X, y, margin=0.2, margin_scale="fan_in",
                             sparsity=sparsity)
    from qubonn.backends.network.cpsat import _build

    cp_vars = len(_build(problem, True).model.Proto().variables)
    runs = []
    for seed in range(args.repeats):
        opts = {"time_limit": args.time_limit, "seed": seed}
        if args.workers is not None:
            opts["num_workers"] = args.workers
        runs.append(qubonn.solve(problem, backend="cpsat", **opts).info)
    status = "optimal" if all(r["status"] == "optimal" for r in runs) else "not all"
    best = min(runs, key=lambda r: r["objective"])
    seconds = statistics.median(r["time"] for r in runs)
    return (f"{variant:<8} {n:>3} {status:<9} {best['objective']:>10.4f} "
            f"{max(r['bound'] for r in runs):>10.4f} {seconds:>8.2f} {cp_vars:>7}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(HEADER, flush=True)
    for variant in args.variants:
        for n in sorted(set(args.sizes)):
            print(solve(variant, n, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
