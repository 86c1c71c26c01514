"""The PyQUBO engine: the same terms written as PyQUBO expressions that read like the math.

It is the symbolic reference the fast engine is checked against, and the way to add custom terms.
Weights are ``Placeholder``s ("loss", "margin", "sign", "and", "tie", and "h[e]" per parameter),
so they change through ``feed_dict`` without rebuilding; every constraint row is a labelled
``Constraint`` ("sign[n=3,h[1]]", "and[n=3,h[1]->y[0]]", "tie[...]", labels from the layout's
:func:`~qubonn.formulation.row_label`) that PyQUBO's decoder reports.  :class:`SymbolicEngine` is
the engine object of a PyQUBO-compiled :class:`~qubonn.problem.Problem`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqubo
import scipy.sparse as sp

from qubonn.compiler.fast import part_from_bqm
from qubonn.formulation import Formulation, PolyTerms, ProductTerms
from qubonn.problem import QuboPart


def _linear_rows(M: sp.csr_matrix, const: np.ndarray, xs: list) -> list:
    rows = []
    for r in range(M.shape[0]):
        lo, hi = M.indptr[r], M.indptr[r + 1]
        expr = float(const[r])
        for c, v in zip(M.indices[lo:hi].tolist(), M.data[lo:hi].tolist(), strict=True):
            expr = expr + v * xs[c]
        rows.append(expr)
    return rows


def build_expression(formulation: Formulation):
    """The whole training energy as one PyQUBO expression."""
    labels = formulation.layout.labels()
    xs = [pyqubo.Binary(label) for label in labels]
    total = 0
    for t in formulation.terms:
        if t.weight == "params":  # h_e w_e, w = 2 omega - 1, or omega - omega- (ternary)
            lay = formulation.layout
            minus = dict(zip(lay.minus_params.tolist(),
                             lay.minus_var(lay.minus_params).tolist(), strict=True))
            for e in t.unit.tolist():
                w = xs[e] - xs[minus[e]] if e in minus else 2 * xs[e] - 1
                total = total + pyqubo.Placeholder(f"h[{e}]") * w
            continue
        weight = pyqubo.Placeholder(t.weight)
        if isinstance(t, ProductTerms):
            left = _linear_rows(t.A, t.a, xs)
            right = left if t.B is None else _linear_rows(t.B, t.b, xs)
            rows = [float(s) * lft * rgt for s, lft, rgt in zip(t.scale, left, right, strict=True)]
        else:
            assert isinstance(t, PolyTerms)
            rows = [float(c) for c in t.const]
            for r, v, c in zip(
                t.lin_row.tolist(), t.lin_var.tolist(), t.lin_coef.tolist(), strict=True
            ):
                rows[r] = rows[r] + c * xs[v]
            for r, i, j, c in zip(
                t.quad_row.tolist(),
                t.quad_i.tolist(),
                t.quad_j.tolist(),
                t.quad_coef.tolist(),
                strict=True,
            ):
                rows[r] = rows[r] + c * xs[i] * xs[j]
        part = 0
        for r, expr in enumerate(rows):
            if isinstance(expr, float):
                part = part + expr
                continue
            if t.role == "constraint":
                expr = pyqubo.Constraint(expr, label=formulation.row_label(t, r))
            part = part + expr
        total = total + weight * part
    return total


def feed_dict(formulation: Formulation) -> dict[str, float]:
    fd = dict(formulation.term_weights)
    fd.update({f"h[{e}]": float(v) for e, v in enumerate(formulation.linear_penalties)})
    return fd


class SymbolicEngine:
    """The PyQUBO engine's state in a compiled problem: the expression and its compiled model;
    the QUBO comes from ``model.to_bqm`` with the current weights as the feed dict."""

    name = "pyqubo"

    def __init__(
        self,
        expression: Any,
        model: Any,
        extra_feed: dict[str, float] | None = None,
        has_extra: bool = False,
    ):
        self._expression = expression
        self.model = model
        self.extra_feed = dict(extra_feed or {})
        self.has_extra = has_extra
        self._labels: list[str] | None = None

    @classmethod
    def for_formulation(
        cls, formulation: Formulation, extra: Any = None, extra_feed: dict | None = None
    ) -> SymbolicEngine:
        expression = build_expression(formulation)
        if extra is not None:
            expression = expression + extra
        return cls(expression, expression.compile(), extra_feed, has_extra=extra is not None)

    def bqm(self, formulation: Formulation):
        """PyQUBO's own BQM for the formulation's current weights."""
        return self.model.to_bqm(feed_dict={**self.extra_feed, **feed_dict(formulation)})

    def qubo(self, formulation: Formulation) -> QuboPart:
        if self._labels is None:
            self._labels = formulation.layout.labels()
        return part_from_bqm(self.bqm(formulation), self._labels)

    def expression(self, formulation: Formulation) -> Any:
        return self._expression
