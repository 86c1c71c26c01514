"""The two shapes every energy term takes, and the :class:`Formulation` that holds them.

* :class:`ProductTerms`  weight * sum_r scale_r (A_r x + a_r)(B_r x + b_r)  (B is A for squares);
* :class:`PolyTerms`     weight * sum of explicit linear and quadratic monomials, by row.

Each engine needs only these two code paths.  A :class:`Formulation` is everything an engine
needs: the variables (:class:`~qubonn.formulation.layout.Layout`), the terms, and their weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from qubonn.formulation.layout import Layout, row_label
from qubonn.formulation.model import ObjectiveModel, objective_model, safe_penalties
from qubonn.formulation.objective import Objective
from qubonn.network import Network, Weights

Role = Literal["constraint", "loss", "regulariser"]


@dataclass(frozen=True)
class ProductTerms:
    """weight * sum_r scale_r * (A_r x + a_r) * (B_r x + b_r); ``B is None`` means B = A."""

    name: str
    role: Role
    weight: str
    A: sp.csr_matrix
    a: np.ndarray
    B: sp.csr_matrix | None
    b: np.ndarray | None
    scale: np.ndarray
    sample: np.ndarray  # row -> sample n
    unit: np.ndarray  # row -> neuron j

    #: what ``unit`` numbers (always neurons for products)
    unit_kind = "neuron"

    @property
    def n_rows(self) -> int:
        return int(self.a.size)

    def row_values(self, x: np.ndarray) -> np.ndarray:
        """Value of each row (without the weight) for 0/1 assignments x (n_vars,) or (S, n_vars)."""
        left = (self.A @ x.T).T + self.a
        right = left if self.B is None else (self.B @ x.T).T + self.b
        return self.scale * left * right


@dataclass(frozen=True)
class PolyTerms:
    """weight * sum over rows of (const_r + sum lin_coef x_i + sum quad_coef x_i x_j)."""

    name: str
    role: Role
    weight: str
    n_rows: int
    const: np.ndarray  # (rows,)
    lin_row: np.ndarray
    lin_var: np.ndarray
    lin_coef: np.ndarray
    quad_row: np.ndarray
    quad_i: np.ndarray
    quad_j: np.ndarray
    quad_coef: np.ndarray
    sample: np.ndarray
    unit: np.ndarray  # neuron j, or arc e for arc-level rows (see unit_kind)
    unit_kind: Literal["neuron", "arc", "parameter"] = "neuron"

    def row_values(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        out = np.tile(self.const.astype(float), (x.shape[0], 1))
        for s in range(x.shape[0]):
            np.add.at(out[s], self.lin_row, self.lin_coef * x[s, self.lin_var])
            np.add.at(out[s], self.quad_row, self.quad_coef * x[s, self.quad_i] * x[s, self.quad_j])
        return out


Terms = ProductTerms | PolyTerms

def row_terms(
    name: str,
    role: Role,
    sample: np.ndarray,
    unit: np.ndarray,
    *,
    const: np.ndarray | None = None,
    linear: list[tuple[np.ndarray, np.ndarray | float]] = (),
    quadratic: list[tuple[np.ndarray, np.ndarray, np.ndarray | float]] = (),
    unit_kind: Literal["neuron", "arc", "parameter"] = "neuron",
) -> PolyTerms:
    """PolyTerms with one row per entry of ``sample`` / ``unit`` (weight named ``name``): row r
    is  const[r] + sum over ``linear`` (var, coef) of coef[r] x_var[r]  + sum over
    ``quadratic`` (i, j, coef) of coef[r] x_i[r] x_j[r]  (a scalar coef holds for every row)."""
    n = int(sample.size)
    rows = np.arange(n)

    def coefs(c: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(c, dtype=float), (n,))

    def cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return PolyTerms(
        name=name,
        role=role,
        weight=name,
        n_rows=n,
        const=np.zeros(n) if const is None else const,
        lin_row=cat([rows for _ in linear], np.int64),
        lin_var=cat([v for v, _ in linear], np.int64),
        lin_coef=cat([coefs(c) for _, c in linear], float),
        quad_row=cat([rows for _ in quadratic], np.int64),
        quad_i=cat([i for i, _, _ in quadratic], np.int64),
        quad_j=cat([j for _, j, _ in quadratic], np.int64),
        quad_coef=cat([coefs(c) for _, _, c in quadratic], float),
        sample=sample,
        unit=unit,
        unit_kind=unit_kind,
    )


@dataclass(frozen=True)
class Formulation:
    """Everything an engine needs: variables, terms, and the weights to apply to them."""

    network: Network
    objective: Objective
    layout: Layout
    terms: tuple[Terms, ...]
    term_weights: dict[str, float]  # "and", "sign", "tie", "loss", "margin" (+ "sparsity")
    linear_penalties: np.ndarray  # h_e per parameter (arcs, then biases)
    targets: np.ndarray  # (N, n_outputs) 0/1
    X: np.ndarray | None = None  # the training inputs (integer inputs need them: K_n)

    @cached_property
    def model(self) -> ObjectiveModel:
        """The objective as arrays, on this formulation's targets (what solvers read)."""
        return objective_model(self.network, self.objective, self.targets, self.X)

    def value(self, X: np.ndarray, weights: Weights) -> float:
        """The replayed objective of ``weights`` on the training inputs ``X``, with this
        formulation's linear penalties: what the QUBO's minimum must equal (the oracle)."""
        net = self.network
        params = np.concatenate([weights.w, weights.b[net.has_bias]])
        return self.model.value(net.preactivations(X, weights), params, self.linear_penalties)

    def row_label(self, t: Terms, r: int) -> str:
        """The label of row ``r`` of term ``t``, e.g. ``"sign[n=3,h[1]]"``."""
        return row_label(self.network, t.name, int(t.sample[r]), int(t.unit[r]), t.unit_kind)

    def with_term_weights(self, **weights: float) -> Formulation:
        """New weights; constraint penalties not set explicitly are recomputed to stay safe."""
        unknown = set(weights) - set(self.term_weights)
        if unknown:
            valid = sorted(self.term_weights)
            raise ValueError(f"unknown term weight(s) {sorted(unknown)}; valid: {valid}")
        merged = {**self.term_weights, **weights}
        objective = replace(
            self.objective,
            loss_weight=merged["loss"],
            margin=merged["margin"],
            sparsity=merged.get("sparsity", self.objective.sparsity),
            penalties={
                **self.objective.penalties,
                **{k: v for k, v in weights.items() if k in ("and", "sign", "tie")},
            },
        )
        # penalties the user never set follow the loss and margin weights, so they stay safe
        safe = safe_penalties(self.network, objective, self.targets)
        for k, v in safe.items():
            if k not in objective.penalties:
                merged[k] = v
        return replace(self, term_weights=merged, objective=objective)
