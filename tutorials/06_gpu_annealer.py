# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. The native annealer, on CPU and GPU
#
# `backend="native"` is qubonn's own annealer (`qubonn.backends.native.NativeSampler`). It runs
# many independent replicas at once, on the CPU (numba, one thread per core) or on a CUDA GPU
# (CuPy, one GPU thread per replica), with two algorithms:
#
# * **simulated annealing** (`algorithm="sa"`, the default): Metropolis single-spin flips while
#   the inverse temperature beta rises. Each replica keeps its local fields
#   `f_i = h_i + sum_j J_ij s_j`, so judging a flip costs O(1) (`dE = -2 s_i f_i`) and only an
#   accepted flip pays for updating its neighbours. Every replica returns the best state it
#   visited, not just its last one.
# * **Momentum Annealing** (`algorithm="ma"`, Okuyama et al. 2019): the spins are copied into
#   two layers coupled to each other, so a whole layer can be updated at once from the other.
#   A step is one matrix product for all replicas, which is what GPUs do best.
#
# Random numbers come from a hash of (seed, sweep, variable, replica) rather than a stateful
# generator, so **the same seed gives the same samples on every code path and device**. This
# notebook runs on the CPU wherever no GPU is present; the last section shows how to use one.
# Details and measurements: `docs/native-annealer.md`.

# %%
import time

import dimod
import matplotlib.pyplot as plt
import numpy as np

import qubonn
from qubonn.backends.native import NativeSampler
from qubonn.backends.native.anneal import gpu_available
from qubonn.training import BNNClassifier

sampler = NativeSampler()
GPU = gpu_available()
print("GPU available:", GPU)
print("numba available:", sampler.properties["numba_available"])
print("algorithms:", sampler.properties["algorithms"], " devices:", sampler.properties["devices"])

# %% [markdown]
# `gpu_available()` asks CuPy whether a CUDA device is usable; merely importing CuPy proves
# nothing. With `device="auto"` (the default) the sampler uses the GPU exactly when this is true.
#
# ## A test problem
#
# A +-J spin glass on a 32x32 torus: 1024 spins, each coupled to its four neighbours with a
# random sign. It is sparse like the training QUBOs, and small enough for a quick run.

# %%
L = 32
rng = np.random.default_rng(0)
J = {}
for r in range(L):
    for c in range(L):
        i = r * L + c
        for j in (r * L + (c + 1) % L, ((r + 1) % L) * L + c):
            J[(i, j)] = float(rng.choice([-1, 1]))
glass = dimod.BinaryQuadraticModel.from_ising({}, J)
print(glass.num_variables, "spins,", glass.num_interactions, "couplings")

# %% [markdown]
# ## One sample call
#
# `sample` follows dimod's interface; `info` tells what ran and how long it took.

# %%
ss = sampler.sample(glass, num_reads=16, num_sweeps=1000, seed=0)  # the first call compiles
ss = sampler.sample(glass, num_reads=16, num_sweeps=1000, seed=0)
info = ss.info
print("best energy", ss.first.energy, " mean", ss.record.energy.mean())
shown = ("algorithm", "device", "implementation", "dtype", "matrix", "num_sweeps")
print({k: info[k] for k in shown})
rate = info["flip_attempts"] / info["timing"]["anneal_s"]
print(
    f"{info['flip_attempts']:,} flip attempts in {info['timing']['anneal_s']:.2f} s: "
    f"{rate / 1e6:.0f} million per second"
)

# %% [markdown]
# ## Same seed, same samples, whatever the implementation
#
# On the CPU there are two implementations of SA: `implementation="compiled"` (numba kernels,
# whole sweeps per call) and `implementation="array"` (numpy, all replicas vectorised, the
# reference). On a GPU there are two more (`kernel` and the array code on CuPy). With integer
# couplings every path makes the same decisions, so they return identical samples. The array
# implementation is slow on the CPU, so we compare on a short run:

# %%
short = dict(num_reads=4, num_sweeps=20, seed=7)
a = sampler.sample(glass, implementation="array", **short)
b = sampler.sample(glass, implementation="compiled", **short)
same = np.array_equal(a.record.sample, b.record.sample)
print("array and compiled implementations give identical samples:", same)
assert same

# %% [markdown]
# ## SA against Momentum Annealing
#
# Best energy over 16 replicas as the number of sweeps (MA: steps) grows. On the CPU, MA runs
# through the array code (a sparse matrix product per step); its strength is on the GPU, where
# all spins of all replicas update in parallel.

# %%
steps = [50, 200, 800, 3200]
results = {"sa": [], "ma": []}
for algorithm in results:
    for n in steps:
        start = time.perf_counter()
        out = sampler.sample(glass, algorithm=algorithm, num_reads=16, num_sweeps=n, seed=0)
        results[algorithm].append((n, time.perf_counter() - start, out.first.energy))
    print(
        algorithm.upper(), "  ".join(f"{n}: {e:.0f} ({t:.2f} s)" for n, t, e in results[algorithm])
    )

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for algorithm, rows in results.items():
    rows = np.array(rows)
    axes[0].plot(rows[:, 0], rows[:, 2], "o-", label=algorithm.upper())
    axes[1].plot(rows[:, 1], rows[:, 2], "o-", label=algorithm.upper())
axes[0].set_xlabel("sweeps / steps")
axes[1].set_xlabel(f"wall time (s) on {info['device']}")
axes[0].set_ylabel("best energy of 16 replicas")
for ax in axes:
    ax.set_xscale("log")
    ax.legend()
fig.suptitle("32x32 +-J spin glass")
fig.tight_layout()

