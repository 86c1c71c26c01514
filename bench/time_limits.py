"""time_limit kept by every backend that takes one: wall time / limit on a training problem.

Each backend is called once untimed (imports, numba's cache, the sampler's set-up), then timed
with ``time_limit`` (and a ``num_reads`` / ``num_sweeps`` budget far beyond it, so that the
limit is what ends the run).  Prints the median wall / limit per backend and limit; the target
is at most 1.1 plus the documented start-up (docs/native-annealer.md, "Time limits").

    python bench/time_limits.py --limits 2 5 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import qubonn
from qubonn.backends import backends_available, get_backend

#: backend -> options that make a run far longer than any limit here
LONG = {
    "native": {"num_reads": 16},  # a time limit alone: the anneal follows it
    "neal": {"num_reads": 16, "num_sweeps": 10**6},
    "openjij-sa": {"num_reads": 10**4},  # its unit is a whole read: default sweeps
    "openjij-sqa": {"num_reads": 10**4},
    "tabu": {"num_reads": 256, "timeout": 10**6},
    "cpsat": {},
}


def training_problem(per_class: int):
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=per_class, seed=0)
    # a soft margin: without one the native annealer reaches the proven optimum (objective 0)
    # within a second and stops, which times nothing
    return qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limits", type=float, nargs="+", default=[2.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--per-class", type=int, default=20)
    ap.add_argument("--backends", nargs="+", default=list(LONG))
    args = ap.parse_args()
    problem = training_problem(args.per_class)
    print(
        f"problem: {problem.n_variables:,} variables (digits 3 vs 8, {args.per_class}/class, "
        "margin 0.2)"
    )
    available = {info.name: info.available for info in backends_available()}
    warnings.simplefilter("ignore")
    for name in args.backends:
        if not available.get(name, False):
            print(f"{name}: not available here")
            continue
        get_backend(name)  # import outside the clock
        qubonn.solve(problem, backend=name, time_limit=0.1, **LONG[name])  # set-up, caches
        for limit in args.limits:
            ratios = []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                qubonn.solve(problem, backend=name, time_limit=limit, seed=r, **LONG[name])
                ratios.append((time.perf_counter() - t0) / limit)
            print(
                f"{name:12s} limit {limit:5.1f} s: wall/limit median "
                f"{statistics.median(ratios):.2f} (max {max(ratios):.2f}, {len(ratios)} runs)",
                flush=True,
            )


if __name__ == "__main__":
    main()
