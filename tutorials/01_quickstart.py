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
# # 1. Quick start: train a binary network on handwritten digits
#
# qubonn trains *binary* neural networks: every weight, bias and activation is -1 or +1.
# Instead of following gradients, it writes the whole training problem (all samples at once)
# as one QUBO, a quadratic function of 0/1 variables, and hands it to an optimiser. The QUBO
# is exact: its minimum is the network with the lowest training loss.
#
# This notebook goes through the whole workflow once:
#
# 1. describe a network in qubonn's small language,
# 2. load a data set,
# 3. train with `BNNClassifier`,
# 4. evaluate it, look at what it learned,
# 5. save the model to a file and load it back.
#
# Everything runs on a laptop CPU in well under a minute.

# %%
import subprocess
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import qubonn
from qubonn.export.c import export_c
from qubonn.export.toolchain import compile_c, find_c_compiler
from qubonn.training import BNNClassifier

np.random.seed(0)  # qubonn itself takes explicit seeds; this only pins numpy's global state

# %% [markdown]
# ## A network in four lines
#
# A spec names the inputs and each group of neurons with its shape and where its inputs come
# from (`<-`). This one reads a 4x4 image, has three hidden neurons that see every pixel, and
# one output neuron. Every neuron has a bias unless the line says `nobias`.

# %%
spec = """
# 4x4 binarised digits -> 3 hidden neurons -> 1 output (one class against the other)
input  pixels[4x4]
hidden h[3]   <- pixels
output y[1]   <- h
"""
network = qubonn.parse(spec)
print(network.summary())

# %% [markdown]
# 16 x 3 + 3 x 1 = 51 weights and 4 biases: 55 binary parameters. Specs usually live in
# `.qnn` files (see `examples/` in the repository) and are read with `qubonn.load_spec(path)`.
#
# ## Data
#
# `qubonn.datasets.digits` is scikit-learn's bundled 8x8 digits set (no download), binarised
# to +-1. `size=4` averages 2x2 blocks first, giving 4x4 images. We keep two digits, 3 and 8,
# and only 20 training images of each: every training sample adds its own variables to the
# QUBO, so small training sets keep the problem small. The rest of the images are the test set.

# %%
data = qubonn.datasets.digits(classes=(3, 8), per_class=20, size=4, seed=0)
print("train:", data.X_train.shape, "test:", data.X_test.shape, "classes:", data.classes)

