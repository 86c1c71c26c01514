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
# # 3. Swapping solvers
#
# A compiled training problem is an ordinary QUBO, available as a `dimod.BinaryQuadraticModel`
# (`problem.bqm`). Any dimod sampler can solve it, and qubonn registers several behind one
# name each, so changing solver is changing a string:
#
# ```python
# sampleset = qubonn.solve(problem, backend="neal", num_reads=8, seed=0)
# ```
#
# This notebook runs one problem on every backend, compares them with the cross-validation
# helper, and plots the energy each reaches against the time it takes.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import qubonn
from qubonn.backends.network.crossval import crossval
from qubonn.errors import SolverOptionError
from qubonn.verify import all_weight_assignments, expected_energy

print(qubonn.backends_available())

# %% [markdown]
# `backends_available()` tries to load each backend, so a missing optional dependency shows up
# here rather than halfway through a run:
#
# * `neal`: simulated annealing from dwave-samplers (C++);
# * `openjij-sa`, `openjij-sqa`: OpenJij's simulated annealing and simulated *quantum*
#   annealing (path-integral Monte Carlo);
# * `exact`: enumerates every state; only for tiny problems (24 variables by default);
# * `native`: qubonn's own replica-parallel annealer, on the CPU or a GPU (tutorial 6).
#
# Third-party packages can add backends through the entry-point group `qubonn.backends`.
#
# ## A problem small enough to solve exactly
#
# One neuron with three inputs and a bias (four parameters), trained on eight samples labelled
# by a random "teacher" neuron. We flip one label, so no network can fit all eight: the best
# training loss is above zero, and the exact ground state tells us its value.

# %%
tiny = qubonn.parse("input x[3]\noutput y[1] <- x")
teach = qubonn.datasets.teacher(tiny, 8, seed=1)
y_tiny = np.where(teach.y_train == 1, 1, -1)
y_tiny[0] = -y_tiny[0]  # one label noise
tiny_problem = qubonn.compile(tiny, teach.X_train, y_tiny, margin=0)  # the plain loss
print(tiny_problem.n_variables, "variables")

result = crossval(
    tiny_problem,
    backends=("exact", "neal", "openjij-sa", "openjij-sqa", "native"),
    num_reads=8,
    seed=0,
)
print(result.table())

# %% [markdown]
# Every backend finds the ground state. Because the QUBO is exact, that energy is the lowest
# training loss any weight assignment can reach, which we can confirm by brute force over the
# 2^4 networks (the `verify` helpers are explained in tutorial 5):

# %%
best_loss = min(expected_energy(tiny_problem, w) for w in all_weight_assignments(tiny_problem))
print("best training loss over all 16 networks:", best_loss)
print("exact ground-state energy:             ", result.best_energy)
assert best_loss == result.best_energy

# %% [markdown]
# ## A real training problem
#
# The 4x4 digits network of tutorial 1, on 20 images (3 against 8). That is a few hundred
# variables, far beyond enumeration, so `exact` refuses politely and the heuristics compete.
# `crossval` gives every backend the same number of reads and passes on the options each
# one understands (here `num_sweeps`).

# %%
network = qubonn.parse("""
input  pixels[4x4]
hidden h[3]   <- pixels
output y[1]   <- h
""")
data = qubonn.datasets.digits(classes=(3, 8), per_class=10, size=4, seed=0)
y = np.where(data.y_train == data.classes[1], 1, -1)
problem = qubonn.compile(network, data.X_train, y)
print(problem.size_report())

backends = ("exact", "neal", "openjij-sa", "openjij-sqa", "native")
result = crossval(problem, backends=backends, num_reads=8, seed=0, num_sweeps=1000)
print(result.table())

# %% [markdown]
# Handed a compiled problem, `crossval` judges reads as networks: per backend the share of
# valid reads (those that break no constraint of any sample), the best *replayed* objective
# among them, how far it is from the best of all (`to_best`), and the time; a backend that
# proves a bound (`cpsat`) adds each row's gap to it. The last lines say which backends returned
# valid networks and which reached the best. Here the generic annealers return few valid reads
# or none: the normal picture for a single-spin heuristic on a training QUBO, and why
# cross-validation is worth running before trusting a new backend or budget. The fix for generic
# samplers is a *strategy* (the end of this notebook).
#
# An infeasible sample still contains a network: its weight bits. `problem.decode` replays
# that network with a real forward pass. The native backend, handed the compiled problem,
# runs its *structured* mode (single-parameter flips together with their per-sample
# completion, tutorial 1), so its reads are valid and its energy *is* the replayed loss:

# %%
print(f"{'backend':12s} {'energy':>8s} {'replayed loss':>14s} {'train acc':>9s} {'valid':>6s}")
for name, sampleset in result.samplesets.items():
    decoded = problem.decode(sampleset.first.sample)
    print(
        f"{name:12s} {decoded.energy:8.0f} {decoded.loss:14.0f} {decoded.accuracy:9.0%} "
        f"{str(decoded.report.ok):>6s}"
    )

# %% [markdown]
# ## Energy against time
#
# The fair comparison of annealers is the energy reached in a given time. We run each
# backend on a ladder of sweep counts (same reads, same seed) and plot the best energy
# against wall time. The native annealer compiled its kernels in the cross-validation above,
# so its times here exclude that one-off cost.

