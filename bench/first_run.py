"""The first run: ``qubonn train`` with an empty numba cache (cold) and then with it filled (warm).

The first run in a fresh installation compiles the annealer's numba kernels; every later run
loads them from the cache.  Each measurement is a fresh ``qubonn train`` process with its own
``NUMBA_CACHE_DIR``: cold with an empty one, warm with the one the cold run filled.  Prints the
medians of the whole run's wall time, of its CPU time (steadier on a shared machine) and of
the solve time the command reports, and whether the compile notice appeared on stderr (it
must on cold runs only).  With ``--before REV`` the
same runs of an earlier revision's whole package (``bench/warm_speed.py``'s tree) alternate with
this tree's, and the saved networks of the two are compared (they must be the same).

    python bench/first_run.py --specs examples/digits.qnn examples/digits10.qnn --repeats 3
    python bench/first_run.py --before 628cd0a --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOTICE = "compiling the annealer's kernels"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warm_speed import tree_of  # noqa: E402


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: on a shared machine a
    steadier measure of the compile than wall time."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_train(spec: str, cache: str, extra: list[str], tree: Path | None = None) -> dict:
    """One ``qubonn train`` process (of the package in ``tree``, None: this one); its wall time,
    reported solve time, compile notice and saved network."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    with tempfile.TemporaryDirectory() as out:
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        res = subprocess.run(  # cwd elsewhere: this folder would shadow PYTHONPATH
            [sys.executable, "-m", "qubonn", "train", str(Path(spec).resolve()), "--quiet",
             "--out", str(Path(out) / "m.json"), *extra],
            capture_output=True, text=True, env=env, cwd=out,
        )
        wall = time.perf_counter() - t0
        cpu = _children_cpu() - cpu0
        saved = json.loads((Path(out) / "m.json").read_text()) if not res.returncode else None
    if saved is not None:  # the network (an ensemble's members), not the run's time
        keys = ("spec", "members") if "members" in saved else ("spec", "weights", "biases")
        saved = {k: saved[k] for k in keys}
    if res.returncode:
        raise SystemExit(f"qubonn train {spec} failed:\n{res.stderr}")
    solve = float(  # an ensemble reports its members' training instead
        re.search(r"^(?:solve:|members:\s+\d+ trained in)\s+([0-9.]+) s", res.stdout, re.M)
        .group(1)
    )
    notice = NOTICE in res.stderr
    return {"wall": wall, "cpu": cpu, "solve": solve, "notice": notice, "saved": saved}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", nargs="+", default=["examples/digits.qnn"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", help="git revision to run beside this tree")
    ap.add_argument("extra", nargs="*", help="more qubonn train arguments (after --)")
    args = ap.parse_args()
    print(f"# {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}")
    with tempfile.TemporaryDirectory() as folder:
        trees: dict[str, Path | None] = {"this tree": None}
        if args.before:
            trees = {args.before: tree_of(args.before, Path(folder) / "before"), **trees}
        for spec in args.specs:
            rows = {(name, kind): [] for name in trees for kind in ("cold", "warm")}
            for _ in range(args.repeats):
                for name, tree in trees.items():
                    with tempfile.TemporaryDirectory() as cache:
                        rows[name, "cold"].append(run_train(spec, cache, args.extra, tree))
                        rows[name, "warm"].append(run_train(spec, cache, args.extra, tree))
            for (name, kind), rs in rows.items():
                med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "solve")}
                print(
                    f"{spec} {name} {kind}: wall {med['wall']:.2f} s, CPU {med['cpu']:.2f} s, "
                    f"solve {med['solve']:.2f} s, compile notice "
                    f"{sum(r['notice'] for r in rs)}/{len(rs)}  (median of {len(rs)})"
                )
            if args.before:
                runs = [rows[name, "cold"] + rows[name, "warm"] for name in trees]
                same = all(a["saved"] == b["saved"] for a, b in zip(*runs, strict=True))
                print(f"{spec}: the saved networks are {'the same' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
