"""Ten classes: the multiclass loss against one-vs-rest (plain and class-balanced) and STE.

Binarised 8x8 digits, all ten classes: 10 training images per class, and every training image
(about 1,350).  QUBO training with the structured annealer (the trainer's default backend) under
three losses, side by side with the STE gradient baseline on the same network and split:

* ``multiclass``    the pairwise squared hinge on the outputs' pre-activations (arg-max);
* ``ovr``           one-vs-rest squared hinge (each output clamped to its label);
* ``ovr-balanced``  the same with ``class_weight="balanced"``;
* ``ste``           straight-through-estimator gradient training (qubonn.training.ste);
* ``multiclass-ste``  the multiclass QUBO annealed from the STE network (``initial_states``)
  at cold temperatures (``beta_range=(1, 1000)``): a hybrid, for reference.

Every QUBO method uses the soft margin of ``qubonn train`` (mu = 0.2, fan-in scaled).  Each fit
is bounded: ``--sweeps`` per solve on 10 images per class, ``--time-limit`` seconds per solve on
every image (the annealing schedule then follows the clock).  Test accuracy is the solver's own best
network, replayed.

``--hard-margin`` and ``--mu`` set the margins (``qubonn train`` uses 3 and 0.5 under the
multiclass loss; this script's defaults, 0 and 0.2, are the earlier rows); ``--tag`` labels a
setting in the table, ``--seed0`` moves the seeds.  At 10 images per class every row also reports
the accuracy on the split's unused training images (``valid``), for choosing settings without the
test set.

    python bench/multiclass.py --seeds 10 --jobs 2 --out docs/multiclass.json
    python bench/multiclass.py --seeds 10 --tasks 10/class --hard-margin 3 --mu 0.5 --tag m3
    python bench/multiclass.py --summary docs/multiclass.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runs import run_jobs, validation_images, write_results  # noqa: E402

NETWORKS = {
    "64-10-10": "input pixels[8x8]\nhidden h[10] <- pixels\noutput y[10] <- h\n",
    "local+10": (
        "input pixels[8x8]\nhidden local[3x3] <- pixels window 4x4 stride 2\n"
        "hidden h[10] <- pixels\noutput y[10] <- h, local\n"
    ),
    "64-20-10": "input pixels[8x8]\nhidden h[20] <- pixels\noutput y[10] <- h\n",
}
METHODS = ("multiclass", "ovr", "ovr-balanced", "ste", "multiclass-ste")
#: (task, images per class or None for every training image)
TASKS = {"10/class": 10, "all": None}
LOSSES = {
    "multiclass": dict(loss="multiclass"),
    "multiclass-ste": dict(loss="multiclass"),
    "ovr": dict(loss="hinge"),
    "ovr-balanced": dict(loss="hinge", class_weight="balanced"),
}


def run_one(job: tuple) -> dict:
    import qubonn
    from qubonn.training import BNNClassifier, STEClassifier

    task, net_name, method, seed, args = job
    data = qubonn.datasets.digits(classes=tuple(range(10)), per_class=TASKS[task], seed=seed)
    net = qubonn.parse(NETWORKS[net_name])
    row = {"task": task, "network": net_name, "method": method, "seed": seed}
    row["n_train"] = int(len(data.y_train))
    row["tag"] = args.tag
    t0 = time.perf_counter()
    if method == "ste":
        clf = STEClassifier(net, random_state=seed).fit(data.X_train, data.y_train)
    else:
        if method == "multiclass-ste":
            import numpy as np

            w = STEClassifier(net, random_state=seed).fit(data.X_train, data.y_train).weights_
            start = np.concatenate([w.w, w.b[net.has_bias]]).astype(np.int8)[None, :]
            warm = {"initial_states": start, "beta_range": (1.0, 1000.0)}
        else:
            warm = {}
        # few images: a fixed number of sweeps; every image: the schedule follows the clock
        few = TASKS[task] is not None
        options = {"num_sweeps": args.sweeps} if few else {"time_limit": args.time_limit}
        clf = BNNClassifier(
            net,
            margin=args.mu,
            margin_scale="fan_in",
            hard_margin=args.hard_margin,
            loss_weight=args.loss_weight,
            num_reads=args.reads if few else args.reads_all,
            random_state=seed,
            solver_options={**options, **warm},
            **LOSSES[method],
        )
        clf.fit(data.X_train, data.y_train)
        final = clf.history_[-1]
        row.update(objective=final["objective"], sweeps=clf.sampleset_.info.get("num_sweeps"))
        row["valid_share"] = final["valid_share"]
    row["fit_s"] = time.perf_counter() - t0
    row["train"] = clf.score(data.X_train, data.y_train)
    row["test"] = clf.score(data.X_test, data.y_test)
    if TASKS[task] is not None:  # a few-shot split: its unused training images validate
        X_val, y_val = validation_images(tuple(range(10)), TASKS[task], seed)
        row["val"] = clf.score(X_val, y_val)
    return row


def summarise(rows: list[dict]) -> str:
    """Test accuracy (mean ± sd, median) and median fit time per task, network and method."""
    lines = [
        "| task | network | method | setting | seeds | test % mean ± sd | median | train % "
        "| valid % | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(r["task"], r["network"], r["method"], r.get("tag", "")) for r in rows},
        key=lambda k: (
            list(TASKS).index(k[0]),
            list(NETWORKS).index(k[1]),
            METHODS.index(k[2]),
            k[3],
        ),
    )
    for task, net, method, tag in keys:
        sel = [
            r
            for r in rows
            if (r["task"], r["network"], r["method"], r.get("tag", "")) == (task, net, method, tag)
        ]
        test = [100 * r["test"] for r in sel]
        sd = statistics.stdev(test) if len(test) > 1 else 0.0
        train = statistics.mean(100 * r["train"] for r in sel)
        fit = statistics.median(r["fit_s"] for r in sel)
        val = [100 * r["val"] for r in sel if "val" in r]
        val_text = f"{statistics.mean(val):.1f}" if val else "-"
        lines.append(
            f"| {task} | {net} | {method} | {tag or '-'} | {len(sel)} "
            f"| {statistics.mean(test):.1f} ± {sd:.1f} | {statistics.median(test):.1f} "
            f"| {train:.1f} | {val_text} | {fit:.1f} |"
        )
    return "\n".join(lines)


#: the figure's names of the settings (untagged multiclass rows ran the old margins m0 mu0.2)
_SETTING_NAMES = {
    "multiclass": "multiclass m0 mu0.2",
    "m0mu0.2": "multiclass m0 mu0.2",
    "m3mu0.5": "multiclass m3 mu0.5",
    "m3mu0.5-r4": "multiclass m3 mu0.5",
    "m3mu0.5-r2": "multiclass m3 mu0.5, 2 reads",
    "STE": "ste",
}


def _figure_groups(rows: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Test accuracies (%) by task and network + setting, the confirmation runs only (seeds
    0-9; the margin search's validation seeds 10-14 are left out), each seed once."""
    groups: dict[str, dict[str, list[float]]] = {}
    seen = set()
    for r in rows:
        tag = r.get("tag", "")
        if tag.startswith("seeds 10-14"):
            continue
        setting = tag.split(": ", 1)[-1] if tag else r["method"]
        label = f"{r['network']}: {_SETTING_NAMES.get(setting, setting)}"
        if (r["task"], label, r["seed"]) in seen:
            continue
        seen.add((r["task"], label, r["seed"]))
        groups.setdefault(r["task"], {}).setdefault(label, []).append(100 * r["test"])
    return groups


