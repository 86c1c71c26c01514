"""neal in segments (interruptible within about a second) beside one dwave-samplers call.

Same reads, sweeps and seeds; prints the median time of each and their ratio, per instance.

    python bench/neal_segments.py --reads 8 --sweeps 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import qubonn
import qubonn.backends._common as common
from qubonn.backends import get_backend
from qubonn.backends.gset import gset_dir, load_gset


def instances() -> dict:
    data = qubonn.datasets.digits(classes=(3, 8), per_class=40, seed=0)
    net = qubonn.load_spec("examples/digits.qnn")
    problem = qubonn.compile(net, data.X_train, data.y_train == 8, margin=0.2)
    out = {"digits-80 (BNN QUBO)": problem.bqm}
    if gset_dir() is not None:
        out["G22"] = load_gset("G22").bqm
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=8)
    ap.add_argument("--sweeps", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sampler = get_backend("neal")
    default = common.SEGMENT_WORK
    for name, bqm in instances().items():
        times: dict[str, list[float]] = {"one call": [], "segments": []}
        for rep in range(args.repeats):
            for label, work in (("one call", 1e30), ("segments", default)):
                common.SEGMENT_WORK = work
                t0 = time.perf_counter()
                sampler.sample(bqm, num_reads=args.reads, num_sweeps=args.sweeps, seed=rep)
                times[label].append(time.perf_counter() - t0)
        common.SEGMENT_WORK = default
        one, seg = (statistics.median(times[k]) for k in ("one call", "segments"))
        length = common.segment_length(bqm, args.reads, args.sweeps)
        print(
            f"{name}: {bqm.num_variables} variables, {bqm.num_interactions} couplings, "
            f"segments of {length} sweeps: one call {one:.2f} s, segments {seg:.2f} s, "
            f"ratio {seg / one:.2f} (medians of {args.repeats})"
        )


if __name__ == "__main__":
    main()
