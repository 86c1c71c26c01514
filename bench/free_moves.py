"""How often the native annealer should accept a free move (``dE = 0``): time-to-target per rule.

``_rng.FREE_MOVE_ACCEPT`` is a trade-off no unit test can settle: accepting free moves more often
crosses plateaus faster (G1, BNN QUBOs), accepting them less often lets domain walls diffuse and
meet (G22, rings).  This runs the time-to-target protocol of ``bench/solvers.py`` (fresh seeds,
sweeps doubling to the per-run cap, until the target or the budget) for each rule on the same
seeds, native only.  G-set targets are the best-known cuts; a BNN QUBO needs ``--bnn-target``
(an energy reached often enough to count hits, e.g. between the median and the best of
``bench/solvers.py``'s E@budget).

    .venv/bin/python bench/free_moves.py --gset G1 G22 --bnn 100 --bnn-target 150
"""

from __future__ import annotations

import argparse
import math
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import solvers as bench  # noqa: E402

from qubonn.backends.native import _rng  # noqa: E402


def instances(args: argparse.Namespace) -> list[tuple[str, object, float, tuple]]:
    """(label, bqm, target, beta range) for every instance asked for."""
    out = []
    for name in args.gset:
        p, target = bench.load_gset(name)
        out.append((name, bench.to_bqm(p), target, p.default_beta_range()))
    if args.bnn:
        from qubonn.backends.native.sampler import ising_problem

        for label, bqm in bench.bnn_problems(tuple(args.bnn)):
            out.append((label, bqm, args.bnn_target, ising_problem(bqm).default_beta_range()))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gset", nargs="*", default=["G1", "G22"])
    ap.add_argument("--bnn", nargs="*", type=int, default=[])
    ap.add_argument("--bnn-target", type=float)
    ap.add_argument("--rules", nargs="+", type=float, default=[0.5, 0.7, 0.9])
    ap.add_argument("--reads", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cap", type=float, default=1.5, help="longest single run (s)")
    ap.add_argument("--budget", type=float, default=20.0, help="time-to-target limit (s)")
    args = ap.parse_args(argv)
    if not all(0.0 <= rule <= 1.0 for rule in args.rules):
        raise SystemExit(f"--rules: probabilities in [0, 1], got {args.rules}")
    if args.seeds < 1 or args.reads < 1 or args.cap <= 0 or args.budget <= 0:
        raise SystemExit("--seeds and --reads must be >= 1, --cap and --budget > 0")
    if args.bnn and args.bnn_target is None:
        raise SystemExit("--bnn needs --bnn-target ENERGY (BNN QUBOs have no best-known value)")
    rungs = [125 * 2**k for k in range(9)]
    print(
        f"# reads={args.reads}, seeds={args.seeds}, cap {args.cap}s, budget {args.budget}s, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        f"{'instance':11} {'target':>10} {'rule':>5} {'hits':>6} {'TTT med s':>9} {'s per hit':>9}"
    )
    for label, bqm, target, br in instances(args):
        for rule in args.rules:
            _rng.FREE_MOVE_ACCEPT = rule

            def run(sweeps: int, seed: int, bqm=bqm, br=br) -> float:
                return bench.solver_native(bqm, args.reads, sweeps, seed, br)

            run(4, 0)  # compile / load the kernels untimed
            start = time.perf_counter()
            times = [
                bench.time_to_target(run, s, rungs, args.cap, target, args.budget)
                for s in range(args.seeds)
            ]
            per_hit = bench.seconds_per_hit(times, time.perf_counter() - start)
            hits = sum(map(math.isfinite, times))
            print(
                f"{label:11} {target:10.1f} {rule:5.2f} {hits:>3}/{args.seeds:<2} "
                f"{bench.fmt_t(statistics.median(times)):>9} {bench.fmt_t(per_hit):>9}",
                flush=True,
            )


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        main()
