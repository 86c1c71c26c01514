"""The decoder: samples of a training QUBO -> trained weights, constraint report, replayed metrics.

It owns reading a sample (dict, dimod sample or SampleSet, array; 0/1 or spins) in label order,
the weights it encodes, which constraints it breaks, and the replayed accuracy and objective
(always by running the decoded network's forward pass, never by reading the solver's activation
bits).  :func:`feasible_state` (weights -> full valid state) lives in the formulation layer, where
backends may use it too; it is re-exported here.  :class:`~qubonn.problem.Problem` delegates its
decoding methods to this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qubonn.formulation import Formulation
from qubonn.formulation.completion import feasible_state
from qubonn.network import Network, Weights

__all__ = [
    "Broken",
    "ConstraintReport",
    "Decoded",
    "accuracy_from_targets",
    "as_array",
    "as_arrays",
    "broken_share",
    "constraint_report",
    "decode",
    "feasible_state",
    "predict_targets",
    "weights_of",
]


@dataclass(frozen=True)
class Broken:
    """One violated constraint: its kind, sample, where (neuron or arc), and its residual."""

    name: str
    sample: int
    where: str
    value: float

    def __str__(self) -> str:
        return f"{self.name}[n={self.sample},{self.where}] = {self.value:g}"


@dataclass(frozen=True)
class ConstraintReport:
    broken: tuple[Broken, ...]
    counts: dict[str, int]
    n_samples: int

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def broken_samples(self) -> np.ndarray:
        return np.unique([b.sample for b in self.broken]).astype(int)

    @property
    def broken_share(self) -> float:
        """Share of training samples with at least one broken constraint."""
        return self.broken_samples.size / self.n_samples if self.n_samples else 0.0

    def __str__(self) -> str:
        if self.ok:
            return "all constraints hold"
        parts = ", ".join(f"{n}: {c}" for n, c in self.counts.items() if c)
        head = f"{len(self.broken)} broken constraint(s) ({parts}) on {self.broken_samples.size} "
        head += f"of {self.n_samples} samples"
        shown = "\n".join(f"  {b}" for b in self.broken[:10])
        more = f"\n  ... and {len(self.broken) - 10} more" if len(self.broken) > 10 else ""
        return f"{head}\n{shown}{more}"


@dataclass(frozen=True)
class Decoded:
    """What a sample means: the trained weights, the constraint report, and replayed metrics.

    Accuracy and loss are computed by replaying the forward pass with the decoded weights,
    never read from the solver's activation bits."""

    weights: Weights
    report: ConstraintReport
    energy: float
    loss: float  # loss + regularisers of the replayed network (what a feasible energy equals)
    accuracy: float  # training accuracy of the replayed network

    def __str__(self) -> str:
        return (
            f"energy {self.energy:g}, replayed objective {self.loss:g}, training accuracy "
            f"{self.accuracy:.1%}; {self.report}"
        )


# -- reading samples ---------------------------------------------------------------------------
def as_array(sample: Any, labels: list[str]) -> np.ndarray:
    """A sample as a 0/1 int8 array in label order: dict, dimod sample/SampleSet, or array."""
    if hasattr(sample, "record") and hasattr(sample, "variables"):  # dimod SampleSet
        sample = sample.first.sample
    if isinstance(sample, dict) or hasattr(sample, "keys"):
        missing = [v for v in labels[:5] if v not in sample]
        if missing:
            raise ValueError(f"sample lacks variable(s) {missing}; is it for this problem?")
        x = np.array([sample[v] for v in labels])
    else:
        x = np.asarray(sample)
        if x.shape[-1] != len(labels):
            raise ValueError(
                f"sample has {x.shape[-1]} values; the problem has {len(labels)} variables"
            )
    if x.size and x.min() < 0:  # spin samples
        x = (x + 1) // 2
    if not np.all((x == 0) | (x == 1)):
        raise ValueError("sample values must be 0/1 (or -1/+1 spins)")
    return x.astype(np.int8)


def as_arrays(sampleset: Any, labels: list[str]) -> np.ndarray:
    """Every read of a SampleSet (or rows of an array) as 0/1 rows in label order."""
    if hasattr(sampleset, "record"):
        order = [sampleset.variables.index(v) for v in labels]
        x = np.asarray(sampleset.record.sample)[:, order]
        if x.ndim == 1:
            return as_array(x, labels)
        return np.stack([as_array(r, labels) for r in x])
    return np.atleast_2d(np.asarray(sampleset))


# -- what a sample means -----------------------------------------------------------------------
def weights_of(formulation: Formulation, x: np.ndarray) -> Weights:
    """The parameters a 0/1 state ``x`` (label order) encodes."""
    lay = formulation.layout
    values = lay.parameter_values(x[: lay.n_parameter_bits]).astype(np.int8)
    b = np.zeros(formulation.network.n_neurons, dtype=np.int8)
    b[lay.bias_neurons] = values[lay.n_arcs :]
    return Weights(w=values[: lay.n_arcs].copy(), b=b)


def constraint_report(formulation: Formulation, x: np.ndarray) -> ConstraintReport:
    """Which constraints the 0/1 state ``x`` breaks (at most 1000 listed per kind)."""
    x = np.asarray(x, dtype=float)
    broken: list[Broken] = []
    counts: dict[str, int] = {}
    for t in formulation.terms:
        if t.role != "constraint":
            continue
        vals = np.atleast_2d(t.row_values(x))[0]
        bad = np.nonzero(np.abs(vals) > 1e-9)[0]
        counts[t.name] = int(bad.size)
        for r in bad[:1000]:
            label = formulation.row_label(t, int(r))
            where = label[label.index(",") + 1 : -1]
            broken.append(Broken(t.name, int(t.sample[r]), where, float(vals[r])))
    return ConstraintReport(tuple(broken), counts, formulation.layout.n_samples)


def broken_share(formulation: Formulation, xs: np.ndarray) -> float:
    """Share of the 0/1 states (rows of ``xs``) that break at least one constraint."""
    X = np.atleast_2d(xs).astype(float)
    bad = np.zeros(X.shape[0], dtype=bool)
    for t in formulation.terms:
        if t.role == "constraint":
            bad |= np.any(np.abs(np.atleast_2d(t.row_values(X))) > 1e-9, axis=1)
    return float(bad.mean()) if bad.size else 0.0


def predict_targets(network: Network, X: np.ndarray, weights: Weights) -> np.ndarray:
    """Predicted class index per sample: for one output, 1 if it fires (+1) else 0; for several
    outputs, the output with the largest pre-activation (lowest index on ties)."""
    return network.predict_classes(X, weights)


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


def decode(formulation: Formulation, X: np.ndarray, x: np.ndarray, energy: float) -> Decoded:
    """Trained network, constraint report and replayed metrics of the 0/1 state ``x``."""
    f = formulation
    weights = weights_of(f, x)
    loss = f.value(X, weights)
    return Decoded(
        weights=weights,
        report=constraint_report(f, x),
        energy=float(energy),
        loss=loss,
        accuracy=accuracy_from_targets(f.network, X, f.targets, weights),
    )
