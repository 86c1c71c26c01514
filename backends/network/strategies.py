"""Strategies: how any dimod sampler trains on a BNN training QUBO.

A generic single-spin sampler (neal, OpenJij, tabu, a user's own ``dimod.Sampler``) finds valid
states of the full training QUBO only for a handful of samples (docs/results.md).  A strategy
hands it problems it can solve, each one a *plain QUBO* given to the sampler unchanged:

* ``direct``: the full QUBO, once (what ``qubonn.solve`` always did).
* ``decompose``: decomposition over samples.  Each sub-QUBO is the exact training QUBO of all
  parameters plus the per-sample variables of a mini-batch.  The batch size is measured: batches
  double while the sampler's valid share stays at ``min_valid`` or above.  The batches are coupled
  through linear penalties on the parameters: the current consensus network ``w_c`` enters every
  sub-QUBO as the prior ``h_e = h_user_e - anchor * w_c,e``, the samples outside the batch as
  the first-order model of their objective around ``w_c`` (``- g_e w_c,e / 2``, g_e the change
  when parameter e alone flips), and ``w_c`` is the warm start where the sampler takes
  ``initial_states``.  A sub-solve's valid reads are networks; each is offered whole and merged
  (one of its neurons moved into the consensus, in any slot with the same sources: hidden
  neurons come back permuted between sub-solves, which is what makes a plain vote of sub-solves
  fail).  The best candidate by the objective replayed on the *whole* training set replaces the
  consensus only when it is better, so the result never gets worse than the first sub-solve.
  This generalises the dropout rounds' linear penalties from reduced problems
  (docs/training.md) from neurons to samples.
* ``continuation``: penalty continuation on the full QUBO (Song et al. 2023): the constraint
  weights start at ``start`` times the safe ones and grow by ``growth`` after every solve whose
  best read broke a constraint of that kind, warm-starting from the previous best read.

Every strategy returns a ``dimod.SampleSet`` over the full problem's variables whose
``info["subsolves"]`` lists what each sub-solve returned (batch, valid share, best objective,
accepted).  Sub-solves that came back without a valid read are named in a warning.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import dimod
import numpy as np

from qubonn.errors import QubonnError
from qubonn.formulation import objective_model
from qubonn.network import Network, Weights
from qubonn.options import is_finite_real, is_whole
from qubonn.problem import Problem

from ..contract import ProblemComposite, as_problem, sample_bqm, sample_qubo

#: what a decompose sub-QUBO frees: every parameter, or one neuron's (block coordinate descent)
BLOCKS = ("all", "neuron")


class StrategyError(QubonnError, ValueError):
    """An unknown strategy, a bad strategy option, or a problem the strategy cannot take."""


class InvalidSubsolveWarning(UserWarning):
    """Some sub-solves returned no valid read: the batch is too large for the sampler."""


@dataclass(frozen=True)
class DecomposeOptions:
    """Options of ``strategy="decompose"``.

    batch_size: samples per sub-QUBO; None measures it (doubling while valid share >= min_valid).
    epochs:     passes over the training set, one anchored sub-solve per batch.
    anchor:     strength of the consensus prior, in units of the loss weight.
    min_valid:  the share of valid reads a batch size must reach in the probe.
    warm_start: start the sampler from the consensus (where it takes ``initial_states``).
    linearise:  the samples outside the batch as linear penalties (their objective's change
                when one parameter flips, around the consensus).
    merge:      also offer the consensus with one of a read's neurons moved in (any slot with
                the same sources: hidden neurons come back permuted).
    blocks:     the parameters each sub-QUBO frees after the probe: "all", or "neuron" (block
                coordinate descent: one neuron's incoming weights, bias and outgoing weights,
                the others fixed to the consensus and substituted as constants, so the
                sampler gets a smaller plain QUBO and stays valid on larger batches).
    seed:       batch order; None takes the sampler's ``seed`` option (or 0).
    """

    batch_size: int | None = None
    epochs: int = 4
    anchor: float = 0.25
    min_valid: float = 0.9
    warm_start: bool = True
    linearise: bool = True
    merge: bool = True
    blocks: str = "all"
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size is not None:
            _check_int("decompose", "batch_size", self.batch_size, 1)
        _check_int("decompose", "epochs", self.epochs, 1)
        _check_number("decompose", "anchor", self.anchor, 0.0)
        if not (is_finite_real(self.min_valid) and 0 < self.min_valid <= 1):
            raise StrategyError(
                f"strategy 'decompose': min_valid must be a share in (0, 1], not {self.min_valid!r}"
            )
        if not isinstance(self.warm_start, bool):
            raise StrategyError(
                f"strategy 'decompose': warm_start must be True or False, not {self.warm_start!r}"
            )
        if not isinstance(self.linearise, bool):
            raise StrategyError(
                f"strategy 'decompose': linearise must be True or False, not {self.linearise!r}"
            )
        if self.blocks not in BLOCKS:
            raise StrategyError(
                f"strategy 'decompose': blocks must be one of {', '.join(BLOCKS)}, "
                f"not {self.blocks!r}"
            )
        if self.seed is not None:
            _check_int("decompose", "seed", self.seed, 0)


@dataclass(frozen=True)
class ContinuationOptions:
    """Options of ``strategy="continuation"``.

    rounds: full-QUBO solves; start: first constraint weights as a share of the safe ones;
    growth: factor on a kind's weight after a solve whose best read broke that kind.
    """

    rounds: int = 4
    start: float = 0.25
    growth: float = 2.0

    def __post_init__(self) -> None:
        _check_int("continuation", "rounds", self.rounds, 1)
        if not (is_finite_real(self.start) and self.start > 0):
            raise StrategyError(
                f"strategy 'continuation': start must be a number > 0, not {self.start!r}"
            )
        if not (is_finite_real(self.growth) and self.growth >= 1):
            raise StrategyError(
                f"strategy 'continuation': growth must be a number >= 1, not {self.growth!r}"
            )


def _check_int(strategy: str, name: str, value: Any, low: int) -> None:
    if not (is_whole(value) and value >= low):
        raise StrategyError(
            f"strategy {strategy!r}: {name} must be an integer >= {low}, not {value!r}"
        )


def _check_number(strategy: str, name: str, value: Any, low: float) -> None:
    if not (is_finite_real(value) and value >= low):
        raise StrategyError(
            f"strategy {strategy!r}: {name} must be a number >= {low}, not {value!r}"
        )


_OPTIONS: dict[str, type | None] = {
    "direct": None,
    "decompose": DecomposeOptions,
    "continuation": ContinuationOptions,
}


def strategy_names() -> list[str]:
    """Every strategy name, the default first."""
    return list(_OPTIONS)


def check_strategy(name: Any, options: dict | None = None) -> Any:
    """The options object of strategy ``name`` (None for direct); a clear error for an unknown
    name or option, listing the valid ones."""
    if name not in _OPTIONS:
        raise StrategyError(f"unknown strategy {name!r}; valid strategies: {', '.join(_OPTIONS)}")
    options = dict(options or {})
    cls = _OPTIONS[name]
    valid = [f.name for f in fields(cls)] if cls else []
    unknown = sorted(set(options) - set(valid))
    if unknown:
        listed = ", ".join(valid) if valid else "none"
        raise StrategyError(
            f"strategy {name!r} has no option(s) {', '.join(map(repr, unknown))}; valid: {listed}"
        )
    return cls(**options) if cls else None


def solve_with_strategy(
    problem: Problem,
    sampler: dimod.Sampler,
    strategy: str,
    strategy_options: dict | None,
    options: dict,
) -> dimod.SampleSet:
    """Solve a compiled Problem through ``sampler`` with a non-direct strategy."""
    opts = check_strategy(strategy, strategy_options)
    try:
        problem = as_problem(problem, f"strategy {strategy!r}")
    except QubonnError as exc:
        raise StrategyError(str(exc)) from None
    if problem.has_extra_terms:
        raise StrategyError(
            f"strategy {strategy!r} cannot take a problem with extra terms (compile(extra=...)): "
            "its sub-problems would lose them; use strategy='direct'"
        )
    run: Callable[..., dimod.SampleSet] = {"decompose": _decompose, "continuation": _continue}[
        strategy
    ]
    return run(problem, sampler, opts, dict(options))


class StrategyComposite(ProblemComposite):
    """A strategy as a dimod composite over any sampler, in the style of dwave-hybrid's
    decomposers and dimod's composites: ``StrategyComposite(neal, "decompose", batch_size=4)``.

    It is a :class:`~qubonn.backends.contract.ProblemSolver`: ``sample_problem(problem,
    **options)`` runs the strategy with ``options`` going to the child on every sub-solve, and
    ``qubonn.solve``, ``repair:`` and ``crossval`` dispatch to it as to any other.  Its
    options are checked when it is built.  A bare BQM is refused: the strategy builds its
    sub-problems from the network and the data."""

    error = StrategyError

    def __init__(
        self, child_sampler: dimod.Sampler, strategy: str = "decompose", **strategy_options: Any
    ) -> None:
        super().__init__(child_sampler)
        if strategy == "direct":
            raise StrategyError("strategy 'direct' is the child itself: sample with it directly")
        check_strategy(strategy, strategy_options)
        self.strategy = strategy
        self.strategy_options = dict(strategy_options)

    @property
    def properties(self) -> dict[str, Any]:
        return {
            "name": f"{self.strategy}:{self.child_name}",
            "strategy_options": dict(self.strategy_options),
        }

    def sample(
        self, bqm: dimod.BinaryQuadraticModel, problem: Problem | None = None, **options: Any
    ) -> dimod.SampleSet:
        """Solve ``problem`` (whose QUBO ``bqm`` must be) with the strategy."""
        if problem is None or bqm is not problem.bqm:
            raise StrategyError(
                f"strategy {self.strategy!r} solves a compiled qubonn Problem, not a bare BQM: "
                "call sample_problem(problem), or sample(problem.bqm, problem=problem)"
            )
        return self.sample_problem(problem, **options)

    def sample_problem(self, problem: Problem, **options: Any) -> dimod.SampleSet:
        return solve_with_strategy(
            problem, self.child, self.strategy, self.strategy_options, options
        )


# -- shared pieces ------------------------------------------------------------------------------
def _sample(sampler: dimod.Sampler, problem: Problem, options: dict) -> dimod.SampleSet:
    """One plain-QUBO solve: the problem's QUBO handed to the sampler unchanged."""
    return sample_qubo(sampler, problem, **options)


