"""Annealers side by side: native (qubonn) vs neal (dwave-samplers) vs OpenJij SA.

Two phases per instance and solver, each over several seeds:

1. A ladder of single runs (``num_sweeps`` doubling, fixed ``num_reads``) until a run passes
   ``--cap`` seconds.  From it: the energy at equal wall time (per seed the best energy among runs
   that finished within ``--budget`` seconds, median over seeds), flip attempts per second
   (``num_reads * num_sweeps * n / wall`` on the largest run), and for BNN QUBOs the target: the
   best energy any solver found.
2. Time-to-target (TTT), as a user meets it: runs with fresh seeds, ``num_sweeps`` doubling
   until a run passes ``--cap`` seconds and then repeated at that length, until the best read
   reaches the target (G-set: the best-known cut; BNN: phase 1's best, or ``--bnn-targets``) or
   ``--ttt-budget`` seconds are spent.  A seed's TTT is the wall time spent until the hit
   (failed runs included); the table gives the median over seeds (``-`` when half or more
   missed), the hits, and the seconds per hit (all phase-2 time over all hits: the expected TTT
   of the restart process, which stays finite when the target is too rare for a median).  Ratios
   are against neal.  Where the target is quick to reach, more seeds run (up to 4x, until
   ``--ttt-min-time`` seconds are spent).

Every solver gets the same explicit geometric beta range (the native default for the instance),
so the comparison is about the solvers, not about a schedule one of them guesses better.

    .venv/bin/python bench/solvers.py              # CPU table (native vs neal vs OpenJij)
    .venv/bin/python bench/solvers.py --per-thread # attempts/s, one thread, fixed betas
    python bench/solvers.py --gpu                  # GPU machine: native GPU only, no dimod
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import pathlib
import platform
import statistics
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np

import qubonn

if importlib.util.find_spec("dimod") is None and "qubonn.backends" not in sys.modules:
    # bare GPU machine: skip qubonn.backends/__init__ (it imports the registry and dimod)
    _pkg = types.ModuleType("qubonn.backends")
    _pkg.__path__ = [str(pathlib.Path(qubonn.__file__).parents[1] / "backends")]
    sys.modules["qubonn.backends"] = _pkg

from qubonn.backends.native.anneal import anneal  # noqa: E402
from qubonn.backends.native.problem import IsingProblem  # noqa: E402

Run = tuple[int, int, float, float]  # seed, sweeps, wall seconds, best energy


def gset_dir() -> pathlib.Path:
    """``$QUBONN_SHARED/benchmarks/gset``, else the first ``shared/benchmarks/gset`` upwards."""
    env = os.environ.get("QUBONN_SHARED")
    if env:
        return pathlib.Path(env) / "benchmarks" / "gset"
    for parent in pathlib.Path(__file__).resolve().parents:
        cand = parent / "shared" / "benchmarks" / "gset"
        if cand.is_dir():
            return cand
    raise FileNotFoundError("shared/benchmarks/gset not found; set QUBONN_SHARED")


def load_gset(name: str) -> tuple[IsingProblem, float]:
    """MaxCut as Ising, energy = -cut = ``sum w s_i s_j / 2 - W / 2``; returns (problem, -best)."""
    d = gset_dir()
    if not (d / name).is_file():
        known = sorted(f.name for f in d.iterdir() if f.name.startswith("G"))
        raise SystemExit(f"--gset {name}: no such instance in {d} (there: {', '.join(known)})")
    with open(d / name) as fh:
        n = int(fh.readline().split()[0])
    rows = np.loadtxt(d / name, skiprows=1, dtype=np.int64, ndmin=2)
    w = rows[:, 2].astype(np.float64)
    p = IsingProblem.from_ising(np.zeros(n), rows[:, 0] - 1, rows[:, 1] - 1, w / 2, -w.sum() / 2)
    best = {}
    for line in (d / "best_known.csv").read_text().splitlines()[1:]:
        parts = line.split(",")
        best[parts[0]] = float(parts[-1])
    return p, -best[name]


def upper_triplets(p: IsingProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each coupling once: ``(rows, cols, vals)`` with ``rows < cols``."""
    rows = np.repeat(np.arange(p.n), np.diff(p.indptr))
    upper = rows < p.indices
    return rows[upper], p.indices[upper], p.data[upper]


