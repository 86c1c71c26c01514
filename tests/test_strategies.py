"""Strategies through which generic dimod samplers train (backends/network/strategies.py)."""

from __future__ import annotations

import json
import warnings

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qubonn
from qubonn.backends.network.strategies import InvalidSubsolveWarning, StrategyError, strategy_names
from qubonn.cli import main
from qubonn.formulation import objective_value
from qubonn.training.labels import encode_targets

NET = "input pixels[4x4]\nhidden h[2] <- pixels\noutput y[1] <- h\n"
FAST = {"num_reads": 4, "num_sweeps": 300, "seed": 0}


def _problem(per_class: int = 6):
    net = qubonn.parse(NET)
    d = qubonn.datasets.digits(classes=(3, 8), per_class=per_class, size=4, seed=0)
    T = encode_targets(d.y_train, list(d.classes), 1)
    return qubonn.compile(net, d.X_train, T, margin=0.2, margin_scale="fan_in")


def _replayed(problem, weights) -> float:
    f = problem.formulation
    return objective_value(f.network, problem.X, f.targets, weights, f.objective)


@pytest.mark.parametrize("backend", ["neal", "openjij-sa"])
def test_decompose_returns_a_valid_network_better_than_its_first_subsolve(backend):
    problem = _problem(per_class=10)
    ss = qubonn.solve(problem, backend=backend, strategy="decompose", **FAST)
    assert problem.broken_share(ss) == 0.0
    weights = problem.weights_of(ss.first.sample)
    # the returned state is the network's forward pass: its energy is the replayed objective
    assert ss.first.energy == pytest.approx(_replayed(problem, weights))
    subs = ss.info["subsolves"]
    accepted = [s for s in subs if s["accepted"]]
    assert accepted and all(s["valid_share"] > 0 for s in accepted)
    assert _replayed(problem, weights) < accepted[0]["best_objective"] - 1e-9
    assert _replayed(problem, weights) == pytest.approx(accepted[-1]["best_objective"])
    assert {"batch", "batch_size", "valid_share", "best_objective", "accepted"} <= set(subs[0])
    assert ss.info["batch_size"] >= 1


@pytest.mark.parametrize("backend", ["neal", "openjij-sa"])
def test_neuron_blocks_return_a_valid_network_better_than_the_first_block_subsolve(backend):
    problem = _problem(per_class=10)
    opts = {"blocks": "neuron", "epochs": 2}
    ss = qubonn.solve(problem, backend=backend, strategy="decompose", strategy_options=opts, **FAST)
    assert problem.broken_share(ss) == 0.0
    weights = problem.weights_of(ss.first.sample)
    assert ss.first.energy == pytest.approx(_replayed(problem, weights))
    subs = ss.info["subsolves"]
    assert ss.info["blocks"] == "neuron"
    rounds = [s for s in subs if s["block"] != "all"]
    assert {s["block"] for s in rounds} == set(problem.network.neuron_names)
    assert any(s["valid_share"] > 0 for s in rounds)
    first_block = next(s for s in rounds if s["valid_share"] > 0)
    assert _replayed(problem, weights) < first_block["best_objective"] - 1e-9


class _RecordingSampler(dimod.Sampler):
    """neal, recording the variables of every BQM it is handed."""

    parameters = {"num_reads": [], "num_sweeps": [], "seed": [], "initial_states": []}
    properties: dict = {}

    def __init__(self):
        from dwave.samplers import SimulatedAnnealingSampler

        self.child = SimulatedAnnealingSampler()
        self.seen: list[set] = []

    def sample(self, bqm, **kwargs):
        self.seen.append(set(bqm.variables))
        return self.child.sample(bqm, **kwargs)


