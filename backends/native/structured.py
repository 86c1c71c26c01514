"""The structured annealer: simulated annealing and parallel tempering over *valid* states.

A single-spin annealer cannot flip a weight bit of a BNN training QUBO without breaking every
per-sample constraint that uses it, so it freezes once it is cold (docs/results.md).  Here a move
changes one parameter (a flip; in a ternary group, to either other value of -1, 0, +1) together
with the exact completion of every per-sample variable (activations downstream, AND products,
slack and tie bits, a ternary parameter's minus bit).  Integer inputs and the sparsity term are
followed exactly (per-row bounds from the objective model).  Every state visited is valid, and
a move's energy change is exactly the change of the training objective, which is also the
change of the QUBO energy.  The per-replica state is the pre-activation of every neuron on
every sample, updated incrementally (``_kernels_structured``).

Two algorithms:

* ``"sa"`` (the default): each replica anneals from ``beta_hot`` to ``beta_cold`` (geometric
  schedule);
* ``"pt"``: parallel tempering; the replicas sit on the rungs of a geometric ladder between
  ``beta_hot`` and ``beta_cold``, and neighbours exchange temperatures after every sweep
  (Hukushima and Nemoto 1996).

Temperatures are in units of the objective: by default the hot end accepts the median uphill
move of a random network with probability 1/2, and the cold end accepts the objective's smallest
change (one loss unit, or one soft-margin step) with probability 1/1000.  Each read is the best
state its replica visited.  Measured on five digit pairs (docs/native-annealer.md), annealing
reaches lower objectives than tempering at equal sweeps, in less time; 1000 sweeps of 16
replicas get within about 0.01 of the best objective known on 100-270 images.

The array core needs only numpy and numba; :func:`model_from_problem` reads a compiled
:class:`qubonn.problem.Problem`.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qubonn.backends._schedule import memory_budget
from qubonn.backends._validate import (
    check_beta_range,
    check_choice,
    check_optional_positive_float,
    check_optional_sweeps,
    check_positive_int,
)
from qubonn.errors import SolverOptionError

from . import _rng
from ._notice import announce_compile
from .anneal import resolve_device, resolve_seed

if TYPE_CHECKING:  # the compiled problem, for annotations only
    from qubonn.problem import Problem

ALGORITHMS = ("sa", "pt")
DEFAULT_SWEEPS = 1000
STREAM_PT = 4  # a random stream of its own for the replica exchanges
STREAM_VALUE = 5  # the new values of ternary parameters (a key derived from the move stream's)
#: the cold end accepts an uphill move of one loss unit with this probability
COLD_ACCEPT = 1e-3


@dataclass(frozen=True)
class StructuredModel:
    """The training objective of one problem as flat arrays for the kernels.

    Parameters are numbered as in the QUBO: arcs, then biases.  Neurons are in topological
    order.  ``z`` of a replica is ``(neurons, samples)``."""

    network: Any
    X: np.ndarray  # (N, n_in) +-1, or integers (int16) on networks with integer inputs
    XT: np.ndarray  # (n_in, N) int8 (int16 with integer inputs), contiguous per input unit
    param_neuron: np.ndarray  # neuron whose pre-activation parameter p feeds
    param_src: np.ndarray  # source unit of an arc parameter, -1 for a bias
    out_ptr: np.ndarray  # arcs leaving neuron j: out_arc[out_ptr[j]:out_ptr[j+1]]
    out_dst: np.ndarray
    out_arc: np.ndarray
    clamped: np.ndarray  # outputs clamped to their labels (hinge loss)
    out01: np.ndarray  # outputs charged by the 0-1 loss
    out_pos: np.ndarray  # column of an output neuron in the targets, -1 elsewhere
    ysign: np.ndarray  # (n_out, N) +-1 labels
    lo: np.ndarray  # (n_out, N) hinge interval of the count c = (z + Kn) / g
    hi: np.ndarray
    K: np.ndarray  # (J,) bound of |z| (the fan-in on +-1 inputs)
    Kn: np.ndarray  # (J, N) the row's bound of |z| (sum of |source| + |bias|)
    g: np.ndarray  # (J,) 2 for binary weights (z and Kn have one parity), 1 for ternary
    mc: np.ndarray  # outputs of the multiclass loss (plain pre-activations)
    mc_outs: np.ndarray  # (n_out,) output neurons, by class
    ycls: np.ndarray  # (N,) true class (multiclass), 0 otherwise
    mc_margin: int  # pairwise margin 2m + 1 (multiclass)
    bucket: np.ndarray  # (n_out, N) loss bucket of each output row (one per loss weight)
    mu: np.ndarray  # soft margin per neuron (scaled; 0 at multiclass outputs)
    L: float  # loss weight
    lw: np.ndarray  # (buckets,) L times each bucket's loss weight
    h: np.ndarray  # linear parameter penalties
    tern: np.ndarray  # (P,) bool: ternary parameters (values -1, 0, +1)
    lam: float  # sparsity: lambda per nonzero ternary parameter

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def energy_quantum(self) -> float:
        """The smallest change of the objective worth resolving: one loss unit, the soft
        margin of one |z| step on one sample (2 for binary weights, whose z keeps the parity
        of the row's bound whatever the inputs; 1 for ternary ones), or one link's sparsity
        price.  The cold end must resolve it; at a cold end set by the loss unit alone, the
        margin reward (0.2 / 65 per unit of |z| on a 64-input neuron) stayed at random and the
        objective lost a third of its margin (measured)."""
        pos = self.mu > 0
        unit = float(self.lw.min())
        if pos.any():
            unit = min(unit, float(np.min(self.g[pos] * self.mu[pos])))
        if self.lam > 0 and self.tern.any():
            unit = min(unit, self.lam)
        return unit

    @property
    def lower_bound(self) -> float:
        """No network does better: the loss is >= 0, every |z_nj| <= K_nj, |w| <= 1, the
        sparsity term >= 0.  Without a margin or penalties it is 0, and a zero-loss network
        is proven optimal."""
        if self.network.has_integer_inputs:
            margin = float(np.sum(self.mu * self.Kn.sum(axis=1)))
        else:  # every row's bound is K_j
            margin = float(np.sum(self.mu * self.K)) * self.n_samples
        return -margin - float(np.sum(np.abs(self.h)))

    @property
    def n_params(self) -> int:
        return int(self.param_neuron.size)

    @property
    def n_neurons(self) -> int:
        return int(self.K.size)

    def kernel_args(self) -> tuple:
        """The model arrays in the order the CPU kernel takes them, then two flags, None where
        the problem lacks the part: ``carries`` (some neuron feeds another) and ``multiclass``
        (multiclass outputs).  Numba prunes the code of a part that is None, so each kind of
        problem compiles a smaller kernel of its own, once (the first run's cost)."""
        return (
            self.XT, self.param_neuron, self.param_src, np.int64(self.network.n_inputs),
            self.out_ptr, self.out_dst, self.out_arc, self.clamped, self.out01, self.out_pos,
            self.ysign, self.lo, self.hi, self.Kn, self.g, self.mc, self.mc_outs, self.ycls,
            np.int64(self.mc_margin), self.bucket,
            True if self.out_ptr[-1] > 0 else None, True if self.mc.any() else None,
        )

    def weights(self, params: np.ndarray):
        """A row of parameters (arcs, then biases; -1, 0 or +1) as
        :class:`qubonn.network.Weights`."""
        from qubonn.network import Weights

        net = self.network
        b = np.zeros(net.n_neurons, dtype=np.int8)
        b[np.nonzero(net.has_bias)[0]] = params[net.n_arcs :]
        return Weights(w=np.asarray(params[: net.n_arcs], dtype=np.int8).copy(), b=b)


def model_from_formulation(formulation: Any, X: np.ndarray) -> StructuredModel:
    """The kernels' arrays of the objective ``formulation`` encodes (its
    :class:`~qubonn.formulation.model.ObjectiveModel` and linear penalties), on data ``X``
    (+-1, or the integers the network's inputs declare): the network's wiring is laid out
    here, the objective's meaning is read, never derived."""
    net, obj = formulation.network, formulation.model
    n_in, J = net.n_inputs, net.n_neurons
    src, dst = net.arc_src, net.arc_dst
    bias_neurons = np.nonzero(net.has_bias)[0]
    param_neuron = np.concatenate([dst, bias_neurons]).astype(np.int64)
    param_src = np.concatenate([src, np.full(bias_neurons.size, -1)]).astype(np.int64)
    from_neuron = np.nonzero(src >= n_in)[0]
    order = from_neuron[np.argsort(src[from_neuron], kind="stable")]
    out_ptr = np.zeros(J + 1, dtype=np.int64)
    np.add.at(out_ptr, src[order] - n_in + 1, 1)
    out_ptr = np.cumsum(out_ptr)
    Y = obj.targets.astype(np.int64).T  # (n_out, N) 0/1
    weights = obj.row_weights.T  # (n_out, N)
    levels, bucket = np.unique(weights, return_inverse=True)
    X = np.asarray(X, dtype=np.int16 if net.has_integer_inputs else np.int8)
    return StructuredModel(
        network=net,
        X=X,
        XT=np.ascontiguousarray(X.T),
        param_neuron=param_neuron,
        param_src=param_src,
        out_ptr=out_ptr,
        out_dst=dst[order].astype(np.int64),
        out_arc=order.astype(np.int64),
        clamped=obj.clamped,
        out01=obj.out01,
        out_pos=obj.out_pos,
        ysign=np.ascontiguousarray(2 * Y - 1),
        lo=np.ascontiguousarray(obj.lo.T),
        hi=np.ascontiguousarray(obj.hi.T),
        K=obj.K,
        Kn=np.ascontiguousarray(obj.K_n.T, dtype=np.int64),
        g=np.asarray(obj.g, dtype=np.int64),
        mc=obj.multiclass,
        mc_outs=obj.outputs.astype(np.int64),
        ycls=np.ascontiguousarray(obj.true_class, dtype=np.int64),
        mc_margin=obj.mc_margin,
        bucket=np.ascontiguousarray(bucket.reshape(weights.shape), dtype=np.int64),
        mu=obj.mu,
        L=obj.loss_weight,
        lw=obj.loss_weight * levels.astype(np.float64),
        h=np.asarray(formulation.linear_penalties, dtype=np.float64),
        tern=np.asarray(obj.ternary_params, dtype=bool),
        lam=float(obj.sparsity),
    )


def model_from_problem(problem: Problem) -> StructuredModel:
    """The structured model of a compiled :class:`qubonn.problem.Problem`."""
    return model_from_formulation(problem.formulation, problem.X)


# --------------------------------------------------------------------------- state
def integer_terms(model: StructuredModel, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loss_int per loss bucket, marg_int per neuron) of pre-activations ``z`` (neurons,
    samples), from scratch: what the kernels keep incrementally."""
    z = z.astype(np.int64)
    marg = np.abs(z)
    loss = np.zeros(model.lw.size, dtype=np.int64)
    outs = np.nonzero(model.out_pos >= 0)[0]
    for j in outs:
        o = model.out_pos[j]
        if model.clamped[j]:
            c = (z[j] + model.Kn[j]) // model.g[j]
            d = np.maximum(model.lo[o] - c, 0) + np.maximum(c - model.hi[o], 0)
            np.add.at(loss, model.bucket[o], d * d)
            marg[j] = model.ysign[o] * z[j]
        elif model.out01[j]:
            a = np.where(z[j] >= 0, 1, -1)
            np.add.at(loss, model.bucket[o], (a != model.ysign[o]).astype(np.int64))
        elif model.mc[j]:
            marg[j] = 0
    if model.mc.any():
        zo = z[model.mc_outs]  # (n_out, N)
        short = np.maximum(model.mc_margin - (zo[model.ycls, np.arange(zo.shape[1])] - zo), 0)
        short[model.ycls, np.arange(zo.shape[1])] = 0
        np.add.at(loss, model.bucket[0], np.sum(short * short, axis=0))
    return loss, marg.sum(axis=1)


def energy_of(model: StructuredModel, loss_int: np.ndarray, marg_int: np.ndarray, params) -> float:
    """The objective from its integer parts, summed in the kernels' order."""
    e = 0.0
    for b in range(loss_int.size):
        e += model.lw[b] * loss_int[b]
    for k in range(marg_int.size):
        e -= model.mu[k] * marg_int[k]
    return float(e + (float(np.dot(model.h, params)) + link_cost(model, params)))


def link_cost(model: StructuredModel, params: np.ndarray) -> float:
    """The sparsity term of parameter rows: lambda per nonzero ternary parameter (0.0 on
    binary networks, or with lambda = 0)."""
    if not model.lam or not model.tern.any():
        return 0.0
    kept = np.count_nonzero(np.asarray(params)[..., model.tern], axis=-1)
    return model.lam * kept


@dataclass
class State:
    """Per-replica state of the structured annealer."""

    params: np.ndarray  # (R, P) int8: +-1, or -1, 0, +1 for ternary parameters
    z: np.ndarray  # (R, J, N) int32
    loss_int: np.ndarray  # (R, buckets) int64
    marg_int: np.ndarray  # (R, J) int64
    hw: np.ndarray  # (R,) sum_p h_p w_p (+ lambda per nonzero ternary parameter)
    energy: np.ndarray  # (R,)
    best_params: np.ndarray = field(init=False)
    best_energy: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.best_params = self.params.copy()
        self.best_energy = self.energy.copy()


def state_from_params(model: StructuredModel, params: np.ndarray) -> State:
    """The state of each row of ``params`` by one forward pass each."""
    R = params.shape[0]
    J, N = model.n_neurons, model.n_samples
    z = np.empty((R, J, N), dtype=np.int32)
    loss_int = np.zeros((R, model.lw.size), dtype=np.int64)
    marg_int = np.zeros((R, J), dtype=np.int64)
    energy = np.zeros(R)
    for r in range(R):
        z[r] = model.network.preactivations(model.X, model.weights(params[r])).T
        loss_int[r], marg_int[r] = integer_terms(model, z[r])
        energy[r] = energy_of(model, loss_int[r], marg_int[r], params[r])
    hw = params.astype(np.float64) @ model.h + link_cost(model, params)
    return State(np.ascontiguousarray(params, dtype=np.int8), z, loss_int, marg_int, hw, energy)


def random_params(model: StructuredModel, num_reads: int, seed: int) -> np.ndarray:
    """Counter-based random parameters in each one's domain, one row per replica (same on
    every device): +-1 by halves of one uniform, -1, 0, +1 by thirds of it."""
    P = model.n_params
    key = _rng.seed_key(seed, _rng.STREAM_INIT)
    u = _rng.uniform(key, np.arange(num_reads * P, dtype=np.uint64)).reshape(num_reads, P)
    binary = np.where(u < 0.5, 1, -1)
    return np.where(model.tern, np.floor(3 * u) - 1, binary).astype(np.int8)


class _Scratch:
    """Per-replica buffers of the kernels (a move changes at most every (neuron, sample))."""

    def __init__(self, model: StructuredModel, R: int) -> None:
        J, N = model.n_neurons, model.n_samples
        self.chg_idx = np.zeros((R, J * N), dtype=np.int64)
        self.chg_val = np.zeros((R, J * N), dtype=np.int32)
        self.dmarg = np.zeros((R, J), dtype=np.int64)
        self.dloss = np.zeros((R, model.lw.size), dtype=np.int64)
        self.pend = np.zeros((R, J), dtype=np.int32)


def state_bytes(model: StructuredModel, num_reads: int) -> int:
    """Memory the state and buffers of ``num_reads`` replicas take (checked before allocating)."""
    J, N, P = model.n_neurons, model.n_samples, model.n_params
    return num_reads * (J * N * (4 + 8 + 4) + 2 * P + 8 * 3 * J + 16 * model.lw.size + 64)


# --------------------------------------------------------------------------- the scale
def move_deltas(
    model: StructuredModel, state: State, r: int = 0, new: np.ndarray | None = None
) -> np.ndarray:
    """Energy change of moving each parameter p of replica r to ``new[p]`` (nothing is
    applied); by default a flip, and a ternary parameter's 0 -> +1 or +-1 -> 0.  The sweep
    kernel's probe mode, on replica r alone."""
    from . import _kernels_structured as ks

    w = state.params[r]
    if new is None:
        new = np.where(model.tern, np.where(w == 0, 1, 0), -w)
    s = _Scratch(model, 1)
    one = slice(r, r + 1)
    deltas = np.empty((1, model.n_params))
    ks.sweeps(
        np.int64(0), np.int64(1), state.params[one], state.z[one], state.loss_int[one],
        state.marg_int[one], state.hw[one], state.energy[one], state.best_params[one],
        state.best_energy[one], np.zeros((1, 1)), np.int64(0), np.uint64(0), np.uint64(0),
        float(_rng.FREE_MOVE_ACCEPT), *model.kernel_args(), model.mu, model.lw, model.h,
        model.tern, model.lam, s.chg_idx, s.chg_val, s.dmarg, s.dloss, s.pend, deltas,
        np.ascontiguousarray(new, dtype=np.int8),
    )
    return deltas[0]


def default_beta_range(model: StructuredModel, state: State) -> tuple[float, float]:
    """(beta_hot, beta_cold) in units of the objective: hot from the moves of random networks,
    cold from the smallest change the objective can make (see ``energy_quantum``)."""
    deltas = np.concatenate([move_deltas(model, state, r) for r in range(min(4, len(state.z)))])
    uphill = deltas[deltas > 1e-9]
    typical = float(np.median(uphill)) if uphill.size else model.energy_quantum
    beta_cold = math.log(1.0 / COLD_ACCEPT) / model.energy_quantum
    beta_hot = min(math.log(2.0) / max(typical, 1e-12), beta_cold)
    return beta_hot, beta_cold


# --------------------------------------------------------------------------- the run
@dataclass
class StructuredResult:
    """Best parameters (``(num_reads, P)`` +-1, or -1, 0, +1 where ternary; arcs then biases)
    of each replica, their objective values, and run information."""

    params: np.ndarray
    energies: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def _check_options(
    model: StructuredModel, algorithm: str, num_reads: Any, num_sweeps: Any, time_limit: Any,
    beta_range: Any, max_memory: int,
) -> tuple[int, int | None, tuple[float, float] | None]:
    check_choice(*ALGORITHMS)("algorithm", algorithm)
    if algorithm == "pt" and num_reads == 1:
        raise SolverOptionError(
            "num_reads=1 must be an integer >= 2 for algorithm='pt' (the replicas form its "
            "temperature ladder); use algorithm='sa' for a single read"
        )
    num_reads = check_positive_int("num_reads", num_reads)
    num_sweeps = check_optional_sweeps("num_sweeps", num_sweeps)
    time_limit = check_optional_positive_float("time_limit", time_limit)
    beta_range = check_beta_range("beta_range", beta_range)  # in 1 / objective units
    need = state_bytes(model, num_reads)
    if need > max_memory:
        raise SolverOptionError(
            f"{num_reads} replicas of this problem ({model.n_samples} samples x "
            f"{model.n_neurons} neurons) need {need / 2**30:.2f} GB, over the memory budget of "
            f"{max_memory / 2**30:.2f} GB; use fewer reads or samples, or raise "
            "QUBONN_MAX_MEMORY"
        )
    return num_reads, num_sweeps, beta_range


def in_domain(model: StructuredModel, rows: np.ndarray) -> bool:
    """Whether parameter rows hold +-1, or -1, 0, +1 in the ternary columns."""
    rows = np.asarray(rows)
    return bool(np.all((np.abs(rows) == 1) | (model.tern & (rows == 0))))


def _initial_params(model: StructuredModel, initial: Any, num_reads: int, seed: int):
    if initial is None:
        return random_params(model, num_reads, seed)
    arr = np.atleast_2d(np.asarray(initial))
    if arr.shape[1] != model.n_params or not in_domain(model, arr):
        raise SolverOptionError(
            f"initial_params must be +-1 (-1, 0 or +1 for ternary parameters) with "
            f"{model.n_params} columns (arcs, then biases)"
        )
    return np.ascontiguousarray(np.resize(arr, (num_reads, model.n_params)), dtype=np.int8)


def value_key(key: int) -> int:
    """The key of the ternary parameters' new values, derived from the move stream's key
    (every path derives it the same way)."""
    return _rng.seed_key(key, STREAM_VALUE)


def _run_sweeps(model: StructuredModel, state: State, scratch: _Scratch, betas, sweep0, key):
    """``betas.shape[0]`` sweeps of every replica: the serial kernel on one contiguous slice
    of the replicas per thread (numba's thread count: ``NUMBA_NUM_THREADS``,
    ``numba.set_num_threads``).  Replicas share nothing and draw counter-based random numbers,
    so the split does not change the result."""
    from . import _kernels_structured as ks

    args = (
        state.params, state.z, state.loss_int, state.marg_int, state.hw, state.energy,
        state.best_params, state.best_energy, np.ascontiguousarray(betas, dtype=np.float64),
        np.int64(sweep0), np.uint64(key), np.uint64(value_key(key)),
        float(_rng.FREE_MOVE_ACCEPT), *model.kernel_args(), model.mu, model.lw, model.h,
        model.tern, model.lam, scratch.chg_idx, scratch.chg_val, scratch.dmarg, scratch.dloss,
        scratch.pend, _NO_DELTAS, _NO_TARGETS,
    )
    R = state.params.shape[0]
    bounds = np.linspace(0, R, min(R, _threads()) + 1).round().astype(np.int64)
    if bounds.size <= 2:
        ks.sweeps(np.int64(0), np.int64(R), *args)
        return
    tasks = [  # this thread takes the first slice itself: one dispatch less per call
        _pool().submit(ks.sweeps, np.int64(a), np.int64(b), *args)
        for a, b in zip(bounds[1:-1], bounds[2:], strict=True)
    ]
    try:
        ks.sweeps(np.int64(bounds[0]), np.int64(bounds[1]), *args)
        for task in tasks:
            task.result()
    except KeyboardInterrupt:  # the state is read next: let every slice finish its chunk first
        wait(tasks)
        raise


_NO_DELTAS = np.empty((0, 0))  # the sweep kernel's probe mode off
_NO_TARGETS = np.empty(0, dtype=np.int8)


def _threads() -> int:
    """The threads the CPU kernels may use: numba's setting."""
    import numba

    return max(1, int(numba.get_num_threads()))


_POOL: tuple[int, ThreadPoolExecutor] | None = None  # (the process it was started in, pool)


def _pool() -> ThreadPoolExecutor:
    """One pool of threads for the sweep kernel, started on first use in each process (a
    forked child has none of its parent's threads); as many workers as numba allows threads.
    The kernel releases the GIL, so the slices run in parallel."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        import numba

        pool = ThreadPoolExecutor(
            max(1, numba.config.NUMBA_NUM_THREADS), thread_name_prefix="qubonn-sweeps"
        )
        _POOL = (os.getpid(), pool)
    return _POOL[1]


def exchange(ladder: np.ndarray, rung_of: np.ndarray, energy: np.ndarray, sweep: int, key: int):
    """One round of replica exchange between neighbouring rungs (even pairs on even sweeps,
    odd pairs on odd ones); ``rung_of[r]`` is replica r's rung and changes in place."""
    R = rung_of.size
    at = np.argsort(rung_of)  # replica at each rung
    first = sweep % 2
    k = np.arange(first, R - 1, 2)
    if not k.size:
        return 0
    d = (ladder[k] - ladder[k + 1]) * (energy[at[k]] - energy[at[k + 1]])
    u = _rng.uniform(key, np.uint64(sweep) * np.uint64(R) + k.astype(np.uint64))
    swap = (d >= 0) | (u < np.exp(np.minimum(d, 0.0)))
    a, b = at[k[swap]], at[k[swap] + 1]
    rung_of[a], rung_of[b] = rung_of[b].copy(), rung_of[a].copy()
    return int(swap.sum())


class _CpuRunner:
    """Sweeps on the CPU (numba), state in host memory."""

    device = "cpu"

    def __init__(self, model: StructuredModel, state: State, key: int) -> None:
        self.model, self.state, self.key = model, state, key
        self.scratch = _Scratch(model, state.params.shape[0])
        self.sweeps(np.zeros((0, state.params.shape[0])), 0)  # compile / load the cache

    def sweeps(self, betas: np.ndarray, sweep0: int) -> None:
        _run_sweeps(self.model, self.state, self.scratch, betas, sweep0, self.key)

    def energy(self) -> np.ndarray:
        return self.state.energy

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        return self.state.best_params.copy(), self.state.best_energy.copy()

    def best_energy(self) -> float:
        return float(self.state.best_energy.min())


class _GpuRunner:
    """Sweeps on a CUDA GPU (CuPy RawKernel, ``_kernels_structured_cuda``); the same decisions
    as the CPU for the same seed."""

    device = "gpu"

    def __init__(self, model: StructuredModel, state: State, key: int) -> None:
        import cupy as cp

        from . import _kernels_structured_cuda as kc

        self.kc, self.key, self.model = kc, key, model
        self.dev = kc.DeviceModel(model)
        R, J = state.params.shape[0], model.n_neurons
        self.state = {
            "params": cp.asarray(state.params), "z": cp.asarray(state.z),
            "loss_int": cp.asarray(state.loss_int), "marg_int": cp.asarray(state.marg_int),
            "hw": cp.asarray(state.hw), "energy": cp.asarray(state.energy),
            "best_params": cp.asarray(state.best_params),
            "best_energy": cp.asarray(state.best_energy),
            "pend": cp.zeros(R * kc.THREADS * J, dtype=cp.int32),
        }

    def sweeps(self, betas: np.ndarray, sweep0: int) -> None:
        self.kc.sweeps(self.dev, self.state, betas, sweep0, self.key, value_key(self.key))

    def energy(self) -> np.ndarray:
        return self.state["energy"].get()

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        return self.state["best_params"].get(), self.state["best_energy"].get()

    def best_energy(self) -> float:
        """The lowest best energy, without copying the parameters off the GPU (``best`` after
        every chunk copied R x P bytes: 52 MB per chunk at 4096 replicas on MNIST)."""
        return float(self.state["best_energy"].min())


def anneal_structured(
    model: StructuredModel,
    *,
    algorithm: str = "sa",
    num_reads: int = 16,
    num_sweeps: int | None = None,
    time_limit: float | None = None,
    beta_range: tuple[float, float] | None = None,
    seed: int | None = None,
    initial_params: Any = None,
    progress: Any = None,
    device: str = "auto",
    max_memory: int | None = None,
) -> StructuredResult:
    """Anneal (``"sa"``) or temper (``"pt"``) ``num_reads`` replicas of ``model`` by exact
    parameter moves; each read is the best network its replica visited.

    ``num_sweeps`` (default :data:`DEFAULT_SWEEPS`, or what fits ``time_limit`` when only that
    is given) sweeps of every parameter.  ``progress(sweeps_done, sweeps_total, best_energy)``; a
    KeyboardInterrupt (Ctrl-C, or raised by ``progress``) ends the run at once and returns the
    best states so far with ``info["interrupted"] = True``.  ``device``: "cpu", "gpu" or
    "auto" (the GPU when one is usable, as in spin mode); the same seed gives the same samples
    on both.
    """
    t_start = time.perf_counter()
    num_reads, num_sweeps, beta_range = _check_options(
        model, algorithm, num_reads, num_sweeps, time_limit, beta_range,
        memory_budget() if max_memory is None else max_memory,
    )
    seed = resolve_seed(seed)
    device = _structured_device(model, device)
    state = state_from_params(model, _initial_params(model, initial_params, num_reads, seed))
    key = _rng.seed_key(seed, _rng.STREAM_SA)
    with announce_compile():  # the first call compiles (or loads) the CPU kernels
        hot, cold = beta_range or default_beta_range(model, state)
        runner = (_GpuRunner if device == "gpu" else _CpuRunner)(model, state, key)
    t_ready = time.perf_counter()
    info: dict[str, Any] = {
        "algorithm": algorithm, "beta_range": (hot, cold), "seed": seed, "device": device,
        "interrupted": False, "timed_out": False, "exchanges": 0, "mode": "structured",
        "optimal": False,
    }
    try:
        _drive(
            runner, algorithm, (hot, cold), num_sweeps, time_limit, seed, progress, info, t_start
        )
    except KeyboardInterrupt:
        info["interrupted"] = True
    info.setdefault("num_sweeps", 0)
    info["moves"] = int(info["num_sweeps"]) * model.n_params * num_reads
    t_end = time.perf_counter()
    info["timing"] = {"setup_s": t_ready - t_start, "anneal_s": t_end - t_ready}
    params, energies = runner.best()
    return StructuredResult(params, energies, info)


def _structured_device(model: StructuredModel, device: str) -> str:
    """:func:`resolve_device`, and the CPU for "auto" where the model is too large for the GPU
    kernel's shared memory (a clear error for "gpu")."""
    resolved = resolve_device(device)
    if resolved == "cpu":
        return "cpu"
    from . import _kernels_structured_cuda as kc

    if kc.fits(model.n_neurons, model.lw.size):
        return "gpu"
    if device == "auto":
        return "cpu"
    raise SolverOptionError(
        f"device='gpu': this network's {model.n_neurons} neurons are over the GPU kernel's "
        f"limit (its per-neuron sums take {kc.shared_bytes(model.n_neurons, model.lw.size)} "
        f"bytes of shared memory, over {kc.MAX_SHARED}); use device='cpu' or 'auto'"
    )


def _drive(runner, algorithm, betas, num_sweeps, time_limit, seed, progress, info, t_start):
    """The sweep loop: kernel calls in chunks, with time limit, progress and exchanges.

    With ``time_limit`` alone the run lasts until the limit: parallel tempering's ladder does
    not depend on the length of the run, and annealing follows its schedule in time (the
    inverse temperature of each sweep from the share of the budget spent), so the budget is
    used whatever a sweep costs at each temperature."""
    R = runner.energy().shape[0]
    bound = runner.model.lower_bound + 1e-9
    hot, cold = betas
    ladder = np.geomspace(hot, cold, R) if algorithm == "pt" else None
    rung_of = np.arange(R)
    pt_key = _rng.seed_key(seed, STREAM_PT)
    timed = num_sweeps is None and time_limit is not None
    total = num_sweeps or DEFAULT_SWEEPS
    t_sweeps = time.perf_counter()
    span = max(time_limit - (t_sweeps - t_start), 1e-9) if timed else 0.0
    done = 0
    while timed or done < total:
        n = 1 if algorithm == "pt" or timed else max(1, min(50, total // 20, total - done))
        if algorithm == "pt":
            b = np.broadcast_to(ladder[rung_of], (n, R))
        elif timed:
            frac = min(1.0, (time.perf_counter() - t_sweeps) / span)
            b = np.full((1, R), hot * (cold / hot) ** frac)
        else:
            frac = (np.arange(done, done + n) / max(total - 1, 1))[:, None]
            b = np.broadcast_to(hot * (cold / hot) ** frac, (n, R))
        runner.sweeps(b, done)
        if algorithm == "pt":
            info["exchanges"] += exchange(ladder, rung_of, runner.energy(), done, pt_key)
        done += n
        info["num_sweeps"] = done
        left = time_limit - (time.perf_counter() - t_start) if time_limit else math.inf
        best = runner.best_energy()
        if progress is not None:
            progress(done, done if timed else total, best)
        if best <= bound:  # proven optimal: nothing left to find
            info["optimal"] = True
            break
        if left <= 0:
            info["timed_out"] = not timed and done < total
            break
