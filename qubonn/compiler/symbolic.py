"""The PyQUBO engine: the same terms written as PyQUBO expressions that read like the math.

It is the symbolic reference the fast engine is checked against, and the way to add custom terms.
Weights are ``Placeholder``s ("loss", "margin", "sign", "and", "tie", and "h[e]" per parameter),
so they change through ``feed_dict`` without rebuilding; every constraint row is a labelled
``Constraint`` ("sign[n=3,h[1]]", "and[n=3,h[1]->y[0]]", "tie[...]") that PyQUBO's decoder reports.
"""

from __future__ import annotations

import numpy as np
import pyqubo
import scipy.sparse as sp

from qubonn.formulation import Formulation, PolyTerms, ProductTerms


def row_label(formulation: Formulation, name: str, sample: int, unit: int, kind: str) -> str:
    net = formulation.network
    if kind == "arc":
        e = unit
        where = f"{net.unit_name(int(net.arc_src[e]))}->{net.neuron_names[int(net.arc_dst[e])]}"
    elif kind == "parameter":
        return f"{name}[{unit}]"
    else:
        where = net.neuron_names[unit]
    return f"{name}[n={sample},{where}]"


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
        if t.weight == "params":
            for e in range(formulation.layout.n_parameters):
                total = total + pyqubo.Placeholder(f"h[{e}]") * (2 * xs[e] - 1)
            continue
        weight = pyqubo.Placeholder(t.weight)
        kind = getattr(t, "unit_kind", "neuron")
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
                label = row_label(formulation, t.name, int(t.sample[r]), int(t.unit[r]), kind)
                expr = pyqubo.Constraint(expr, label=label)
            part = part + expr
        total = total + weight * part
    return total


def feed_dict(formulation: Formulation) -> dict[str, float]:
    fd = dict(formulation.weights)
    fd.update({f"h[{e}]": float(v) for e, v in enumerate(formulation.linear_penalties)})
    return fd


def compile_bqm(formulation: Formulation, expression=None):
    """Compile with PyQUBO and return (model, dimod BQM) for the formulation's current weights."""
    expression = build_expression(formulation) if expression is None else expression
    model = expression.compile()
    bqm = model.to_bqm(feed_dict=feed_dict(formulation))
    return model, bqm
