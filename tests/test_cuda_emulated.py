"""The CUDA kernels, run on the CPU by the emulator, against the numba path: bit for bit.

The sources are the strings CuPy compiles (``_kernels_cuda``, ``_kernels_structured_cuda``);
inside :func:`emulated_cupy` the annealer's own ``device="gpu"`` code path runs them (buffer
sizes, argument order and launch included).  A block's threads are real threads, so a missing
barrier can show up as a wrong result: each case runs at several block sizes, and broken copies
of the sources (a dropped barrier, a changed coefficient) must fail the same comparison.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_networks
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import (
    domain_cases,
    multiclass_objectives,
    objectives,
    random_problem,
    tiny_multiclass_networks,
    tiny_networks,
)

import qubonn
from qubonn.backends.native import _kernels_cuda, _kernels_structured_cuda, structured
from qubonn.backends.native import cuda_emulator as emu
from qubonn.backends.native.anneal import anneal
from qubonn.backends.native.problem import IsingProblem

pytestmark = [
    pytest.mark.cuda_emulated,
    pytest.mark.skipif(emu.compiler() is None, reason=f"{emu.unavailable_reason()}"),
]

BLOCKS = st.sampled_from([1, 2, 3, 5, 8])
SETTINGS = settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --------------------------------------------------------------------------- the emulator
KERNELS = r"""
extern "C" __global__ void ids(int* out, const int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = 1000000 * blockIdx.x + 1000 * blockDim.x + threadIdx.x;
}

/* each block: every thread adds its value to a shared sum; thread 0 writes it after a barrier */
extern "C" __global__ void block_sums(const long long* v, long long* out) {
    extern __shared__ unsigned long long acc[];
    if (threadIdx.x == 0) acc[0] = 0;
    __syncthreads();
    atomicAdd(&acc[0], (unsigned long long)v[blockIdx.x * blockDim.x + threadIdx.x]);
    __syncthreads();
    if (threadIdx.x == 0) out[blockIdx.x] = (long long)acc[0];
}

/* thread 0 waits at a barrier that thread 1 does not reach: it waits (1 s at most) for the
   flag that thread 0 sets after the barrier */