def _valid_reads(problem: Problem, sampleset: dimod.SampleSet) -> tuple[np.ndarray, np.ndarray]:
    """The reads (0/1, label order) and whether each one breaks no constraint."""
    order = [sampleset.variables.index(v) for v in problem.labels]
    xs = np.asarray(sampleset.record.sample)[:, order].astype(np.int8)
    if sampleset.vartype is dimod.SPIN:
        xs = (xs + 1) // 2
    bad = np.zeros(len(xs), dtype=bool)
    for t in problem.formulation.terms:
        if t.role == "constraint":
            bad |= np.any(np.abs(np.atleast_2d(t.row_values(xs.astype(float)))) > 1e-9, axis=1)
    return xs, ~bad


def _params(weights: Weights, network: Network) -> np.ndarray:
    """Parameters as +-1, in the linear penalties' order (arcs, then biases)."""
    return np.concatenate([weights.w, weights.b[network.has_bias]]).astype(float)


class _Replay:
    """The objective on the whole training set (with the user's linear penalties)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def __call__(self, weights: Weights) -> float:
        return self.problem.objective_value(weights)

    def best_valid(
        self,
        sub: Problem,
        sampleset: dimod.SampleSet,
        consensus: Weights | None = None,
        merge: bool = False,
    ) -> tuple[Weights | None, float, float]:
        """The best valid read of a sub-solve: (weights, whole-set objective, valid share).

        With ``merge``, each valid read also offers the consensus with one neuron (its incoming
        weights and bias) taken from the read."""
        xs, valid = _valid_reads(sub, sampleset)
        best: tuple[Weights | None, float] = (None, np.inf)
        seen: set[bytes] = set()
        n_par = sub.formulation.layout.n_parameter_bits  # minus bits of ternary groups too
        for x in xs[valid]:
            key = x[:n_par].tobytes()
            if key in seen:
                continue
            seen.add(key)
            w = sub.weights_of(x)
            candidates = [w]
            if merge and consensus is not None:
                candidates += _neuron_swaps(self.problem.network, consensus, w)
            for c in candidates:
                obj = self(c)
                if obj < best[1]:
                    best = (c, obj)
        return best[0], best[1], float(valid.mean()) if len(valid) else 0.0


def _neuron_swaps(network: Network, base: Weights, other: Weights) -> list[Weights]:
    """``base`` with one neuron of ``other`` put in place of one of its own neurons.

    Neuron j of ``other`` goes to every slot k that has the same sources and weight domain
    (hidden neurons come back permuted between sub-solves): its incoming weights and bias, once
    alone and once with its outgoing weights too.  These are candidates, each judged by its
    replayed objective, not a symmetry: they hold in any domain."""
    n_in = network.n_inputs
    src, dst = network.arc_src, network.arc_dst
    into = [np.nonzero(dst == j)[0] for j in range(network.n_neurons)]
    out_of = [np.nonzero(src == n_in + j)[0] for j in range(network.n_neurons)]
    out = []
    for j in range(network.n_neurons):
        for k in range(network.n_neurons):
            same_in = np.array_equal(src[into[j]], src[into[k]])
            if not same_in or network.has_bias[j] != network.has_bias[k]:
                continue
            if network.ternary[j] != network.ternary[k]:
                continue  # a ternary neuron's zeros have no place among binary weights
            w, b = base.w.copy(), base.b.copy()
            w[into[k]], b[k] = other.w[into[j]], other.b[j]
            out.append(Weights(w, b))
            if out_of[k].size and np.array_equal(dst[out_of[j]], dst[out_of[k]]):
                w = w.copy()
                w[out_of[k]] = other.w[out_of[j]]
                out.append(Weights(w, b))
    return out


def _seeded(options: dict, sampler: dimod.Sampler, seeds: np.random.SeedSequence) -> dict:
    """Options for one sub-solve: a fresh seed per sub-solve where the sampler takes one."""
    out = dict(options)
    if "seed" in sampler.parameters and out.get("seed") is not None:
        out["seed"] = int(seeds.spawn(1)[0].generate_state(1)[0] >> 1)
    return out


def _result(
    problem: Problem,
    strategy: str,
    weights: Weights | None,
    subsolves: list[dict],
    start: float,
    **info: Any,
) -> dimod.SampleSet:
    """The full problem's state implied by the best ``weights``, with the sub-solve report;
    an error when no sub-solve was valid, a warning naming those that were not."""
    if weights is None:
        raise _no_valid_error(strategy, subsolves)
    _warn_invalid(strategy, subsolves)
    x = problem.feasible_state(weights)
    out = dimod.SampleSet.from_samples_bqm((x[None, :], problem.labels), problem.bqm)
    out.info.update(mode=strategy, strategy=strategy, **info, subsolves=subsolves)
    out.info["timing"] = {"strategy_s": time.perf_counter() - start}
    return out


def _warn_invalid(strategy: str, subsolves: list[dict]) -> None:
    # the probe's last, oversized batch fails by design: it is in info, not in the warning
    bad = [s["index"] for s in subsolves if s["valid_share"] == 0 and s["phase"] != "probe"]
    if bad:
        shown = ", ".join(map(str, bad[:20])) + (" ..." if len(bad) > 20 else "")
        warnings.warn(
            f"strategy {strategy!r}: {len(bad)} of {len(subsolves)} sub-solves returned no valid "
            f"read (sub-solves {shown}; see info['subsolves']); {_advice(strategy)}",
            InvalidSubsolveWarning,
            stacklevel=6,
        )


def _advice(strategy: str) -> str:
    """What to change when sub-solves come back invalid, in the strategy's own options."""
    own = "a smaller batch_size" if strategy == "decompose" else "more rounds or a larger growth"
    return f"give the sampler more sweeps or reads, {own}, or compile with slack_encoding='unary'"