def to_bqm(p: IsingProblem) -> Any:
    import dimod

    return dimod.BinaryQuadraticModel.from_numpy_vectors(p.h, upper_triplets(p), p.offset, "SPIN")


def bnn_problems(sizes: tuple[int, ...]) -> list[tuple[str, Any]]:
    """Training QUBOs of a 16-4-1 network on 4x4 digits (even vs odd), N samples; [] with a note."""
    out = []
    for n in sizes:
        try:
            net = qubonn.parse("input x[16]\nhidden h[4] <- x\noutput y[1] <- h\n")
            data = qubonn.datasets.digits(classes=tuple(range(10)), train=n, size=4, seed=0)
            prob = qubonn.compile(net, data.X_train, np.where(data.y_train % 2 == 0, 1, -1))
            out.append((f"BNN N={n}", prob.bqm))
        except Exception as exc:  # the compiler is optional here
            print(f"note: BNN QUBO N={n} skipped (qubonn.compile unavailable: {exc!r})")
    return out


# ----------------------------------------------------------------------------- solvers
def solver_native(bqm: Any, reads: int, sweeps: int, seed: int, br: tuple, **options: Any) -> float:
    from qubonn.backends.native import NativeSampler

    options.setdefault("device", "cpu")
    ss = NativeSampler().sample(
        bqm, num_reads=reads, num_sweeps=sweeps, seed=seed, beta_range=br, **options
    )
    return float(ss.first.energy)


def solver_native_gpu(algorithm: str, reads: int) -> Callable[..., float]:
    """The native annealer on the GPU with ``reads`` replicas (float32), whatever reads the
    table asks of the CPU solvers: a GPU needs hundreds of replicas to fill it."""

    def run(bqm: Any, _reads: int, sweeps: int, seed: int, br: tuple) -> float:
        options = {"device": "gpu", "dtype": "float32", "algorithm": algorithm}
        return solver_native(bqm, reads, sweeps, seed, br, **options)

    return run


def export_problem(p: IsingProblem, path: str) -> None:
    """Write an instance's upper-triangle couplings for a machine that cannot build it."""
    rows, cols, vals = upper_triplets(p)
    np.savez_compressed(
        path, h=p.h, rows=rows.astype(np.int32), cols=cols, vals=vals, offset=np.float64(p.offset)
    )


def import_problem(path: str) -> IsingProblem:
    try:
        with np.load(path) as f:
            parts = (f["h"], f["rows"], f["cols"], f["vals"], float(f["offset"]))
    except (OSError, KeyError, ValueError) as exc:
        raise SystemExit(f"--problem {path}: not an instance written by --export ({exc})") from None
    return IsingProblem.from_ising(*parts)


def solver_neal(bqm: Any, reads: int, sweeps: int, seed: int, br: tuple) -> float:
    from dwave.samplers import SimulatedAnnealingSampler

    ss = SimulatedAnnealingSampler().sample(
        bqm,
        num_reads=reads,
        num_sweeps=sweeps,
        seed=seed,
        beta_range=br,
        beta_schedule_type="geometric",
    )
    return float(ss.first.energy)


def solver_openjij(bqm: Any, reads: int, sweeps: int, seed: int, br: tuple) -> float:
    import openjij as oj

    # one seed per read: with one explicit seed OpenJij returns `reads` identical samples
    sampler = oj.SASampler()
    best = math.inf
    for k in range(reads):
        ss = sampler.sample(
            bqm,
            num_reads=1,
            num_sweeps=sweeps,
            seed=seed * 1000 + k + 1,
            beta_min=br[0],
            beta_max=br[1],
        )
        best = min(best, float(ss.first.energy))
    return best


def ladder(fn: Callable[[int, int], float], seeds: list[int], rungs: list[int], cap: float):
    """Phase 1: runs rung by rung per seed, a seed's ladder ending past ``cap`` seconds."""
    runs: list[Run] = []
    for seed in seeds:
        for sweeps in rungs:
            t = time.perf_counter()
            e = fn(sweeps, seed)
            wall = time.perf_counter() - t
            runs.append((seed, sweeps, wall, e))
            if wall > cap:
                break
    return runs


