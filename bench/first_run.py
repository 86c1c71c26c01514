"""The first run: ``qubonn train`` with an empty numba cache (cold) and then with it filled (warm).

The first run in a fresh installation compiles the annealer's numba kernels; every later run
loads them from the cache.  Each measurement is a fresh ``qubonn train`` process with its own
``NUMBA_CACHE_DIR``: cold with an empty one, warm with the one the cold run filled.  Prints the
medians of the whole run's wall time and of the solve time the command reports, and whether
the compile notice appeared on stderr (it must on cold runs only).

    python bench/first_run.py --specs examples/digits.qnn examples/digits10.qnn --repeats 3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTICE = "compiling the annealer's kernels"


def run_train(spec: str, cache: str, extra: list[str]) -> dict:
    """One ``qubonn train`` process; its wall time, reported solve time and compile notice."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-m", "qubonn", "train", spec, "--quiet",
             "--out", str(Path(out) / "m.json"), *extra],
            capture_output=True, text=True, env=env,
        )
        wall = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(f"qubonn train {spec} failed:\n{res.stderr}")
    solve = float(re.search(r"^solve:\s+([0-9.]+) s", res.stdout, re.M).group(1))
    return {"wall": wall, "solve": solve, "notice": NOTICE in res.stderr}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", nargs="+", default=["examples/digits.qnn"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("extra", nargs="*", help="more qubonn train arguments (after --)")
    args = ap.parse_args()
    for spec in args.specs:
        rows: dict[str, list[dict]] = {"cold": [], "warm": []}
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                rows["cold"].append(run_train(spec, cache, args.extra))
                rows["warm"].append(run_train(spec, cache, args.extra))
        for kind, rs in rows.items():
            print(
                f"{spec} {kind}: wall {statistics.median(r['wall'] for r in rs):.2f} s, "
                f"solve {statistics.median(r['solve'] for r in rs):.2f} s, compile notice "
                f"{sum(r['notice'] for r in rs)}/{len(rs)}  (median of {len(rs)})"
            )


if __name__ == "__main__":
    main()