def test_a_neuron_block_hands_the_sampler_only_that_neurons_parameters():
    problem = _problem(per_class=4)
    sampler = _RecordingSampler()
    opts = {"blocks": "neuron", "epochs": 1, "batch_size": 2}
    ss = qubonn.solve(problem, backend=sampler, strategy="decompose", strategy_options=opts, **FAST)
    assert problem.broken_share(ss) == 0.0
    net = problem.network
    for sub, seen in zip(ss.info["subsolves"], sampler.seen, strict=True):
        params = {v for v in seen if v[0] in "wb"}
        if sub["block"] == "all":
            assert len(params) == problem.formulation.layout.n_parameters
            continue
        j = net.neuron_names.index(sub["block"])
        arcs = (net.arc_dst == j) | (net.arc_src == net.n_inputs + j)
        expected = {f"w[{e}]" for e in np.nonzero(arcs)[0]} | {f"b[{j}]"}
        assert params == expected  # the rest fixed to the consensus, substituted as constants
        assert {v.split(",")[0] for v in seen if v.startswith("a[")} <= {"a[0", "a[1"}


class _UsersSampler(dimod.Sampler):
    """A user's own sampler: dwave-samplers' annealer as it comes, with its own beta range;
    random (invalid) reads for sub-QUBOs of more than ``max_samples`` samples."""

    parameters = {"num_reads": [], "num_sweeps": [], "seed": []}
    properties: dict = {}

    def __init__(self, max_samples: int | None = None) -> None:
        from dwave.samplers import SimulatedAnnealingSampler

        self.child = SimulatedAnnealingSampler()
        self.max_samples = max_samples
        self.calls = 0

    def sample(self, bqm, **kwargs):
        self.calls += 1
        samples = {v.split(",")[0] for v in bqm.variables if v.startswith("a[")}
        if self.max_samples is not None and len(samples) > self.max_samples:
            return dimod.RandomSampler().sample(bqm, num_reads=kwargs["num_reads"], seed=0)
        return self.child.sample(bqm, **kwargs)


def test_a_users_own_sampler_trains_through_decompose():
    problem = _problem()
    sampler = _UsersSampler()
    ss = qubonn.solve(problem, backend=sampler, strategy="decompose", **FAST)
    assert sampler.calls == len(ss.info["subsolves"]) > 1
    assert problem.broken_share(ss) == 0.0


def test_the_batch_size_is_measured_from_the_samplers_validity():
    problem = _problem()
    ss = qubonn.solve(problem, backend=_UsersSampler(max_samples=2), strategy="decompose", **FAST)
    assert ss.info["batch_size"] == 2
    probe = [s for s in ss.info["subsolves"] if s["phase"] == "probe"]
    assert [s["batch_size"] for s in probe] == [1, 2, 4]
    assert probe[-1]["valid_share"] == 0.0


def test_a_batch_that_leaves_the_sampler_invalid_is_reported():
    problem = _problem()  # 12 samples: batches of 5, 5 and 2
    opts = {"batch_size": 5, "epochs": 1}
    with pytest.raises(StrategyError, match=r"none of the 3 sub-solves returned a valid read"):
        qubonn.solve(
            problem, backend=_UsersSampler(1), strategy="decompose", strategy_options=opts, **FAST
        )
    with pytest.warns(InvalidSubsolveWarning, match=r"2 of 3 sub-solves .*sub-solves 0, 1;"):
        ss = qubonn.solve(
            problem, backend=_UsersSampler(2), strategy="decompose", strategy_options=opts, **FAST
        )
    assert [s["valid_share"] == 0 for s in ss.info["subsolves"]] == [True, True, False]
    assert problem.broken_share(ss) == 0.0


