"""The "auto" multiclass margins on tasks they were not chosen on.

``hard_margin="auto"`` and ``margin="auto"`` are m = 3 and mu = 0.5 under the multiclass loss,
chosen on validation images of the 64-10-10 ten-class task (bench/multiclass.py).  This script
checks that choice on other class sets, image sizes and networks: for each task and setting
(m, mu), the mean validation accuracy over seeds (the training images a ``per_class`` split
leaves unused; never the test set), with the structured native annealer and the classifier's
other defaults.

    .venv/bin/python bench/multiclass_auto.py              # 4 tasks x 5 settings x seeds 10-14
    .venv/bin/python bench/multiclass_auto.py --seeds 1 --tasks 16-6-3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import qubonn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runs import validation_images  # noqa: E402

#: name -> (classes, image size, spec)
TASKS = {
    "16-6-3": ((0, 1, 7), 4, "input p[4x4]\nhidden h[6] <- p\noutput y[3] <- h\n"),
    "16-8-4": ((2, 3, 5, 8), 4, "input p[4x4]\nhidden h[8] <- p\noutput y[4] <- h\n"),
    "16-10-10": (tuple(range(10)), 4, "input p[4x4]\nhidden h[10] <- p\noutput y[10] <- h\n"),
    "64-4-3": ((1, 4, 9), 8, "input p[8x8]\nhidden h[4] <- p\noutput y[3] <- h\n"),
}
SETTINGS = [(0, 0.0), (0, 0.2), (1, 0.5), (2, 0.5), (3, 0.5)]


def validation_accuracy(task: str, m: int, mu: float, seed: int, per_class: int) -> float:
    classes, size, spec = TASKS[task]
    data = qubonn.datasets.digits(classes=classes, per_class=per_class, size=size, seed=seed)
    clf = qubonn.BNNClassifier(qubonn.parse(spec), hard_margin=m, margin=mu, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-prediction warnings of the no-margin rows
        clf.fit(data.X_train, data.y_train)
    return clf.score(*validation_images(classes, per_class, seed, size))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    p.add_argument("--seeds", type=int, default=5, help="seeds 10, 11, ... (5)")
    p.add_argument("--per-class", type=int, default=10, help="training images per class (10)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.per_class < 1:
        p.error("--seeds and --per-class must be >= 1")
    print(f"# bench/multiclass_auto.py on {platform.node()}, python {platform.python_version()}")
    print(f"# validation accuracy %, mean of seeds 10-{9 + args.seeds}, {args.per_class}/class\n")
    print("| task | classes | " + " | ".join(f"m{m} mu{mu}" for m, mu in SETTINGS) + " | s |")
    print("|---|---|" + "---|" * (len(SETTINGS) + 1), flush=True)
    for task in args.tasks:
        t0 = time.perf_counter()
        means = [
            100
            * statistics.mean(
                validation_accuracy(task, m, mu, 10 + s, args.per_class) for s in range(args.seeds)
            )
            for m, mu in SETTINGS
        ]
        best = max(means)
        cells = [f"**{v:.1f}**" if v == best else f"{v:.1f}" for v in means]
        classes = "/".join(map(str, TASKS[task][0])) if len(TASKS[task][0]) < 10 else "0-9"
        elapsed = time.perf_counter() - t0
        print(f"| {task} | {classes} | " + " | ".join(cells) + f" | {elapsed:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
