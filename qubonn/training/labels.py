"""Class labels <-> output targets (one output: binary; several outputs: one-vs-rest)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode_targets(y: np.ndarray, classes: Sequence, n_outputs: int) -> np.ndarray:
    """+-1 targets (N, n_outputs) for class labels ``y``.

    One output: +1 for ``classes[1]``, -1 for ``classes[0]``.  Several outputs: output k is +1
    exactly for ``classes[k]`` (one-vs-rest)."""
    y = np.asarray(y)
    classes = list(classes)
    unknown = sorted(set(np.unique(y).tolist()) - set(classes))
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not among the classes {classes}")
    if n_outputs == 1:
        if len(classes) != 2:
            raise ValueError(
                f"a network with one output classifies two classes, but the data has "
                f"{len(classes)} ({classes}); add one output per class for one-vs-rest"
            )
        return np.where(y == classes[1], 1, -1).astype(np.int8)[:, None]
    if len(classes) != n_outputs:
        raise ValueError(
            f"the network has {n_outputs} outputs but the data has {len(classes)} classes "
            f"({classes}); use one output per class, or one output for two classes"
        )
    return np.where(y[:, None] == np.asarray(classes)[None, :], 1, -1).astype(np.int8)
