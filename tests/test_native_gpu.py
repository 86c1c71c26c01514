"""CuPy paths of the native annealer against the numpy reference, sample for sample.

Runs only where a CUDA GPU is usable (``pytest -m gpu``); elsewhere every test skips with the
reason.  Imports nothing beyond numpy, pytest and CuPy, because the GPU check machine has no dimod:
when dimod is missing, ``qubonn.backends`` is registered as a bare package (its ``__init__``,
which imports the registry and dimod, is not run) so that the native core still imports.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import types

import numpy as np
import pytest

import qubonn

if importlib.util.find_spec("dimod") is None and "qubonn.backends" not in sys.modules:
    _pkg = types.ModuleType("qubonn.backends")
    _pkg.__path__ = [str(pathlib.Path(qubonn.__file__).parents[1] / "backends")]
    sys.modules["qubonn.backends"] = _pkg

from qubonn.backends.native.anneal import anneal, gpu_available  # noqa: E402
from qubonn.backends.native.problem import IsingProblem  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not gpu_available(), reason="no usable CUDA GPU (cupy.cuda.is_available())"),
]


def integer_problem(n: int, seed: int, density: float) -> IsingProblem:
    """Integer couplings: sums are exact in any order, so CPU and GPU must agree bit for bit."""
    rng = np.random.default_rng(seed)
    r, c = np.triu_indices(n, 1)
    keep = rng.random(r.size) < density
    vals = rng.integers(-6, 7, size=int(keep.sum())).astype(float)
    return IsingProblem.from_ising(rng.integers(-4, 5, size=n), r[keep], c[keep], vals)


@pytest.mark.parametrize("matrix, density", [("sparse", 0.1), ("dense", 0.8)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("implementation", ["kernel", "array"])
def test_sa_gpu_equals_numpy(implementation: str, dtype: str, matrix: str, density: float) -> None:
    p = integer_problem(60, seed=1, density=density)
    kw = dict(num_reads=37, num_sweeps=30, seed=5, dtype=dtype, matrix=matrix)
    ref = anneal(p, device="cpu", implementation="array", **kw)
    gpu = anneal(p, device="gpu", implementation=implementation, **kw)
    assert gpu.info["device"] == "gpu"
    np.testing.assert_array_equal(gpu.samples, ref.samples)
    np.testing.assert_array_equal(gpu.energies, ref.energies)
    assert len({tuple(s) for s in ref.samples}) > 1  # independent reads, not one copied


@pytest.mark.parametrize("matrix, density", [("sparse", 0.1), ("dense", 0.8)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ma_gpu_equals_numpy(dtype: str, matrix: str, density: float) -> None:
    p = integer_problem(80, seed=2, density=density)
    kw = dict(algorithm="ma", num_reads=33, num_sweeps=60, seed=9, dtype=dtype, matrix=matrix)
    ref = anneal(p, device="cpu", **kw)
    gpu = anneal(p, device="gpu", **kw)
    np.testing.assert_array_equal(gpu.samples, ref.samples)


def test_gpu_kernel_reaches_ring_ground_state() -> None:
    n = 500
    i = np.arange(n)
    p = IsingProblem.from_ising(np.zeros(n), i, (i + 1) % n, np.ones(n))
    r = anneal(p, device="gpu", num_reads=256, num_sweeps=3000, seed=0)
    assert r.energies.min() == -n


def _structured_model(spec: str, n: int, seed: int, loss: str = "hinge", margin: float = 0.2):
    """A structured model without the compiler (the GPU check machine has no scipy)."""
    from types import SimpleNamespace

    from qubonn.backends.native import structured

    net = qubonn.parse(spec)
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], (n, net.n_inputs)).astype(np.int8)
    objective = SimpleNamespace(
        loss=loss, loss_weight=1.0, margin=margin, margin_scale="fan_in", hard_margin=0
    )
    targets = rng.integers(0, 2, (n, net.n_outputs))
    if loss == "multiclass":  # one true class per sample
        targets = np.eye(net.n_outputs, dtype=np.int64)[rng.integers(0, net.n_outputs, n)]
    formulation = SimpleNamespace(
        network=net,
        objective=objective,
        targets=targets,
        linear_penalties=rng.normal(0, 0.2, net.n_parameters),
    )
    return structured.model_from_formulation(formulation, X)


@pytest.mark.parametrize("algorithm", ["pt", "sa"])
@pytest.mark.parametrize(
    "spec, loss",
    [
        ("input x[6]\nhidden h[3] <- x\noutput y[1] <- h\n", "hinge"),
        ("input x[2x3]\nhidden a[2] <- x nobias\nhidden b[2] <- a, x\noutput y[2] <- b, a\n", "01"),
        ("input x[6]\nhidden h[4] <- x\nhidden g[2] <- h\noutput y[4] <- g, h\n", "multiclass"),
    ],
)
def test_structured_gpu_equals_cpu(spec: str, loss: str, algorithm: str) -> None:
    pytest.importorskip("numba")
    from qubonn.backends.native import structured

    model = _structured_model(spec, n=37, seed=3, loss=loss)
    kw = dict(num_reads=9, num_sweeps=25, seed=11, algorithm=algorithm, beta_range=(0.2, 5.0))
    cpu = structured.anneal_structured(model, device="cpu", **kw)
    gpu = structured.anneal_structured(model, device="gpu", **kw)
    assert gpu.info["device"] == "gpu"
    np.testing.assert_array_equal(gpu.params, cpu.params)
    np.testing.assert_array_equal(gpu.energies, cpu.energies)
    assert gpu.info.get("exchanges") == cpu.info.get("exchanges")
