"""Problem files that carry their formulation: the QUBO plus what it was compiled from.

A bare QUBO says nothing about the network, so a tool reading it can compare energies but not
networks: it cannot tell a valid read from one that breaks constraints, replay a read's
objective, or hand the network to ``cpsat``.  :func:`save_problem` writes a COO ``.npz`` that
:func:`qubonn.backends.qubo_io.load_qubo` still reads as a plain QUBO (arrays ``row``, ``col``,
``data``, ``offset``, ``labels``) and adds the formulation:

* ``qubonn_spec``: the network as description-language text;
* ``qubonn_X`` (+-1 training inputs), ``qubonn_targets`` (0/1, one column per output);
* ``qubonn_objective``: the :class:`~qubonn.formulation.Objective` as JSON;
* ``qubonn_linear_penalties``: h_e per parameter.

:func:`load_problem` recompiles the problem from these and checks that its QUBO is the stored
one, so a file edited by hand or written by another qubonn version is refused, not trusted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qubonn.errors import DataError, QubonnError

if TYPE_CHECKING:  # the compiled problem, for annotations only
    from qubonn.problem import Problem

FORMULATION_KEYS = (
    "qubonn_spec",
    "qubonn_X",
    "qubonn_targets",
    "qubonn_objective",
    "qubonn_linear_penalties",
)


def _qubo_arrays(problem: Problem) -> dict[str, np.ndarray]:
    """Upper-triangular COO (linear terms on the diagonal), offset and labels of the QUBO."""
    q = problem.qubo()
    coo = q.quadratic.tocoo()
    diag = np.nonzero(q.linear)[0]
    return {
        "row": np.concatenate([diag, coo.row]).astype(np.int64),
        "col": np.concatenate([diag, coo.col]).astype(np.int64),
        "data": np.concatenate([q.linear[diag], coo.data]).astype(np.float64),
        "offset": np.float64(q.offset),
        "labels": np.array(problem.labels),
    }


def save_problem(problem: Problem, path: str | os.PathLike[str]) -> Path:
    """Write a compiled problem to ``path`` and return it: ``.npz`` holds the QUBO (the COO
    format of :mod:`.qubo_io`) and the formulation, so tools can compare networks; any other
    suffix is dimod's serialisation of the bare QUBO (``BinaryQuadraticModel.from_file``)."""
    from .qubo_io import _write_atomically, _write_npz

    path = Path(path)
    if path.suffix != ".npz":

        def copy(fh) -> None:
            with problem.bqm.to_file() as src:
                fh.write(src.read())

        return _write_atomically(path, copy)
    f = problem.formulation
    q = problem.qubo()
    coo = q.quadratic.tocoo()
    formulation = {
        "qubonn_spec": np.array(f.network.to_text()),
        "qubonn_X": np.asarray(problem.X, dtype=np.int8),
        "qubonn_targets": np.asarray(f.targets, dtype=np.int8),
        "qubonn_objective": np.array(json.dumps(dataclasses.asdict(f.objective))),
        "qubonn_linear_penalties": np.asarray(f.linear_penalties, dtype=np.float64),
    }
    labels = np.array(problem.labels)
    return _write_npz(path, q.linear, coo.row, coo.col, coo.data, q.offset, labels, formulation)


def has_formulation(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an .npz written by :func:`save_problem`."""
    p = Path(path)
    if not (p.is_file() and zipfile.is_zipfile(p)):
        return False
    try:
        with np.load(p, allow_pickle=False) as z:
            return all(k in z.files for k in FORMULATION_KEYS)
    except Exception:  # noqa: BLE001 - not a readable npz: load_qubo gives the error
        return False


def load_problem(path: str | os.PathLike[str]) -> Any:
    """The compiled Problem stored in ``path`` (see the module doc); DataError when the file
    lacks a formulation or its QUBO is not the one its formulation compiles to."""
    import qubonn
    from qubonn.formulation import Objective

    p = Path(path)
    if not has_formulation(p):
        raise DataError(f"{p}: not a problem file with a formulation (see save_problem)")
    with np.load(p, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    try:
        net = qubonn.parse(str(a["qubonn_spec"]))
        objective = Objective(**json.loads(str(a["qubonn_objective"])))
        problem = qubonn.compile(
            net,
            a["qubonn_X"].astype(np.int64),
            a["qubonn_targets"].astype(np.int64),
            objective=objective,
            linear_penalties=a["qubonn_linear_penalties"],
        )
    except (QubonnError, ValueError, TypeError, KeyError) as exc:
        raise DataError(f"{p}: cannot rebuild the problem from its formulation ({exc})") from None
    _check_same_qubo(p, a, problem)
    return problem


def _check_same_qubo(p: Path, stored: dict[str, np.ndarray], problem: Problem) -> None:
    from .qubo_io import checked_coo

    if "labels" not in stored:
        raise DataError(f"{p}: a problem file needs its array 'labels' (the variable names)")
    row, col, data, labels, _, offset = checked_coo(p, stored)
    stored = {"row": row, "col": col, "data": data, "labels": labels, "offset": offset}
    new = _qubo_arrays(problem)
    if stored["labels"].tolist() != new["labels"].tolist():
        raise DataError(f"{p}: its variables are not those its formulation compiles to")

    def canon(arr: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        n = len(arr["labels"])
        nonzero = arr["data"] != 0  # the writer keeps every diagonal entry, zeros too
        key = arr["row"][nonzero].astype(np.int64) * n + arr["col"][nonzero]
        data = arr["data"][nonzero]
        order = np.argsort(key, kind="stable")
        uniq, start = np.unique(key[order], return_index=True)
        return uniq, np.add.reduceat(data[order], start) if len(order) else data

    k1, v1 = canon(stored)
    k2, v2 = canon(new)
    scale = max(1.0, float(np.abs(v2).max(initial=0.0)))
    same = (
        np.array_equal(k1, k2)
        and np.allclose(v1, v2, rtol=1e-9, atol=1e-9 * scale)
        and abs(float(stored["offset"]) - float(new["offset"])) <= 1e-9 * scale
    )
    if not same:
        raise DataError(
            f"{p}: its QUBO is not the one its formulation compiles to (edited, or written by "
            "another qubonn version?); solve it as a bare QUBO or recompile it"
        )