def test_continuation_leaves_the_callers_problem_alone_and_reports_each_round():
    problem = _problem(per_class=2)
    before, formulation = problem.term_weights, problem.formulation
    ss = qubonn.solve(problem, backend="neal", strategy="continuation", **FAST)
    assert problem.term_weights == before
    # not even restored: untouched, so its penalties still follow the margin (no overrides)
    assert problem.formulation is formulation and not problem.formulation.objective.penalties
    assert problem.broken_share(ss) == 0.0
    rounds = ss.info["subsolves"]
    assert len(rounds) == 4
    assert rounds[0]["weights"]["sign"] == pytest.approx(0.25 * before["sign"])


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("nope", None, r"unknown strategy 'nope'; valid strategies: direct, decompose"),
        ("decompose", {"batch": 3}, r"no option\(s\) 'batch'; valid: batch_size, epochs"),
        ("decompose", {"batch_size": 0}, r"batch_size must be an integer >= 1, not 0"),
        ("decompose", {"min_valid": 1.5}, r"min_valid must be a share in \(0, 1\]"),
        ("decompose", {"warm_start": "yes"}, r"warm_start must be True or False"),
        ("decompose", {"blocks": "layer"}, r"blocks must be one of all, neuron, not 'layer'"),
        ("continuation", {"growth": 0.5}, r"growth must be a number >= 1"),
        ("direct", {"epochs": 2}, r"strategy 'direct' has no option\(s\) 'epochs'; valid: none"),
    ],
)
def test_bad_strategies_and_options_get_clear_errors(strategy, options, message):
    problem = _problem(per_class=2)
    with pytest.raises(StrategyError, match=message):
        qubonn.solve(problem, backend="neal", strategy=strategy, strategy_options=options)


def test_a_strategy_needs_a_compiled_problem():
    bqm = _problem(per_class=2).bqm
    with pytest.raises(StrategyError, match="needs a compiled qubonn Problem"):
        qubonn.solve(bqm, backend="neal", strategy="decompose")


def test_the_trainer_passes_the_strategy_through_and_records_the_subsolves():
    net = qubonn.parse(NET)
    d = qubonn.datasets.digits(classes=(3, 8), per_class=6, size=4, seed=0)
    clf = qubonn.BNNClassifier(
        net,
        backend="neal",
        strategy="decompose",
        num_reads=4,
        solver_options={"num_sweeps": 300},
        margin=0.2,
    )
    clf.fit(d.X_train, d.y_train)
    record = clf.history_[-1]
    assert record["strategy"] == "decompose"
    assert record["valid_share"] == 1.0
    assert len(record["subsolves"]) > 1
    with pytest.raises(StrategyError, match="valid strategies"):
        qubonn.BNNClassifier(net, strategy="decomposition").check_params()
    assert clf.get_params()["strategy"] == "decompose"  # a scikit-learn parameter
    assert strategy_names()[0] == "direct"


