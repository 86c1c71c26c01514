"""The structured annealer's kernel compile alone: CPU seconds and numba's own pass times.

Each measurement is a fresh process with an empty ``NUMBA_CACHE_DIR`` that builds the trainer's
problem of ``examples/digits.qnn`` and calls the sweep kernel once (its probe mode, as the
annealer's first call does), timing that call in CPU seconds; numba's pipeline times say where
the compile went (``inline_inlinables`` is numba's IR inliner, ``native_lowering`` the LLVM IR
and machine code).  With ``--before REV`` an earlier revision's package runs beside this tree,
alternating; medians of ``--repeats``.  ``bench/first_run.py`` times the whole first
``qubonn train``.

    python bench/kernel_compile.py --before 89e80b8 --repeats 3
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
import numpy as np
import qubonn
from qubonn.backends.native import _kernels_structured as ks
from qubonn.backends.native.structured import (
    model_from_problem, move_deltas, random_params, state_from_params,
)
from qubonn.formulation import Objective
from qubonn.training.labels import encode_targets

net = qubonn.parse(open(sys.argv[1] + "/examples/digits.qnn").read())
data = qubonn.datasets.digits(classes=[3, 8], per_class=20, seed=0)
T = encode_targets(data.y_train, list(data.classes), net.n_outputs)
objective = Objective(loss="auto", margin="auto", hard_margin="auto").for_network(net)
model = model_from_problem(qubonn.compile(net, data.X_train, T, objective=objective))
state = state_from_params(model, random_params(model, 1, 0))
c0 = time.process_time()
move_deltas(model, state)
out = {"compile": time.process_time() - c0}
times = ks.sweeps.get_metadata(ks.sweeps.signatures[0])["pipeline_times"]
for passes in times.values():
    for name, t in passes.items():
        name = name.split("_", 1)[1]
        out[name] = out.get(name, 0.0) + t.init + t.run + t.finalize
print(json.dumps(out))
"""

SHOWN = ("inline_inlinables", "native_lowering", "reconstruct_ssa", "nopython_type_inference",
         "nopython_rewrites")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="git revision to run beside this tree")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"# {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}; CPU seconds, "
          f"medians of {args.repeats}, each in a fresh process with an empty numba cache")
    with tempfile.TemporaryDirectory() as folder:
        trees: dict[str, Path | None] = {"this tree": None}
        if args.before:
            trees = {args.before: tree_of(args.before, Path(folder) / "before"), **trees}
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                with tempfile.TemporaryDirectory(dir=folder) as cache:
                    runs[name].append(run_child(CHILD, tree, cache))
    columns = ("compile", *SHOWN, "other passes")
    print(f"{'revision':>12}" + "".join(f"{c[:16]:>17}" for c in columns))
    for name, rows in runs.items():
        for row in rows:
            row["other passes"] = sum(v for k, v in row.items() if k not in columns)
        med = {c: statistics.median(row.get(c, 0.0) for row in rows) for c in columns}
        print(f"{name:>12}" + "".join(f"{med[c]:17.2f}" for c in columns))
    if args.before:
        old, new = (statistics.median(r["compile"] for r in rows) for rows in runs.values())
        print(f"compile, this tree / {args.before}: {new / old:.2f}")


if __name__ == "__main__":
    main()
