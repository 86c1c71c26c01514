"""The structured annealer on a GPU against the 2-core CPU, side by side in one run.

On the CPU machine (the project's 2-core machine), ``--export FILE`` writes a training problem
(digits 3 vs 8 on every training image, 64-4-1, soft margin 0.2 fan-in scaled) as plain arrays,
because the bare GPU machine has no compiler stack (scipy, scikit-learn) and no numba, together
with what the CPU path did on it: the samples of a fixed-seed run and its moves per second.
On the GPU machine, ``--problem FILE`` rebuilds the structured model and prints:

1. identity: the GPU's samples and energies equal the CPU's for the same seed (16 replicas);
2. parameter moves per second of the GPU at each ``--replicas`` count against the CPU's
   (target: >= 20x at >= 1024 replicas), and the best objective each reached.

    python bench/structured_gpu.py --export bench/.carry/structured-pair.npz      # CPU machine
    python bench/structured_gpu.py --problem bench/.carry/structured-pair.npz     # GPU machine
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
import time
import types
from types import SimpleNamespace

import numpy as np

import qubonn


def _bare_package(name: str, path: pathlib.Path) -> None:
    """Import ``name``'s modules without its ``__init__`` (which needs what a bare GPU machine
    lacks)."""
    if name not in sys.modules:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(path)]
        sys.modules[name] = pkg


_ROOT = pathlib.Path(qubonn.__file__).parent
if importlib.util.find_spec("dimod") is None:  # the registry imports dimod
    _bare_package("qubonn.backends", _ROOT.parent / "backends")
if importlib.util.find_spec("scipy") is None:  # the term builders import scipy
    _bare_package("qubonn.formulation", _ROOT / "formulation")

from qubonn.backends.native import structured  # noqa: E402

SPEC = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"


IDENTITY = {"num_reads": 16, "num_sweeps": 5, "seed": 7, "beta_range": (0.1, 6.9)}
RATE_SWEEPS = 10


def export(path: str) -> None:
    from qubonn.compiler import compile as compile_problem

    data = qubonn.datasets.digits(classes=(3, 8), seed=0)
    net = qubonn.parse(SPEC)
    problem = compile_problem(
        net, data.X_train, data.y_train == 8, margin=0.2, margin_scale="fan_in"
    )
    f = problem.formulation
    arrays = dict(
        spec=SPEC, X=problem.X, targets=f.targets, h=f.linear_penalties, loss=f.objective.loss,
        margin=f.objective.margin, scale=f.objective.margin_scale,
        loss_weight=f.objective.loss_weight, hard_margin=f.objective.hard_margin,
    )
    np.savez_compressed(path, **arrays)
    model = load(path)
    ref = structured.anneal_structured(model, device="cpu", **IDENTITY)
    rate(model, "cpu", 16, 1)
    cpu_rate, cpu_best = rate(model, "cpu", 16, RATE_SWEEPS)
    np.savez_compressed(
        path, **arrays, ref_params=ref.params, ref_energies=ref.energies, cpu_rate=cpu_rate,
        cpu_best=cpu_best,
    )
    print(f"wrote {path}: {problem.n_samples} samples, {net.n_parameters} parameters, CPU "
          f"{cpu_rate:.3g} moves/s")


def load(path: str) -> structured.StructuredModel:
    d = np.load(path)
    from qubonn.formulation.model import objective_model
    from qubonn.formulation.objective import Objective

    objective = Objective(
        loss=str(d["loss"]), loss_weight=float(d["loss_weight"]), margin=float(d["margin"]),
        margin_scale=str(d["scale"]), hard_margin=int(d["hard_margin"]),
    )
    net = qubonn.parse(str(d["spec"]))
    formulation = SimpleNamespace(
        network=net, model=objective_model(net, objective, d["targets"]), linear_penalties=d["h"]
    )
    return structured.model_from_formulation(formulation, d["X"])


def rate(model, device: str, replicas: int, sweeps: int) -> tuple[float, float]:
    """(moves per second, best objective) of one run."""
    r = structured.anneal_structured(
        model, device=device, num_reads=replicas, num_sweeps=sweeps, seed=1,
        beta_range=IDENTITY["beta_range"],
    )
    return r.info["moves"] / r.info["timing"]["anneal_s"], float(r.energies.min())


def check(path: str, replicas: list[int]) -> int:
    model = load(path)
    d = np.load(path)
    gpu = structured.anneal_structured(model, device="gpu", **IDENTITY)
    same = np.array_equal(d["ref_params"], gpu.params) and np.array_equal(
        d["ref_energies"], gpu.energies
    )
    verdict = "equal" if same else "DIFFERENT"
    print(f"identity with the CPU (16 replicas, 5 sweeps, seed 7): {verdict}")
    cpu_rate = float(d["cpu_rate"])
    print("| device | replicas | sweeps | moves/s | x CPU | best objective |")
    print("|---|---|---|---|---|---|")
    print(f"| CPU (2 cores, at export) | 16 | {RATE_SWEEPS} | {cpu_rate:.3g} | 1.0 | "
          f"{float(d['cpu_best']):.6g} |")
    rate(model, "gpu", replicas[0], 1)  # compile the kernel
    for R in replicas:
        g, best = rate(model, "gpu", R, RATE_SWEEPS)
        print(f"| GPU | {R} | {RATE_SWEEPS} | {g:.3g} | {g / cpu_rate:.1f} | {best:.6g} |")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", help="write the problem file (CPU machine)")
    ap.add_argument("--problem", help="a file written by --export (GPU machine)")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1024, 4096])
    args = ap.parse_args(argv)
    if args.export:
        export(args.export)
        return 0
    if not args.problem:
        ap.error("give --export FILE (CPU machine) or --problem FILE (GPU machine)")
    t0 = time.perf_counter()
    rc = check(args.problem, args.replicas)
    print(f"({time.perf_counter() - t0:.1f} s)")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
