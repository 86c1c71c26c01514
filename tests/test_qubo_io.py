"""QUBO files: dimod serialisation, COO .npz and G-set text load to the same energies."""

from __future__ import annotations

from pathlib import Path

import dimod
import numpy as np
import pytest

from qubonn.backends.qubo_io import load_qubo, save_qubo_npz
from qubonn.errors import DataError


def same_energies(a: dimod.BinaryQuadraticModel, b: dimod.BinaryQuadraticModel) -> bool:
    states = dimod.ExactSolver().sample(a)
    return np.allclose(b.energies(states.change_vartype(b.vartype)), states.record.energy)


@pytest.mark.parametrize(
    "labels",
    [None, [10, 3, 7, 1, 0, 2], ["a", "b", "c", "d", "e", "f"]],
    ids=["none", "int", "str"],
)
@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_npz_round_trip(tmp_path: Path, labels: list | None, vartype: str) -> None:
    bqm = dimod.generators.gnp_random_bqm(6, 0.7, vartype, random_state=1)
    if labels is not None:
        bqm.relabel_variables(dict(enumerate(labels)))
    path = tmp_path / "q.npz"
    save_qubo_npz(bqm, path)
    loaded = load_qubo(path)
    assert loaded.vartype is dimod.BINARY
    assert set(loaded.variables) == set(bqm.variables)
    assert same_energies(bqm, loaded)


def test_dimod_file(tmp_path: Path) -> None:
    bqm = dimod.generators.gnp_random_bqm(5, 0.7, "SPIN", random_state=2)
    path = tmp_path / "q.bqm"
    path.write_bytes(bqm.to_file().read())
    assert load_qubo(path) == bqm


def test_handwritten_coo(tmp_path: Path) -> None:
    # E = 2 x0 - x1 + 3 x0 x1 + 0.5, written by hand: diagonal = linear terms.
    path = tmp_path / "h.npz"
    np.savez(
        path,
        row=np.array([0, 1, 0]),
        col=np.array([0, 1, 1]),
        data=np.array([2.0, -1, 3]),
        offset=np.array(0.5),
    )
    bqm = load_qubo(path)
    assert bqm.energy({0: 1, 1: 1}) == pytest.approx(4.5)
    assert bqm.energy({0: 0, 1: 1}) == pytest.approx(-0.5)


def test_gset_text(tmp_path: Path) -> None:
    path = tmp_path / "tri"
    path.write_text("3 3\n1 2 1\n2 3 1\n1 3 1\n")
    bqm = load_qubo(path)
    assert bqm.vartype is dimod.SPIN
    assert dimod.ExactSolver().sample(bqm).first.energy == pytest.approx(-2.0)  # max cut 2


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"row": [0], "col": [0]}, "lacks array"),
        ({"row": [1], "col": [0], "data": [1.0]}, "upper-triangular"),
        ({"row": [0], "col": [5], "data": [1.0], "labels": [0, 1]}, "indices"),
        ({"row": [0, 0], "col": [0], "data": [1.0]}, "same length"),
        ({"row": [0], "col": [0], "data": [np.nan]}, "NaN"),
        ({"row": [0.5], "col": [0], "data": [1.0]}, "integer"),
    ],
)
def test_bad_npz_is_rejected(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})
    with pytest.raises(DataError, match=message):
        load_qubo(path)


def test_unknown_or_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_qubo(tmp_path / "nope.npz")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello world")
    with pytest.raises(DataError, match="unknown QUBO file format"):
        load_qubo(junk)
    short = tmp_path / "short"
    short.write_text("3 2\n1 2 1\n")
    with pytest.raises(DataError, match="2 edges"):
        load_qubo(short)


def test_save_refuses_mixed_labels(tmp_path: Path) -> None:
    bqm = dimod.BinaryQuadraticModel({("a", 1): 1.0, 2: -1.0}, {}, 0.0, "BINARY")
    with pytest.raises(DataError, match="ints or all strings"):
        save_qubo_npz(bqm, tmp_path / "x.npz")