def time_to_target(
    fn: Callable[[int, int], float],
    seed: int,
    rungs: list[int],
    cap: float,
    target: float,
    budget: float,
) -> float:
    """Phase 2: wall time until a run reaches ``target`` (doubling, then repeating, runs with
    fresh seeds derived from ``seed``); ``inf`` if ``budget`` seconds pass first."""
    spent, k, rung = 0.0, 0, 0
    while spent < budget:
        t = time.perf_counter()
        e = fn(rungs[rung], 10_000 + 1_000 * seed + k)
        wall = time.perf_counter() - t
        spent += wall
        if e <= target + 1e-9:
            return spent
        if wall <= cap and rung + 1 < len(rungs):
            rung += 1
        k += 1
    return math.inf


def ttt_seeds(
    fn: Callable[[int, int], float], rungs: list[int], target: float, args: argparse.Namespace
) -> tuple[list[float], float]:
    """Phase 2 over ``--seeds`` seeds, and more (up to 4x) while the solver has spent less than
    ``--ttt-min-time`` seconds: where the target is quick to reach, one lucky or unlucky run
    would otherwise decide the median."""
    times: list[float] = []
    spent = 0.0
    while len(times) < args.seeds or (spent < args.ttt_min_time and len(times) < 4 * args.seeds):
        t = time.perf_counter()
        times.append(time_to_target(fn, len(times), rungs, args.cap, target, args.ttt_budget))
        spent += time.perf_counter() - t
    return times, spent


def seconds_per_hit(times: list[float], spent: float) -> float:
    """All phase-2 time over all hits (``inf`` without a hit)."""
    hits = sum(math.isfinite(t) for t in times)
    return spent / hits if hits else math.inf


def summarise(runs: list[Run], seeds: list[int], budget: float, n: int, reads: int):
    """Phase 1 figures: median energy within ``budget`` s, flip attempts per second."""
    eq = []
    for seed in seeds:
        within = [r[3] for r in runs if r[0] == seed and r[2] <= budget]
        eq.append(min(within) if within else math.inf)
    big = max(runs, key=lambda r: r[1] * 1e6 + r[2])
    return statistics.median(eq), reads * big[1] * n / big[2]


def fmt_t(t: float) -> str:
    return "  -  " if math.isinf(t) else f"{t:7.3f}"


def fmt_ratio(mine: float, ref: float) -> str:
    if math.isfinite(mine) and math.isfinite(ref):
        return f"{mine / ref:.2f}"
    if math.isfinite(mine):
        return "only-hit"
    return "-"