# %% [markdown]
# Both improve with longer schedules. On this CPU run SA reaches lower energies per unit of
# time; MA needs more steps, but each step is a single matrix product, which a GPU executes
# for thousands of replicas at once.
#
# ## More replicas
#
# Replicas are independent, so their number sets the parallelism: on the CPU they share the
# cores (once the cores are busy, time grows in proportion to `num_reads`), on a GPU each
# replica is a thread and
# the time stays nearly flat until the device is full (a few hundred to thousands of
# replicas). More replicas also mean more chances to find a low state:

# %%
reads = [2, 8, 32]
rows = []
for n in reads:
    start = time.perf_counter()
    out = sampler.sample(glass, num_reads=n, num_sweeps=500, seed=0)
    rows.append((n, time.perf_counter() - start, out.first.energy))
    print(f"num_reads={n:3d}: {rows[-1][1]:.2f} s, best energy {rows[-1][2]:.0f}")

# %% [markdown]
# ## Budgets and progress
#
# `time_limit` (seconds) stops a run when the time is up; given alone, it sizes the schedule
# so the anneal ends near the limit. `progress(done, total, best_energy)` is called during the
# run (raise `KeyboardInterrupt` in it, or press Ctrl-C, to stop early and still get the best
# states so far).

# %%
seen = []
out = sampler.sample(
    glass,
    num_reads=8,
    time_limit=0.5,
    seed=0,
    progress=lambda done, total, best: seen.append((done, total, best)),
)
print(
    f"{out.info['num_sweeps']} sweeps fitted into 0.5 s; best energy {out.first.energy:.0f}; "
    f"timed out: {out.info['timed_out']}"
)
print("progress calls:", len(seen), " last:", seen[-1] if seen else None)

# %% [markdown]
# ## The native annealer in training
#
# Handed a compiled training problem, the native backend runs its *structured* mode by default
# (exact moves between valid networks, CPU; tutorial 1). The single-spin SA and MA of this
# tutorial are `mode="spin"`; the trainer passes its `solver_options` dict through, so the mode,
# algorithm, device and precision go there:

# %%
network = qubonn.parse("input pixels[4x4]\nhidden h[3] <- pixels\noutput y[1] <- h")
data = qubonn.datasets.digits(classes=(3, 8), per_class=20, size=4, seed=0)
device = "gpu" if GPU else "cpu"
for algorithm in ("sa", "ma"):
    clf = BNNClassifier(
        network,
        backend="native",
        num_reads=16,
        solver_options=dict(
            num_sweeps=1000, mode="spin", algorithm=algorithm, device=device, dtype="float32"
        ),
        random_state=0,
    )
    clf.fit(data.X_train, data.y_train)
    rec = clf.history_[-1]
    print(
        f"{algorithm}: solve {rec['solve_s']:.2f} s on {device}; {rec['valid_share']:.0%} of "
        f"reads valid; best network {rec['train_accuracy']:.0%} train / "
        f"{clf.score(data.X_test, data.y_test):.0%} test"
    )

# %% [markdown]
# Single-spin moves rarely reach valid states of a training QUBO once it has more than a few
# samples (every weight bit is shared by all of them): compare the share of valid reads above
# with the structured mode, whose reads are all valid:

# %%
clf = BNNClassifier(
    network, backend="native", num_reads=16, solver_options={"num_sweeps": 300}, random_state=0
)
clf.fit(data.X_train, data.y_train)
rec = clf.history_[-1]
print(
    f"structured: solve {rec['solve_s']:.2f} s; {rec['valid_share']:.0%} of reads valid; best "
    f"network {rec['train_accuracy']:.0%} train / {clf.score(data.X_test, data.y_test):.0%} test"
)

# %% [markdown]
# Which single-spin algorithm suits a QUBO is an empirical question, and one seed decides
# nothing. Try both (and `qubonn.backends.network.crossval`, tutorial 3) on your own problem.
#
# ## Running on a GPU
#
# 1. Install CuPy for your CUDA version, e.g. `pip install cupy-cuda13x` (CUDA 13; in the
#    clone of qubonn, `pip install -e ".[gpu]"` does the same).
# 2. Check: `python -c "from qubonn.backends.native.anneal import gpu_available;
#    print(gpu_available())"`.
# 3. Pass `device="gpu"` (or keep `"auto"`), `dtype="float32"` for speed, and many replicas to
#    fill the device: `NativeSampler().sample(bqm, num_reads=1024, device="gpu",
#    dtype="float32")`, or `algorithm="ma"` for Momentum Annealing.
# 4. `bash bench/gpu_check.sh` in the repository runs the CuPy-against-numpy tests (identical
#    samples for the same seed) and a benchmark, and writes a log.
#
# When this notebook runs on a machine with a GPU, the cell below compares the devices: same
# seed and options, so the samples must match (float64, SA), and the times show the speed-up.
# Without a GPU it says so and does nothing.

# %%
if GPU:
    kw = dict(num_reads=256, num_sweeps=500, seed=0)
    sampler.sample(glass, device="gpu", **kw)  # warm-up: CUDA kernels compile on first use
    timings = {}
    outs = {}
    for dev in ("cpu", "gpu"):
        start = time.perf_counter()
        outs[dev] = sampler.sample(glass, device=dev, **kw)
        timings[dev] = time.perf_counter() - start
    print({dev: f"{t:.2f} s" for dev, t in timings.items()})
    print(
        "identical samples:", np.array_equal(outs["cpu"].record.sample, outs["gpu"].record.sample)
    )
else:
    print("no GPU here: everything above ran on the CPU")