def test_train_cli_with_the_decompose_strategy(tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = [
        "train",
        "examples/digits.qnn",
        "--per-class",
        "3",
        "--backend",
        "neal",
        "--strategy",
        "decompose",
        "--strategy-option",
        "epochs=1",
        "--reads",
        "4",
        "--sweeps",
        "300",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "strategy: decompose:" in text and "sub-solves" in text
    assert json.loads(out.read_text())["metadata"]["strategy"] == "decompose"
    assert main([*argv[:-2], "--strategy", "vote", "--out", str(out), "--force"]) == 2
    assert "qubonn train: error: unknown strategy 'vote'" in capsys.readouterr().err


def test_the_strategies_bench_runs_on_a_tiny_setting():
    import pathlib

    from test_bench_solvers import run_script, table_of

    bench = pathlib.Path(__file__).resolve().parents[1] / "bench" / "strategies.py"
    argv = ["--quick", "--backends", "neal", "--strategies", "decompose"]
    out = table_of(bench, *argv, "--encodings", "binary", "unary")
    assert "| native | structured | binary | 1/1 | 100% | 100% |" in out
    for encoding in ("binary", "unary"):
        start = f"| neal | decompose | {encoding} |"
        row = next(line for line in out.splitlines() if line.startswith(start))
        assert row.split("|")[6].strip() == "100%"  # the returned network is a valid state
    proc = run_script(bench, "--seeds", "0")
    assert proc.returncode == 2 and "--seeds must be >= 1" in proc.stderr


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), moved=st.integers(0, 2))
def test_merge_puts_a_permuted_neuron_back_in_its_slot(seed, moved):
    """A sub-solve's read that holds the right neuron in another slot (hidden neurons come back
    permuted) offers, through the merge, the network with that neuron in the right slot."""
    from qubonn.backends.network.strategies import _neuron_swaps

    net = qubonn.parse("input x[5]\nhidden h[3] <- x\noutput y[1] <- h\n")
    rng = np.random.default_rng(seed)
    target = net.random_weights(rng)
    n_in = net.n_inputs
    into = [np.nonzero(net.arc_dst == j)[0] for j in range(net.n_neurons)]
    out_of = [np.nonzero(net.arc_src == n_in + j)[0] for j in range(net.n_neurons)]
    perm = rng.permutation(3)  # the read's slot of each of the target's hidden neurons
    read = qubonn.Weights(target.w.copy(), target.b.copy())
    for j in range(3):
        k = int(perm[j])
        read.w[into[k]], read.b[k] = target.w[into[j]], target.b[j]
        read.w[out_of[k]] = target.w[out_of[j]]
    consensus = qubonn.Weights(target.w.copy(), target.b.copy())
    consensus.w[into[moved]] = -consensus.w[into[moved]]  # one neuron wrong
    consensus.w[out_of[moved]] = -consensus.w[out_of[moved]]
    assert any(c == target for c in _neuron_swaps(net, consensus, read))


