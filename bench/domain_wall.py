"""Why qubonn has no domain-wall slack encoding: neal's reads of it end with broken walls.

A domain-wall slack is the unary one (``slack_encoding="unary"``: R bits of weight 1, the slack
is their sum) with the order s_{k+1} <= s_k imposed by a penalty P_wall * s_{k+1} (1 - s_k), so
that each value has one bit pattern.  The encoding stays exact for any P_wall > 0, and a read is
a valid state only if every wall holds.  This script builds it from qubonn's unary QUBO (digits
3-vs-8, 64-4-1, margin 0.2 fan-in), samples it with neal beside the plain unary QUBO, and
prints medians over seeds: the share of reads whose sign/AND constraints hold, the share that
are valid domain-wall states (those constraints and every wall), the walls broken per read (for
the plain unary QUBO, where walls cost nothing, for comparison), and the replayed objective of
the best read's weights.

    .venv/bin/python bench/domain_wall.py                  # N = 4, 10, 40; 3 seeds
    .venv/bin/python bench/domain_wall.py --sizes 4 --wall 0.05 1 --seeds 1
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys

import dimod
import neal
import numpy as np

import qubonn
from qubonn.formulation import objective_value
from qubonn.training.labels import encode_targets

SPEC = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"


def build(n: int):
    data = qubonn.datasets.digits(classes=(3, 8), train=n, seed=0)
    T = encode_targets(data.y_train, list(data.classes), 1)
    net = qubonn.parse(SPEC)
    return qubonn.compile(net, data.X_train, T, margin=0.2, slack_encoding="unary")


def wall_pairs(problem) -> tuple[np.ndarray, np.ndarray]:
    """(lower bit, next bit) index pairs of every slack: consecutive bits of one owner."""
    lay = problem.formulation.layout
    same = (lay.slack_row_sample[1:] == lay.slack_row_sample[:-1]) & (
        lay.slack_row_neuron[1:] == lay.slack_row_neuron[:-1]
    )
    idx = np.arange(lay.s0, lay.n_vars)
    return idx[:-1][same], idx[1:][same]


def with_walls(problem, weight: float) -> dimod.BinaryQuadraticModel:
    bqm = problem.bqm.copy()
    labels = problem.labels
    for a, b in zip(*wall_pairs(problem), strict=True):
        bqm.add_linear(labels[b], weight)
        bqm.add_quadratic(labels[a], labels[b], -weight)
    return bqm


def run(problem, bqm, seed: int, args) -> dict:
    ss = neal.SimulatedAnnealingSampler().sample(
        bqm, num_reads=args.reads, num_sweeps=args.sweeps, seed=seed
    )
    labels = problem.labels
    X = ss.record.sample[:, [ss.variables.index(v) for v in labels]]
    lo, hi = wall_pairs(problem)
    walls = np.sum((X[:, hi] == 1) & (X[:, lo] == 0), axis=1)
    holds = np.array([problem.constraint_report(x).ok for x in X])  # sign, AND, tie
    f = problem.formulation
    best = problem.weights_of(X[int(np.argmin(ss.record.energy))])
    return {
        "valid": float(np.mean(holds & (walls == 0))),
        "valid_no_walls": float(np.mean(holds)),
        "walls": float(np.median(walls)),
        "objective": objective_value(f.network, problem.X, f.targets, best, f.objective),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[4, 10, 40])
    p.add_argument(
        "--wall",
        nargs="+",
        type=float,
        default=[0.05, 1.0],
        help="wall weights, as shares of the safe sign penalty (0.05 1)",
    )
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--reads", type=int, default=8)
    p.add_argument("--sweeps", type=int, default=1000)
    args = p.parse_args(argv)
    print(f"# bench/domain_wall.py on {platform.node()}, python {platform.python_version()}")
    print(f"# neal, {args.seeds} seeds, {args.reads} reads x {args.sweeps} sweeps; medians\n")
    print(
        "| N | encoding | P_wall / P_sign | constraints hold | valid with walls "
        "| broken walls per read | objective |"
    )
    print("|---|---|---|---|---|---|---|", flush=True)
    for n in args.sizes:
        problem = build(n)
        cells = [("unary", 0.0)] + [("domain wall", w) for w in args.wall]
        for name, share in cells:
            sign = problem.term_weights["sign"]
            bqm = with_walls(problem, share * sign) if share else problem.bqm
            rows = [run(problem, bqm, seed, args) for seed in range(args.seeds)]
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            print(
                f"| {n} | {name} | {share:g} | {med['valid_no_walls']:.0%} | "
                f"{'-' if not share else format(med['valid'], '.0%')} | {med['walls']:.0f} "
                f"| {med['objective']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