# %%
ladder = {
    "neal": [30, 100, 300, 1000, 3000],
    "openjij-sa": [30, 100, 300, 1000, 3000],
    "native": [30, 100, 300, 1000, 3000],
    "openjij-sqa": [30, 100, 300],
}
curves = {}
for name, sweeps in ladder.items():
    points = []
    for s in sweeps:
        start = time.perf_counter()
        ss = qubonn.solve(problem, backend=name, num_reads=8, seed=0, num_sweeps=s)
        points.append((time.perf_counter() - start, ss.first.energy))
    curves[name] = np.array(points)
    print(
        f"{name:12s}",
        "  ".join(f"{s}: {e:.0f} ({t:.2f}s)" for s, (t, e) in zip(sweeps, points, strict=True)),
    )

# A reference: the best valid state of the structured mode, with a longer run.
reference = qubonn.solve(problem, backend="native", num_reads=8, num_sweeps=2000, seed=0)
reference = reference.first.energy
print("energy of the structured mode's best valid state:", reference)

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, pts in curves.items():
    ax.plot(pts[:, 0], pts[:, 1], "o-", label=name)
ax.axhline(reference, color="k", ls="--", lw=1, label="structured mode (valid state)")
ax.set_xscale("log")
ax.set_yscale("symlog", linthresh=10)  # linear near 0, logarithmic above 10
ax.set_ylim(bottom=-1)
ax.set_xlabel("wall time (s), 8 reads")
ax.set_ylabel("best energy")
ax.set_title(f"{problem.n_variables} variables, {problem.n_samples} samples")
ax.legend()
fig.tight_layout()

# %% [markdown]
# The structured mode's network fits all 20 images with zero loss: its valid state has
# energy 0.
# Without a soft margin every term of the QUBO is non-negative, so 0 is the global minimum:
# here we *know* the optimum, and can read the plot as distance to it.
#
# What the plot shows (timings vary between machines; the energies are fixed by the seeds):
#
# * more sweeps mostly buy lower energies, but no single-spin annealer (neal, OpenJij) reaches
#   the minimum within a few seconds. The training QUBO is hard for single-spin moves: each
#   weight is shared by every sample's constraints, so flipping it alone breaks many of them
#   at once. The native backend's structured mode moves between valid states only and gets
#   there in a fraction of a second;
# * simulated *quantum* annealing costs far more per sweep (it simulates several coupled
#   replicas, the Trotter slices) and lags behind here;
# * time per sweep differs between implementations, which is why the x axis is time, not
#   sweeps.
#
# In the trainer, choosing a backend is one argument:
# `BNNClassifier(network, backend="neal", num_reads=8, solver_options={"num_sweeps": 1000})`.
# Solver options that a backend does not know raise `SolverOptionError` instead of being
# silently ignored:

# %%
try:
    qubonn.solve(problem, backend="native", num_reads=4, num_sweep=100)
except SolverOptionError as err:
    print("SolverOptionError:", err)


# %% [markdown]
# ## Any sampler trains: the decompose strategy
#
# `strategy="decompose"` hands the sampler plain sub-QUBOs it can solve: all parameters plus a
# mini-batch of images (its size measured from the sampler's valid share), coupled through
# linear penalties on the parameters, each accepted only when it improves the objective on the
# whole training set. `info["subsolves"]` says what every sub-solve returned.

# %%
sampleset = qubonn.solve(
    problem, backend="neal", strategy="decompose", num_reads=4, num_sweeps=300, seed=0
)
subsolves = sampleset.info["subsolves"]
decoded = problem.decode(sampleset.first.sample)
print(
    f"batch {sampleset.info['batch_size']}, {len(subsolves)} sub-solves, "
    f"{sum(s['accepted'] for s in subsolves)} accepted; the network: valid {decoded.report.ok}, "
    f"train accuracy {decoded.accuracy:.0%}"
)

# %% [markdown]
# ## A slack encoding single-spin samplers can follow
#
# Each sign constraint's integer slack is written in binary by default: the fewest bits, but a
# change of one (7 to 8) can flip four of them, so a single-spin annealer that follows a count
# must pass through broken states. `slack_encoding="unary"` writes one bit per unit instead:
# exact as well (the same minimum), with more variables, and every change of one is one flip.
# On it, neal's reads of the *whole* QUBO come back valid. They are not good networks, though:
# every weight still couples to every image, so the weights freeze before the loss can steer
# them (docs/benchmarks.md, "Slack encodings"). Use it for valid full-QUBO reads (cross-checks);
# train generic samplers with `decompose` on the default encoding.

# %%
unary = qubonn.compile(network, data.X_train, y, slack_encoding="unary")
for name, p in (("binary", problem), ("unary", unary)):
    reads = qubonn.solve(p, backend="neal", num_reads=8, num_sweeps=1000, seed=0)
    best = p.decode(reads.first.sample)
    print(
        f"{name:6s} {p.n_variables:5d} variables: valid reads {1 - p.broken_share(reads):4.0%}, "
        f"best read's network: train accuracy {best.accuracy:.0%}"
    )
