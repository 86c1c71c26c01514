"""Compile speed and memory: the fast engine against the PyQUBO engine, side by side.

Each measurement runs in a fresh subprocess, so peak memory (max RSS) is the compile's own.
PyQUBO runs are skipped, and reported as such, where their estimated memory passes the budget
or they pass the time limit.

    python bench/compile.py                      # N = 50, 200, 1000, 5000, then fast at 100,000
    python bench/compile.py --sizes 50 200 --big 0 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

NETWORKS = {
    "digits 64-4-1": "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n",
    "skip 64-4-1+skip": (
        "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h, pixels nobias\n"
    ),
}

CHILD = r"""
import json, resource, sys, time
import numpy as np
import qubonn
import qubonn.compiler, qubonn.problem, qubonn.compiler.symbolic  # imports are not compile time
spec, n, engine, with_bqm = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "bqm"
net = qubonn.parse(spec)
rng = np.random.default_rng(0)
X = rng.choice(np.array([-1, 1], dtype=np.int8), (n, net.n_inputs))
y = rng.choice([-1, 1], n)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
p = qubonn.compile(net, X, y, engine=engine, max_memory="1T")
if engine == "fast":
    quad = p.qubo().quadratic.nnz
    t1 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if with_bqm:
        bqm = p.bqm  # the same QUBO as a dimod BQM (string labels), for dimod samplers
else:
    bqm = p._symbolic_bqm()  # PyQUBO's own output: model.to_bqm(feed_dict)
    quad = bqm.num_interactions
    t1 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t2 = time.perf_counter()
print(json.dumps({"time": t1 - t0, "bqm_time": t2 - t0, "peak_mb": peak / 1024,
                  "base_mb": base / 1024, "vars": p.n_variables, "quad": quad}))
"""


def measure(spec: str, n: int, engine: str, timeout: float, with_bqm: bool = True) -> dict | None:
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, spec, str(n), engine, "bqm" if with_bqm else "-"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000, 5000])
    ap.add_argument(
        "--big", type=int, default=100_000, help="fast engine alone at this N (0: skip)"
    )
    ap.add_argument("--repeats", type=int, default=3, help="fast-engine repeats (median)")
    ap.add_argument("--pyqubo-timeout", type=float, default=300.0)
    ap.add_argument("--pyqubo-max-gb", type=float, default=12.0)
    args = ap.parse_args()

    import qubonn
    from qubonn.compiler import estimate

    machine = platform.processor() or platform.machine()
    date = time.strftime("%Y-%m-%d")
    print(f"# compile benchmark, {date}, {machine}, Python {platform.python_version()}")
    print(
        f"{'network':18} {'N':>6} {'vars':>9} {'couplings':>11} {'fast s':>7} {'+bqm s':>7} "
        f"{'fast MB':>8} {'pyqubo s':>9} {'pyqubo MB':>9} {'speed-up':>9} {'mem ratio':>9}"
    )
    for name, spec in NETWORKS.items():
        net = qubonn.parse(spec)
        for n in args.sizes:
            runs = [measure(spec, n, "fast", 600) for _ in range(args.repeats)]
            t_fast = statistics.median(r["time"] for r in runs)
            m_fast = statistics.median(r["peak_mb"] - r["base_mb"] for r in runs)
            est = estimate(net, n)
            if est.memory_pyqubo > args.pyqubo_max_gb * 2**30:
                slow, note = None, f"skipped: est. {est.memory_pyqubo / 2**30:.0f} GB"
            else:
                slow = measure(spec, n, "pyqubo", args.pyqubo_timeout)
                note = None if slow else f"skipped: > {args.pyqubo_timeout:.0f} s"
            r = runs[0]
            t_bqm = statistics.median(x["bqm_time"] for x in runs)
            head = (
                f"{name:18} {n:>6} {r['vars']:>9,} {r['quad']:>11,} {t_fast:>7.3f} {t_bqm:>7.2f} "
                f"{m_fast:>8.0f}"
            )
            if slow:
                m_slow = slow["peak_mb"] - slow["base_mb"]
                print(
                    f"{head} {slow['time']:>9.2f} {m_slow:>9.0f} {slow['time'] / t_fast:>8.0f}x "
                    f"{m_fast / m_slow:>9.3f}"
                )
            else:
                print(f"{head} {note:>30}")
            sys.stdout.flush()
    if args.big:
        spec = NETWORKS["digits 64-4-1"]
        r = measure(spec, args.big, "fast", 1800, with_bqm=False)
        print(
            f"fast engine alone, digits 64-4-1, N = {args.big:,}: {r['vars']:,} variables, "
            f"{r['quad']:,} couplings, {r['time']:.1f} s, peak {r['peak_mb'] / 1024:.1f} GB"
        )


if __name__ == "__main__":
    main()
