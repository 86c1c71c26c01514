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
# # 4. Regularisation: margins and the dropout scheme
#
# Exact training finds the network with the lowest *training* loss, and on a few dozen images
# that can mean memorising them. qubonn offers three regularisers, all inside the QUBO:
#
# * a **soft margin** (`margin=mu`): a reward of `mu * |z|` for every neuron's pre-activation
#   z (for outputs, `mu * y * z`, so it rewards being right *by a lot*); with
#   `margin_scale="fan_in"` neuron j gets `mu / fan_in_j`, so wide and narrow neurons weigh
#   alike;
# * a **hard margin** (`hard_margin=m`): an output only counts as right when `|z| >= 2m + 1`;
#   it moves the hinge target and adds no variables;
# * the **dropout scheme** (`dropout=Dropout(...)`): before the final solve, several thinned
#   subnetworks (each hidden neuron dropped with probability p) are trained, and each one's
#   solution nudges linear penalties `h_e` on the full network's parameters
#   (`h_e -= eta * w_e`), so the final QUBO prefers weights the subnetworks agreed on.
#
# We train a small network with each of them on a few seeds and compare train and test
# accuracy. Small data, few seeds: read the numbers as an illustration, not a benchmark.

# %%
import matplotlib.pyplot as plt
import numpy as np

import qubonn
from qubonn.training import BNNClassifier, Dropout

network = qubonn.parse("""
input  pixels[4x4]
hidden h[4]   <- pixels
output y[1]   <- h
""")
data = qubonn.datasets.digits(classes=(3, 8), per_class=20, size=4, seed=0)
print(f"{len(data.y_train)} training and {len(data.y_test)} test images, {network!r}")

SEEDS = (0, 1, 2)
SOLVER = dict(backend="native", num_reads=8, solver_options={"num_sweeps": 1000})


def run(seeds=SEEDS, **settings):
    """Train one classifier per seed; (train accuracies, test accuracies, classifiers)."""
    train, test, models = [], [], []
    for seed in seeds:
        clf = BNNClassifier(network, random_state=seed, **SOLVER, **settings)
        clf.fit(data.X_train, data.y_train)
        train.append(clf.score(data.X_train, data.y_train))
        test.append(clf.score(data.X_test, data.y_test))
        models.append(clf)
    return np.array(train), np.array(test), models


def show(name, train, test):
    print(
        f"{name:24s} train {train.mean():.1%} ("
        + ", ".join(f"{a:.0%}" for a in train)
        + f")   test {test.mean():.1%} ("
        + ", ".join(f"{a:.0%}" for a in test)
        + ")"
    )


# %% [markdown]
# ## Margins
#
# First the soft margin at three strengths, then the hard margin.

# %%
results = {}
for mu in (0.0, 0.1, 0.3):
    results[f"soft {mu:g}"] = run(margin=mu, margin_scale="fan_in")
for m in (1, 2):
    results[f"hard {m}"] = run(hard_margin=m)
for name, (train, test, _) in results.items():
    show(name, train, test)

# %% [markdown]
# What a margin changes is visible in the output's pre-activation z, which `decision_function`
# returns (for two classes as z + 1/2, so that `> 0` means the second class even where z = 0,
# the tie that sign(0) = +1 gives to it). The output has four hidden inputs and a bias, so z
# is a sum of five +-1 terms: an odd number from -5 to 5. We plot `y * z` (positive when the
# output is on the right side) for the training images, without a margin and with
# `hard_margin=2`.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, name in zip(axes, ["soft 0", "hard 2"], strict=True):
    clf = results[name][2][0]
    z = clf.decision_function(data.X_train) - 0.5
    signed = np.where(data.y_train == data.classes[1], z, -z)  # > 0: right side
    values, counts = np.unique(signed, return_counts=True)
    ax.bar(values, counts, color=["tab:red" if v < 0 else "tab:green" for v in values])
    ax.set_title(f"{name}: label-signed output z (train, seed 0)")
    ax.set_xlabel("y * z  (negative = wrong)")
    ax.set_xticks(range(-5, 6, 2))
