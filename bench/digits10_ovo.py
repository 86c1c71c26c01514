"""Ten 8x8 digits, 10 images per class: one network (64-10, 64-10-10) against a one-vs-one
ensemble of 64-1 perceptrons, scored on validation images (the training pool's unused images,
``_runs.validation_images``) or on the test split.

Single networks train with ``BNNClassifier``'s defaults (the multiclass loss, "auto" margins);
ensemble members with the hinge loss, soft margin 0.2, ``--hard-margin``, 4 reads x 200 sweeps.

    nice python bench/digits10_ovo.py --split val --seed0 100 --seeds 3 --configs 64-10 64-10-10 ovo
    nice python bench/digits10_ovo.py --split val --seed0 100 --configs ovo --hard-margin 8
    nice python bench/digits10_ovo.py --split test --seeds 5 --configs 64-10 ovo --hard-margin 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runs import validation_images  # noqa: E402

SPECS = {
    "64-10": "input x[8x8]\noutput y[10] <- x",
    "64-10-10": "input x[8x8]\nhidden h[10] <- x\noutput y[10] <- h",
    "ovo": "input x[8x8]\noutput y[1] <- x",
}
CLASSES = tuple(range(10))


def score(config: str, seed: int, args: argparse.Namespace) -> tuple[float, float]:
    """(accuracy, fit seconds) of one configuration on one seed's split."""
    import qubonn
    from qubonn.training import BNNClassifier, ovo_classifier

    data = qubonn.datasets.digits(classes=CLASSES, per_class=10, seed=seed)
    clf = BNNClassifier(qubonn.parse(SPECS[config]), random_state=seed)
    if config == "ovo":
        clf.set_params(margin=0.2, hard_margin=args.hard_margin, num_reads=4,
                       solver_options={"num_sweeps": 200})
        clf = ovo_classifier(clf)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(data.X_train, data.y_train)
    fit_s = time.perf_counter() - t0
    if args.split == "val":
        X, y = validation_images(CLASSES, 10, seed)
    else:
        X, y = data.X_test, data.y_test
    return float(clf.score(X, y)), fit_s


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", choices=sorted(SPECS), default=sorted(SPECS))
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--hard-margin", type=int, default=0, help="ensemble members' hard margin")
    args = ap.parse_args(argv)
    for config in args.configs:
        runs = [score(config, s, args) for s in range(args.seed0, args.seed0 + args.seeds)]
        acc = [100 * a for a, _ in runs]
        print(json.dumps({
            "config": config, "split": args.split,
            "hard_margin": args.hard_margin if config == "ovo" else "auto",
            "acc": [round(a, 1) for a in acc], "mean": round(statistics.mean(acc), 1),
            "sd": round(statistics.stdev(acc), 1) if len(acc) > 1 else 0.0,
            "fit_s": [round(t) for _, t in runs],
        }), flush=True)


if __name__ == "__main__":
    main()
