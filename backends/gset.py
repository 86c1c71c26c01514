"""G-set MaxCut instances as BQMs: an external benchmark for the solver backends.

The instances live in the shared folder (``shared/benchmarks/gset``), never in the repository.
It is found through the environment variable ``QUBONN_SHARED`` (the ``shared`` folder, or the
``gset`` folder itself) or by walking up from this file and from the working directory to a
folder holding ``shared/benchmarks/gset`` (locally ``/work/shared`` beside ``/work/main``; on CI a
copy of ``shared/`` beside the clone).

MaxCut of weights w maximises ``sum_(i,j) w_ij (1 - s_i s_j) / 2``; the BQM here is the spin model
``sum_(i,j) (w_ij / 2) s_i s_j - W / 2`` (W the total weight), whose energy is exactly ``-cut``.
Nodes are relabelled 0-based.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dimod
import numpy as np

from qubonn.errors import DataError

GSET_SUBDIR = Path("shared") / "benchmarks" / "gset"


def gset_dir() -> Path | None:
    """The folder holding the G-set files and ``best_known.csv``, or None when absent."""
    env = os.environ.get("QUBONN_SHARED")
    if env:
        root = Path(env)
        for cand in (root / "benchmarks" / "gset", root):
            if (cand / "best_known.csv").is_file():
                return cand
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            cand = folder / GSET_SUBDIR
            if (cand / "best_known.csv").is_file():
                return cand
    return None


def best_known(name: str, folder: Path | None = None) -> int | None:
    """Best published cut of instance ``name`` (e.g. ``"G11"``) from ``best_known.csv``."""
    folder = folder or gset_dir()
    if folder is None or not (folder / "best_known.csv").is_file():
        return None
    with open(folder / "best_known.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("instance") == name:
                return int(row["best_known_cut"])
    return None


@dataclass
class GsetInstance:
    """A MaxCut instance: edge arrays (0-based) and the spin BQM whose energy is ``-cut``."""

    name: str
    num_nodes: int
    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    bqm: dimod.BinaryQuadraticModel
    best_known: int | None = None

    def cut(self, sample: Any) -> float:
        """Cut value of a sample (spin +-1 or binary 0/1; a mapping, array or SampleSet row)."""
        if isinstance(sample, Mapping):
            s = np.array([sample[v] for v in range(self.num_nodes)], dtype=float)
        else:
            s = np.asarray(sample, dtype=float).reshape(-1)
        if s.shape != (self.num_nodes,):
            raise DataError(f"{self.name}: a sample needs {self.num_nodes} values, got {s.shape}")
        if np.all((s == 0) | (s == 1)):
            s = 2 * s - 1
        return float(np.sum(self.w * (1 - s[self.i] * s[self.j]) / 2))

    @staticmethod
    def cut_from_energy(energy: float) -> float:
        """Cut value of a sample of :attr:`bqm` from its energy (energy is ``-cut``)."""
        return -float(energy)


def _resolve(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.exists():
        return p
    folder = gset_dir()
    if folder is not None and p.parent == Path(".") and (folder / p.name).is_file():
        return folder / p.name
    raise DataError(f"G-set file not found: {path} (shared G-set folder: {folder})")


#: nodes a G-set file may declare (the G-set graphs have up to 20,000; a header claiming 10**9
#: would make every solver allocate gigabytes before the first edge is read)
MAX_GSET_NODES = 1 << 24


def parse_gset(text: str, name: str = "<gset>") -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``(n, i, j, w)`` from G-set text (``n m`` then ``m`` lines ``i j w``, 1-based)."""
    try:
        data = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise DataError(f"{name}: not a G-set file (non-numeric tokens)") from None
    if data.size < 2 or data[0] != int(data[0]) or data[1] != int(data[1]):
        raise DataError(f"{name}: not a G-set file (first line must be 'nodes edges')")
    n, m = int(data[0]), int(data[1])
    if not 1 <= n <= MAX_GSET_NODES or m < 0:
        raise DataError(
            f"{name}: the header says {n:,} nodes and {m:,} edges; a G-set file needs 1 to "
            f"{MAX_GSET_NODES:,} nodes (the limit: each costs memory in every solver) and "
            "0 or more edges"
        )
    body = data[2:]
    if body.size != 3 * m:
        raise DataError(f"{name}: header says {m} edges but {body.size / 3:g} edge lines follow")
    edges = body.reshape(m, 3)
    i = edges[:, 0].astype(np.int64) - 1
    j = edges[:, 1].astype(np.int64) - 1
    if m and (i.min() < 0 or j.min() < 0 or i.max() >= n or j.max() >= n):
        raise DataError(f"{name}: node ids must lie in 1..{n}")
    if np.any(i == j):
        raise DataError(f"{name}: self-loop edges are not allowed")
    return n, i, j, edges[:, 2].copy()


def load_gset(path: str | os.PathLike[str]) -> GsetInstance:
    """Load a G-set file (a path, or a bare name like ``"G11"`` looked up in the shared folder)."""
    p = _resolve(path)
    n, i, j, w = parse_gset(p.read_text(), name=str(p))
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        np.zeros(n), (i, j, w / 2.0), -float(w.sum()) / 2.0, dimod.SPIN
    )
    return GsetInstance(p.name, n, i, j, w, bqm, best_known(p.name, p.parent))