def test_train_cli_reports_a_strategy_whose_subsolves_all_came_back_invalid(tmp_path, capsys):
    argv = ["train", "examples/digits.qnn", "--per-class", "3", "--backend", "neal"]
    argv += ["--strategy", "decompose", "--strategy-option", "batch_size=6", "--reads", "2"]
    argv += ["--sweeps", "1", "--quiet", "--out", str(tmp_path / "m.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "qubonn train: error: strategy 'decompose': none of the" in err
    assert "batch sizes [6]" in err and not (tmp_path / "m.json").exists()


class _TwoSampleSampler(_UsersSampler):
    """A third-party backend that is valid on sub-QUBOs of at most two samples."""

    def __init__(self) -> None:
        super().__init__(max_samples=2)


def test_train_cli_names_the_subsolves_that_came_back_invalid(tmp_path, capsys, monkeypatch):
    import importlib.metadata
    import sys
    import types

    from qubonn.backends import registry

    module = types.ModuleType("qubonn_two_sample_backend")
    module.Sampler = _TwoSampleSampler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    entry = importlib.metadata.EntryPoint(
        name="two-sample", value=f"{module.__name__}:Sampler", group=registry.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(registry, "_entry_points", lambda: [entry])
    # 8 training images in batches of 3, 3 and 2: the first two sub-solves come back invalid
    argv = ["train", "examples/digits.qnn", "--per-class", "4", "--backend", "two-sample"]
    argv += ["--strategy", "decompose", "--strategy-option", "batch_size=3"]
    argv += ["--strategy-option", "epochs=1", "--reads", "2", "--sweeps", "200", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "m.json")]) == 0
    captured = capsys.readouterr()
    assert (
        "qubonn train: warning: strategy 'decompose': 2 of 3 sub-solves returned no valid read"
        in captured.err
    )
    assert "(sub-solves 0, 1;" in captured.err
    assert "3 sub-solves, 1 accepted, 2 without a valid read" in captured.out


def test_decompose_trains_the_multiclass_loss():
    """The strategy compiles sub-problems through the compiler, so issue 17's multiclass terms
    flow through it: prototypes of three classes are learnt by neal."""
    net = qubonn.parse("input x[6]\nhidden h[3] <- x\noutput y[3] <- h\n")
    rng = np.random.default_rng(0)
    protos = rng.choice([-1, 1], (3, 6))
    y = rng.integers(0, 3, 12)
    X = protos[y] * np.where(rng.random((12, 6)) < 0.1, -1, 1)
    problem = qubonn.compile(net, X, np.eye(3, dtype=int)[y], loss="multiclass", hard_margin=1)
    ss = qubonn.solve(
        problem, backend="neal", strategy="decompose", num_reads=4, num_sweeps=300, seed=0
    )
    assert problem.broken_share(ss) == 0.0
    first = next(s["best_objective"] for s in ss.info["subsolves"] if s["accepted"])
    x = np.array([ss.first.sample[v] for v in problem.labels])
    assert problem.accuracy(problem.weights_of(x)) == 1.0
    assert problem.formulation.objective.loss == "multiclass"
    assert ss.first.energy < first


def test_a_continuation_that_never_got_valid_names_its_own_options():
    """Its advice is about rounds and growth (it has no batches), and the unary encoding."""
    problem = _problem(per_class=10)
    with pytest.raises(StrategyError) as err:
        qubonn.solve(
            problem,
            backend="neal",
            strategy="continuation",
            strategy_options={"rounds": 1},
            num_reads=2,
            num_sweeps=1,
            seed=0,
        )
    message = str(err.value)
    assert "more rounds or a larger growth" in message and "slack_encoding='unary'" in message
    assert "batch" not in message


def test_a_strategy_is_a_composite_over_any_sampler():
    """StrategyComposite is the strategy as a dimod composite and a ProblemSolver: solve,
    repair: and crossval dispatch to it; it gives what solve(strategy=...) gives."""
    from qubonn.backends import get_backend
    from qubonn.backends.contract import ProblemSolver
    from qubonn.backends.network.strategies import StrategyComposite

    problem = _problem(per_class=2)
    composite = StrategyComposite(get_backend("neal"), "continuation", rounds=2)
    assert isinstance(composite, dimod.Sampler) and isinstance(composite, ProblemSolver)
    assert composite.properties["name"].startswith("continuation:")
    a = qubonn.solve(problem, backend=composite, **FAST)
    options = {"rounds": 2}
    b = qubonn.solve(
        problem, backend="neal", strategy="continuation", strategy_options=options, **FAST
    )
    assert [s["index"] for s in a.info["subsolves"]] == [0, 1]
    np.testing.assert_array_equal(a.record.sample, b.record.sample)  # one path, same seed
    # composites stack: repair dispatches to the strategy as to any ProblemSolver
    from qubonn.backends.network.repair import RepairComposite

    repaired = RepairComposite(composite).sample_problem(problem, **FAST)
    assert problem.broken_share(repaired) == 0.0 and "subsolves" in repaired.info
    with pytest.raises(StrategyError, match="not a bare BQM"):
        composite.sample(problem.bqm)
    with pytest.raises(StrategyError, match="has no option"):
        StrategyComposite(get_backend("neal"), "decompose", batch=3)
    with pytest.raises(StrategyError, match="needs a dimod.Sampler child"):
        StrategyComposite(object(), "decompose")


class _BrokenSampler(dimod.Sampler):
    """A user's sampler that returns something broken (``kind``)."""

    parameters: dict = {}
    properties: dict = {}

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def sample(self, bqm, **kwargs):
        v = list(bqm.variables)
        one = [[0] * len(v)]
        return {
            "none": lambda: None,
            "empty": lambda: dimod.SampleSet.from_samples(([], v), bqm.vartype, energy=[]),
            "missing": lambda: dimod.SampleSet.from_samples(
                ([[0] * (len(v) - 1)], v[:-1]), bqm.vartype, energy=[0.0]
            ),
            "foreign": lambda: dimod.SampleSet.from_samples(
                (one, [f"z{i}" for i in range(len(v))]), bqm.vartype, energy=[0.0]
            ),
            "seven": lambda: dimod.SampleSet.from_samples(
                ([[7] * len(v)], v), bqm.vartype, energy=[0.0]
            ),
            "nan": lambda: dimod.SampleSet.from_samples((one, v), bqm.vartype, energy=[np.nan]),
        }[self.kind]()


@pytest.mark.parametrize("strategy", ["direct", "decompose"])
@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("none", "returned NoneType, not a dimod.SampleSet"),
        ("empty", "empty sample set"),
        ("missing", "variables differ .* lacks"),
        ("foreign", "has unknown z0"),
        ("seven", "the value 7 for variable"),
        ("nan", "the energy nan"),
    ],
)
def test_a_broken_sampler_result_is_refused_by_every_strategy(strategy, kind, fragment):
    from qubonn.errors import SamplerResultError

    net = qubonn.parse("input x[4]\noutput y[1] <- x\n")
    X = np.random.default_rng(0).choice([-1, 1], size=(6, 4))
    problem = qubonn.compile(net, X, np.array([0, 1] * 3))
    with pytest.raises(SamplerResultError, match=fragment):
        qubonn.solve(problem, backend=_BrokenSampler(kind), strategy=strategy)


