"""G-set MaxCut: loader, cut/energy identity, and the backends against best-known cuts."""

from __future__ import annotations

import itertools
from pathlib import Path

import dimod
import numpy as np
import pytest

from qubonn.backends import backends_available, solve
from qubonn.backends.gset import best_known, gset_dir, load_gset
from qubonn.errors import DataError

GSET = gset_dir()
needs_gset = pytest.mark.skipif(
    GSET is None,
    reason="shared/benchmarks/gset not found "
    "(set QUBONN_SHARED or place shared/ beside the repository)",
)
AVAILABLE = {r.name for r in backends_available() if r.available}


def write_gset(path: Path, n: int, edges: list[tuple[int, int, int]]) -> Path:
    path.write_text(f"{n} {len(edges)}\n" + "".join(f"{i} {j} {w}\n" for i, j, w in edges))
    return path


def test_energy_is_minus_cut_on_a_small_graph(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    edges = [
        (i, j, int(rng.choice([-1, 1])))
        for i, j in itertools.combinations(range(1, 9), 2)
        if rng.random() < 0.5
    ]
    inst = load_gset(write_gset(tmp_path / "tiny", 8, edges))
    best = -np.inf
    for s in itertools.product([-1, 1], repeat=8):
        cut = sum(w * (1 - s[i - 1] * s[j - 1]) / 2 for i, j, w in edges)
        best = max(best, cut)
        assert inst.cut(s) == pytest.approx(cut)
        assert inst.cut_from_energy(inst.bqm.energy(dict(enumerate(s)))) == pytest.approx(cut)
    ground = solve(inst, backend="exact", num_reads=1).first
    assert inst.cut_from_energy(ground.energy) == pytest.approx(best)
    assert inst.cut(ground.sample) == pytest.approx(best)
    binary = {v: (x + 1) // 2 for v, x in ground.sample.items()}
    assert inst.cut(binary) == pytest.approx(best)


def test_malformed_gset(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="1..3"):
        load_gset(write_gset(tmp_path / "a", 3, [(1, 4, 1)]))
    with pytest.raises(DataError, match="self-loop"):
        load_gset(write_gset(tmp_path / "b", 3, [(2, 2, 1)]))
    with pytest.raises(DataError, match="not found"):
        load_gset(tmp_path / "missing")


def test_shared_folder_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "benchmarks" / "gset"
    folder.mkdir(parents=True)
    (folder / "best_known.csv").write_text(
        "instance,nodes,edges,weights,best_known_cut\nT1,3,1,+1,7\n"
    )
    monkeypatch.setenv("QUBONN_SHARED", str(tmp_path))
    assert gset_dir() == folder
    assert best_known("T1") == 7 and best_known("G999") is None


@needs_gset
@pytest.mark.parametrize(("name", "reads", "sweeps"), [("G11", 4, 3000), ("G1", 2, 1000)])
def test_neal_reaches_99_percent_of_best_known(name: str, reads: int, sweeps: int) -> None:
    inst = load_gset(name)
    assert inst.best_known == best_known(name) and inst.best_known > 0
    ss = solve(inst, backend="neal", num_reads=reads, num_sweeps=sweeps, seed=0)
    cut = inst.cut_from_energy(ss.first.energy)
    assert cut == pytest.approx(inst.cut(ss.first.sample))
    assert cut >= 0.99 * inst.best_known


@pytest.mark.slow
@needs_gset
@pytest.mark.parametrize("backend", ["neal", "openjij-sa", "native"])
@pytest.mark.parametrize("name", ["G1", "G6", "G11", "G22"])
def test_heuristic_backends_on_gset(name: str, backend: str) -> None:
    if backend not in AVAILABLE:
        pytest.skip(f"backend {backend} unavailable")
    inst = load_gset(name)
    ss = solve(inst, backend=backend, num_reads=4, num_sweeps=5000, seed=1)
    assert inst.cut_from_energy(ss.first.energy) >= 0.99 * inst.best_known


def test_gset_bqm_is_a_spin_model_without_linear_terms(tmp_path: Path) -> None:
    inst = load_gset(write_gset(tmp_path / "p", 3, [(1, 2, 2), (2, 3, -1)]))
    assert inst.bqm.vartype is dimod.SPIN
    assert set(inst.bqm.variables) == {0, 1, 2}
    assert all(v == 0 for v in inst.bqm.linear.values())
    assert inst.bqm.offset == pytest.approx(-0.5)


@pytest.mark.parametrize("header", ["1000000000 1", "0 0", "3 -1"])
def test_a_gset_header_out_of_range_is_refused_before_allocating(header: str) -> None:
    from qubonn.backends.gset import parse_gset

    with pytest.raises(DataError, match="a G-set file needs 1 to 16,777,216 nodes"):
        parse_gset(f"{header}\n1 2 1\n", name="g.txt")
