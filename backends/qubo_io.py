"""Reading and writing QUBO files, so problems can be solved or cross-checked outside Python.

Formats accepted by :func:`load_qubo` (detected from the content, not the name):

* dimod's own serialisation (``bqm.to_file()``), read with ``BinaryQuadraticModel.from_file``;
* a plain COO ``.npz``: integer arrays ``row``, ``col`` and float array ``data`` holding the
  upper-triangular QUBO (``row <= col``; the diagonal holds the linear terms), a scalar
  ``offset`` (optional, 0) and optional ``labels`` (ints or strings; default ``0..n-1``).
  Entries that repeat a position are added;
* a G-set MaxCut text file (spin model with energy ``-cut``, see :mod:`qubonn.backends.gset`).

It owns QUBO files: :func:`load_qubo`, and one atomic ``.npz`` writer behind both
:func:`save_qubo_npz` (any BQM) and :func:`qubonn.backends.problem_io.save_problem` (a compiled
problem with its formulation, what ``Problem.save`` calls).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import dimod
import numpy as np

from qubonn.errors import DataError

from .gset import parse_gset

DIMOD_MAGIC = b"DIMODBQM"


def _is_dimod_file(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(64)
    return head.startswith(DIMOD_MAGIC)


def load_qubo(path: str | os.PathLike[str]) -> dimod.BinaryQuadraticModel:
    """Load a BQM from a dimod file, a COO ``.npz`` or a G-set text file."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"QUBO file not found: {p}")
    if zipfile.is_zipfile(p):
        return _load_npz(p)
    if _is_dimod_file(p):
        try:
            with open(p, "rb") as fh:
                return dimod.BinaryQuadraticModel.from_file(fh)
        except Exception as exc:
            raise DataError(f"{p}: cannot read dimod BQM file ({exc})") from exc
    try:
        text = p.read_text()
        n, i, j, w = parse_gset(text, name=str(p))
    except (UnicodeDecodeError, DataError) as exc:
        raise DataError(
            f"{p}: unknown QUBO file format (expected a dimod BQM file, a COO .npz with "
            f"row/col/data/offset, or a G-set text file; as G-set: {exc})"
        ) from None
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        np.zeros(n), (i, j, w / 2.0), -float(w.sum()) / 2.0, dimod.SPIN
    )


def _load_npz(p: Path) -> dimod.BinaryQuadraticModel:
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:
        raise DataError(f"{p}: cannot read .npz ({exc})") from exc
    row, col, data, labels, n, offset = checked_coo(p, arrays)
    diag = row == col
    linear = np.zeros(n)
    np.add.at(linear, row[diag], data[diag])
    off = ~diag
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        linear, (row[off], col[off], data[off]), offset, dimod.BINARY
    )
    if labels is not None:
        bqm.relabel_variables(dict(enumerate(labels.tolist())), inplace=True)
    return bqm


def checked_coo(p: Path, arrays: dict[str, np.ndarray]) -> tuple:
    """The COO arrays of a QUBO .npz, checked: ``(row, col, data, labels or None, n,
    offset)``; a DataError naming the file and the array for anything malformed."""
    missing = [k for k in ("row", "col", "data") if k not in arrays]
    if missing:
        raise DataError(f"{p}: COO QUBO .npz lacks array(s) {', '.join(missing)}")
    row, col, data = arrays["row"], arrays["col"], arrays["data"]
    if not (row.ndim == col.ndim == data.ndim == 1 and len(row) == len(col) == len(data)):
        raise DataError(f"{p}: row, col and data must be 1-D arrays of the same length")
    if len(row) and not (
        np.issubdtype(row.dtype, np.integer) and np.issubdtype(col.dtype, np.integer)
    ):
        raise DataError(f"{p}: row and col must be integer arrays, not {row.dtype}/{col.dtype}")
    if not np.issubdtype(data.dtype, np.number) or np.issubdtype(data.dtype, np.complexfloating):
        raise DataError(f"{p}: data must be a real number array, not {data.dtype}")
    data = data.astype(np.float64)
    if not np.all(np.isfinite(data)):
        raise DataError(f"{p}: data contains NaN or infinite values")
    labels = arrays.get("labels")
    if labels is not None:
        if labels.ndim != 1 or len(set(labels.tolist())) != len(labels):
            raise DataError(f"{p}: labels must be a 1-D array of distinct values")
        n = len(labels)
    else:
        n = int(max(row.max(initial=-1), col.max(initial=-1))) + 1
    if len(row) and (row.min() < 0 or col.min() < 0 or max(row.max(), col.max()) >= n):
        raise DataError(f"{p}: row/col indices must lie in 0..{n - 1}")
    lower = np.flatnonzero(row > col)
    if lower.size:
        k = lower[0]
        raise DataError(
            f"{p}: the QUBO must be upper-triangular (row <= col); entry {k} is "
            f"({row[k]}, {col[k]}). A full symmetric matrix would count each pair twice."
        )
    offset = arrays.get("offset", np.float64(0.0))
    if offset.shape != () or not np.issubdtype(offset.dtype, np.number) or not np.isfinite(offset):
        raise DataError(f"{p}: offset must be one finite number, not {offset!r}")
    return row, col, data, labels, n, float(offset)


def _write_atomically(path: Path, write) -> Path:
    """Write through a hidden temporary file next to ``path``, then rename it into place, so a
    reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_npz(
    path: Path,
    linear: np.ndarray,
    row: np.ndarray,
    col: np.ndarray,
    quad: np.ndarray,
    offset: float,
    labels: np.ndarray | None,
    extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """The one ``.npz`` writer: upper-triangular COO with every linear bias on the diagonal,
    ``offset``, optional ``labels`` and ``extra`` arrays (a problem's formulation), compressed
    and written atomically."""
    n = linear.size
    arrays: dict[str, np.ndarray] = {
        "row": np.concatenate([np.arange(n), np.minimum(row, col)]).astype(np.int64),
        "col": np.concatenate([np.arange(n), np.maximum(row, col)]).astype(np.int64),
        "data": np.concatenate([linear, quad]).astype(np.float64),
        "offset": np.array(float(offset)),
    }
    if labels is not None:
        arrays["labels"] = labels
    arrays.update(extra or {})
    return _write_atomically(path, lambda fh: np.savez_compressed(fh, **arrays))


def save_qubo_npz(bqm: dimod.BinaryQuadraticModel, path: str | os.PathLike[str]) -> None:
    """Write ``bqm`` (converted to QUBO form) as a COO ``.npz`` that :func:`load_qubo` reads.

    Labels are stored when they are not ``0..n-1``; they must then be all ints or all strings.
    """
    qubo = bqm.binary
    labels = list(qubo.variables)
    lin, (row, col, quad), offset = qubo.to_numpy_vectors(variable_order=labels)
    n = len(labels)
    stored = None
    if labels != list(range(n)):
        if all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in labels):
            stored = np.array(labels, dtype=np.int64)
        elif all(isinstance(v, str) for v in labels):
            stored = np.array(labels, dtype=str)
        else:
            raise DataError(
                "save_qubo_npz: labels must be all ints or all strings; "
                "use bqm.to_file() for other labels"
            )
    _write_npz(Path(path), lin, row, col, quad, offset, stored)
