"""What the accuracy benches share: run the jobs in worker processes (printing each row as it
finishes), write the rows with the run's metadata as JSON, and the validation images of a
few-shot split."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


def run_jobs(run_one: Callable[[tuple], dict], jobs: list[tuple], workers: int) -> list[dict]:
    """``run_one`` over ``jobs`` in ``workers`` processes, in order; each row printed as JSON."""
    rows = []
    with ProcessPoolExecutor(workers) as pool:
        for row in pool.map(run_one, jobs):
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def write_results(
    path: str, rows: list[dict], started: float, args: argparse.Namespace, skip: tuple = ()
) -> None:
    """The rows and the run's date, machine, Python, wall time and settings (minus ``skip``)."""
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "wall_s": time.perf_counter() - started,
        "settings": {k: v for k, v in vars(args).items() if k not in skip},
    }
    with open(path, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)


def validation_images(classes: tuple[int, ...], per_class: int, seed: int, size: int = 8):
    """(X, y) of the training images that ``digits(classes, per_class=per_class, size, seed)``
    leaves unused: a validation set for choosing settings, never fitted, disjoint from the test.

    ``digits(per_class=n)`` keeps the first n training images of each class of the full split
    with the same seed, so the rest of that split's training images are these."""
    import numpy as np

    import qubonn

    full = qubonn.datasets.digits(classes=classes, size=size, seed=seed)
    keep = np.concatenate([np.flatnonzero(full.y_train == c)[per_class:] for c in classes])
    return full.X_train[keep], full.y_train[keep]