axes[0].set_ylabel("training images")
fig.tight_layout()

# %% [markdown]
# With `hard_margin=2` an output only counts as right at `|z| = 5`: the four hidden neurons and
# the bias must all agree. The hinge loss still pays for the distance to that target, so the
# solver moves part of the images to `|z| = 3`, while the unregularised network is content with
# `|z| = 1` everywhere (any right answer has zero loss without a margin).
#
# ## The dropout scheme
#
# `Dropout(p, rounds, eta)` trains `rounds` thinned networks before the final solve. The
# history records every solve, so we can follow one run round by round.

# %%
for p in (0.3, 0.5):
    results[f"dropout p={p:g}"] = run(dropout=Dropout(p=p, rounds=4, eta=0.5))
    show(f"dropout p={p:g}", *results[f"dropout p={p:g}"][:2])

clf = results["dropout p=0.3"][2][0]
print(f"\n{'stage':8s} {'round':>5s} {'hidden kept':>11s} {'variables':>9s} {'train acc':>9s}")
for rec in clf.history_:
    rnd = rec["step"] if rec["stage"] == "dropout" else ""
    print(
        f"{rec['stage']:8s} {rnd!s:>5s} {rec['kept']:11d} {rec['variables']:9d} "
        f"{rec['train_accuracy']:9.0%}"
    )
print(
    "linear penalties h_e on the final QUBO: min",
    clf.linear_penalties_.min(),
    "max",
    clf.linear_penalties_.max(),
)

# %% [markdown]
# Thinned networks have fewer hidden neurons, hence smaller QUBOs (fewer variables per
# sample). Their training accuracy is usually lower than the full network's, as expected with
# neurons missing; they are a means to the penalties, not the result.
#
# ## All settings side by side

# %%
names = list(results)
fig, ax = plt.subplots(figsize=(9, 3.6))
x = np.arange(len(names))
for offset, which, colour in ((-0.15, 0, "tab:blue"), (0.15, 1, "tab:orange")):
    values = [results[n][which] for n in names]
    ax.bar(
        x + offset,
        [v.mean() for v in values],
        width=0.3,
        color=colour,
        alpha=0.5,
        label="train" if which == 0 else "test",
    )
    for xi, v in zip(x, values, strict=True):
        ax.plot(np.full(v.size, xi + offset), v, "o", color=colour, ms=4)
ax.set_xticks(x, names)
ax.set_ylim(0.4, 1.02)
ax.set_ylabel("accuracy")
ax.set_title("bars: mean over 3 seeds; dots: single seeds")
ax.legend(loc="lower right")
fig.tight_layout()

best_test = max(names, key=lambda n: results[n][1].mean())
spread = max(results[n][1].max() - results[n][1].min() for n in names)
print(
    f"best mean test accuracy: {best_test} ({results[best_test][1].mean():.1%}); "
    f"largest spread between seeds of one setting: {spread:.0%}"
)

# %% [markdown]
# ## What the numbers say, honestly
#
# * The differences between settings are of the same size as the differences between seeds
#   of one setting. Three seeds on 40 training images cannot separate effects of a few
#   percent; to claim one, use more seeds and several splits (`data.split(seed=...)`).
# * Seeds matter this much because many networks fit 40 images with zero loss, and the
#   annealer's best read differs between seeds; the regularisers choose among them.
# * Margins change *which* networks score well: the hard margin demands a confident output,
#   so a network that is right with `|z| = 1` gets no credit. Use it when test images are
#   noisier than training ones; the soft margin does the same more gently and also acts on
#   hidden neurons.
# * The dropout scheme costs `rounds` extra solves (smaller ones). Its penalties are a prior
#   towards the subnetworks' consensus; the `eta` step decides how strongly it competes with
#   the training loss.