# -- the wider domains: integer inputs and ternary weights ---------------------------------------
DOMAINS = (
    "input x[3] values 0..3\nhidden h[2] <- x ternary\nhidden g[2] <- x\n"
    "output y[1] <- h, g ternary\n"
)


def _domain_problem(n: int = 10, seed: int = 1, sparsity: float = 0.3, **objective):
    """Integer inputs, a ternary and a binary hidden group, a ternary output: every kind of
    parameter bit and product (u into a ternary output carries a second product um)."""
    net = qubonn.parse(DOMAINS)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, (n, 3))
    y = rng.choice([-1, 1], n)
    return qubonn.compile(net, X, y, sparsity=sparsity, margin=0.1, **objective)


@pytest.mark.parametrize(
    "strategy, options",
    [("decompose", {}), ("decompose", {"blocks": "neuron", "epochs": 2}),
     ("continuation", {"rounds": 3})],
)
def test_strategies_train_networks_of_the_wider_domains(strategy, options):
    problem = _domain_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InvalidSubsolveWarning)  # some invalid rounds are fine
        ss = qubonn.solve(problem, backend="neal", strategy=strategy, strategy_options=options,
                          **FAST)
    assert problem.broken_share(ss) == 0.0
    weights = problem.weights_of(ss.first.sample)
    problem.network.check_weights(weights)  # each group's own domain
    assert ss.first.energy == pytest.approx(problem.objective_value(weights))
    accepted = [s for s in ss.info["subsolves"] if s["accepted"]]
    assert accepted
    assert problem.objective_value(weights) == pytest.approx(accepted[-1]["best_objective"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), neuron=st.integers(0, 4), wider=st.booleans())
