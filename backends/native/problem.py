"""The Ising form the native annealer works on (numpy only: importable on a bare GPU machine).

``E(s) = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j + offset`` with ``s`` in {-1, +1}.  The coupling
is kept symmetric (``Jsym_ij = Jsym_ji = J_ij``, zero diagonal) in CSR form, because a spin's local
field ``h_i + sum_j Jsym_ij s_j`` is then one row, and a flip updates exactly the row's entries.
A dense copy is made on demand for dense problems, where the CSR index reads would only cost time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class IsingProblem:
    """An Ising model over variables ``0..n-1`` (see module docstring for the energy)."""

    h: np.ndarray  # (n,) float64
    indptr: np.ndarray  # (n+1,) int64, rows of the symmetric coupling
    indices: np.ndarray  # (nnz,) int32, sorted within each row
    data: np.ndarray  # (nnz,) float64
    offset: float = 0.0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return int(self.h.shape[0])

    @property
    def nnz(self) -> int:
        """Stored couplings (each pair counted twice, symmetric storage)."""
        return int(self.data.shape[0])

    @property
    def density(self) -> float:
        n = self.n
        return self.nnz / (n * (n - 1)) if n > 1 else 0.0

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_ising(
        cls,
        h: Any,
        rows: Any = (),
        cols: Any = (),
        vals: Any = (),
        offset: float = 0.0,
    ) -> IsingProblem:
        """Build from fields and coupling triplets; duplicates add, ``(i, j)`` equals ``(j, i)``.

        A diagonal term ``J_ii s_i s_i`` is the constant ``J_ii`` and goes to the offset.
        """
        h = np.array(h, dtype=np.float64).reshape(-1)
        n = h.shape[0]
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        cols = np.asarray(cols, dtype=np.int64).reshape(-1)
        vals = np.asarray(vals, dtype=np.float64).reshape(-1)
        if not rows.shape == cols.shape == vals.shape:
            raise ValueError("rows, cols and vals must have the same length")
        if rows.size and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n):
            raise ValueError(f"coupling index out of range for {n} variables")
        diag = rows == cols
        offset = float(offset) + float(vals[diag].sum())
        rows, cols, vals = rows[~diag], cols[~diag], vals[~diag]
        lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
        try:
            import scipy.sparse as sp
        except ImportError:  # a bare GPU machine
            indptr, c, v = _symmetric_csr_numpy(n, lo, hi, vals)
        else:  # counting sort in C: several times faster than the numpy argsorts
            upper = sp.coo_matrix((vals, (lo, hi)), shape=(n, n)).tocsr()  # sums duplicates
            upper.eliminate_zeros()
            sym = (upper + upper.T).tocsr()  # disjoint triangles: the sum is exact
            sym.sort_indices()
            indptr, c, v = sym.indptr.astype(np.int64), sym.indices, sym.data.astype(np.float64)
        return cls(h, indptr, c.astype(np.int32), v, offset)

    @classmethod
    def from_qubo(
        cls,
        linear: Any,
        rows: Any = (),
        cols: Any = (),
        vals: Any = (),
        offset: float = 0.0,
    ) -> IsingProblem:
        """Build from a QUBO ``sum_i q_i x_i + sum q_ij x_i x_j + offset`` (x in {0, 1}).

        With ``x = (1 + s) / 2``: ``J_ij = q_ij / 4``, ``h_i = q_i / 2 + sum_j q_ij / 4`` and
        ``offset += sum_i q_i / 2 + sum q_ij / 4`` (formulation.md, "QUBO to Ising").  A diagonal
        ``q_ii x_i x_i`` is linear (x_i^2 = x_i).
        """
        q = np.array(linear, dtype=np.float64).reshape(-1)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        cols = np.asarray(cols, dtype=np.int64).reshape(-1)
        vals = np.asarray(vals, dtype=np.float64).reshape(-1)
        diag = rows == cols
        q = q + np.bincount(rows[diag], weights=vals[diag], minlength=q.size)
        rows, cols, vals = rows[~diag], cols[~diag], vals[~diag]
        n = q.size
        h = (
            q / 2
            + (
                np.bincount(rows, weights=vals, minlength=n)
                + np.bincount(cols, weights=vals, minlength=n)
            )
            / 4
        )
        off = float(offset) + q.sum() / 2 + vals.sum() / 4
        return cls.from_ising(h, rows, cols, vals / 4, off)

    @classmethod
    def from_dense_qubo(cls, matrix: Any, offset: float = 0.0) -> IsingProblem:
        """Build from a square QUBO matrix (upper, lower or both triangles; diagonal = linear)."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError("a QUBO matrix must be square")
        r, c = np.nonzero(m)
        return cls.from_qubo(np.zeros(m.shape[0]), r, c, m[r, c], offset)

    # ----------------------------------------------------------------- views
    def dense(self) -> np.ndarray:
        """The symmetric coupling as an ``(n, n)`` float64 array (cached)."""
        if "dense" not in self._cache:
            d = np.zeros((self.n, self.n))
            rows = np.repeat(np.arange(self.n), np.diff(self.indptr))
            d[rows, self.indices] = self.data
            self._cache["dense"] = d
        return self._cache["dense"]

    def matvec(self, spins: np.ndarray) -> np.ndarray:
        """``Jsym @ spins`` for ``spins`` of shape ``(n,)`` or ``(n, R)``, in float64.

        scipy's sparse product where scipy is installed; else row sums by ``np.add.reduceat``
        over the CSR segments, a block of replicas at a time, so the temporary stays small and
        the time linear in replicas (``np.add.at`` was not)."""
        spins = np.asarray(spins, dtype=np.float64)
        csr = self._scipy_csr()
        if csr is not None:
            return np.asarray(csr @ spins, dtype=np.float64)
        out = np.zeros(spins.shape, dtype=np.float64)
        nonempty = np.diff(self.indptr) > 0
        if not nonempty.any():
            return out
        starts = self.indptr[:-1][nonempty]
        if spins.ndim == 1:
            out[nonempty] = np.add.reduceat(self.data * spins[self.indices], starts)
            return out
        block = max(1, (1 << 22) // max(1, self.data.size))  # ~32 MB of products at a time
        for lo in range(0, spins.shape[1], block):
            part = spins[self.indices, lo : lo + block] * self.data[:, None]
            out[nonempty, lo : lo + block] = np.add.reduceat(part, starts, axis=0)
        return out

    def _scipy_csr(self) -> Any:
        """The coupling as a scipy CSR matrix (cached), or None where scipy is absent (a bare
        GPU machine): its C product is several times faster than the numpy segment sums."""
        if "csr" not in self._cache:
            try:
                import scipy.sparse as sp
            except ImportError:
                self._cache["csr"] = None
            else:
                n = self.n
                self._cache["csr"] = sp.csr_matrix((self.data, self.indices, self.indptr), (n, n))
        return self._cache["csr"]

    def energies(self, spins: Any) -> np.ndarray:
        """Energies of ``spins`` (shape ``(R, n)`` or ``(n,)``, values +-1), in float64."""
        s = np.asarray(spins, dtype=np.float64)
        single = s.ndim == 1
        s2 = np.atleast_2d(s)
        field = self.matvec(s2.T).T  # (R, n)
        e = s2 @ self.h + 0.5 * np.einsum("rn,rn->r", s2, field) + self.offset
        return e[0] if single else e

    def flip_bounds(self) -> np.ndarray:
        """Per variable, the largest possible energy change of a flip: ``2(|h_i| + sum|J_ij|)``."""
        absrow = np.bincount(
            np.repeat(np.arange(self.n), np.diff(self.indptr)),
            weights=np.abs(self.data),
            minlength=self.n,
        )
        return 2.0 * (np.abs(self.h) + absrow)

    def default_beta_range(self) -> tuple[float, float]:
        """Inverse temperatures from the coefficients: the one rule of every annealer,
        :func:`qubonn.backends._schedule.default_beta_range` (its docstring states it)."""
        from qubonn.backends._schedule import default_beta_range

        return default_beta_range(self.flip_bounds(), np.concatenate([self.h, self.data]))


def _symmetric_csr_numpy(
    n: int, lo: np.ndarray, hi: np.ndarray, vals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the symmetric coupling from upper-triangle triplets (``lo < hi``), duplicates
    summed once per pair so that both directions hold the identical value."""
    key = lo * n + hi
    order = np.argsort(key, kind="stable")
    key, vals = key[order], vals[order]
    if key.size:
        first = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        vals, key = np.add.reduceat(vals, first), key[first]
    keep = vals != 0
    key, vals = key[keep], vals[keep]
    r = np.concatenate([key // n, key % n])
    c = np.concatenate([key % n, key // n])
    order = np.argsort(r * n + c)
    r, c, v = r[order], c[order], np.concatenate([vals, vals])[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return indptr, c, v
