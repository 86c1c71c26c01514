"""Integer inputs and ternary weights, end to end: 8x8 digits (pixels 0..16) of two classes,
trained by BNNClassifier with the structured native annealer, against the same network on
binarised pixels (+-1, threshold 8) with binary weights.

    python bench/domains_e2e.py --seeds 3 --classes 3 8

Prints, per variant: train and test accuracy, links kept and fit time (medians over seeds;
each seed is a different stratified split and solver seed).  No tuning: margin "auto",
default reads and sweeps.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import qubonn

VARIANTS = {
    # name: (spec, integer pixels?, sparsity)
    "binary inputs, binary weights": (
        "input x[8x8]\nhidden h[8] <- x\noutput y[1] <- h", False, 0.0),
    "pixels 0..16, ternary hidden": (
        "input x[8x8] values 0..16\nhidden h[8] <- x ternary\noutput y[1] <- h", True, 0.0),
    "pixels 0..16, ternary hidden, sparsity 0.002": (
        "input x[8x8] values 0..16\nhidden h[8] <- x ternary\noutput y[1] <- h", True, 0.002),
}


def run(name: str, seed: int, classes: tuple[int, int]) -> dict:
    spec, integer, sparsity = VARIANTS[name]
    digits = load_digits()
    keep = np.isin(digits.target, classes)
    X, y = digits.data[keep].astype(np.int64), (digits.target[keep] == classes[1]).astype(int)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    if not integer:
        Xtr, Xte = np.where(Xtr >= 8, 1, -1), np.where(Xte >= 8, 1, -1)
    net = qubonn.parse(spec)
    clf = qubonn.BNNClassifier(net, sparsity=sparsity, random_state=seed)
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr)
    fit_s = time.perf_counter() - t0
    return {"train": clf.score(Xtr, ytr), "test": clf.score(Xte, yte), "fit_s": fit_s,
            "links": net.n_links(clf.weights_)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--classes", type=int, nargs=2, default=(3, 8))
    args = ap.parse_args()
    for name in list(VARIANTS)[:2]:  # kernels compiled / loaded once (+-1 and integer inputs)
        run(name, 0, tuple(args.classes))
    print(f"digits {args.classes[0]} vs {args.classes[1]}, {args.seeds} seeds (medians)")
    print(f"{'variant':48s} {'train':>6s} {'test':>6s} {'links':>6s} {'fit s':>6s}")
    for name in VARIANTS:
        rows = [run(name, s, tuple(args.classes)) for s in range(args.seeds)]
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"{name:48s} {med['train']:6.3f} {med['test']:6.3f} {med['links']:6.0f} "
              f"{med['fit_s']:6.1f}")
        print("   per seed test:", " ".join(f"{r['test']:.3f}" for r in rows),
              " fit s:", " ".join(f"{r['fit_s']:.1f}" for r in rows))


if __name__ == "__main__":
    main()
