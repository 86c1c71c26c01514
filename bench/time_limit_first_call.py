"""time_limit on the first call in a process (every CLI run): budget use and cut on G-set.

Each measurement is a fresh interpreter (the first call compiles or loads numba's kernels), then
a second call in the same process.  Prints wall time / limit, sweeps and cut / best known.

    python bench/time_limit_first_call.py --instances G22 G11 --limit 3 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
from qubonn.backends.gset import load_gset
from qubonn.backends.native import NativeSampler
inst = load_gset(sys.argv[1])
limit = float(sys.argv[2])
out = []
for call in ("first", "second"):
    sampler = NativeSampler()
    t0 = time.perf_counter()
    ss = sampler.sample(inst.bqm, num_reads=16, time_limit=limit, seed=1, device="cpu")
    wall = time.perf_counter() - t0
    out.append({"call": call, "wall": wall, "sweeps": ss.info["num_sweeps"],
                "cut": -float(ss.first.energy), "best": inst.best_known})
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", nargs="+", default=["G22"])
    ap.add_argument("--limit", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    for name in args.instances:
        rows: dict[str, list[dict]] = {"first": [], "second": []}
        for _ in range(args.repeats):
            res = subprocess.run(
                [sys.executable, "-c", CHILD, name, str(args.limit)],
                capture_output=True, text=True, check=True,
            )
            for row in json.loads(res.stdout.strip().splitlines()[-1]):
                rows[row["call"]].append(row)
        for call, rs in rows.items():
            med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "sweeps", "cut")}
            best = rs[0]["best"]
            print(
                f"{name} {call:6s} call: wall/limit {med['wall'] / args.limit:.2f}, "
                f"sweeps {med['sweeps']:.0f}, cut {med['cut']:.0f}"
                + (f" of best {best} ({med['cut'] / best:.1%})" if best else "")
                + f"  (median of {len(rs)})"
            )


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        main()
