"""The fast engine: assemble each weighted part of the QUBO with numpy / scipy.sparse.

A product part  sum_r s_r (A_r x + a_r)(B_r x + b_r)  is  x' (A' S B) x + (B' S a + A' S b) x
+ sum_r s_r a_r b_r; with binary x the diagonal of A' S B is linear (x_i^2 = x_i).  Parts are kept
separate per weight name, so changing a penalty re-weights them without reassembling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from qubonn.formulation import Formulation, PolyTerms, ProductTerms


@dataclass(frozen=True)
class QuboPart:
    """One unweighted part: upper-triangular couplings, linear biases, offset."""

    quadratic: sp.csr_matrix  # strictly upper triangular, n x n
    linear: np.ndarray
    offset: float


def _index_dtype(n: int) -> type:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def _upper(M: sp.spmatrix, n: int) -> tuple[sp.csr_matrix, np.ndarray]:
    M = M.tocoo()
    diag = np.zeros(n)
    on = M.row == M.col
    np.add.at(diag, M.row[on], M.data[on])
    r, c, v = M.row[~on], M.col[~on], M.data[~on]
    lo, hi = np.minimum(r, c), np.maximum(r, c)
    idx = _index_dtype(n)
    U = sp.csr_matrix((v, (lo.astype(idx), hi.astype(idx))), shape=(n, n))
    U.sum_duplicates()
    U.eliminate_zeros()
    return U, diag


def product_part(t: ProductTerms, n: int) -> QuboPart:
    S = sp.diags(t.scale)
    B = t.A if t.B is None else t.B
    b = t.a if t.b is None else t.b
    M = (t.A.T @ S @ B).tocoo()
    U, diag = _upper(M, n)
    linear = diag + B.T @ (t.scale * t.a) + t.A.T @ (t.scale * b)
    return QuboPart(U, np.asarray(linear).ravel(), float(np.sum(t.scale * t.a * b)))


def poly_part(t: PolyTerms, n: int) -> QuboPart:
    linear = np.bincount(t.lin_var, weights=t.lin_coef, minlength=n).astype(float)
    M = sp.coo_matrix((t.quad_coef, (t.quad_i, t.quad_j)), shape=(n, n))
    U, diag = _upper(M, n)
    return QuboPart(U, linear + diag, float(np.sum(t.const)))


def assemble(formulation: Formulation) -> dict[str, QuboPart]:
    """Unweighted parts by weight name ("params" holds the per-parameter penalty basis)."""
    n = formulation.layout.n_vars
    parts: dict[str, QuboPart] = {}
    for t in formulation.terms:
        if t.weight == "params":
            continue  # linear penalties are applied directly in combine()
        part = product_part(t, n) if isinstance(t, ProductTerms) else poly_part(t, n)
        if t.weight in parts:
            old = parts[t.weight]
            part = QuboPart(
                (old.quadratic + part.quadratic).tocsr(),
                old.linear + part.linear,
                old.offset + part.offset,
            )
        parts[t.weight] = part
    return parts


def combine(
    parts: dict[str, QuboPart], weights: dict[str, float], h: np.ndarray, n: int
) -> QuboPart:
    """The weighted sum of the parts plus the linear parameter penalties sum_e h_e (2 w_e - 1)."""
    idx = _index_dtype(n)
    Q = sp.csr_matrix((n, n), dtype=float)
    linear = np.zeros(n)
    offset = 0.0
    for name, part in parts.items():
        wgt = weights[name]
        if wgt == 0:
            continue
        Q = Q + wgt * part.quadratic
        linear += wgt * part.linear
        offset += wgt * part.offset
    linear[: h.size] += 2 * h
    offset -= float(h.sum())
    Q = Q.tocsr()
    Q.eliminate_zeros()
    Q.indices = Q.indices.astype(idx, copy=False)
    Q.indptr = Q.indptr.astype(idx, copy=False)
    return QuboPart(Q, linear, offset)