def _no_valid_error(strategy: str, subsolves: list[dict]) -> StrategyError:
    sizes = sorted({s["batch_size"] for s in subsolves if "batch_size" in s})
    tried = f" (batch sizes {sizes})" if sizes else ""
    return StrategyError(
        f"strategy {strategy!r}: none of the {len(subsolves)} sub-solves returned a valid read"
        f"{tried}; the sampler cannot solve even these sub-QUBOs: {_advice(strategy)}"
    )


# -- decomposition over samples -----------------------------------------------------------------
def _sub_problem(problem: Problem, rows: np.ndarray, h: np.ndarray) -> Problem:
    """The exact training QUBO of all parameters and the samples ``rows``, with penalties h."""
    from qubonn.compiler import compile as compile_problem

    f = problem.formulation
    sub = compile_problem(
        f.network, problem.X[rows], f.targets[rows], objective=f.objective, linear_penalties=h
    )
    return sub.set_term_weights(**problem.term_weights)


def _rest_slopes(
    problem: Problem, weights: Weights, rows: np.ndarray, params: np.ndarray | None = None
) -> np.ndarray:
    """Linear coefficients s_e of the objective on the samples ``rows`` around ``weights``.

    This is how the samples outside a batch enter its sub-QUBO: as linear penalties s w, the
    first-order model of their loss and margin around the consensus.  A binary parameter has
    one other value: s = -g w_c / 2, g the change when it alone flips (exact on both values).
    A ternary one has two: s is the least-squares slope through the consensus of the changes
    to both.  The sparsity term is not the rest's: the sub-QUBO prices every link itself.
    ``params`` (indices in the linear penalties' order) limits it to those a block frees."""
    f = problem.formulation
    net = f.network
    slopes = np.zeros(f.layout.n_parameters)
    if rows.size == 0:
        return slopes
    X = problem.X[rows]
    model = objective_model(net, replace(f.objective, sparsity=0.0), f.targets[rows], X)

    def value(w: Weights) -> float:
        return model.value(net.preactivations(X, w))

    base = value(weights)
    n_arcs = weights.w.size
    bias_neurons = np.nonzero(net.has_bias)[0]
    wc = _params(weights, net)
    ternary = net.parameter_ternary
    for p in range(slopes.size) if params is None else params.tolist():
        others = [v for v in (-1, 0, 1) if v != wc[p]] if ternary[p] else [-wc[p]]
        num = den = 0.0
        for v in others:
            w, b = weights.w.copy(), weights.b.copy()
            if p < n_arcs:
                w[p] = v
            else:
                b[bias_neurons[p - n_arcs]] = v
            gain = value(Weights(w, b)) - base
            if not ternary[p]:
                num, den = -0.5 * gain * wc[p], 1.0  # as before: h - 0.5 g w_c
                break
            num, den = num + (v - wc[p]) * gain, den + (v - wc[p]) ** 2
        slopes[p] = num / den
    return slopes


