"""The fast engine: assemble each weighted part of the QUBO with numpy / scipy.sparse.

A product part  sum_r s_r (A_r x + a_r)(B_r x + b_r)  is  x' (A' S B) x + (B' S a + A' S b) x
+ sum_r s_r a_r b_r; with binary x the diagonal of A' S B is linear (x_i^2 = x_i).  Parts are kept
separate per weight name, so changing a penalty re-weights them without reassembling.

It owns that arithmetic and :class:`FastEngine`, the engine object a fast-compiled
:class:`~qubonn.problem.Problem` asks for its QUBO.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from qubonn.formulation import Formulation, PolyTerms, ProductTerms
from qubonn.problem import QuboPart

__all__ = ["FastEngine", "QuboPart", "assemble", "combine", "part_from_bqm", "part_names"]


def _index_dtype(n: int) -> type:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _upper(M: sp.spmatrix, n: int, symmetric: bool = False) -> tuple[sp.csr_matrix, np.ndarray]:
    """Binary-variable form of x'Mx: strictly upper couplings (M_ij + M_ji) and the diagonal.

    Works on CSR arrays directly (a mask, no re-sort), which is what keeps assembly cheap."""
    M = M.tocsr()  # products and COO conversions come back without duplicate entries
    diag = M.diagonal().astype(float)
    if not symmetric:
        M = (M + M.T.tocsr()).tocsr()
        diag_factor = 1.0
    else:
        diag_factor = 2.0
    rows = np.repeat(np.arange(n, dtype=_index_dtype(n)), np.diff(M.indptr))
    keep = M.indices > rows
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    idx = _index_dtype(max(n, int(indptr[-1])))
    data = M.data[keep] * diag_factor
    U = sp.csr_matrix((data, M.indices[keep].astype(idx), indptr.astype(idx)), shape=(n, n))
    U.eliminate_zeros()
    return U, diag


def product_part(t: ProductTerms, n: int) -> QuboPart:
    B = t.A if t.B is None else t.B
    b = t.a if t.b is None else t.b
    M = t.A.T.tocsr() @ (sp.diags(t.scale) @ B)
    U, diag = _upper(M, n, symmetric=t.B is None)
    linear = diag + B.T @ (t.scale * t.a) + t.A.T @ (t.scale * b)
    return QuboPart(U, np.asarray(linear).ravel(), float(np.sum(t.scale * t.a * b)))


def poly_part(t: PolyTerms, n: int) -> QuboPart:
    linear = np.bincount(t.lin_var, weights=t.lin_coef, minlength=n).astype(float)
    M = sp.coo_matrix((t.quad_coef, (t.quad_i, t.quad_j)), shape=(n, n)).tocsr()
    U, diag = _upper(M, n)
    return QuboPart(U, linear + diag, float(np.sum(t.const)))


def assemble(formulation: Formulation, only: set[str] | None = None) -> dict[str, QuboPart]:
    """Unweighted parts by weight name (``only``: just these names).

    Linear parameter penalties are not a part: combine() applies them directly."""
    n = formulation.layout.n_vars
    parts: dict[str, QuboPart] = {}
    for t in formulation.terms:
        if t.weight == "params" or (only is not None and t.weight not in only):
            continue
        part = product_part(t, n) if isinstance(t, ProductTerms) else poly_part(t, n)
        parts[t.weight] = add_parts(parts[t.weight], part) if t.weight in parts else part
    return parts


def part_names(formulation: Formulation) -> set[str]:
    return {t.weight for t in formulation.terms if t.weight != "params"}


def combine(
    parts: dict[str, QuboPart],
    weights: dict[str, float],
    h: np.ndarray,
    n: int,
    minus: tuple[np.ndarray, np.ndarray] | None = None,
) -> QuboPart:
    """The weighted sum of the parts plus the linear parameter penalties sum_e h_e w_e:
    h_e (2 omega_e - 1), or h_e (omega_e - omega-_e) for the ternary parameters ``minus``
    (their indices, and their minus bits' variables)."""
    idx = _index_dtype(n)
    Q = sp.csr_matrix((n, n), dtype=float)
    linear = np.zeros(n)
    offset = 0.0
    for name, part in parts.items():
        wgt = weights[name]
        if wgt == 0:
            continue  # parts of zero weight may be missing: they are assembled when needed
        Q = Q + wgt * part.quadratic
        linear += wgt * part.linear
        offset += wgt * part.offset
    slope = np.full(h.size, 2.0)
    shift = np.ones(h.size)
    if minus is not None and minus[0].size:
        slope[minus[0]], shift[minus[0]] = 1.0, 0.0
        linear[minus[1]] -= h[minus[0]]
    linear[: h.size] += slope * h
    offset -= float(np.dot(shift, h))
    Q = Q.tocsr()
    Q.eliminate_zeros()
    Q.indices = Q.indices.astype(idx, copy=False)
    Q.indptr = Q.indptr.astype(idx, copy=False)
    return QuboPart(Q, linear, offset)


def part_from_bqm(bqm, labels: list) -> QuboPart:
    """A dimod BQM (binary) as a QuboPart over ``labels`` (every BQM variable must be one)."""
    index = {v: i for i, v in enumerate(labels)}
    n = len(labels)
    linear = np.zeros(n)
    for v, bias in bqm.linear.items():
        linear[index[v]] += bias
    pairs = [(index[u], index[v], bias) for (u, v), bias in bqm.quadratic.items()]
    i, j, vals = (np.array(x) for x in zip(*pairs, strict=True)) if pairs else ([], [], [])
    rows, cols = np.minimum(i, j), np.maximum(i, j)
    Q = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    return QuboPart(Q, linear, float(bqm.offset))


def add_parts(a: QuboPart, b: QuboPart) -> QuboPart:
    return QuboPart((a.quadratic + b.quadratic).tocsr(), a.linear + b.linear, a.offset + b.offset)


class FastEngine:
    """The fast engine's state in a compiled problem: the unweighted parts by weight name (a part
    of weight 0 is assembled when its weight becomes non-zero) and an optional extra part."""

    name = "fast"

    def __init__(
        self,
        parts: dict[str, QuboPart],
        extra: QuboPart | None = None,
        extra_expression: Any = None,
    ):
        self.parts = parts
        self.extra = extra
        self.extra_expression = extra_expression
        self.has_extra = extra is not None
        self._expression: Any = None

    @classmethod
    def for_formulation(cls, formulation: Formulation, **extra: Any) -> FastEngine:
        """Assemble the parts of non-zero weight."""
        nonzero = {k for k in part_names(formulation) if formulation.term_weights[k]}
        return cls(assemble(formulation, only=nonzero), **extra)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_expression"] = None  # the PyQUBO expression is rebuilt on demand
        return state

    def qubo(self, formulation: Formulation) -> QuboPart:
        weights = formulation.term_weights
        missing = {k for k in part_names(formulation) if k not in self.parts and weights[k]}
        if missing:
            self.parts.update(assemble(formulation, only=missing))
        lay = formulation.layout
        minus = (lay.minus_params, lay.minus_var(lay.minus_params))
        q = combine(self.parts, weights, formulation.linear_penalties, lay.n_vars, minus)
        return q if self.extra is None else add_parts(q, self.extra)

    def expression(self, formulation: Formulation) -> Any:
        """The PyQUBO expression of the same energy, built on first use."""
        if self._expression is None:
            from qubonn.compiler.symbolic import build_expression

            expr = build_expression(formulation)
            if self.extra_expression is not None:
                expr = expr + self.extra_expression
            self._expression = expr
        return self._expression
