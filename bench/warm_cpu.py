"""Warm cost of the structured annealer in CPU seconds: this tree against an earlier revision's
whole package, alternating processes, each with the kernel already in its numba cache.

CPU seconds (all threads of the process) are the steady measure on a shared machine, where
wall times follow the load.  Per process: the first call (the kernel loaded from the cache),
then 1000 sweeps of 16 replicas by annealing and by parallel tempering, on the trainer's default
problem of ``examples/digits.qnn`` (hinge, digits 3 vs 8, 20 images per class).

    python bench/warm_cpu.py --before 628cd0a --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warm_speed import run_child, tree_of  # noqa: E402

CHILD = r"""
import json, sys, time
import qubonn
from qubonn.backends.native.structured import anneal_structured, model_from_problem
from qubonn.formulation import Objective
from qubonn.training.labels import encode_targets

net = qubonn.parse(open(sys.argv[1] + "/examples/digits.qnn").read())
data = qubonn.datasets.digits(classes=[3, 8], per_class=20, seed=0)
T = encode_targets(data.y_train, list(data.classes), net.n_outputs)
objective = Objective(loss="auto", margin="auto", hard_margin="auto").for_network(net)
model = model_from_problem(qubonn.compile(net, data.X_train, T, objective=objective))
out = {}
c0 = time.process_time()
anneal_structured(model, num_reads=16, num_sweeps=1, seed=0, device="cpu")
out["first call"] = time.process_time() - c0
for algorithm in ("sa", "pt"):
    c0 = time.process_time()
    anneal_structured(model, algorithm=algorithm, num_reads=16, num_sweeps=1000, seed=0,
                      device="cpu")
    out[f"1000 sweeps, {algorithm}"] = time.process_time() - c0
print(json.dumps(out))
"""


def run(tree: Path | None, cache: str) -> dict:
    return run_child(CHILD, tree, cache)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main", help="git revision to compare with (main)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"# before = {args.before}, after = this tree; {os.cpu_count()} CPUs; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as folder:
        trees = {"before": tree_of(args.before, Path(folder) / "before"), "after": None}
        caches = {name: tempfile.mkdtemp(dir=folder) for name in trees}
        for name, tree in trees.items():  # fill the caches, untimed
            run(tree, caches[name])
        rows: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                rows[name].append(run(tree, caches[name]))
    print(f"{'CPU seconds (median of ' + str(args.repeats) + ')':32} {'before':>8} {'after':>8} "
          f"{'ratio':>6}")
    for key in rows["after"][0]:
        b, a = (statistics.median(r[key] for r in rows[name]) for name in trees)
        print(f"{key:32} {b:8.3f} {a:8.3f} {a / b:6.3f}")


if __name__ == "__main__":
    main()
