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
# # 5. Inside the QUBO
#
# This notebook opens the training QUBO of a network small enough to read: two inputs, two
# hidden neurons, one output, trained on XOR. We look at its variables and its PyQUBO
# expression, break a constraint on purpose, add a custom term, and check by enumeration the
# property everything rests on: **for every choice of weights, the lowest energy over all other
# variables equals the training loss of that network.** Finally we compare the two compiler
# engines. The full derivation is in `docs/formulation.md`.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from pyqubo import Binary

import qubonn
from qubonn import verify

rng = np.random.default_rng(0)

network = qubonn.parse("""
input  x[2]
hidden h[2] <- x
output y[1] <- h
""")
X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
y = np.array([-1, 1, 1, -1])  # XOR: +1 when exactly one input is +1

# margin=0: the plain training loss (one output's default adds the soft margin mu = 0.2),
# so every energy below is an integer and zero means "fits XOR"
problem = qubonn.compile(network, X, y, engine="pyqubo", margin=0)
print(problem.size_report())
print(problem.labels)

# %% [markdown]
# 37 binary variables:
#
# * `w[0..5]`, `b[0..2]`: the 9 parameters, shared by all four samples (a weight +1 is the bit 1);
# * `a[n,j]`: activation of hidden neuron j on sample n;
# * `u[n,e]`: the product of weight e and the activation feeding it (arcs 4 and 5 go from the
#   hidden neurons to the output), which keeps every term quadratic;
# * `s[n,j,k]`: slack bits that let "the pre-activation is at least / at most the threshold"
#   be written as a squared equality.
#
# The output has no activation bit: under the hinge loss it is clamped to the label, and its
# constraint *is* the loss.
#
# ## The PyQUBO expression
#
# With `engine="pyqubo"` the problem keeps the symbolic expression. It is long (every sample
# repeats every constraint), so here are its first terms:

# %%
expression = problem.expression
text = str(expression)
print(type(expression).__name__, "of", len(text), "characters; it starts:")
print(text[:700], "...")

# %% [markdown]
# Term weights are PyQUBO `Placeholder`s: `loss`, `margin`, the constraint penalties `sign`,
# `and`, `tie`, and one `h[e]` per parameter for linear penalties (the dropout scheme uses
# them). So weights change through a feed dict without rebuilding anything, and
# `problem.set_term_weights(margin=0.1)` does exactly that. The constraint penalties are chosen so
# that breaking a constraint never pays: one more than the largest loss a single sample can
# contribute (a squared hinge of at most 2^2 = 4 here, so 5):

# %%
print(problem.term_weights)

# %% [markdown]
# ## A valid state, and a broken one
#
# For given weights, `feasible_state` runs the forward pass and fills in every other variable
# consistently. Its energy is the training loss of that network. Flip one activation bit and a
# constraint breaks: the energy jumps by at least the penalty, and `constraint_report` says
# which constraint and which sample.

# %%
weights = network.random_weights(seed=3)
state = problem.feasible_state(weights)
print("network's training loss:", verify.expected_energy(problem, weights))
print("energy of its valid state:", problem.energy(state))
print(problem.decode(state))

broken = state.copy()
k = problem.labels.index("a[2,1]")
broken[k] = 1 - broken[k]
print("\nafter flipping a[2,1]: energy", problem.energy(broken))
print(problem.constraint_report(broken))

# %% [markdown]
# ## Exactness, checked by enumeration
#
# The network has 2^9 = 512 weight assignments. For each, `verify.min_energy_given_weights`
# minimises the energy over all 28 other variables (exactly: it enumerates each sample's
# activation and product bits, and each slack group on its own), and
# `verify.expected_energy` replays the network on the data. The claim is that the two are
# equal for every assignment, not just for the good ones.

# %%
start = time.perf_counter()
assignments = list(verify.all_weight_assignments(problem))
min_energy = np.array([verify.min_energy_given_weights(problem, w) for w in assignments])
loss = np.array([verify.expected_energy(problem, w) for w in assignments])
print(f"{len(assignments)} assignments in {time.perf_counter() - start:.1f} s")
print("largest |min energy - loss|:", np.abs(min_energy - loss).max())
assert np.array_equal(min_energy, loss)

perfect = [w for w, value in zip(assignments, loss, strict=True) if value == 0]
print(
    f"{len(perfect)} of 512 networks fit XOR with zero loss, e.g. "
    f"w = {perfect[0].w.tolist()}, b = {perfect[0].b.tolist()}"
)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
axes[0].plot(loss, min_energy, "o", alpha=0.3)
axes[0].plot([0, loss.max()], [0, loss.max()], "k--", lw=1)
axes[0].set_xlabel("training loss of the network (forward pass)")
axes[0].set_ylabel("min energy given its weights")
axes[0].set_title("every one of 512 networks: on the diagonal")
values, counts = np.unique(loss, return_counts=True)
axes[1].bar(values, counts)
axes[1].set_xlabel("training loss")
axes[1].set_ylabel("networks")
axes[1].set_title("the loss landscape of XOR")
fig.tight_layout()

