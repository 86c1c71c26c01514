"""The structured annealer's kernel compile alone: CPU seconds and numba's own pass times, per
kind of problem.

The kernel is compiled once per kind of problem: numba prunes the code of what a problem lacks
(carries between neurons; multiclass outputs).  Each measurement is a fresh process with an
empty ``NUMBA_CACHE_DIR`` that builds the trainer's problem of one kind and calls the sweep
kernel once (its probe mode, as the annealer's first call does), timing that call in CPU
seconds; numba's pipeline times say where the compile went (``inline_inlinables`` is numba's IR
inliner, ``native_lowering`` the LLVM IR and machine code).  With ``--before REV`` an earlier
revision's package runs beside this tree, alternating; medians of ``--repeats``.
``bench/first_run.py`` times the whole first ``qubonn train``.

    python bench/kernel_compile.py --before 89e80b8 --repeats 3

Kinds: ``digits`` (examples/digits.qnn, 64-4-1, hinge: carries), ``perceptron`` (64-1, hinge:
neither; MNIST's one-vs-one members are such), ``digits10`` (64-10, multiclass outputs, no
carries), ``multiclass`` (examples/multiclass.qnn, 16-6-3: both).
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

root, kind = sys.argv[1], sys.argv[2]
spec, classes, size = {
    "digits": ("examples/digits.qnn", [3, 8], 8),
    "perceptron": (None, [3, 8], 8),
    "digits10": ("examples/digits10.qnn", list(range(10)), 8),
    "multiclass": ("examples/multiclass.qnn", [0, 1, 2], 4),
}[kind]
text = open(f"{root}/{spec}").read() if spec else "input x[8x8]\noutput y[1] <- x\n"
net = qubonn.parse(text)
data = qubonn.datasets.digits(classes=classes, size=size, per_class=20, seed=0)
T = encode_targets(data.y_train, list(data.classes), net.n_outputs)
objective = Objective(loss="auto", margin="auto", hard_margin="auto").for_network(net)
model = model_from_problem(qubonn.compile(net, data.X_train, T, objective=objective))
state = state_from_params(model, random_params(model, 1, 0))
c0 = time.process_time()
move_deltas(model, state)
out = {"compile": time.process_time() - c0}
times = ks.sweeps.get_metadata(ks.sweeps.signatures[-1])["pipeline_times"]
for passes in times.values():
    for name, t in passes.items():
        name = name.split("_", 1)[1]
        out[name] = out.get(name, 0.0) + t.init + t.run + t.finalize
print(json.dumps(out))
"""

KINDS = ("digits", "perceptron", "digits10", "multiclass")
SHOWN = ("inline_inlinables", "native_lowering", "reconstruct_ssa", "nopython_type_inference",
         "nopython_rewrites")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="git revision to run beside this tree")
    ap.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"# {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}; CPU seconds, "
          f"medians of {args.repeats}, each in a fresh process with an empty numba cache")
    columns = ("compile", *SHOWN, "other passes")
    print(f"{'kind':>11}{'revision':>11}" + "".join(f"{c[:16]:>17}" for c in columns))
    with tempfile.TemporaryDirectory() as folder:
        trees: dict[str, Path | None] = {"this tree": None}
        if args.before:
            trees = {args.before: tree_of(args.before, Path(folder) / "before"), **trees}
        for kind in args.kinds:
            runs: dict[str, list[dict]] = {name: [] for name in trees}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    with tempfile.TemporaryDirectory(dir=folder) as cache:
                        runs[name].append(run_child(CHILD, tree, cache, kind))
            med = {}
            for name, rows in runs.items():
                for row in rows:
                    row["other passes"] = sum(v for k, v in row.items() if k not in columns)
                med[name] = {c: statistics.median(row.get(c, 0.0) for row in rows)
                             for c in columns}
                print(f"{kind:>11}{name:>11}" + "".join(f"{med[name][c]:17.2f}" for c in columns))
            if args.before:
                ratio = med["this tree"]["compile"] / med[args.before]["compile"]
                print(f"{kind:>11}{'ratio':>11}{ratio:17.2f}")


if __name__ == "__main__":
    main()
