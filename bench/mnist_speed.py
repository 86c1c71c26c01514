"""Moves per second of the structured annealer at 784 inputs: this tree's kernel against an
earlier revision's, in the same run, on the same problem and seeds.

The problem is a few-shot MNIST fit (``qubonn.datasets.mnist``: binarised 28x28 images, 10 per
class by default) of a 784-16-10 network under the trainer's default objective (the multiclass
loss with its "auto" margins).  Each kernel anneals the same replicas from the same seed; the
runs alternate (before, after, before, ...) so that a slow spell of a shared machine hits both,
and the table gives the median moves/s of each, their ratio and whether the samples are
bit-identical (they must be: the kernels differ in speed only).  Two phases are timed: a whole
anneal (hot to cold, ``--sweeps`` sweeps) and sweeps at the cold end from the annealed state.

Only the kernel module is swapped, so the revision's ``sweeps`` must take this tree's arguments
(the replica range ``r0, r1`` first and the probe array last, since issue 25; the kind flags,
since 2026-12-06, are left out for a kernel without them); against an older revision,
``bench/warm_speed.py`` compares whole packages.

    python bench/mnist_speed.py                      # against main
    python bench/mnist_speed.py --before 2fda0c1 --repeats 5 --sweeps 40
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "backends/native/_kernels_structured.py"
NETWORKS = {
    "784-16-10": "input pixels[28x28]\nhidden h[16] <- pixels\noutput y[10] <- h\n",
    "784-10": "input pixels[28x28]\noutput y[10] <- pixels\n",
}


def kernel_of(revision: str, folder: Path):
    """The structured kernel module of ``revision`` (git), imported under a name of its own
    inside the native package (its relative imports resolve there)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:{KERNEL}"],
        check=True, capture_output=True, text=True,
    ).stdout
    path = folder / "_kernels_structured_before.py"
    path.write_text(source)
    name = "qubonn.backends.native._kernels_structured_before"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return _with_kind_flags(module)


class _KindFlagsLeftOut:
    """An earlier kernel called with this tree's arguments: its ``sweeps`` took no kind flags
    (``carries``, ``multiclass``: a kernel per kind of problem since 2026-12-06), so they are
    left out of the call."""

    def __init__(self, module, drop: list[int]) -> None:
        self._module, self._drop = module, set(drop)

    def sweeps(self, *args):
        kept = [a for i, a in enumerate(args) if i not in self._drop]
        return self._module.sweeps(*kept)


def _with_kind_flags(module):
    from qubonn.backends.native import _kernels_structured as own

    if "carries" in inspect.signature(module.sweeps.py_func).parameters:
        return module
    names = list(inspect.signature(own.sweeps.py_func).parameters)
    return _KindFlagsLeftOut(module, [names.index("carries"), names.index("multiclass")])


@contextlib.contextmanager
def using(kernel):
    """Run the annealer with ``kernel`` in place of this tree's structured kernel."""
    import qubonn.backends.native as package

    own = package._kernels_structured
    package._kernels_structured = kernel
    sys.modules["qubonn.backends.native._kernels_structured"] = kernel
    try:
        yield
    finally:
        package._kernels_structured = own
        sys.modules["qubonn.backends.native._kernels_structured"] = own


def structured_model(network: str, per_class: int, seed: int):
    import qubonn
    from qubonn.backends.native.structured import model_from_problem
    from qubonn.formulation import Objective
    from qubonn.training.labels import encode_targets

    net = qubonn.parse(NETWORKS[network])
    data = qubonn.datasets.mnist(per_class=per_class, seed=seed)
    T = encode_targets(data.y_train, list(data.classes), net.n_outputs)
    objective = Objective(loss="auto", margin="auto", hard_margin="auto").for_network(net)
    return model_from_problem(qubonn.compile(net, data.X_train, T, objective=objective))


def timed_run(model, reads: int, sweeps: int, seed: int, **options) -> tuple[float, object]:
    """(moves per second of the sweeps, the result)."""
    from qubonn.backends.native.structured import anneal_structured

    result = anneal_structured(model, num_reads=reads, num_sweeps=sweeps, seed=seed, **options)
    return result.info["moves"] / result.info["timing"]["anneal_s"], result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="main", help="git revision to compare with (main)")
    ap.add_argument("--network", choices=sorted(NETWORKS), default="784-16-10")
    ap.add_argument("--per-class", type=int, default=10)
    ap.add_argument("--reads", type=int, default=16)
    ap.add_argument("--sweeps", type=int, default=30, help="sweeps of the whole anneal")
    ap.add_argument("--cold-sweeps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import qubonn.backends.native._kernels_structured as after

    model = structured_model(args.network, args.per_class, args.seed)
    print(
        f"# {args.network}, MNIST {args.per_class}/class ({model.n_samples} images), "
        f"{model.n_params} parameters, {args.reads} reads; before = {args.before}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    with tempfile.TemporaryDirectory() as folder:
        before = kernel_of(args.before, Path(folder))
        kernels = {"before": before, "after": after}
        for kernel in kernels.values():  # compile / load both untimed
            with using(kernel):
                timed_run(model, args.reads, 1, args.seed)
        _, warm = timed_run(model, args.reads, args.sweeps, args.seed)
        cold = warm.info["beta_range"][1]
        phases = {
            "anneal": dict(sweeps=args.sweeps),
            "cold": dict(
                sweeps=args.cold_sweeps, initial_params=warm.params, beta_range=(cold, cold)
            ),
        }
        print(f"{'phase':7} {'before moves/s':>15} {'after moves/s':>15} {'ratio':>7} identical")
        for phase, opts in phases.items():
            rates: dict[str, list[float]] = {name: [] for name in kernels}
            samples: dict[str, list] = {name: [] for name in kernels}
            for _ in range(args.repeats):
                for name, kernel in kernels.items():
                    with using(kernel):
                        rate, result = timed_run(
                            model, args.reads, opts["sweeps"], args.seed,
                            **{k: v for k, v in opts.items() if k != "sweeps"},
                        )
                    rates[name].append(rate)
                    samples[name].append((result.params, result.energies))
            same = all(
                np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                for a, b in zip(samples["before"], samples["after"], strict=True)
            )
            b, a = statistics.median(rates["before"]), statistics.median(rates["after"])
            print(f"{phase:7} {b:15,.0f} {a:15,.0f} {a / b:7.2f} {same}", flush=True)


if __name__ == "__main__":
    main()