extern "C" __global__ void deadlock(int* flag) {
    if (threadIdx.x == 0) { __syncthreads(); atomicAdd(&flag[0], 1); }
    else for (int i = 0; i < 20 && atomicAdd(&flag[0], 0) == 0; ++i) __nanosleep(50000000);
}
"""


def test_thread_and_block_indices_are_cudas():
    kernel = emu.compile_module(KERNELS).get_function("ids")
    out = np.full(10, -1, dtype=np.int32)
    kernel((3,), (4,), (out, np.int32(10)))
    i = np.arange(10)
    np.testing.assert_array_equal(out, 1_000_000 * (i // 4) + 4000 + i % 4)


def test_shared_memory_is_per_block_and_atomics_add_up():
    kernel = emu.compile_module(KERNELS).get_function("block_sums")
    v = np.arange(6 * 32, dtype=np.int64)
    out = np.zeros(6, dtype=np.int64)
    kernel((6,), (32,), (v, out), shared_mem=8)
    np.testing.assert_array_equal(out, v.reshape(6, 32).sum(axis=1))


def test_a_barrier_that_a_thread_never_reaches_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setitem(emu.SETTINGS, "barrier_timeout_s", 0.5)
    mod = emu.compile_module(KERNELS)
    emu.configure_library(mod._lib)
    try:
        with pytest.raises(emu.EmulatorError, match="deadlock"):
            mod.get_function("deadlock")((1,), (2,), (np.zeros(1, dtype=np.int32),))
    finally:
        monkeypatch.undo()
        emu.configure_library(mod._lib)


def test_more_shared_memory_than_a_gpu_gives_is_refused():
    kernel = emu.compile_module(KERNELS).get_function("block_sums")
    args = (np.zeros(32, dtype=np.int64), np.zeros(1, dtype=np.int64))
    with pytest.raises(emu.EmulatorError, match="too much dynamic shared memory: 49160"):
        kernel((1,), (32,), args, shared_mem=48 * 1024 + 8)


def test_a_network_over_the_gpu_kernels_shared_memory_stays_on_the_cpu_with_auto():
    from types import SimpleNamespace

    from qubonn.errors import SolverOptionError

    big = SimpleNamespace(n_neurons=7000, lw=np.ones(1))
    small = SimpleNamespace(n_neurons=100, lw=np.ones(2))
    with emu.emulated_cupy():
        assert structured._structured_device(small, "auto") == "gpu"
        assert structured._structured_device(big, "auto") == "cpu"
        with pytest.raises(SolverOptionError, match="7000 neurons are over the GPU kernel"):
            structured._structured_device(big, "gpu")
    assert structured._structured_device(small, "cpu") == "cpu"


def test_arguments_of_the_wrong_width_or_kind_are_refused():
    kernel = emu.compile_module(KERNELS).get_function("ids")
    out = np.zeros(4, dtype=np.int32)
    with pytest.raises(TypeError, match="argument 1: the parameter is i4, got int64"):
        kernel((1,), (4,), (out, np.int64(4)))
    with pytest.raises(TypeError, match="argument 0: the parameter points at i4 elements"):
        kernel((1,), (4,), (out.astype(np.float32), np.int32(4)))
    with pytest.raises(TypeError, match="takes 2 arguments, got 1"):
        kernel((1,), (4,), (out,))


def test_a_source_that_does_not_compile_shows_the_compilers_message():
    with pytest.raises(emu.EmulatorError, match="undeclared|was not declared"):
        emu.compile_module('extern "C" __global__ void k(int* a) { a[0] = nope; }')


def test_compiled_kernels_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("QUBONN_CUDA_EMU_CACHE", str(tmp_path))
    source = KERNELS + "\n/* cache test */\n"
    emu._build(source, ())
    (lib,) = tmp_path.glob("kernel-*.so")
    stamp = lib.stat().st_mtime_ns
    emu._build(source, ())
    assert [p.stat().st_mtime_ns for p in tmp_path.glob("kernel-*.so")] == [stamp]


# --------------------------------------------------------------------------- spin mode
@st.composite
def ising_problems(draw):
    """Random Ising problems: integer or real couplings, sparse to dense, isolated spins."""
    n = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 10**6))
    rng = np.random.default_rng(seed)
    r, c = np.triu_indices(n, 1)
    keep = rng.random(r.size) < draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    if draw(st.booleans()):
        vals = rng.integers(-3, 4, int(keep.sum())).astype(float)
        h = rng.integers(-2, 3, n).astype(float)
    else:
        vals, h = rng.normal(0, 1, int(keep.sum())), rng.normal(0, 0.5, n)
    return IsingProblem.from_ising(h, r[keep], c[keep], vals)


@SETTINGS
@given(
    problem=ising_problems(),
    dtype=st.sampled_from(["float32", "float64"]),
    matrix=st.sampled_from(["sparse", "dense"]),
    num_reads=st.integers(1, 20),
    seed=st.integers(0, 2**32),
    threads=BLOCKS,
)
def test_spin_kernels_equal_the_numba_path(problem, dtype, matrix, num_reads, seed, threads):
    kw = dict(num_reads=num_reads, num_sweeps=12, seed=seed, dtype=dtype, matrix=matrix)
    cpu = anneal(problem, device="cpu", implementation="compiled", **kw)
    with emu.emulated_cupy(threads=threads):
        gpu = anneal(problem, device="gpu", implementation="kernel", **kw)
    assert gpu.info["device"] == "gpu" and gpu.info["matrix"] == matrix
    np.testing.assert_array_equal(gpu.samples, cpu.samples)
    np.testing.assert_array_equal(gpu.energies, cpu.energies)


# --------------------------------------------------------------------------- structured mode
def _cpu_and_emulated(model, threads, **kw):
    cpu = structured.anneal_structured(model, device="cpu", **kw)
    with emu.emulated_cupy(threads=threads):
        gpu = structured.anneal_structured(model, device="gpu", **kw)
    assert gpu.info["device"] == "gpu"
    return cpu, gpu


def _assert_same(cpu, gpu):
    np.testing.assert_array_equal(gpu.params, cpu.params)
    np.testing.assert_array_equal(gpu.energies, cpu.energies)
    assert gpu.info["exchanges"] == cpu.info["exchanges"]


NETWORKS_AND_OBJECTIVES = st.one_of(
    st.tuples(tiny_networks(max_parameters=14), objectives()),
    st.tuples(random_networks(max_groups=2), objectives()),
    st.tuples(tiny_multiclass_networks(max_parameters=14), multiclass_objectives()),
    domain_cases(),  # integer inputs, ternary groups and the sparsity term
)


@settings(SETTINGS, max_examples=100)
@given(
    case=NETWORKS_AND_OBJECTIVES,
    n=st.integers(1, 12),
    penalties=st.booleans(),
    seed=st.integers(0, 10**6),
    algorithm=st.sampled_from(["sa", "pt"]),
    num_reads=st.integers(2, 5),
    threads=st.lists(BLOCKS, min_size=2, max_size=2),
)
def test_structured_kernel_equals_the_numba_path(
    case, n, penalties, seed, algorithm, num_reads, threads
):
    net, objective = case
    problem = random_problem(net, objective, seed, n, penalties)
    event(f"{objective.loss}{' (refused)' if problem is None else ''}")
    if problem is None:
        return
    model = structured.model_from_problem(problem)
    kw = dict(num_reads=num_reads, num_sweeps=8, seed=seed, algorithm=algorithm)
    cpu, gpu = _cpu_and_emulated(model, threads[0], **kw)
    _assert_same(cpu, gpu)
    with emu.emulated_cupy(threads=threads[1]):  # again, at another block size
        _assert_same(cpu, structured.anneal_structured(model, device="gpu", **kw))


DIGITS_SPECS = {
    "hinge": ("input x[8x8]\nhidden h[3x3] <- x window 4x4 stride 2\nhidden g[3] <- h, x[0:9]\n"
              "output y[1] <- g, h\n"),
    "multiclass": "input x[8x8]\nhidden h[4] <- x\noutput y[3] <- h, x[60:64] nobias\n",
}


def _digits_model(spec: str, loss: str, per_class: int, seed: int):
    """The structured model of ``spec`` on digits: 3 vs 8 (hinge) or 1, 4, 7 (multiclass)."""
    net = qubonn.parse(spec)
    classes = (3, 8) if loss == "hinge" else (1, 4, 7)
    data = qubonn.datasets.digits(classes=classes, per_class=per_class, seed=seed)
    y = data.y_train == 8 if loss == "hinge" else np.eye(3, dtype=int)[np.searchsorted(
        classes, data.y_train)]
    problem = qubonn.compile(net, data.X_train, y, loss=loss, margin=0.2, hard_margin=1)
    return structured.model_from_problem(problem)


@pytest.mark.parametrize("loss", ["hinge", "multiclass"])
def test_more_samples_than_threads_at_the_kernels_own_block_size(loss):
    """Digits: 60 samples over 4, 7 and 128 threads (some threads with no sample at all)."""
    model = _digits_model(DIGITS_SPECS[loss], loss, per_class=20, seed=0)
    for threads in (4, 7, 128):
        sweeps = 3 if threads == 128 else 6
        cpu, gpu = _cpu_and_emulated(
            model, threads, num_reads=3, num_sweeps=sweeps, seed=threads, beta_range=(0.5, 20.0)
        )
        _assert_same(cpu, gpu)


KINDS = {  # spec, loss: (carries, multiclass) of the CPU kernel's specialisation
    "perceptron": ("input x[8x8]\noutput y[1] <- x\n", "hinge", (None, None)),
    "hidden layer": ("input x[8x8]\nhidden h[3] <- x\noutput y[1] <- h\n", "hinge",
                     (True, None)),
    "multiclass outputs": ("input x[8x8]\noutput y[3] <- x\n", "multiclass", (None, True)),
    "both": ("input x[8x8]\nhidden h[3] <- x\noutput y[3] <- h, x[0:4]\n", "multiclass",
             (True, True)),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_problem_gets_its_own_cpu_kernel_and_the_same_samples(kind):
    """The CPU kernel prunes what a problem lacks (``kernel_args``' flags are None); the CUDA
    kernel never specialises, so the two agree only if every pruned part was truly unused."""
    spec, loss, flags = KINDS[kind]
    model = _digits_model(spec, loss, per_class=8, seed=1)
    assert model.kernel_args()[-2:] == flags
    for algorithm in ("sa", "pt"):
        cpu, gpu = _cpu_and_emulated(
            model, 5, num_reads=3, num_sweeps=6, seed=7, algorithm=algorithm,
            beta_range=(0.5, 20.0),
        )
        _assert_same(cpu, gpu)


# --------------------------------------------------------------------------- broken copies
def _use_source(monkeypatch, module, broken: str) -> None:
    """The module's CUDA source replaced by ``broken`` (until ``monkeypatch.undo()``)."""
    assert broken != module._SOURCE
    monkeypatch.setattr(module, "_SOURCE", broken)


def _structured_case():
    net = qubonn.parse("input x[6]\nhidden h[4] <- x\nhidden g[2] <- h\noutput y[3] <- g, h\n")
    rng = np.random.default_rng(3)
    X = rng.choice([-1, 1], (37, 6))
    Y = np.eye(3, dtype=int)[rng.integers(0, 3, 37)]
    problem = qubonn.compile(net, X, Y, loss="multiclass", margin=0.2)
    return structured.model_from_problem(problem)


def _drop_nth(source: str, what: str, n: int) -> str:
    at = -1
    for _ in range(n + 1):
        at = source.index(what, at + 1)
    return source[:at] + source[at + len(what):]


@pytest.mark.parametrize(
    "breakage",
    ["the barrier before thread 0 sums the block's changes", "a coefficient of the carry"],
)
def test_a_broken_structured_kernel_fails_the_comparison(monkeypatch, breakage):
    kc = _kernels_structured_cuda
    if breakage.startswith("the barrier"):
        broken = _drop_nth(kc._SOURCE, "__syncthreads();", 0)  # the first one, in move()
    else:
        broken = kc._SOURCE.replace("pend[d] += 2 * params", "pend[d] += 4 * params")
    model = _structured_case()
    kw = dict(num_reads=3, num_sweeps=6, seed=2, beta_range=(0.5, 20.0))
    cpu = structured.anneal_structured(model, device="cpu", **kw)

    def emulated():
        with emu.emulated_cupy(threads=4):
            return structured.anneal_structured(model, device="gpu", **kw)

    _use_source(monkeypatch, kc, broken)
    same = []
    for _ in range(3):  # a race shows in some runs: one wrong run of three is enough
        gpu = emulated()
        same.append(np.array_equal(gpu.params, cpu.params) and
                    np.array_equal(gpu.energies, cpu.energies))
    assert not all(same)
    monkeypatch.undo()  # and the kernel as written passes the same comparison
    _assert_same(cpu, emulated())


TERNARY_HIDDEN = "input x[5] values -3..6\nhidden h[3] <- x ternary\noutput y[1] <- h, x\n"
TERNARY_OUTPUT = "input x[5] values -3..6\nhidden h[3] <- x\noutput y[1] <- h, x ternary\n"


@pytest.mark.parametrize(
    "spec, old, new",
    [
        (TERNARY_HIDDEN, "return u < 0.5 ? 0 : -wp;", "return u < 0.5 ? -wp : 0;"),  # values
        (TERNARY_HIDDEN, "+ m.lam * (double)", "+ 0.0 * (double)"),  # the sparsity term
        (TERNARY_OUTPUT, "/ m.g[j];", ">> 1;"),  # a ternary output's count is z + Kn, not half
    ],
)
def test_a_broken_ternary_or_integer_path_fails_the_comparison(monkeypatch, spec, old, new):
    kc = _kernels_structured_cuda
    assert kc._SOURCE.count(old) == 1
    rng = np.random.default_rng(4)
    X = rng.integers(-3, 7, (23, 5))
    problem = qubonn.compile(qubonn.parse(spec), X, rng.integers(0, 2, 23), margin=0.2,
                             hard_margin=1, sparsity=0.4)
    model = structured.model_from_problem(problem)
    kw = dict(num_reads=3, num_sweeps=6, seed=2, beta_range=(0.5, 20.0))
    cpu = structured.anneal_structured(model, device="cpu", **kw)

    def emulated():
        with emu.emulated_cupy(threads=4):
            return structured.anneal_structured(model, device="gpu", **kw)

    _use_source(monkeypatch, kc, kc._SOURCE.replace(old, new))
    gpu = emulated()
    assert not (np.array_equal(gpu.params, cpu.params) and
                np.array_equal(gpu.energies, cpu.energies))
    monkeypatch.undo()
    _assert_same(cpu, emulated())


@pytest.mark.parametrize("matrix", ["sparse", "dense"])
def test_a_broken_spin_kernel_fails_the_comparison(monkeypatch, matrix):
    kc = _kernels_cuda
    broken = kc._SOURCE.replace("const real d = -(si + si);", "const real d = -si;")
    rng = np.random.default_rng(0)
    r, c = np.triu_indices(25, 1)
    problem = IsingProblem.from_ising(rng.normal(0, 1, 25), r, c, rng.normal(0, 1, r.size))
    kw = dict(num_reads=6, num_sweeps=10, seed=1, matrix=matrix)
    cpu = anneal(problem, device="cpu", implementation="compiled", **kw)

    def emulated():
        with emu.emulated_cupy(threads=4):
            return anneal(problem, device="gpu", implementation="kernel", **kw)

    _use_source(monkeypatch, kc, broken)
    gpu = emulated()
    assert not np.array_equal(gpu.samples, cpu.samples)
    monkeypatch.undo()
    np.testing.assert_array_equal(emulated().samples, cpu.samples)


# --------------------------------------------------------------------------- device="auto"
def test_auto_picks_the_gpu_in_both_modes_where_one_is_usable():
    """Through the sampler: the structured mode and the spin mode both go to the (emulated)
    GPU with device="auto", and the structured reads are the CPU's."""
    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(0)
    problem = qubonn.compile(net, rng.choice([-1, 1], (9, 4)), rng.integers(0, 2, 9), margin=0.3)
    kw = dict(backend="native", num_reads=3, num_sweeps=10, seed=4)
    cpu = qubonn.solve(problem, device="cpu", **kw)
    assert cpu.info["device"] == "cpu"
    with emu.emulated_cupy(threads=3):
        auto = qubonn.solve(problem, **kw)
        spin = qubonn.solve(problem, mode="spin", **kw)
    assert auto.info["device"] == "gpu" and auto.info["mode"] == "structured"
    assert spin.info["device"] == "gpu"
    np.testing.assert_array_equal(auto.record.sample, cpu.record.sample)


# --------------------------------------------------------------------------- the GPU check
@pytest.mark.slow
def test_the_gpu_checks_cases_pass_on_the_emulator(tmp_path, capsys):
    """bench/gpu_check.py: its exported cases (the numba path's samples) against the emulated
    GPU, as the GPU machine runs them."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import gpu_check

    gpu_check.export_cases(tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 2 * len(gpu_check.STRUCTURED_CASES) + len(
        gpu_check.SPIN_CASES
    )
    with emu.emulated_cupy(threads=4):
        assert gpu_check.check_cases(tmp_path)
    table = capsys.readouterr().out
    assert table.count("| equal |") == 14 and "DIFFERENT" not in table
