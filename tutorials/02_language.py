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
# # 2. The network language, and what each construct costs
#
# A qubonn network is a directed acyclic graph of binary neurons, written in a small language
# (`.qnn` files). This notebook covers every construct: dense layers, skip connections, slices,
# local receptive fields, several outputs and biases. For each we count what it costs in the
# training QUBO, because that, and not the parameter count, is what decides whether a problem
# fits a solver. At the end we read the error messages the parser gives.

# %%
import collections
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import qubonn
from qubonn.compiler import estimate
from qubonn.errors import SpecError
from qubonn.training import BNNClassifier

rng = np.random.default_rng(0)

# %% [markdown]
# ## The statements
#
# There are two kinds of line:
#
# * `input NAME[SHAPE]` declares input units; a shape is `[n]` or `[rows x cols]`.
# * `hidden|output NAME[SHAPE] <- SOURCE, SOURCE, ... [bias|nobias]` declares a group of
#   neurons and where every neuron of the group takes its inputs from.
#
# A source is a group name (all its units), a slice `name[a:b]` (units a to b-1, flattened) or a
# window `name window RxC stride SxT` on a 2-D group (one neuron per window position). Groups may
# appear in any order; they must not form a cycle. `#` starts a comment.
#
# Here are the four networks from the repository's `examples/` folder, written inline:

# %%
specs = {
    "dense": """
        input  pixels[8x8]
        hidden h[4]   <- pixels
        output y[1]   <- h
    """,
    "skip": """
        input  pixels[4x4]
        hidden h[3]   <- pixels
        output y[1]   <- h, pixels nobias     # the output also sees the raw pixels
    """,
    "local": """
        input  pixels[8x8]
        hidden local[3x3] <- pixels window 4x4 stride 2   # one 4x4 window per neuron
        output y[1]       <- local
    """,
    "multiclass": """
        input  pixels[4x4]
        hidden h[6]       <- pixels
        output classes[3] <- h                 # one output per class
    """,
}
specs = {name: textwrap.dedent(text) for name, text in specs.items()}
networks = {name: qubonn.parse(text, filename=f"{name}.qnn") for name, text in specs.items()}
for name, net in networks.items():
    s = net.summary()
    print(
        f"{name:10s} inputs {s['inputs']:3d}  neurons {s['neurons']:2d}  arcs {s['arcs']:3d}  "
        f"biases {s['biases']:2d}  parameters {s['parameters']:3d}  "
        f"fan-in {net.fan_in.min()}..{net.fan_in.max()}"
    )

# %% [markdown]
# A few things to notice:
#
# * **Fan-in** counts a neuron's arcs plus its bias. The skip network's output has 3 + 16 = 19
#   arcs and no bias: an odd fan-in, so its pre-activation can never be 0. With an even fan-in
#   a tie is possible; qubonn resolves it as sign(0) = +1 and pays one extra "tie" bit per
#   sample for it.
# * **Windows** make sparse layers: each of the nine local neurons sees only 16 pixels, so the
#   local network has fewer parameters than the dense one although it has more neurons.
# * **Several outputs** are one per class; prediction takes the output with the largest
#   pre-activation (the lowest index on ties), and the default loss for them, "multiclass",
#   asks exactly that: the true class's output above every other's by a margin.
#
# `Network.to_text()` prints the canonical form of a network, which parses back to the same
# network:

# %%
print(networks["local"].to_text())
assert qubonn.parse(networks["local"].to_text()) == networks["local"]

# %% [markdown]
# ## The same networks from Python
#
# `NetworkBuilder` builds networks without text; sources that are more than a name are
# `qubonn.Source` objects. This is the skip network again:

# %%
built = (
    qubonn.NetworkBuilder()
    .input("pixels", (4, 4))
    .hidden("h", 3, "pixels")
    .output("y", 1, "h", "pixels", bias=False)
    .build()
)
print(built.to_text())
print("equal to the parsed one:", built == networks["skip"])

