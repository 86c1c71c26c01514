"""The shipped examples trained quickly, shared by the export tests (C and ONNX)."""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_SPECS = {p.stem: p for p in EXAMPLES_DIR.glob("*.qnn")}


@functools.cache
def train_examples() -> dict:
    """Every examples/*.qnn trained quickly on its data (5 images a class, a short anneal):
    the 8x8 or 4x4 digits, or MNIST for 28x28 inputs (digits 3 and 8 for one output), with all
    its training and test images: {stem: (TrainedModel, X)}."""
    import qubonn
    from qubonn.modelfile import TrainedModel
    from qubonn.training import BNNClassifier

    out = {}
    for stem, path in sorted(EXAMPLE_SPECS.items()):
        net = qubonn.load_spec(path)
        classes = (3, 8) if net.n_outputs == 1 else tuple(range(net.n_outputs))
        if net.n_inputs == 28 * 28:
            data = qubonn.datasets.mnist(classes=classes, per_class=5, seed=0)
        else:
            size = 4 if net.n_inputs == 16 else 8
            data = qubonn.datasets.digits(classes=classes, per_class=5, size=size, seed=0)
        clf = BNNClassifier(
            net, backend="native", num_reads=2, solver_options={"num_sweeps": 50}, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a constant predictor is still a model to export
            clf.fit(data.X_train, data.y_train)
        model = TrainedModel(net, clf.weights_, {"classes": [int(c) for c in data.classes]})
        out[stem] = (model, np.concatenate([data.X_train, data.X_test]))
    return out