@dataclass(frozen=True, eq=False)
class _Block:
    """The parameters one sub-QUBO frees: arcs, neurons whose bias, and their indices in the
    linear penalties' order (arcs, then biases)."""

    name: str
    arcs: np.ndarray
    bias_neurons: np.ndarray
    params: np.ndarray


def _neuron_blocks(network: Network) -> list[_Block]:
    """One block per neuron: its incoming weights, its bias and its outgoing weights."""
    bias_of = np.cumsum(network.has_bias) - 1
    blocks = []
    for j in range(network.n_neurons):
        arcs = np.nonzero((network.arc_dst == j) | (network.arc_src == network.n_inputs + j))[0]
        biased = np.array([j] if network.has_bias[j] else [], dtype=np.int64)
        params = np.concatenate([arcs, network.n_arcs + bias_of[biased]]).astype(np.int64)
        blocks.append(_Block(network.neuron_names[j], arcs, biased, params))
    return blocks


def _free_mask(sub: Problem, block: _Block) -> np.ndarray:
    """The variables of ``sub`` that a change of ``block`` can move: its parameters and the
    per-sample variables of every neuron whose pre-activation depends on them (downstream
    too).  The rest stays at the consensus's feasible values."""
    net, layout = sub.formulation.network, sub.formulation.layout
    n_in, src, dst = net.n_inputs, net.arc_src, net.arc_dst
    moved = set(dst[block.arcs].tolist()) | set(block.bias_neurons.tolist())
    frontier = list(moved)
    while frontier:
        j = frontier.pop()
        for k in dst[src == n_in + j].tolist():
            if k not in moved:
                moved.add(k)
                frontier.append(k)
    mask = np.zeros(layout.n_vars, dtype=bool)
    mask[block.params] = True  # parameters sit first, in the linear penalties' order
    ternary = np.isin(block.params, layout.minus_params)
    mask[layout.minus_var(block.params[ternary])] = True
    samples = np.arange(layout.n_samples)
    for j in moved:
        every = np.full(samples.size, j)
        if j in layout.alpha_neurons:
            mask[layout.alpha_var(samples, every, net.n_neurons)] = True
        if j in layout.tie_neurons:
            mask[layout.tie_var(samples, every, net.n_neurons)] = True
    mask[layout.s0 + np.nonzero(np.isin(layout.slack_row_neuron, list(moved)))[0]] = True
    in_block = set(block.arcs.tolist())
    for e in layout.u_arcs.tolist():
        if e in in_block or int(src[e]) - n_in in moved:
            mask[layout.u_var(samples, np.full(samples.size, e))] = True
    for e in layout.um_arcs.tolist():
        if e in in_block or int(src[e]) - n_in in moved:
            mask[layout.um_var(samples, np.full(samples.size, e))] = True
    return mask