# %% [markdown]
# So the global minimum of the QUBO is a network with the lowest possible training loss, here
# zero: a perfect XOR network. The same check runs in the test suite on random networks with
# skip connections, slices, even fan-ins and both losses (`tests/test_formulation.py`);
# `verify.check_exact(problem, weights_list)` returns the assignments where it fails (none).
#
# ## A custom term
#
# Anything you can write in PyQUBO over the problem's labels can be added with `extra=`,
# in either engine. Say we want the two weights of hidden neuron 0 to be equal (a form of
# weight sharing): a penalty of 3 whenever `w[0] != w[1]`.

# %%
tie_weights = 3 * (Binary("w[0]") - Binary("w[1]")) ** 2
custom = qubonn.compile(network, X, y, extra=tie_weights)

sample = rng.choice(len(assignments), size=64, replace=False)
added = np.array(
    [verify.min_energy_given_weights(custom, assignments[i]) - loss[i] for i in sample]
)
differs = np.array([assignments[i].w[0] != assignments[i].w[1] for i in sample])
print("extra energy where w[0] == w[1]:", np.unique(added[~differs]))
print("extra energy where w[0] != w[1]:", np.unique(added[differs]))
print("perfect networks that satisfy it:", sum(w.w[0] == w.w[1] for w in perfect))

# %% [markdown]
# The custom term adds exactly its own value on top of the training loss, and some perfect
# networks satisfy it, so the new optimum still fits XOR. (Any term that involves only the
# parameters keeps exactness this way. A term on per-sample variables needs more care: it
# must not make breaking a constraint profitable, so keep it small next to the penalties or
# raise them with `penalties={...}`.)
#
# Let a solver find the optimum of the custom problem:

# %%
sampleset = qubonn.solve(custom, backend="neal", num_reads=32, num_sweeps=2000, seed=0)
best = custom.decode(sampleset.first.sample)
print(best)
print("w[0], w[1] =", best.weights.w[:2].tolist())

# %% [markdown]
# ## Two engines, one QUBO
#
# The `pyqubo` engine is the readable reference; the `fast` engine (the default) assembles the
# same matrix with numpy and scipy. They must agree on the energy of every state; we check
# that on random states of the XOR problem and of a digits problem:


# %%
def same_energies(network, X, y, n_states=1000):
    fast = qubonn.compile(network, X, y, engine="fast").bqm
    symbolic = qubonn.compile(network, X, y, engine="pyqubo").bqm
    states = rng.integers(0, 2, size=(n_states, fast.num_variables))
    order = list(fast.variables)
    e_fast = fast.energies((states, order))
    e_symbolic = symbolic.energies((states, order))
    return np.abs(e_fast - e_symbolic).max()


digits = qubonn.datasets.digits(classes=(3, 8), per_class=20, size=4, seed=0)
net4 = qubonn.parse("input pixels[4x4]\nhidden h[3] <- pixels\noutput y[1] <- h")
y4 = np.where(digits.y_train == digits.classes[1], 1, -1)
print("XOR, largest energy difference:   ", same_energies(network, X, y))
print("digits, largest energy difference:", same_energies(net4, digits.X_train, y4))

# %% [markdown]
# And how long each takes to build the BQM as the training set grows:

# %%
Ns = [5, 10, 20, 40]
times = {"fast": [], "pyqubo": []}
for n in Ns:
    for engine in times:
        start = time.perf_counter()
        _ = qubonn.compile(net4, digits.X_train[:n], y4[:n], engine=engine).bqm
        times[engine].append(time.perf_counter() - start)
    print(f"N={n:3d}: fast {times['fast'][-1]:.3f} s, pyqubo {times['pyqubo'][-1]:.3f} s")

fig, ax = plt.subplots(figsize=(5, 3.2))
for engine, t in times.items():
    ax.plot(Ns, t, "o-", label=engine)
ax.set_xlabel("training samples N")
ax.set_ylabel("compile time (s)")
ax.set_yscale("log")
ax.legend()
fig.tight_layout()

# %% [markdown]
# The fast engine is the one to train with; use PyQUBO when you want to read the expression,
# decode constraints by name, or prototype a term. `qubonn.compiler.estimate` predicts the
# size (and the memory each engine would need) before you build anything (tutorial 2).
