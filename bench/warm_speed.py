"""Warm speed and samples of the structured annealer: this tree against an earlier revision's
whole package, in the same run, on the same problems and seeds.

Each measurement is a fresh process (kernels loaded from a numba cache the revision filled
before, so nothing is compiled while timed) that anneals every problem below and prints, per
(problem, algorithm, seed), the moves per second of the sweeps and a digest of the samples and
energies.  The revisions alternate (before, after, before, ...) so that a slow spell of a shared
machine hits both; the table gives the median moves/s of each, their ratio, and whether the
samples are bit-identical (they must be where the change is one of speed only).

Problems: the trainer's default objective on ``examples/digits.qnn`` (hinge, 3 vs 8) and
``examples/digits10.qnn`` (multiclass, ten digits), ``examples/multiclass.qnn`` (a hidden layer
under the multiclass loss, 4x4 images) and ``digits.qnn`` under the 0-1 loss.

    python bench/warm_speed.py                          # against main
    python bench/warm_speed.py --before 628cd0a --repeats 5 --sweeps 400
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import hashlib, json, sys
import numpy as np
import qubonn
from qubonn.backends.native.structured import anneal_structured, model_from_problem
from qubonn.formulation import Objective
from qubonn.training.labels import encode_targets

root, sweeps, seeds = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3].split(",")]
cases = {  # name: (spec, classes, image size, loss)
    "digits hinge": ("examples/digits.qnn", [3, 8], 8, "auto"),
    "digits 0-1": ("examples/digits.qnn", [3, 8], 8, "01"),
    "digits10 multiclass": ("examples/digits10.qnn", list(range(10)), 8, "auto"),
    "multiclass 16-6-3": ("examples/multiclass.qnn", [0, 1, 2], 4, "auto"),
}
out = []
for name, (spec, classes, size, loss) in cases.items():
    net = qubonn.parse(open(f"{root}/{spec}").read())
    data = qubonn.datasets.digits(classes=classes, size=size, per_class=20, seed=0)
    T = encode_targets(data.y_train, list(data.classes), net.n_outputs)
    objective = Objective(loss=loss, margin="auto", hard_margin="auto").for_network(net)
    model = model_from_problem(qubonn.compile(net, data.X_train, T, objective=objective))
    for algorithm in ("sa", "pt"):
        for seed in seeds:
            r = anneal_structured(
                model, algorithm=algorithm, num_reads=16, num_sweeps=sweeps, seed=seed,
                device="cpu",
            )
            digest = hashlib.sha256(r.params.tobytes() + r.energies.tobytes()).hexdigest()[:16]
            rate = r.info["moves"] / r.info["timing"]["anneal_s"]
            out.append([name, algorithm, seed, rate, digest])
print(json.dumps(out))
"""


def tree_of(revision: str, folder: Path) -> Path:
    """The package of ``revision`` laid out for ``PYTHONPATH`` (``backends/`` is installed as
    ``qubonn.backends``); the examples come along for the problems."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "qubonn", "backends", "examples"],
        check=True, capture_output=True,
    ).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "backends").rename(folder / "qubonn" / "backends")
    return folder


def run_child(code: str, tree: Path | None, cache: str, *args: object):
    """One child process running ``code`` on ``tree`` (None: this tree, as installed) with its
    own numba cache; the JSON of its last line."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    res = subprocess.run(  # cwd elsewhere: the script's folder would shadow PYTHONPATH
        [sys.executable, "-c", code, str(tree or ROOT), *map(str, args)],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
    )
    if res.returncode:
        raise SystemExit(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(tree: Path | None, cache: str, sweeps: int, seeds: str) -> list:
    """One child process on ``tree`` (None: this tree, as installed); its rows."""
    return run_child(CHILD, tree, cache, sweeps, seeds)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main", help="git revision to compare with (main)")
    ap.add_argument("--sweeps", type=int, default=300)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(
        f"# before = {args.before}, after = this tree; 16 reads, {args.sweeps} sweeps, seeds "
        f"{args.seeds}, {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}"
    )
    with tempfile.TemporaryDirectory() as folder:
        trees = {"before": tree_of(args.before, Path(folder) / "before"), "after": None}
        caches = {name: tempfile.mkdtemp(dir=folder) for name in trees}
        for name, tree in trees.items():  # fill the caches, untimed
            run(tree, caches[name], 1, "0")
        rows: dict[str, list[list]] = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                rows[name].append(run(tree, caches[name], args.sweeps, args.seeds))
    keys = [tuple(r[:2]) for r in rows["after"][0]]
    print(f"{'problem':22} {'alg':3} {'before moves/s':>15} {'after moves/s':>15} "
          f"{'ratio':>6} identical")
    for key in dict.fromkeys(keys):
        rate = {
            name: statistics.median(r[3] for rep in reps for r in rep if tuple(r[:2]) == key)
            for name, reps in rows.items()
        }
        digests = {
            name: [r[4] for rep in reps for r in rep if tuple(r[:2]) == key]
            for name, reps in rows.items()
        }
        same = digests["before"] == digests["after"]
        print(f"{key[0]:22} {key[1]:3} {rate['before']:15,.0f} {rate['after']:15,.0f} "
              f"{rate['after'] / rate['before']:6.3f} {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
