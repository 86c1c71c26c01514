"""Accuracy of a binary network, always by replaying its forward pass."""

from __future__ import annotations

import numpy as np

from qubonn.network import Network, Weights


def predict_targets(network: Network, X: np.ndarray, weights: Weights) -> np.ndarray:
    """Predicted class index per sample: for one output, 1 if it fires (+1) else 0; for several
    outputs (one-vs-rest), the output with the largest pre-activation (first on ties)."""
    a, z = network.predict_outputs(X, weights)
    if network.n_outputs == 1:
        return (a[:, 0] > 0).astype(np.int64)
    return np.argmax(z, axis=1)


def accuracy_from_targets(
    network: Network, X: np.ndarray, targets: np.ndarray, weights: Weights
) -> float:
    """Share of samples classified correctly; ``targets`` are 0/1, (N, n_outputs)."""
    targets = np.asarray(targets)
    if targets.ndim == 1:
        targets = targets[:, None]
    pred = predict_targets(network, X, weights)
    truth = targets[:, 0].astype(np.int64) if network.n_outputs == 1 else np.argmax(targets, 1)
    return float(np.mean(pred == truth)) if truth.size else 0.0