fig, axes = plt.subplots(2, 8, figsize=(8, 2.2))
for ax, x, label in zip(axes.flat, data.X_train[:16], data.y_train[:16], strict=True):
    ax.imshow(x.reshape(4, 4), cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(str(label), fontsize=9)
    ax.axis("off")
fig.suptitle("training images after binarisation (+1 = ink)")
fig.tight_layout()

# %% [markdown]
# Coarse, but 3s and 8s still differ: an 8 closes its loops on the left.
#
# ## Training
#
# `BNNClassifier` follows the scikit-learn pattern. `fit` compiles the training QUBO, asks the
# solver backend for `num_reads` samples, decodes each one into a network and keeps the one
# whose *replayed* network (a real forward pass, not the solver's own bits) has the lowest
# training loss. The default loss is a squared hinge on each output's pre-activation.
#
# `backend="native"` is qubonn's own annealer (numba on the CPU, CuPy on a GPU); the first
# call compiles its kernels, which takes a few seconds.

# %%
clf = BNNClassifier(
    network, backend="native", num_reads=8, solver_options={"num_sweeps": 1000}, random_state=0
)
clf.fit(data.X_train, data.y_train)

print(f"train accuracy: {clf.score(data.X_train, data.y_train):.1%}")
print(f"test accuracy:  {clf.score(data.X_test, data.y_test):.1%}")

# %% [markdown]
# The fitted classifier keeps a history: one record per solve, with the size of the QUBO,
# the solver time and how good the result was.

# %%
record = clf.history_[-1]
for key in (
    "variables",
    "couplings",
    "solve_s",
    "mode",
    "valid_share",
    "best_energy",
    "objective",
    "train_accuracy",
):
    value = record[key]
    print(f"{key:22s} {value:.3f}" if isinstance(value, float) else f"{key:22s} {value}")

# %% [markdown]
# `mode` and `valid_share` deserve a word. A single-spin annealer struggles on this QUBO:
# flipping one weight breaks the constraints of every sample that uses it, so the move costs a
# large penalty and the annealer freezes once it is cold. Handed a compiled problem, the native
# backend therefore runs in its **structured** mode: each move flips one parameter *together
# with* the activations, products and slack bits that follow from it, an exact move between
# valid states of the same QUBO. Every read is a valid network (`valid_share` 1.0), and its
# QUBO energy (`best_energy`) equals the training objective it encodes (`objective`).
#
# ## What did it learn?
#
# Each hidden neuron has 16 weights, one per pixel: +1 where ink pushes the neuron towards +1.

# %%
w = clf.weights_.w
hidden_w = w[: 16 * 3].reshape(3, 16)  # arcs are numbered group by group, neuron by neuron
fig, axes = plt.subplots(1, 3, figsize=(6, 2.2))
for j, ax in enumerate(axes):
    ax.imshow(hidden_w[j].reshape(4, 4), cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_title(f"h[{j}]  bias {clf.weights_.b[j]:+d}", fontsize=9)
    ax.axis("off")
fig.suptitle("hidden weights (red +1, blue -1)")
fig.tight_layout()

print("output weights from h:", w[48:], " output bias:", clf.weights_.b[3])

# %% [markdown]
# The figure reads `weights_.w` in arc order: the hidden group's arcs first, neuron by neuron
# and pixel by pixel, then the output's three arcs. A forward pass written by hand with that
# reading must give the same activations as `network.forward` and the same labels as
# `clf.predict`:

# %%
net_out = network.forward(data.X_test, clf.weights_)  # activations of every neuron, +-1
pred = np.where(net_out[:, -1] > 0, data.classes[1], data.classes[0])
assert np.array_equal(pred, clf.predict(data.X_test))

h = np.sign(data.X_test @ hidden_w.T + clf.weights_.b[:3])
h[h == 0] = 1
manual = np.sign(h @ w[48:] + clf.weights_.b[3])
manual[manual == 0] = 1
assert np.array_equal(manual, net_out[:, -1]), "arc order is not what the figure assumes"
print("forward pass by hand agrees with network.forward on", len(manual), "test images")

# %% [markdown]
# ## Save and load
#
# A model file is JSON: the spec text, the +-1 weights and metadata such as the classes, so it
# is readable and needs no pickle. `qubonn.load_model` returns a `TrainedModel` that predicts
# class labels directly. We write it to a temporary folder.

# %%
workdir = Path(tempfile.mkdtemp(prefix="qubonn-quickstart-"))
path = clf.save(workdir / "digits38.json")
print("saved", path.name, f"({path.stat().st_size} bytes)")

model = qubonn.load_model(path)
print(model.network.to_text())
print("classes:", model.metadata["classes"])
assert np.array_equal(model.predict(data.X_test), clf.predict(data.X_test))
print("loaded model gives the same test predictions")

# %% [markdown]
# ## To the edge: the model as plain C
#
# A trained binary network needs no floats: each neuron is an XNOR and a popcount over machine
# words. `qubonn export` (or `qubonn.export.c.export_c`) writes the model as two dependency-free
# C99 files, with the weights as `const` tables; the header says how much flash and RAM the
# model needs and declares `qubonn_model_predict(const int8_t *x)`, which returns the class
# index. It computes exactly what `model.predict` computes, ties included.

# %%
exported = export_c(model, workdir, "digits38")
header = (workdir / "digits38.h").read_text()
print("\n".join(line for line in header.splitlines() if "Memory" in line or "RAM" in line))
print([p.name for p in sorted(workdir.iterdir())])

# %% [markdown]
# With a C compiler at hand (on a microcontroller this would be your firmware's `main`), we
# embed one test image, compile with strict warnings and run it. Without a compiler the cell
# says so and moves on.

# %%
image = data.X_test[0]
program = f"""#include <stdio.h>
#include "digits38.h"
int main(void) {{
    static const int8_t image[digits38_N_INPUTS] = {{{", ".join(str(int(v)) for v in image)}}};
    int index = digits38_predict(image);
    printf("%s\\n", digits38_class_labels[index]);
    return 0;
}}
"""
if find_c_compiler() is None:
    print("no C compiler here (cc, gcc or clang): skipping the run")
else:
    (workdir / "main.c").write_text(program)
    exe = compile_c([workdir / "main.c", workdir / "digits38.c"], workdir / "main")
    label = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.strip()
    print("C says:", label, " model.predict says:", model.predict(image[None, :])[0])
    assert label == str(model.predict(image[None, :])[0])

# %% [markdown]
# The same from the command line, and ONNX for runtimes such as onnxruntime
# (`pip install -e ".[onnx]"` in the clone):
#
# ```console
# $ qubonn export digits38.json --format c --out firmware/ --name digits38
# $ qubonn export digits38.json --format onnx --out models/
# ```
#
# docs/export.md has the details: the packed-input entry point, the two code styles and what
# they cost in flash and time.
#
# The same model works from the command line: `qubonn check` validates specs, and
# `qubonn compile` writes a training QUBO for any other solver, e.g.
#
# ```console
# $ qubonn compile examples/digits.qnn --data digits --classes 3,8 --train 50 --out problem.npz
# ```
#
# Next: the spec language in detail (tutorial 2), and what else can solve the QUBO
# (tutorial 3).
