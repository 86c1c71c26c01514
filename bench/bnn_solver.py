"""The structured annealer against the previous pipeline, side by side on BNN training problems.

Pipelines, on the same compiled problem and seeds:

* ``spin-native+polish``: native single-spin SA on the QUBO, best read polished in Python (the
  trainer until 2026-12-01, ``bench/_previous_pipeline.py``);
* ``neal+polish``: dwave-samplers' SA, then the same polish;
* ``structured``: the native backend's structured mode with its defaults (what the trainer
  does now), and ``structured@equal-time``: the same with ``time_limit`` set to the median time
  of ``spin-native+polish``.

Per problem and objective it prints, as medians over seeds: the share of valid reads the solver
itself returned, the wall time, the best objective, and how often each pipeline reached the
*target* (the best objective of a long reference run: the structured mode with 8x the sweeps on
three seeds, or anything better any pipeline found); then the structured mode's time to target
(restarts with fresh seeds and doubling sweeps until it hits, ``--ttt-budget`` seconds at most),
the parameter moves evaluated per second by the polish and by the structured mode, and ratios.

    .venv/bin/python bench/bnn_solver.py                       # every problem, 7 seeds
    .venv/bin/python bench/bnn_solver.py --problems pair-40 pair-all --seeds 7
    .venv/bin/python bench/bnn_solver.py --quick               # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _previous_pipeline import pick_best, polish  # noqa: E402

import qubonn  # noqa: E402
from qubonn.formulation import objective_value  # noqa: E402
from qubonn.training.labels import encode_targets  # noqa: E402

PAIR_NET = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"
TEN_NET = "input pixels[8x8]\nhidden h[10] <- pixels\noutput y[10] <- h\n"
#: name -> (classes, training images per class or None for all, network)
PROBLEMS = {
    "pair-40": ((3, 8), 20, PAIR_NET),
    "pair-100": ((3, 8), 50, PAIR_NET),
    "pair-all": ((3, 8), None, PAIR_NET),
    "ten-100": (tuple(range(10)), 10, TEN_NET),
    "ten-all": (tuple(range(10)), None, TEN_NET),
}
OBJECTIVES = {"plain": {}, "margin": {"margin": 0.2, "margin_scale": "fan_in"}}
TOL = 1e-7


def build(name: str, objective: str, size: int = 8):
    classes, per_class, spec = PROBLEMS[name]
    if size == 4:
        spec = spec.replace("8x8", "4x4")
    data = qubonn.datasets.digits(classes=classes, per_class=per_class, size=size, seed=0)
    net = qubonn.parse(spec)
    T = encode_targets(data.y_train, list(classes), net.n_outputs)
    return qubonn.compile(net, data.X_train, T, **OBJECTIVES[objective])


def replayed(problem, weights) -> float:
    f = problem.formulation
    return objective_value(
        f.network, problem.X, f.targets, weights, f.objective, f.linear_penalties
    )


def run_previous(problem, backend: str, seed: int, reads: int, sweeps: int) -> dict:
    options = {"mode": "spin"} if backend == "native" else {}
    t0 = time.perf_counter()
    ss = qubonn.solve(
        problem, backend=backend, num_reads=reads, num_sweeps=sweeps, seed=seed, **options
    )
    t1 = time.perf_counter()
    weights, moves = polish(problem, pick_best(problem, ss), seed=seed)
    t2 = time.perf_counter()
    return {
        "time": t2 - t0,
        "objective": replayed(problem, weights),
        "valid": 1.0 - problem.broken_share(ss),
        "moves_per_s": moves / (t2 - t1),
    }


def run_structured(problem, seed: int, reads: int, **options) -> dict:
    t0 = time.perf_counter()
    ss = qubonn.solve(problem, backend="native", num_reads=reads, seed=seed, **options)
    t = time.perf_counter() - t0
    info = ss.info
    return {
        "time": t,
        "objective": float(ss.first.energy),
        "valid": 1.0 - problem.broken_share(ss),
        "moves_per_s": info["moves"] / max(info["timing"]["anneal_s"], 1e-9),
        "sweeps": info["num_sweeps"],
    }


def time_to_target(problem, target: float, seed: int, reads: int, budget: float) -> float | None:
    """Restarts with fresh seeds and doubling sweeps until the best read reaches ``target``."""
    spent, sweeps, k = 0.0, 100, 0
    while spent < budget:
        r = run_structured(problem, seed * 1000 + k, reads, num_sweeps=sweeps)
        spent += r["time"]
        if r["objective"] <= target + TOL:
            return spent
        sweeps, k = min(sweeps * 2, 8000), k + 1
    return None


def med(values) -> float:
    return float(statistics.median(values)) if values else float("nan")


def bench(name: str, objective: str, args) -> list[str]:
    problem = build(name, objective, args.size)
    seeds = range(args.seeds)
    rows: dict[str, list[dict]] = {"spin-native+polish": [], "neal+polish": [], "structured": []}
    for s in seeds:
        rows["spin-native+polish"].append(
            run_previous(problem, "native", s, args.reads, args.spin_sweeps)
        )
        if not args.no_neal:
            previous = run_previous(problem, "neal", s, args.reads, args.spin_sweeps)
            rows["neal+polish"].append(previous)
        rows["structured"].append(run_structured(problem, s, args.reads))
    if args.no_neal:
        del rows["neal+polish"]
    equal = med([r["time"] for r in rows["spin-native+polish"]])
    rows["structured@equal-time"] = [
        run_structured(problem, s, args.reads, time_limit=equal) for s in seeds
    ]
    default_sweeps = rows["structured"][0]["sweeps"]
    reference = [
        run_structured(problem, 10**6 + s, args.reads, num_sweeps=8 * default_sweeps)
        for s in range(args.reference_seeds)
    ]
    target = min(r["objective"] for rs in [*rows.values(), reference] for r in rs)
    ttt = [time_to_target(problem, target, s, args.reads, args.ttt_budget) for s in seeds]
    hits = [t for t in ttt if t is not None]
    out = [
        f"\n### {name} ({problem.n_samples} images, {problem.n_variables:,} QUBO variables), "
        f"{objective}; target {target:.6g}\n",
        "| pipeline | valid reads | time s | best objective | reached target | moves/s |",
        "|---|---|---|---|---|---|",
    ]
    for label, rs in rows.items():
        reached = sum(r["objective"] <= target + TOL for r in rs)
        out.append(
            f"| {label} | {100 * med([r['valid'] for r in rs]):.0f}% | "
            f"{med([r['time'] for r in rs]):.2f} | {med([r['objective'] for r in rs]):.6g} | "
            f"{reached}/{len(rs)} | {med([r['moves_per_s'] for r in rs]):.3g} |"
        )
    prev = rows["spin-native+polish"]
    prev_ttt = [r["time"] for r in prev if r["objective"] <= target + TOL]
    ttt_text = f"{med(hits):.2f} s ({len(hits)}/{len(ttt)} hit)" if len(hits) * 2 > len(ttt) else (
        f"- ({len(hits)}/{len(ttt)} hit within {args.ttt_budget:g} s)"
    )
    out.append(f"\nstructured time to target: {ttt_text}; ")
    if len(prev_ttt) * 2 > len(prev):
        out[-1] += f"spin-native+polish: {med(prev_ttt):.2f} s when it hits"
    else:
        out[-1] += (
            f"spin-native+polish reached it in {len(prev_ttt)}/{len(prev)} runs of "
            f"{med([r['time'] for r in prev]):.2f} s (its time to target is longer than that)"
        )
    s, p, e = rows["structured"], prev, rows["structured@equal-time"]
    out.append(
        f"ratios: moves/s structured / polish {med([r['moves_per_s'] for r in s]) / med([r['moves_per_s'] for r in p]):.0f}x; "  # noqa: E501
        f"best objective at equal time: structured {med([r['objective'] for r in e]):.6g} vs "
        f"{med([r['objective'] for r in p]):.6g}; time structured / previous "
        f"{med([r['time'] for r in s]) / med([r['time'] for r in p]):.2f}"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    ap.add_argument("--objectives", nargs="+", default=list(OBJECTIVES), choices=list(OBJECTIVES))
    ap.add_argument("--seeds", type=int, default=7)
    ap.add_argument("--reads", type=int, default=16)
    ap.add_argument("--spin-sweeps", type=int, default=1000, help="sweeps of the spin annealers")
    ap.add_argument("--reference-seeds", type=int, default=3)
    ap.add_argument("--ttt-budget", type=float, default=60.0)
    ap.add_argument("--size", type=int, default=8, choices=(8, 4), help="digit image size")
    ap.add_argument("--no-neal", action="store_true", help="skip neal+polish")
    ap.add_argument("--quick", action="store_true", help="smoke run: pair-40 on 4x4, 2 seeds")
    args = ap.parse_args(argv)
    if min(args.seeds, args.reads, args.spin_sweeps, args.reference_seeds) < 1:
        ap.error("--seeds, --reads, --spin-sweeps and --reference-seeds must be >= 1")
    if args.quick:
        args.problems, args.objectives, args.seeds, args.size = ["pair-40"], ["margin"], 2, 4
        args.spin_sweeps, args.reference_seeds, args.ttt_budget = 100, 1, 10.0
    print(
        f"# bench/bnn_solver.py, {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, "
        f"Python {platform.python_version()}, {args.seeds} seeds x {args.reads} reads"
    )
    for name in args.problems:
        for objective in args.objectives:
            print("\n".join(bench(name, objective, args)), flush=True)
    return 0


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        raise SystemExit(main())
