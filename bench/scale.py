"""Scale-out benchmark: one sweep of 64 solves, serial vs a process pool vs Ray on local CPUs.

    python bench/scale.py                 # 4 margins x 16 seeds, digits 3 vs 8, neal
    python bench/scale.py --cpus 2 --sweeps 2000

Each run trains one BNNClassifier (one solve, no dropout) on the 8x8 digits with the 64-4-1
network.  Every executor must produce exactly the serial rows (checked), so the only difference
is wall time.  Ray's start-up (``ray.init``) is timed apart from the sweep: on a cluster it is
paid once per session, not once per sweep; the first sweep on fresh workers also pays their
imports, later ones do not.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOLATILE = {"compile_s", "solve_s", "fit_s", "worker", "finished"}


def _stable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="workers / Ray CPUs")
    p.add_argument("--seeds", type=int, default=16, help="seeds per grid point (4 points)")
    p.add_argument("--sweeps", type=int, default=1000, help="neal num_sweeps per solve")
    p.add_argument("--reads", type=int, default=16)
    p.add_argument("--skip", nargs="*", default=[], choices=("process", "ray"))
    args = p.parse_args()

    import qubonn
    from qubonn.distributed import get_executor
    from qubonn.sweep import sweep

    network = qubonn.load_spec(ROOT / "examples" / "digits.qnn")
    data = qubonn.datasets.digits(classes=(3, 8), per_class=10)
    grid = {"margin": [0, 0.25, 0.5, 1]}
    fixed = {"backend": "neal", "num_reads": args.reads, "num_sweeps": args.sweeps}
    n = len(grid["margin"]) * args.seeds
    print(
        f"sweep: {n} runs (1 solve each) of {network!r} on {data.name} "
        f"({len(data.y_train)} training samples), neal {args.reads} reads x {args.sweeps} sweeps; "
        f"{args.cpus} CPUs"
    )

    def run(executor) -> tuple[float, list[dict]]:
        t0 = time.perf_counter()
        rows = sweep(network, grid, args.seeds, data=data, executor=executor, **fixed)
        return time.perf_counter() - t0, rows

    results = {}
    serial_s, serial_rows = run("local")
    solve_s = sum(r["solve_s"] for r in serial_rows)
    results["local (serial)"] = (serial_s, 0.0)
    print(f"QUBO: {serial_rows[0]['variables']} variables, {serial_rows[0]['couplings']} couplings")

    if "process" not in args.skip:
        with get_executor("process", workers=args.cpus) as ex:
            wall, rows = run(ex)  # includes starting the workers (spawn, imports)
        assert _stable(rows) == _stable(serial_rows), "process pool rows differ from serial"
        results[f"process pool ({args.cpus} workers)"] = (wall, 0.0)

    if "ray" not in args.skip:
        t0 = time.perf_counter()
        ex = get_executor("ray", num_cpus=args.cpus)
        start_s = time.perf_counter() - t0
        try:
            cold, rows = run(ex)  # workers start and import qubonn during this one
            assert _stable(rows) == _stable(serial_rows), "Ray rows differ from serial"
            wall, rows = run(ex)  # warm workers, as on a long-lived cluster
        finally:
            ex.close()
        assert _stable(rows) == _stable(serial_rows), "Ray rows differ from serial"
        results[f"ray ({args.cpus} CPUs, first sweep)"] = (cold, start_s)
        results[f"ray ({args.cpus} CPUs, next sweep)"] = (wall, 0.0)

    print(f"\n{'executor':<28} {'wall s':>8} {'speed-up':>9} {'start-up s':>11}")
    for name, (wall, start) in results.items():
        print(f"{name:<28} {wall:8.2f} {serial_s / wall:8.2f}x {start:11.2f}")
    print(f"(serial: {solve_s:.2f} s of the {serial_s:.2f} s are inside the solver)")
    print("rows identical to serial on every executor: yes")


if __name__ == "__main__":
    main()