# ----------------------------------------------------------------------------- main
def cpu_main(args: argparse.Namespace) -> None:
    seeds = list(range(args.seeds))
    rungs = [args.min_sweeps * 2**k for k in range(12) if args.min_sweeps * 2**k <= args.max_sweeps]
    instances: list[tuple[str, Any, float | None, IsingProblem]] = []
    for name in args.gset:
        p, target = load_gset(name)
        instances.append((name, to_bqm(p), target, p))
    if not args.no_bnn:
        from qubonn.backends.native.sampler import ising_problem  # needs dimod

        labels = (f"BNN N={n}" for n in args.bnn)
        fixed = dict(zip(labels, args.bnn_targets, strict=True)) if args.bnn_targets else {}
        for label, bqm in bnn_problems(tuple(args.bnn)):
            instances.append((label, bqm, fixed.get(label), ising_problem(bqm)))
    for path in args.problem:
        p = import_problem(path)
        instances.append((pathlib.Path(path).stem, to_bqm(p), None, p))
    if args.export:
        pathlib.Path(args.export).mkdir(parents=True, exist_ok=True)
        for label, _bqm, _target, p in instances:
            out = pathlib.Path(args.export) / (label.lower().replace(" n=", "-") + ".npz")
            export_problem(p, str(out))
            print(f"wrote {out}")
        return
    available = {
        "native": (solver_native, args.reads),
        "neal": (solver_neal, args.reads),
        "openjij": (solver_openjij, args.reads),
        "native-gpu": (solver_native_gpu("sa", args.gpu_reads), args.gpu_reads),
        "native-gpu-ma": (solver_native_gpu("ma", args.gpu_reads), args.gpu_reads),
    }
    unknown = [s for s in args.solvers if s not in available]
    if unknown or "neal" not in args.solvers:
        raise SystemExit(f"--solvers: give neal (the reference) and any of {', '.join(available)}")
    solvers = {s: available[s] for s in args.solvers}
    try:
        import numba

        threads = f"numba threads {numba.get_num_threads()}"
    except ImportError:
        threads = "no numba"
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{threads}, python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    print(
        f"# reads={args.reads} (GPU: {args.gpu_reads}), seeds={len(seeds)}, sweeps "
        f"{rungs[0]}..{rungs[-1]} doubling, cap {args.cap}s per run, energy budget "
        f"{args.budget}s, TTT budget {args.ttt_budget}s"
    )
    for fn, reads in solvers.values():  # numba compile/cache load, CUDA kernel compile: untimed
        fn(instances[0][1], min(reads, 2), 4, 0, (0.1, 1.0))
    header = (
        f"{'instance':11} {'n':>6} {'solver':13} {'TTT med s':>9} {'hits':>5} {'ratio':>8} "
        f"{'s per hit':>9} {'ratio':>8} {'E@budget':>12} {'Mflips/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, bqm, target, p in instances:
        br = p.default_beta_range()
        calls = {}
        for sname, (fn, reads) in solvers.items():

            def call(sweeps: int, seed: int, fn=fn, bqm=bqm, br=br, reads=reads) -> float:
                return fn(bqm, reads, sweeps, seed, br)

            calls[sname] = call
        phase1 = {s: ladder(c, seeds, rungs, args.cap) for s, c in calls.items()}
        tgt = target
        if tgt is None:  # BNN: the best energy any solver found
            tgt = min(r[3] for runs in phase1.values() for r in runs)
        ttt = {s: ttt_seeds(c, rungs, tgt, args) for s, c in calls.items()}
        per_hit = {s: seconds_per_hit(times, spent) for s, (times, spent) in ttt.items()}
        ref = statistics.median(ttt["neal"][0])
        for sname in solvers:
            eq, rate = summarise(phase1[sname], seeds, args.budget, p.n, solvers[sname][1])
            times = ttt[sname][0]
            med = statistics.median(times)
            hits = sum(math.isfinite(t) for t in times)
            print(
                f"{label:11} {p.n:6d} {sname:13} {fmt_t(med):>9} {hits:>2}/{len(times):<2} "
                f"{fmt_ratio(med, ref):>8} {fmt_t(per_hit[sname]):>9} "
                f"{fmt_ratio(per_hit[sname], per_hit['neal']):>8} {eq:12.1f} {rate / 1e6:9.1f}"
            )
        print(f"{'':11} target energy {tgt:.1f}; beta range ({br[0]:.4g}, {br[1]:.4g})")


def per_thread_main(args: argparse.Namespace) -> None:
    """Flip attempts per second on one thread at fixed temperatures: native vs neal."""
    import numba
    from dwave.samplers import SimulatedAnnealingSampler

    numba.set_num_threads(1)
    sweeps = 2000
    print(f"# one thread, one read, {sweeps} sweeps at a fixed beta, median of 3; M attempts/s")
    print(f"{'instance':9} {'beta':>6} {'native':>8} {'neal':>8} {'ratio':>6}")
    for name in args.gset:
        p, _ = load_gset(name)
        bqm = to_bqm(p)
        anneal(p, num_reads=1, num_sweeps=2, seed=0, device="cpu")  # compile, untimed
        for beta in (0.05, 0.5, 2.0, 5.0):
            sched = np.full(sweeps, beta)
            walls = {"native": [], "neal": []}
            for seed in range(3):
                t = time.perf_counter()
                anneal(p, num_reads=1, beta_schedule=sched, seed=seed, device="cpu")
                walls["native"].append(time.perf_counter() - t)
                t = time.perf_counter()
                SimulatedAnnealingSampler().sample(
                    bqm, num_reads=1, beta_schedule_type="custom", beta_schedule=sched, seed=seed
                )
                walls["neal"].append(time.perf_counter() - t)
            rate = {k: sweeps * p.n / statistics.median(v) / 1e6 for k, v in walls.items()}
            print(
                f"{name:9} {beta:6.2f} {rate['native']:8.1f} {rate['neal']:8.1f} "
                f"{rate['native'] / rate['neal']:6.2f}"
            )


def gpu_main(args: argparse.Namespace) -> None:
    """Native on the GPU: SA kernel and MA, flip rate and TTT on G22 and a dense random model."""
    import cupy

    dev = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    print(f"# {dev}, cupy {cupy.__version__}, {time.strftime('%Y-%m-%d %H:%M')}")
    g22, g22_target = load_gset("G22")
    rng = np.random.default_rng(0)
    n = args.dense_n
    r, c = np.triu_indices(n, 1)
    sk = IsingProblem.from_ising(np.zeros(n), r, c, rng.choice([-1.0, 1.0], size=r.size))
    anneal(g22, device="gpu", num_reads=8, num_sweeps=2, seed=0)  # kernel compile, untimed
    header = (
        f"{'instance':10} {'algo':4} {'reads':>6} {'sweeps':>7} {'wall s':>8} {'best E':>12} "
        f"{'Gflips/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for label, p, target in (("G22", g22, g22_target), (f"SK n={n}", sk, None)):
        for algo, reads in (("sa", args.gpu_reads), ("ma", args.gpu_reads)):
            for sweeps in args.gpu_sweeps:
                t = time.perf_counter()
                res = anneal(
                    p,
                    algorithm=algo,
                    device="gpu",
                    num_reads=reads,
                    num_sweeps=sweeps,
                    seed=1,
                    dtype="float32",
                )
                wall = time.perf_counter() - t
                best = float(res.energies.min())
                rate = reads * sweeps * p.n / wall / 1e9
                hit = "" if target is None else ("  target hit" if best <= target else "")
                print(
                    f"{label:10} {algo:4} {reads:6d} {sweeps:7d} {wall:8.3f} {best:12.1f} "
                    f"{rate:9.2f}{hit}"
                )
        if target is not None:
            print(f"{'':10} target {target:.0f}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gpu", action="store_true", help="GPU benchmark of the native annealer")
    ap.add_argument(
        "--per-thread", action="store_true", help="attempts/s on one thread at fixed betas"
    )
    ap.add_argument("--gset", nargs="*", default=["G1", "G11", "G22"])
    ap.add_argument("--bnn", nargs="*", type=int, default=[100, 500])
    ap.add_argument("--no-bnn", action="store_true")
    ap.add_argument(
        "--bnn-targets",
        nargs="*",
        type=float,
        metavar="E",
        help="fixed TTT targets, one per --bnn size (default: the best energy any solver found)",
    )
    ap.add_argument(
        "--solvers",
        nargs="*",
        default=["native", "neal", "openjij"],
        help="any of native, neal, openjij, native-gpu, native-gpu-ma (neal is the reference)",
    )
    ap.add_argument("--problem", nargs="*", default=[], help="instances written by --export")
    ap.add_argument("--export", metavar="DIR", help="write the instances as .npz to DIR and stop")
    ap.add_argument("--reads", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=7)
    ap.add_argument("--min-sweeps", type=int, default=125)
    ap.add_argument("--max-sweeps", type=int, default=32000)
    ap.add_argument("--cap", type=float, default=1.5, help="longest single run (s)")
    ap.add_argument("--ttt-budget", type=float, default=20.0, help="time-to-target limit (s)")
    ap.add_argument(
        "--ttt-min-time", type=float, default=8.0, help="add TTT seeds (to 4x) until this is spent"
    )
    ap.add_argument("--budget", type=float, default=0.5, help="wall time for E@budget (s)")
    ap.add_argument("--dense-n", type=int, default=2000)
    ap.add_argument("--gpu-reads", type=int, default=512)
    ap.add_argument("--gpu-sweeps", nargs="*", type=int, default=[100, 400, 1600])
    args = ap.parse_args(argv)
    if args.bnn_targets is not None and len(args.bnn_targets) != len(args.bnn):
        raise SystemExit(
            f"--bnn-targets: one energy per --bnn size ({len(args.bnn)}), got {args.bnn_targets}"
        )
    if args.gpu:
        gpu_main(args)
    elif args.per_thread:
        per_thread_main(args)
    else:
        cpu_main(args)


if __name__ == "__main__":
    from qubonn.backends import strict_options

    with strict_options():  # a benchmark must not run with an option silently ignored
        main()