window = qubonn.Source("pixels", window=(4, 4), stride=(2, 2))
local = (
    qubonn.NetworkBuilder()
    .input("pixels", (8, 8))
    .hidden("local", (3, 3), window)
    .output("y", 1, "local")
    .build()
)
print("local network equal:", local == networks["local"])

# %% [markdown]
# ## What a network costs in the QUBO
#
# The parameters (weights and biases) are shared by all samples, but each training sample
# brings its own variables: for every hidden neuron an activation bit and a few *slack* bits
# (they encode "the count of agreeing inputs is below/above the threshold", about
# log2(fan-in / 2) bits), a *product* bit for every arc that leaves a neuron (weight x
# activation), and a tie bit for even fan-ins. The exact formulation is in
# `docs/formulation.md`.
#
# `qubonn.compiler.estimate(network, n_samples)` gives the variable count exactly and the
# number of couplings (quadratic terms) as an upper estimate, without building anything:

# %%
N = 40
print(f"training on {N} samples:")
print(
    f"{'network':10s} {'parameters':>10s} {'per sample':>10s} {'variables':>10s} {'couplings':>10s}"
)
for name, net in networks.items():
    e = estimate(net, N)
    per_sample = (e.variables - e.parameters) // N
    print(f"{name:10s} {e.parameters:10d} {per_sample:10d} {e.variables:10,d} {e.quadratic:10,d}")

# %% [markdown]
# Compiling shows what those per-sample variables are. Every variable has a label whose first
# letter is its kind: `w` weight, `b` bias, `a` activation, `u` product, `t` tie, `s` slack. We
# compile each network on two random samples with the one-vs-rest hinge loss (its size per sample
# does not depend on the data; the default multiclass loss's pair slacks depend on the true
# class) and count the kinds:

# %%
kinds = ["a", "u", "t", "s"]
names_of = {"a": "activation", "u": "product", "t": "tie", "s": "slack"}
per_sample = {}
for name, net in networks.items():
    X = rng.choice([-1, 1], size=(2, net.n_inputs))
    y = rng.choice([-1, 1], size=(2, net.n_outputs))
    problem = qubonn.compile(net, X, y, loss="hinge")
    count = collections.Counter(label[0] for label in problem.labels)
    per_sample[name] = [count[k] / 2 for k in kinds]
    assert problem.n_variables == estimate(net, 2).variables
    print(
        f"{name:10s}",
        ", ".join(f"{names_of[k]} {v:g}" for k, v in zip(kinds, per_sample[name], strict=True)),
    )

fig, ax = plt.subplots(figsize=(6, 3))
bottom = np.zeros(len(networks))
for i, k in enumerate(kinds):
    values = np.array([per_sample[name][i] for name in networks])
    ax.bar(list(networks), values, bottom=bottom, label=names_of[k])
    bottom += values
ax.set_ylabel("variables per training sample")
ax.set_title("where the per-sample variables come from")
ax.legend()
fig.tight_layout()

# %% [markdown]
# Slack bits dominate everywhere. The local network pays for its nine hidden neurons (nine
# activation bits and nine slack groups per sample) even though each neuron is small. Product
# bits appear wherever a neuron feeds another neuron: the multiclass network's 6 x 3
# hidden-to-output arcs cost 18 per sample. The skip connection from the pixels costs none,
# because inputs are data, not variables.
#
# Everything per sample is multiplied by the number of samples, so the QUBO grows linearly
# with the training set, and the couplings grow with it:

# %%
Ns = np.array([10, 20, 50, 100, 200, 500])
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for name, net in networks.items():
    sizes = [estimate(net, int(n)) for n in Ns]
    axes[0].plot(Ns, [s.variables for s in sizes], "o-", label=name)
    axes[1].plot(Ns, [s.quadratic for s in sizes], "o-", label=name)
for ax, what in zip(axes, ["variables", "couplings (estimate)"], strict=True):
    ax.set_xlabel("training samples N")
    ax.set_ylabel(what)
    ax.set_xscale("log")
    ax.set_yscale("log")
