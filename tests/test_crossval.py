"""Cross-validation of backends and the ``qubonn crossval`` command."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import types
from pathlib import Path

import dimod
import numpy as np
import pytest

from qubonn.backends import UnknownBackendError, registry
from qubonn.backends.crossval import crossval
from qubonn.backends.qubo_io import save_qubo_npz
from qubonn.commands import crossval as crossval_cmd
from qubonn.errors import QubonnError

OPTS = {"num_sweeps": 300}


def small_bqm(seed: int = 0) -> dimod.BinaryQuadraticModel:
    return dimod.generators.gnp_random_bqm(10, 0.6, "BINARY", random_state=seed)


class _WorstSampler(dimod.Sampler):
    """Returns the all-ones state: a backend that is plainly wrong on most problems."""

    parameters = {"num_reads": []}
    properties: dict = {}

    def sample(self, bqm, num_reads=1):  # noqa: ANN001, ANN201
        high = max(bqm.vartype.value)
        return dimod.SampleSet.from_samples_bqm(
            (np.full((num_reads, bqm.num_variables), high), list(bqm.variables)), bqm
        )


@pytest.fixture
def worst_backend(monkeypatch: pytest.MonkeyPatch) -> str:
    module = types.ModuleType("qubonn_worst_backend")
    module.WorstSampler = _WorstSampler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "qubonn_worst_backend", module)
    ep = importlib.metadata.EntryPoint(
        name="worst", value="qubonn_worst_backend:WorstSampler", group=registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(registry, "_entry_points", lambda: [ep])
    return "worst"


def test_backends_agree_on_a_small_problem() -> None:
    bqm = small_bqm()
    result = crossval(bqm, backends=("neal", "openjij-sa", "exact"), num_reads=8, **OPTS)
    assert result.agree
    ground = dimod.ExactSolver().sample(bqm).first.energy
    assert result.best_energy == pytest.approx(ground)
    rows = {r.backend: r for r in result.rows}
    assert rows["exact"].ignored_options == ("num_sweeps",)
    for r in result.rows:
        assert r.status == "ok" and r.agree and r.wall_s > 0
        assert r.mean_energy >= r.best_energy - 1e-12
        assert r.feasible_share is None
    text = result.table()
    assert "neal" in text and "exact" in text and text.splitlines()[-1].startswith("agree")


def test_disagreement_is_reported(worst_backend: str) -> None:
    result = crossval(small_bqm(1), backends=("neal", worst_backend), num_reads=4, **OPTS)
    assert not result.agree
    rows = {r.backend: r for r in result.rows}
    assert rows["neal"].agree and not rows[worst_backend].agree
    assert "DISAGREE" in result.table()


def test_feasible_share_comes_from_the_problem() -> None:
    bqm = small_bqm(2)
    seen = []

    class Problem:
        def __init__(self) -> None:
            self.bqm = bqm

        def broken_share(self, sampleset: dimod.SampleSet) -> float:
            seen.append(len(sampleset))
            return 0.25

    result = crossval(Problem(), backends=("neal",), num_reads=4, **OPTS)
    assert result.rows[0].feasible_share == pytest.approx(0.75)
    assert seen == [4]


def test_unavailable_backend_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = dict(registry.BUILTIN)
    broken["native"] = registry._Spec("qubonn_no_such_module:NativeSampler", "native")
    monkeypatch.setattr(registry, "BUILTIN", broken)
    result = crossval(small_bqm(), backends=("neal", "native"), num_reads=4, **OPTS)
    rows = {r.backend: r for r in result.rows}
    assert rows["native"].status == "skipped" and "qubonn_no_such_module" in rows["native"].reason
    assert result.agree
    assert "skipped native" in result.table()


def test_refusing_backend_is_skipped_and_unknown_name_raises() -> None:
    big = dimod.generators.gnp_random_bqm(30, 0.2, "SPIN", random_state=0)
    result = crossval(big, backends=("neal", "exact"), num_reads=2, **OPTS)
    assert {r.backend: r.status for r in result.rows} == {"neal": "ok", "exact": "skipped"}
    with pytest.raises(UnknownBackendError):
        crossval(big, backends=("neal", "nael"))
    with pytest.raises(QubonnError, match="tol"):
        crossval(big, backends=("neal",), tol=-1)


def test_no_backend_ran_means_no_agreement(monkeypatch: pytest.MonkeyPatch) -> None:
    result = crossval(dimod.generators.gnp_random_bqm(30, 0.2, "SPIN"), backends=("exact",))
    assert not result.agree and result.best_energy is None
    assert "no backend ran" in result.table()


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="qubonn")
    crossval_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["crossval", *argv])
    return args.func(args)


def test_cli_agrees_on_npz_and_dimod_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bqm = small_bqm(3)
    npz = tmp_path / "p.npz"
    save_qubo_npz(bqm, npz)
    bqm_file = tmp_path / "p.bqm"
    with open(bqm_file, "wb") as fh:
        fh.write(bqm.to_file().read())
    for path in (npz, bqm_file):
        code = run_cli(str(path), "--backends", "neal,exact", "--reads", "8", "--sweeps", "300")
        assert code == 0
        assert "agree" in capsys.readouterr().out


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture, worst_backend: str) -> None:
    npz = tmp_path / "p.npz"
    save_qubo_npz(small_bqm(4), npz)
    assert run_cli(str(npz), "--backends", f"neal,{worst_backend}", "--reads", "4") == 1
    assert run_cli(str(tmp_path / "missing.npz")) == 2
    assert "not found" in capsys.readouterr().err
    assert run_cli(str(npz), "--backends", "neel") == 2
    assert "Did you mean 'neal'" in capsys.readouterr().err
    assert run_cli(str(npz), "--reads", "0") == 2
    assert run_cli(str(npz), "--backends", "neal", "--sweeps", "0") == 2
    assert "num_sweeps" in capsys.readouterr().err
