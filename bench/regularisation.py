"""The paper's experiment: do the margin and dropout regularisers help on unseen data?

Binarised 8x8 digits; class pairs 3-8, 1-7, 0-6 with 10 and 30 training images per class, and
the 10-class task with 10 per class; several seeds.  Methods: unregularised QUBO training, soft
margin, dropout scheme, both, and the STE gradient baseline on the same network and data.  The
QUBO methods score the solver's own best network (no polish), with the share of valid reads.

    python bench/regularisation.py --seeds 10 --jobs 2 --out docs/results.json
    python bench/regularisation.py --plot docs/results.json --figure docs/regularisation.png
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runs import run_jobs, write_results  # noqa: E402

BINARY_NET = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"
TEN_CLASS_NET = "input pixels[8x8]\nhidden h[10] <- pixels\noutput y[10] <- h\n"

TASKS = [
    ("3-8", (3, 8), 10),
    ("3-8", (3, 8), 30),
    ("1-7", (1, 7), 10),
    ("1-7", (1, 7), 30),
    ("0-6", (0, 6), 10),
    ("0-6", (0, 6), 30),
    ("10-class", tuple(range(10)), 10),
]
METHODS = ["plain", "margin", "dropout", "both", "ste"]
#: the pipeline before the structured mode (single-spin SA + the Python polish, 8 reads x 500
#: sweeps as in the run of 2026-11-28), on the same splits: ``--methods ...,margin-previous``
PREVIOUS = ["plain-previous", "margin-previous"]


def settings(method: str, args) -> dict:
    from qubonn.training import Dropout

    kw: dict = {}
    if method in ("margin", "both", "margin-previous"):
        kw.update(margin=args.mu, margin_scale="fan_in")
    if method in ("dropout", "both"):
        kw["dropout"] = Dropout(p=args.p, rounds=args.rounds, eta=args.eta, variant="iterative")
    return kw


def run_one(job: tuple) -> dict:
    import numpy as np

    import qubonn
    from qubonn.training import BNNClassifier, STEClassifier

    task, classes, per_class, method, seed, args = job
    data = qubonn.datasets.digits(classes=classes, per_class=per_class, seed=seed)
    net = qubonn.parse(TEN_CLASS_NET if len(classes) > 2 else BINARY_NET)
    row = {
        "task": task,
        "per_class": per_class,
        "method": method,
        "seed": seed,
        "n_train": int(len(data.y_train)),
        "n_test": int(len(data.y_test)),
    }
    t0 = time.perf_counter()
    if method in PREVIOUS:
        row.update(fit_previous(net, data, seed, settings(method, args)))
    elif method == "ste":
        clf = STEClassifier(net, random_state=seed).fit(data.X_train, data.y_train)
        row.update(
            train=clf.score(data.X_train, data.y_train), test=clf.score(data.X_test, data.y_test)
        )
    else:
        clf = BNNClassifier(
            net,
            backend=args.backend,
            num_reads=args.reads,
            solver_options={"num_sweeps": args.sweeps} if args.sweeps else None,
            random_state=seed,
            **settings(method, args),
        )
        clf.fit(data.X_train, data.y_train)
        final = clf.history_[-1]
        row.update(
            train=clf.score(data.X_train, data.y_train),
            test=clf.score(data.X_test, data.y_test),
            objective=final["objective"],
            variables=final["variables"],
            couplings=final["couplings"],
            solve_s=sum(h["solve_s"] for h in clf.history_),
            valid_share=float(np.mean([h["valid_share"] for h in clf.history_])),
        )
    row["seconds"] = time.perf_counter() - t0
    return row


def fit_previous(net, data, seed: int, objective: dict) -> dict:
    """Train as the trainer did until 2026-12-01: native single-spin SA, best read, polish."""
    import numpy as np
    from _previous_pipeline import pick_best, polish

    import qubonn
    from qubonn.formulation import objective_value
    from qubonn.training.labels import encode_targets
    from qubonn.training.metrics import predict_targets

    classes = list(np.unique(data.y_train))
    T = encode_targets(data.y_train, classes, net.n_outputs)
    problem = qubonn.compile(net, data.X_train, T, **objective)
    spin = {"mode": "spin", "num_reads": 8, "num_sweeps": 500, "seed": seed}
    ss = qubonn.solve(problem, backend="native", **spin)
    weights, _ = polish(problem, pick_best(problem, ss), seed=seed)
    f = problem.formulation

    def score(X, y) -> float:
        return float(np.mean(np.array(classes)[predict_targets(net, X, weights)] == y))

    return {
        "train": score(data.X_train, data.y_train),
        "test": score(data.X_test, data.y_test),
        "objective": objective_value(
            net, problem.X, f.targets, weights, f.objective, f.linear_penalties
        ),
        "variables": problem.n_variables,
        "valid_share": 1.0 - problem.broken_share(ss),
    }


def present(rows: list[dict]) -> list[str]:
    """The methods in ``rows``, in table order."""
    seen = {r["method"] for r in rows}
    return [m for m in METHODS + PREVIOUS if m in seen]


def summarise(rows: list[dict]) -> str:
    def fmt(values):
        if not values:
            return "-"
        m = statistics.mean(values)
        s = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * m:.1f} ± {100 * s:.1f}"

    methods = present(rows)
    qubo_methods = [m for m in methods if m != "ste"]
    lines = [
        "| task | per class | " + " | ".join(methods) + " | QUBO vars | solve s |",
        "|---|---|" + "---|" * len(methods) + "---|---|",
    ]
    valid = [
        "| task | per class | " + " | ".join(qubo_methods) + " |",
        "|---|---|" + "---|" * len(qubo_methods),
    ]
    for task, _, per_class in TASKS:
        sel = [r for r in rows if r["task"] == task and r["per_class"] == per_class]
        if not sel:
            continue
        cells = [fmt([r["test"] for r in sel if r["method"] == m]) for m in methods]
        sized = [r for r in sel if r["method"] == "plain"] or [r for r in sel if "variables" in r]
        vars_ = f"{sized[0]['variables']:,}" if sized else "-"
        solve = statistics.median([r["solve_s"] for r in sel if "solve_s" in r] or [0.0])
        lines.append(
            f"| {task} | {per_class} | " + " | ".join(cells) + f" | {vars_} | {solve:.1f} |"
        )
        cells = [
            f"{100 * statistics.mean(r['valid_share'] for r in sel if r['method'] == m):.0f}"
            for m in qubo_methods
            if any(r["method"] == m for r in sel)
        ]
        valid.append(f"| {task} | {per_class} | " + " | ".join(cells) + " |")
    return (
        "Test accuracy (%), mean ± standard deviation over seeds (the solver's own networks):"
        + "\n\n"
        + "\n".join(lines)
        + "\n\nValid reads (%), mean over seeds and solves:\n\n"
        + "\n".join(valid)
    )


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [
        f"{t}\n{k}/class"
        for t, _, k in TASKS
        if any(r["task"] == t and r["per_class"] == k for r in rows)
    ]
    fig, ax = plt.subplots(figsize=(11, 4.6))
    methods = present(rows)
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        means, errs = [], []
        for t, _, k in TASKS:
            vals = [
                r["test"]
                for r in rows
                if r["task"] == t and r["per_class"] == k and r["method"] == m
            ]
            if not any(r["task"] == t and r["per_class"] == k for r in rows):
                continue
            means.append(100 * np.mean(vals) if vals else np.nan)
            errs.append(100 * np.std(vals) if vals else 0)
        x = np.arange(len(means)) + (i - (len(methods) - 1) / 2) * width
        ax.bar(x, means, width, yerr=errs, label=m, capsize=2)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(ncol=len(methods), loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    ax.set_title("Binarised digits: QUBO training with and without regularisers, STE baseline")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--backend", default="native")
    ap.add_argument("--reads", type=int, default=16)
    ap.add_argument("--sweeps", type=int, help="solver sweeps (default: the backend's)")
    ap.add_argument("--mu", type=float, default=0.2, help="soft margin strength (fan-in scaled)")
    ap.add_argument("--p", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--tasks", default="all", help="comma-separated task names, or all")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    ap.add_argument("--out", default="results.json")
    ap.add_argument("--plot", help="only plot/summarise this results file")
    ap.add_argument("--figure", default="regularisation.png")
    args = ap.parse_args()
    unknown = set(args.methods.split(",")) - set(METHODS + PREVIOUS)
    if unknown:
        ap.error(f"unknown method(s) {sorted(unknown)}; valid: {', '.join(METHODS + PREVIOUS)}")
    if args.plot:
        doc = json.load(open(args.plot))
        print(summarise(doc["rows"]))
        plot(doc["rows"], args.figure)
        return
    wanted = None if args.tasks == "all" else set(args.tasks.split(","))
    jobs = [
        (t, c, k, m, s, args)
        for t, c, k in TASKS
        if not wanted or t in wanted
        for s in range(args.seeds)
        for m in args.methods.split(",")
    ]
    t0 = time.perf_counter()
    rows = run_jobs(run_one, jobs, args.jobs)
    write_results(args.out, rows, t0, args, skip=("plot",))
    print(summarise(rows))
    plot(rows, args.figure)


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        main()