axes[0].legend()
fig.tight_layout()

e = estimate(networks["dense"], 500)
print("dense network, 500 samples:", e.report("fast"))

# %% [markdown]
# The estimate is close to what the compiler builds (it counts every possible coupling; a few
# cancel in practice):

# %%
data = qubonn.datasets.digits(classes=(3, 8), per_class=20, size=8, seed=0)
y = np.where(data.y_train == data.classes[1], 1, -1)
problem = qubonn.compile(networks["local"], data.X_train, y)
print(problem.size_report())

# %% [markdown]
# ## Several outputs, trained
#
# A three-class problem (digits 0, 1 and 7 at 4x4) with the multiclass network. Labels are
# the digits themselves; the classifier maps them to one output each. The default backend,
# the native annealer, trains it (solvers are the topic of tutorial 3); under the multiclass
# loss the margins default to the measured ones (`hard_margin="auto"`, `margin="auto"`: 3 and
# 0.5).

# %%
three = qubonn.datasets.digits(classes=(0, 1, 7), per_class=10, size=4, seed=0)
clf = BNNClassifier(networks["multiclass"], random_state=0)
clf.fit(three.X_train, three.y_train)
print(
    f"{clf.history_[-1]['variables']:,} variables; "
    f"train accuracy {clf.score(three.X_train, three.y_train):.0%}, "
    f"test accuracy {clf.score(three.X_test, three.y_test):.0%}"
)

pred = clf.predict(three.X_test)
labels = list(three.classes)
confusion = np.array([[np.sum((three.y_test == a) & (pred == b)) for b in labels] for a in labels])
print("confusion (rows: true 0, 1, 7; columns: predicted)")
print(confusion)

# %% [markdown]
# Thirty images and 123 binary parameters: the training set is fitted almost entirely, and
# the three digits are told apart well above chance (33%) on the test images (74% here).
#
# ## Reading error messages
#
# Mistakes in a spec raise `qubonn.errors.SpecError`. Its message starts with
# `file:line:column`, repeats the line and puts a caret under the culprit; `.pos` holds the
# position for tools.

# %%
mistakes = {
    "unknown source": """
        input  pixels[4x4]
        hidden h[3] <- pixls
        output y[1] <- h
    """,
    "window grid": """
        input  pixels[8x8]
        hidden local[2x2] <- pixels window 4x4 stride 2
        output y[1] <- local
    """,
    "cycle": """
        input  pixels[4x4]
        hidden h[3] <- pixels, y
        output y[1] <- h
    """,
    "syntax": """
        input  pixels[4x4]
        hidden h[3] <= pixels
    """,
}
mistakes = {what: textwrap.dedent(text) for what, text in mistakes.items()}
for what, text in mistakes.items():
    try:
        qubonn.parse(text, filename="mine.qnn")
    except SpecError as err:
        print(f"## {what}: line {err.pos.line}, column {err.pos.column}")
        print(err)
        print()

# %% [markdown]
# The window message even says which shape the group should have: a 4x4 window moved in steps
# of 2 over 8x8 pixels fits at 3x3 positions.
#
# The command line does the same for files: `qubonn check FILE...` prints a summary of each
# valid spec and the error of each broken one, and exits with status 2 if any is broken, which
# makes it easy to use in CI. (We call it through `sys.executable` so that it runs with this
# notebook's Python.)

# %%
workdir = Path(tempfile.mkdtemp(prefix="qubonn-language-"))
(workdir / "good.qnn").write_text(specs["skip"])
(workdir / "bad.qnn").write_text(mistakes["window grid"])
run = subprocess.run(
    [
        sys.executable,
        "-c",
        "import sys, qubonn.cli; sys.exit(qubonn.cli.main())",
        "check",
        "good.qnn",
        "bad.qnn",
    ],
    cwd=workdir,
    capture_output=True,
    text=True,
)
print(run.stdout + run.stderr)
print("exit status:", run.returncode)
assert run.returncode == 2