def _sample_block(
    sampler: dimod.Sampler, sub: Problem, block: _Block, x0: np.ndarray, options: dict, warm: bool
) -> dimod.SampleSet:
    """One block sub-solve: ``sub`` with every variable outside the block fixed to the
    consensus state ``x0`` (substituted as constants: a plain, smaller QUBO for the sampler);
    the reads come back as full states of ``sub``."""
    mask = _free_mask(sub, block)
    free = np.nonzero(mask)[0]
    labels = sub.labels
    reduced = sub.bqm.copy()
    reduced.fix_variables({labels[i]: int(x0[i]) for i in np.nonzero(~mask)[0]})
    run = dict(options)
    if warm:
        run["initial_states"] = (x0[free][None, :], [labels[i] for i in free])
    sampleset = sample_bqm(sampler, reduced, **run)
    order = [sampleset.variables.index(labels[i]) for i in free]
    reads = np.asarray(sampleset.record.sample)[:, order].astype(np.int8)
    if sampleset.vartype is dimod.SPIN:
        reads = (reads + 1) // 2
    xs = np.tile(x0.astype(np.int8), (len(reads), 1))
    xs[:, free] = reads
    return dimod.SampleSet.from_samples_bqm((xs, labels), sub.bqm)


def _decompose(problem: Problem, sampler: dimod.Sampler, opts: DecomposeOptions, options: dict):
    start = time.perf_counter()
    f = problem.formulation
    n = problem.n_samples
    seed = opts.seed if opts.seed is not None else options.get("seed") or 0
    rng = np.random.default_rng(seed)
    seeds = np.random.SeedSequence(seed)
    replay = _Replay(problem)
    h_user = f.linear_penalties
    unit = f.objective.loss_weight
    warm = opts.warm_start and "initial_states" in sampler.parameters
    subsolves: list[dict] = []
    state: dict[str, Any] = {"weights": None, "objective": np.inf}
    blocks = _neuron_blocks(f.network) if opts.blocks == "neuron" else []
    turn = itertools.count()

    def subsolve(rows: np.ndarray, phase: str, block: _Block | None = None) -> float:
        consensus = state["weights"]
        h = h_user
        if consensus is not None:
            wc = _params(consensus, f.network)
            h = h_user - opts.anchor * unit * wc
            if opts.linearise:
                rest = np.setdiff1d(np.arange(n), rows)
                h = h + _rest_slopes(
                    problem, consensus, rest, None if block is None else block.params
                )
        sub = _sub_problem(problem, rows, h)
        run = _seeded(options, sampler, seeds)
        t0 = time.perf_counter()
        if block is not None:  # consensus is set: the probe ran first
            x0 = sub.feasible_state(consensus).astype(np.int8)
            sampleset = _sample_block(sampler, sub, block, x0, run, warm)
            w, obj, share = replay.best_valid(sub, sampleset)
        else:
            if warm and consensus is not None:
                run["initial_states"] = (sub.feasible_state(consensus)[None, :], sub.labels)
            sampleset = _sample(sampler, sub, run)
            w, obj, share = replay.best_valid(sub, sampleset, consensus, opts.merge)
        accepted = w is not None and obj < state["objective"] - 1e-9
        if accepted:
            state.update(weights=w, objective=obj)
        subsolves.append(
            {
                "index": len(subsolves),
                "phase": phase,
                "batch": rows.tolist(),
                "batch_size": int(rows.size),
                "block": "all" if block is None else block.name,
                "reads": len(sampleset),
                "valid_share": share,
                "best_objective": float(obj),
                "accepted": bool(accepted),
                "solve_s": time.perf_counter() - t0,
            }
        )
        return share

    def block_subsolve(rows: np.ndarray, phase: str) -> float:
        return subsolve(rows, phase, blocks[next(turn) % len(blocks)])

    batch = opts.batch_size
    if batch is None:
        batch = _probe_batch(n, opts.min_valid, rng, subsolve)
        if blocks and state["weights"] is not None:  # a smaller QUBO: larger batches stay valid
            batch = _probe_batch(n, opts.min_valid, rng, block_subsolve, start=batch)
    elif blocks:  # the first consensus: one sub-solve over every parameter
        subsolve(np.sort(rng.choice(n, size=min(batch, n), replace=False)), "probe")
    batch = min(int(batch), n)
    for _ in range(opts.epochs):
        order = rng.permutation(n)
        for i in range(0, n, batch):
            rows = np.sort(order[i : i + batch])
            if not blocks:
                subsolve(rows, "round")
            for block in blocks if state["weights"] is not None else []:
                subsolve(rows, "round", block)
    return _result(
        problem, "decompose", state["weights"], subsolves, start,
        batch_size=batch, blocks=opts.blocks,
    )


