"""Why do annealers' own networks stay near chance on the training QUBO?  Measure it.

On one problem (digits 3 vs 8, 20 images per class, 64-4-1 network, safe penalties), vary what
the usual suspects are: the solver budget (sweeps), the penalty weights, the temperature schedule,
and a warm start from a feasible state.  For each, report the best energy, the share of reads that
break constraints, and the training accuracy of the replayed network of the best read.

    python bench/solver_diagnosis.py
"""

from __future__ import annotations

import time

import numpy as np

import qubonn
from qubonn.training.labels import encode_targets
from qubonn.training.trainer import _pick_best


def main() -> None:
    net = qubonn.load_spec("examples/digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=20, seed=0)
    T = encode_targets(data.y_train, [3, 8], 1)
    base = qubonn.compile(net, data.X_train, T)
    print(f"# {base!r}")
    print(f"{'setting':44} {'best E':>9} {'broken':>7} {'replayed objective':>19} {'train acc':>9}")

    def run(label, problem, **options):
        t0 = time.perf_counter()
        ss = qubonn.solve(problem, backend="neal", num_reads=8, seed=0, **options)
        w, obj, _ = _pick_best(problem, ss)
        print(
            f"{label:44} {ss.first.energy:>9.0f} {problem.broken_share(ss):>7.0%} "
            f"{obj:>19.0f} {problem.accuracy(w):>9.1%}   ({time.perf_counter() - t0:.1f} s)"
        )

    for sweeps in (1000, 10000):
        run(f"neal, automatic betas, {sweeps} sweeps", base, num_sweeps=sweeps)
    for hot, cold in ((0.01, 5.0), (0.1, 5.0), (1.0, 10.0)):
        run(
            f"neal, betas ({hot}, {cold}), 2000 sweeps",
            base,
            num_sweeps=2000,
            beta_range=(hot, cold),
        )
    for p in (3.0, 1.0):
        weak = qubonn.compile(net, data.X_train, T, penalties={"sign": p, "and": p, "tie": p})
        run(
            f"penalties {p:g} (safe: {base.term_weights['sign']:g}), 2000 sweeps",
            weak,
            num_sweeps=2000,
            beta_range=(0.01, 5.0),
        )
    for name, w in (
        ("random", net.random_weights(0)),
        ("STE", qubonn.training.STEClassifier(net).fit(data.X_train, data.y_train).weights_),
    ):
        x0 = np.tile(base.feasible_state(w), (8, 1))
        start = base.energy(x0[0])
        run(
            f"warm start, {name} weights (E0 = {start:.0f}), betas (1, 10)",
            base,
            num_sweeps=2000,
            beta_range=(1.0, 10.0),
            initial_states=(x0, base.labels),
        )


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        main()