def plot(paths: list[str], figure: str) -> None:
    """Test accuracy (mean, sd bars) by task and setting from result files, into ``figure``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for path in paths for r in json.load(open(path))["rows"]]
    groups = _figure_groups(rows)
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4), squeeze=False)
    for ax, (task, by_label) in zip(axes[0], sorted(groups.items()), strict=True):
        labels = sorted(by_label, key=lambda k: (k.endswith("ste"), k))
        means = [statistics.mean(by_label[k]) for k in labels]
        sds = [statistics.stdev(by_label[k]) if len(by_label[k]) > 1 else 0 for k in labels]
        ax.bar(range(len(labels)), means, yerr=sds, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"ten classes, {task} training images (mean, sd over seeds)")
    fig.tight_layout()
    fig.savefig(figure, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reads", type=int, default=8)
    ap.add_argument("--reads-all", type=int, default=4, help="reads on every image")
    ap.add_argument("--sweeps", type=int, default=1000, help="sweeps per solve (few images)")
    ap.add_argument(
        "--time-limit", type=float, default=50.0, help="seconds per solve (every image)"
    )
    ap.add_argument("--mu", type=float, default=0.2, help="soft margin (fan-in scaled)")
    ap.add_argument("--hard-margin", type=int, default=0, help="hard margin m (M = 2m + 1)")
    ap.add_argument("--loss-weight", type=float, default=1.0, help="loss weight L")
    ap.add_argument("--seed0", type=int, default=0, help="first seed")
    ap.add_argument("--tag", default="", help="a label for this run's setting in the table")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--networks", default="64-10-10")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="multiclass.json")
    ap.add_argument("--summary", help="only summarise this results file")
    ap.add_argument("--plot", nargs="+", help="only plot these results files (to --figure)")
    ap.add_argument("--figure", default="multiclass.png", help="the figure --plot writes")
    args = ap.parse_args()
    if args.plot:
        plot(args.plot, args.figure)
        return
    if args.summary:
        print(summarise(json.load(open(args.summary))["rows"]))
        return
    for name, valid in (("tasks", TASKS), ("networks", NETWORKS), ("methods", METHODS)):
        bad = set(getattr(args, name).split(",")) - set(valid)
        if bad:
            ap.error(f"unknown {name} {sorted(bad)}; valid: {', '.join(valid)}")
    jobs = [
        (task, net, method, seed, args)
        for task in args.tasks.split(",")
        for net in args.networks.split(",")
        for seed in range(args.seed0, args.seed0 + args.seeds)
        for method in args.methods.split(",")
    ]
    t0 = time.perf_counter()
    rows = run_jobs(run_one, jobs, args.jobs)
    write_results(args.out, rows, t0, args, skip=("summary", "plot", "figure"))
    print(summarise(rows))


if __name__ == "__main__":
    main()
