"""The unary slack encoding, through every layer: size, solvers, problem files, CLI, classifier.

Its exactness (the QUBO's minimum over the non-parameter variables is the replayed objective)
is proven in tests/test_formulation.py and tests/test_multiclass.py, and by the hypothesis
harnesses there, which draw both encodings."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qubonn
from qubonn.backends.problem_io import load_problem, save_problem
from qubonn.cli import main
from qubonn.compiler.size import estimate
from qubonn.formulation import Objective
from qubonn.training.labels import encode_targets
from qubonn.verify import check_exact

DIGITS_NET = "input pixels[8x8]\nhidden h[4] <- pixels\noutput y[1] <- h\n"


def _digits_problem(n: int, encoding: str):
    data = qubonn.datasets.digits(classes=(3, 8), train=n, seed=0)
    net = qubonn.parse(DIGITS_NET)
    T = encode_targets(data.y_train, list(data.classes), 1)
    return qubonn.compile(net, data.X_train, T, margin=0.2, slack_encoding=encoding)


def test_the_size_estimate_counts_unary_bits_exactly():
    problem = _digits_problem(10, "unary")
    est = estimate(problem.network, problem.n_samples, problem.formulation.objective)
    assert est.variables == problem.n_variables
    assert 0.9 * est.quadratic <= problem.qubo().quadratic.nnz <= 1.05 * est.quadratic
    # 64-4-1: a hidden slack 0..32 is 6 binary bits or 32 unary ones
    assert problem.n_variables - _digits_problem(10, "binary").n_variables == 10 * 4 * (32 - 6)


def test_neal_returns_valid_states_on_the_unary_qubo_where_binary_gives_none():
    """What the encoding is for (docs/results.md, bench/strategies.py): at N = 20 neal's reads
    of the binary QUBO break constraints; on the unary QUBO they are networks."""
    options = {"num_reads": 8, "num_sweeps": 1000, "seed": 1}
    unary = _digits_problem(20, "unary")
    binary = _digits_problem(20, "binary")
    valid_unary = 1 - unary.broken_share(qubonn.solve(unary, backend="neal", **options))
    valid_binary = 1 - binary.broken_share(qubonn.solve(binary, backend="neal", **options))
    assert valid_unary >= 0.75 > valid_binary


def test_multiclass_with_unary_slack_is_exact():
    net = qubonn.parse("input x[4]\nhidden h[2] <- x\noutput y[3] <- h, x nobias\n")
    rng = np.random.default_rng(2)
    X = rng.choice([-1, 1], (4, 4))
    T = np.eye(3, dtype=int)[[0, 1, 2, 1]]
    objective = Objective(loss="multiclass", hard_margin=1, margin=0.25, slack_encoding="unary")
    problem = qubonn.compile(net, X, T, objective=objective)
    binary = qubonn.compile(net, X, T, objective=Objective(loss="multiclass", hard_margin=1))
    assert problem.n_variables > binary.n_variables
    assert check_exact(problem, [net.random_weights(rng) for _ in range(12)]) == []


def test_the_structured_annealer_writes_unary_states():
    problem = _digits_problem(8, "unary")
    ss = qubonn.solve(problem, backend="native", num_reads=2, num_sweeps=50, seed=0)
    assert ss.info["mode"] == "structured"
    assert problem.broken_share(ss) == 0.0
    weights = problem.weights_of(ss.first.sample)
    assert problem.energy(ss.first.sample) == pytest.approx(problem.decode(ss.first.sample).loss)
    # the read is the completion of its weights: each slack's first v bits on (a thermometer)
    x = np.array([ss.first.sample[v] for v in problem.labels])
    np.testing.assert_array_equal(x, problem.feasible_state(weights))
    lay = problem.formulation.layout
    s = x[lay.s0 :]
    owner = lay.slack_row_sample * problem.network.n_neurons + lay.slack_row_neuron
    same = owner[1:] == owner[:-1]
    assert not np.any(same & (s[1:] > s[:-1]))  # never a 0 followed by a 1 within a slack
    assert 0 < s.mean() < 1  # the slacks take values inside their ranges


def test_a_problem_file_keeps_its_encoding(tmp_path):
    problem = _digits_problem(4, "unary")
    loaded = load_problem(save_problem(problem, tmp_path / "p.npz"))
    assert loaded.formulation.objective.slack_encoding == "unary"
    assert loaded.n_variables == problem.n_variables
    x = problem.feasible_state(problem.network.random_weights(0))
    assert loaded.energy(x) == pytest.approx(problem.energy(x))


# neal's valid networks on the unary QUBO are often constant classifiers (docs/results.md)
@pytest.mark.filterwarnings("ignore::qubonn.errors.ConstantPredictionWarning")
def test_the_classifier_trains_neal_on_the_unary_qubo():
    data = qubonn.datasets.digits(classes=(3, 8), per_class=8, size=4, seed=0)
    net = qubonn.parse("input pixels[4x4]\nhidden h[2] <- pixels\noutput y[1] <- h\n")
    clf = qubonn.BNNClassifier(
        net,
        margin=0.2,
        slack_encoding="unary",
        backend="neal",
        num_reads=8,
        solver_options={"num_sweeps": 500},
    )
    assert clf.get_params()["slack_encoding"] == "unary"
    clf.fit(data.X_train, data.y_train)
    assert clf.objective_.slack_encoding == "unary"
    assert clf.history_[-1]["valid_share"] > 0
    with pytest.raises(ValueError, match="slack_encoding must be 'binary' or 'unary'"):
        qubonn.BNNClassifier(net, slack_encoding="onehot").check_params()


def test_the_command_line_flag(tmp_path, capsys):
    common = ["examples/digits.qnn", "--per-class", "4"]
    sizes = {}
    for encoding in ("binary", "unary"):
        out = tmp_path / f"{encoding}.npz"
        argv = ["compile", *common, "--slack-encoding", encoding, "--out", str(out)]
        assert main(argv) == 0, capsys.readouterr().err
        sizes[encoding] = load_problem(out).n_variables
    assert sizes["unary"] - sizes["binary"] == 8 * 4 * (32 - 6)
    model = tmp_path / "m.json"
    argv = ["train", *common, "--quiet", "--slack-encoding", "unary", "--backend", "neal"]
    code = main([*argv, "--sweeps", "200", "--reads", "4", "--out", str(model)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(model.read_text())["metadata"]["objective"]["slack_encoding"] == "unary"
    assert main(["compile", *common, "--slack-encoding", "gray"]) == 2
    assert "invalid choice: 'gray'" in capsys.readouterr().err


def test_the_domain_wall_bench_counts_broken_walls():
    """bench/domain_wall.py on a tiny setting: a row per encoding; the plain unary QUBO
    charges nothing for walls, so a short anneal leaves some broken there."""
    import pathlib

    from test_bench_solvers import table_of

    bench = pathlib.Path(__file__).resolve().parents[1] / "bench" / "domain_wall.py"
    out = table_of(bench, "--sizes", "4", "--seeds", "1", "--sweeps", "50", "--wall", "1")
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| 4 |")]
    assert [r[1].strip() for r in rows] == ["unary", "domain wall"]
    assert float(rows[0][5]) > 0  # broken walls per read on the unary QUBO
    assert rows[1][4].strip().endswith("%")  # valid with walls is measured for domain walls