def _probe_batch(
    n: int, min_valid: float, rng: np.random.Generator, subsolve: Callable[..., float], start=0
) -> int:
    """The largest batch (1, 2, 4, ... or 2 start, 4 start, ...) whose sub-solve reaches
    ``min_valid`` valid reads; ``start`` (known to pass) when none of the larger ones does.

    The probe's sub-solves count: their best valid network is the first consensus."""
    size, passed = (1, 0) if start < 1 else (min(2 * start, n), start)
    while passed < n:
        share = subsolve(np.sort(rng.choice(n, size=size, replace=False)), "probe")
        if share < min_valid:
            break
        passed = size
        size = min(2 * size, n)
    return max(passed, 1)


# -- penalty continuation -----------------------------------------------------------------------
def _continue(problem: Problem, sampler: dimod.Sampler, opts: ContinuationOptions, options: dict):
    start = time.perf_counter()
    safe = {k: v for k, v in problem.term_weights.items() if k in ("and", "sign", "tie")}
    current = {k: opts.start * v for k, v in safe.items()}
    replay = _Replay(problem)
    work = problem.copy()  # its penalties change by round; the caller's problem does not
    seeds = np.random.SeedSequence(options.get("seed") or 0)
    warm = "initial_states" in sampler.parameters
    subsolves: list[dict] = []
    best: tuple[Weights | None, float] = (None, np.inf)
    previous = None
    for r in range(opts.rounds):
        work.set_term_weights(**current)
        run = _seeded(options, sampler, seeds)
        if warm and previous is not None:
            run["initial_states"] = (previous[None, :], problem.labels)
        t0 = time.perf_counter()
        sampleset = _sample(sampler, work, run)
        w, obj, share = replay.best_valid(work, sampleset)
        accepted = w is not None and obj < best[1] - 1e-9
        if accepted:
            best = (w, obj)
        subsolves.append(
            {
                "index": r,
                "phase": "round",
                "weights": dict(current),
                "reads": len(sampleset),
                "valid_share": share,
                "best_objective": float(obj),
                "accepted": bool(accepted),
                "solve_s": time.perf_counter() - t0,
            }
        )
        xs, _ = _valid_reads(work, sampleset)
        previous = xs[int(np.argmin(sampleset.record.energy))]
        counts = work.constraint_report(previous).counts
        current = {k: v * opts.growth if counts.get(k, 0) else v for k, v in current.items()}
    return _result(problem, "continuation", best[0], subsolves, start)
