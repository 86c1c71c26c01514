"""How big a training QUBO will be, known before anything is built: variables (slack bits
counted by the formulation's own slack encoder), quadratic terms and compile memory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qubonn.formulation import Objective, objective_model
from qubonn.formulation.slack import n_bits
from qubonn.network import Network

#: Measured: PyQUBO needs about 3.4 KB per quadratic term (see docs/benchmarks.md).
PYQUBO_BYTES_PER_TERM = 3400
#: The fast engine's assembly peak per quadratic term (COO triples, sort, CSR), measured.
FAST_BYTES_PER_TERM = 64
BYTES_PER_VARIABLE = 160  # label string, dimod's index, linear bias


@dataclass(frozen=True)
class SizeEstimate:
    n_samples: int
    variables: int
    parameters: int
    linear: int
    quadratic: int
    memory_fast: int
    memory_pyqubo: int

    def memory(self, engine: str) -> int:
        return self.memory_pyqubo if engine == "pyqubo" else self.memory_fast

    def report(self, engine: str = "fast") -> str:
        return (
            f"{self.variables:,} variables ({self.parameters:,} parameters, "
            f"{self.variables - self.parameters:,} per-sample over {self.n_samples:,} samples), "
            f"~{self.quadratic:,} quadratic terms, ~{_human(self.memory(engine))} to compile "
            f"with the {engine} engine"
        )


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def estimate(network: Network, n_samples: int, objective: Objective | None = None) -> SizeEstimate:
    """Variable count (exact on +-1 inputs, or a little above: a hinge output's slack is counted
    at its label's wider side; an upper bound with integer inputs, whose slack ranges depend on
    the data) and quadratic-term count (upper estimate) of the training QUBO.
    A ternary group's neurons have two bits per weight and two products per hidden arc."""
    objective = (objective or Objective()).for_network(network)
    model = objective_model(network, objective)
    N = int(n_samples)
    bits_per_weight = np.where(network.ternary, 2, 1)
    H = model.hidden_sources.astype(np.int64) * bits_per_weight
    K = network.fan_in.astype(np.int64) * bits_per_weight  # the weight bits of each neuron
    has_alpha = model.has_alpha
    r = model.label_range[:, 1]  # the wider side: equal to label 0's, or one more (even K)
    encoding = objective.slack_encoding
    bits = n_bits(r, encoding)  # the formulation's own slack encoder
    cross = shared_cross = 0
    if objective.loss == "multiclass":  # pair slacks, averaged over the true class
        out = network.outputs
        pair = n_bits(model.pair_range, encoding)
        np.fill_diagonal(pair, 0)
        bits[out] = 0
        pair_bits = int(round(float(pair.sum(axis=1).mean())))
        # the square of pair (y, k) couples y's count variables with k's (per-sample ones Vs,
        # shared weight bits W: their products are shared) and the pair's slack bits
        Vs, W = H[out], K[out]  # a hidden source's alpha is shared: its pairs count once
        per_y = (
            (Vs.sum() - Vs) * Vs
            + (W.sum() - W) * Vs
            + (Vs.sum() - Vs) * W
            + pair.sum(axis=1) * (Vs + W)
            + pair @ (Vs + W)
            + (pair * (pair - 1) // 2).sum(axis=1)
        )
        cross = int(round(float(per_y.mean())))
        shared_cross = int((W.sum() ** 2 - (W * W).sum()) // 2)
    tie = model.tie
    per_sample_vars = int(has_alpha.sum() + H.sum() + tie.sum() + bits.sum())
    if objective.loss == "multiclass":
        per_sample_vars += pair_bits
    params = network.n_parameters + int(network.parameter_ternary.sum())
    variables = params + N * per_sample_vars
    # per neuron row: shared weight vars W = K, per-sample vars P (sources' alphas, products,
    # own alpha, tie, slack)
    P = 2 * H + has_alpha + tie + bits
    W = K
    shared_pairs = int(np.sum(W * (W - 1) // 2))
    sample_pairs = int(np.sum(W * P + P * (P - 1) // 2))
    quadratic = shared_pairs + shared_cross + N * (sample_pairs + cross)
    return SizeEstimate(
        n_samples=N,
        variables=variables,
        parameters=params,
        linear=variables,
        quadratic=quadratic,
        memory_fast=quadratic * FAST_BYTES_PER_TERM + variables * BYTES_PER_VARIABLE,
        memory_pyqubo=quadratic * PYQUBO_BYTES_PER_TERM + variables * BYTES_PER_VARIABLE,
    )
