"""Cross-validation of backends and the ``qubonn crossval`` command."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import types
from pathlib import Path

import dimod
import numpy as np
import pytest

import qubonn
from qubonn.backends import UnknownBackendError, registry
from qubonn.backends.network.crossval import crossval
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


# --- problem files that carry their formulation: reads judged as networks --------------------

SKIP_NET = "input x[4]\nhidden h[2] <- x\noutput y[1] <- h, x nobias\n"
#: One neuron: small enough for 'exact', and every backend finds its optimum.
ONE_NEURON = "input x[3]\noutput y[1] <- x\n"


def training_problem(n: int = 6, seed: int = 0, spec: str = SKIP_NET, **objective: object):
    import qubonn

    net = qubonn.parse(spec)
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], (n, net.n_inputs))
    return qubonn.compile(net, X, rng.choice([-1, 1], n), **objective)


def problem_file(tmp_path: Path, spec: str = SKIP_NET, n: int = 6, **objective: object) -> Path:
    from qubonn.backends.problem_io import save_problem

    return save_problem(training_problem(n, spec=spec, **objective), tmp_path / "train.npz")


def test_problem_crossval_judges_reads_as_networks() -> None:
    pytest.importorskip("ortools")
    problem = training_problem(margin=0.2, margin_scale="fan_in")
    backends = ("neal", "repair:neal", "tabu", "cpsat")
    result = crossval(problem, backends=backends, num_reads=8, num_sweeps=300)
    rows = {r.backend: r for r in result.rows}
    assert result.judged_as_networks
    assert (
        rows["cpsat"].status_detail == "optimal"
        and rows["cpsat"].gap == 0.0
        and rows["cpsat"].agree
    )
    assert result.bound == pytest.approx(result.best_objective)
    assert result.best_energy == min(r.best_energy for r in result.rows)
    assert rows["repair:neal"].valid_share == 1.0
    for r in result.rows:
        ss = result.samplesets[r.backend]
        decoded = [problem.decode(s) for s in ss.samples()]
        valid = [d for d in decoded if d.report.ok]
        assert r.valid_share == pytest.approx(len(valid) / len(decoded))
        assert r.best_objective == pytest.approx(min(d.loss for d in valid))
        assert r.gap == pytest.approx(r.best_objective - result.bound, abs=1e-9)
        assert r.agree == (r.best_objective <= result.best_objective + result.tol)
    assert result.agree == all(r.agree for r in result.rows)
    assert "proven bound" in result.table() and "best valid objective" in result.table()


def test_backend_without_valid_reads_disagrees(worst_backend: str) -> None:
    problem = training_problem()
    result = crossval(problem, backends=("tabu", worst_backend), num_reads=4)
    rows = {r.backend: r for r in result.rows}
    assert rows[worst_backend].valid_share == 0.0 and rows[worst_backend].best_objective is None
    assert not rows[worst_backend].agree and rows["tabu"].agree and not result.agree
    assert "none valid" in result.table()


def test_problem_file_round_trips_and_stays_a_readable_qubo(tmp_path: Path) -> None:
    from qubonn.backends.problem_io import has_formulation, load_problem
    from qubonn.backends.qubo_io import load_qubo

    path = problem_file(tmp_path, margin=0.5, loss="01")
    original = training_problem(margin=0.5, loss="01")
    assert has_formulation(path)
    loaded = load_problem(path)
    assert loaded.formulation.objective == original.formulation.objective
    assert np.array_equal(loaded.X, original.X)
    bare = load_qubo(path)  # the same file read as a bare QUBO, as before
    x = original.feasible_state(original.network.random_weights(0))
    sample = dict(zip(original.labels, x, strict=True))
    assert bare.energy(sample) == pytest.approx(original.energy(x))
    plain = tmp_path / "plain.npz"
    save_qubo_npz(bare, plain)
    assert not has_formulation(plain)


def test_tampered_problem_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = problem_file(tmp_path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["data"] = arrays["data"] * 1.5
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert run_cli(str(bad), "--backends", "tabu") == 2
    assert "not the one its formulation compiles to" in capsys.readouterr().err


def test_cli_on_a_problem_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("ortools")
    path = problem_file(tmp_path, spec=ONE_NEURON, n=4)
    backends = "tabu,repair:neal,exact,cpsat"
    code = run_cli(str(path), "--backends", backends, "--reads", "8", "--sweeps", "300")
    captured = capsys.readouterr()
    assert code == 0, captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert "valid" in captured.out and "gap" in captured.out and "to_best" in captured.out
    last = captured.out.splitlines()[-1]
    assert last.startswith("best valid objective") and "reached by" in last
    assert "proven bound" in last


def test_cli_exit_codes_on_a_problem_file(
    tmp_path: Path, capsys: pytest.CaptureFixture, worst_backend: str
) -> None:
    path = problem_file(tmp_path)
    # a report: who returned valid networks and how close each came; it fails only when no
    # backend returned one (a backend without a valid read is no "disagreement")
    assert run_cli(str(path), "--backends", f"tabu,{worst_backend}", "--reads", "4") == 0
    out = capsys.readouterr().out
    assert "none valid" in out and f"no valid network from {worst_backend}" in out
    assert run_cli(str(path), "--backends", worst_backend, "--reads", "4") == 1
    assert "no backend returned a valid network" in capsys.readouterr().out
    assert run_cli(str(path), "--backends", "repair:nael") == 2
    assert "Did you mean 'repair:neal'" in capsys.readouterr().err
    assert run_cli(str(path), "--backends", "neal", "--time-limit", "0") == 2
    assert "time_limit" in capsys.readouterr().err


def test_bare_qubo_skips_backends_that_need_the_formulation(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    npz = tmp_path / "p.npz"
    save_qubo_npz(small_bqm(5), npz)
    code = run_cli(str(npz), "--backends", "tabu,exact,repair:neal,cpsat", "--reads", "4")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "skipped repair:neal: needs the problem's formulation" in out
    assert "feasible" in out.splitlines()[0]  # the energy table, as before


def test_compile_writes_a_problem_file_that_crossval_judges(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from qubonn.cli import main

    spec = tmp_path / "net.qnn"
    spec.write_text("input x[4x4]\nhidden h[2] <- x\noutput y[1] <- h\n")
    out = tmp_path / "p.npz"
    argv = ["compile", str(spec), "--size", "4", "--train", "4", "--margin", "0.2"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["crossval", str(out), "--backends", "repair:tabu", "--reads", "2"]) == 0
    captured = capsys.readouterr()
    assert "comparing valid reads" in captured.err
    assert "100.0%" in captured.out  # repaired reads are all valid


@pytest.mark.parametrize(
    "change, message",
    [
        ({"drop": "data"}, "lacks array\\(s\\) data"),
        ({"drop": "labels"}, "needs its array 'labels'"),
        ({"float": "row"}, "row and col must be integer arrays"),
        ({"float": "col"}, "row and col must be integer arrays"),
    ],
)
def test_a_malformed_problem_file_is_an_error_naming_the_array(
    tmp_path: Path, capsys: pytest.CaptureFixture, change: dict, message: str
) -> None:
    path = problem_file(tmp_path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    if "drop" in change:
        del arrays[change["drop"]]
    else:
        arrays[change["float"]] = arrays[change["float"]].astype(np.float64)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    assert run_cli(str(bad), "--backends", "tabu") == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and str(bad) in err and "Traceback" not in err


def test_cli_no_backend_ran_is_an_error_not_a_disagreement(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from qubonn.backends.qubo_io import save_qubo_npz

    path = tmp_path / "big.npz"
    save_qubo_npz(dimod.generators.gnp_random_bqm(30, 0.2, "BINARY", random_state=0), path)
    assert run_cli(str(path), "--backends", "exact") == 2
    captured = capsys.readouterr()
    assert "skipped exact" in captured.out and "no backend ran" in captured.err


def test_crossval_judges_networks_of_the_wider_domains() -> None:
    """A problem of integer inputs and ternary weights: the proven optimum (cpsat) and the
    QUBO's ground state (exact) are the same network objective; repaired reads are valid."""
    pytest.importorskip("ortools")
    net = qubonn.parse("input x[2] values -1..2\noutput y[1] <- x ternary\n")
    X = np.array([[2, -1], [1, 1], [0, 2], [-1, 0]])
    problem = qubonn.compile(net, X, np.array([1, -1, -1, 1]), sparsity=0.3, margin=0.1,
                             loss="01")
    result = crossval(problem, backends=("cpsat", "exact", "repair:tabu"), num_reads=4)
    rows = {r.backend: r for r in result.rows}
    assert rows["cpsat"].status_detail == "optimal" and rows["cpsat"].gap == 0.0
    assert rows["exact"].agree and rows["cpsat"].agree
    assert rows["repair:tabu"].valid_share == 1.0
    assert result.best_objective == pytest.approx(result.bound)