def test_a_blocks_free_variables_hold_everything_its_parameters_move(seed, neuron, wider):
    """Changing a neuron block's parameters changes the forward pass's state only inside the
    block's free mask (with ternary groups: its minus bits and the second products um of arcs
    into them), so fixing the rest to the consensus state loses no valid network."""
    from qubonn.backends.network.strategies import _free_mask, _neuron_blocks

    problem = _domain_problem(n=4, seed=seed) if wider else _problem(per_class=3)
    net, lay = problem.network, problem.formulation.layout
    assert bool(lay.um_arcs.size and lay.minus_params.size) == wider
    neuron %= len(_neuron_blocks(net))
    rng = np.random.default_rng(seed)
    consensus = net.random_weights(rng)
    block = _neuron_blocks(net)[neuron]
    other = net.random_weights(rng)
    moved = qubonn.Weights(consensus.w.copy(), consensus.b.copy())
    moved.w[block.arcs] = other.w[block.arcs]
    moved.b[block.bias_neurons] = other.b[block.bias_neurons]
    changed = problem.feasible_state(moved) != problem.feasible_state(consensus)
    mask = _free_mask(problem, block)
    assert not np.any(changed & ~mask)
    minus = np.isin(block.params, lay.minus_params)
    assert mask[: lay.n_parameter_bits].sum() == block.params.size + minus.sum()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_the_rest_enters_as_the_slope_through_the_consensus(seed):
    """The samples outside a batch enter as linear penalties s w: for a binary parameter the
    exact change of its flip (s = -g w_c / 2), for a ternary one the least-squares slope through
    the consensus of its changes to both other values; the sparsity term stays out (the
    sub-QUBO prices the links)."""
    from qubonn.backends.network.strategies import _rest_slopes

    problem = _domain_problem(n=6, seed=seed, sparsity=0.7)
    net = problem.network
    rng = np.random.default_rng(seed)
    consensus = net.random_weights(rng)
    rows = np.array([0, 2, 3, 5])
    f = problem.formulation
    rest = qubonn.compile(net, problem.X[rows], f.targets[rows], objective=f.objective)
    rest.set_term_weights(sparsity=0.0)

    def value(w):
        return rest.objective_value(w) - rest.formulation.model.link_cost(
            np.concatenate([w.w, w.b[net.has_bias]]))

    slopes = _rest_slopes(problem, consensus, rows)
    params = np.concatenate([consensus.w, consensus.b[net.has_bias]])
    bias = np.nonzero(net.has_bias)[0]
    for p in range(net.n_parameters):
        wc = int(params[p])
        others = [v for v in (-1, 0, 1) if v != wc] if net.parameter_ternary[p] else [-wc]
        num = den = 0.0
        for v in others:
            w, b = consensus.w.copy(), consensus.b.copy()
            if p < net.n_arcs:
                w[p] = v
            else:
                b[bias[p - net.n_arcs]] = v
            num += (v - wc) * (value(qubonn.Weights(w, b)) - value(consensus))
            den += (v - wc) ** 2
        assert slopes[p] == pytest.approx(num / den, abs=1e-9)


def test_merge_keeps_each_neuron_in_its_own_domain():
    """A ternary neuron's weights (zeros) are never merged into a binary slot with the same
    sources: every merged candidate is a network of the declared domains."""
    from qubonn.backends.network.strategies import _neuron_swaps

    net = qubonn.parse(DOMAINS)
    rng = np.random.default_rng(0)
    candidates = _neuron_swaps(net, net.random_weights(rng), net.random_weights(rng))
    assert candidates
    for c in candidates:
        net.check_weights(c)


def test_direct_exact_solves_of_the_wider_domains_decode_to_the_enumerated_optimum():
    """Plain QUBO samplers take any QUBO: dimod's ExactSolver on a tiny problem of integer
    inputs and ternary weights, through qubonn.solve and through the trainer, returns the
    network with the lowest objective among every assignment."""
    from qubonn.training import BNNClassifier
    from qubonn.verify import all_weight_assignments

    net = qubonn.parse("input x[2] values -1..2\noutput y[1] <- x ternary\n")
    X = np.array([[2, -1], [1, 1], [0, 2], [-1, 0]])
    y = np.array([1, -1, -1, 1])
    objective = {"sparsity": 0.3, "margin": 0.1, "loss": "01"}
    problem = qubonn.compile(net, X, y, **objective)
    assert problem.n_variables <= 22
    best = min(problem.objective_value(w) for w in all_weight_assignments(problem))
    ss = qubonn.solve(problem, backend="exact", num_reads=1)
    decoded = problem.decode(ss.first.sample)
    assert decoded.report.ok and decoded.loss == pytest.approx(best)
    assert ss.first.energy == pytest.approx(best)
    clf = BNNClassifier(net, backend="exact", **objective).fit(X, y)
    assert clf.history_[-1]["objective"] == pytest.approx(best)
    assert problem.objective_value(clf.weights_) == pytest.approx(best)
