"""``cpsat`` backend: the training problem solved exactly with OR-Tools CP-SAT, a proven optimum.

The annealers sample the QUBO, whose minimum is the best-trained network, but they never say how
far from it they are.  CP-SAT gives that reference: it solves the *same* objective
(:func:`qubonn.formulation.objective_value`) over a compact model of the **network**, not of the
QUBO, and proves a lower bound.  The model (Toro Icarte et al., CP 2019, in our notation):

* Boolean weight bits omega_e and bias bits beta_j (w = 2 omega - 1); in a ternary group a
  second, minus Boolean per parameter (w = omega - minus, at most one of them on);
* the count c_nj = (z_nj + K_nj) / g_j in [0, S_nj] (S = 2 K_n / g; K_nj the row's |z| bound,
  g = 2 for binary weights, 1 for ternary: :class:`~qubonn.formulation.ObjectiveModel`), a linear
  expression of agreement literals: for binary weights |v| times omega (input v > 0), not omega
  (v < 0), beta (bias), or XNOR(omega, alpha_src) for an arc from a neuron (one
  ``AddBoolXOr``); for ternary ones K_n + sum w v, where w alpha = 2 g - omega - minus with
  g <=> (omega and alpha) or (minus and not alpha);
* alpha_nj reified to ``c_nj >= theta_nj`` (theta = ceil(S/2): sign(0) = +1, the tie rule);
* hinge loss: L * sum_k (2k - 1) delta_k with delta_k forced on when the count is k or more
  outside the label's interval, which sums to L * dist^2 at the optimum (convex, so exact);
  0-1 loss: L * [alpha != y]; multiclass loss: per sample and class k != y the same indicator
  sum on d = z_y - z_k (L * sum_t (2t - 1) delta_t, delta_t forced on when d <= 2m + 1 - t),
  which is L * max(0, 2m + 1 - d)^2 at the optimum; class weights scale L per row.  Ranges
  longer than ``MAX_INDICATORS`` (integer inputs) square one distance variable instead;
* soft margin: -mu_j a z, as -mu_j |z| (|z| reified on alpha) or, for a clamped hinge output,
  -mu_j (2y - 1) z; mu_j = mu or mu / K_j;
* linear parameter penalties sum_e h_e w_e and the sparsity term lambda |w| (ternary groups).

CP-SAT needs integer coefficients.  Every coefficient (L, mu_j, h_e) is first read as a fraction
with a denominator up to 10^6 that reproduces the float exactly; when all of them are, the
objective is multiplied by the LCM of the denominators and the model is exact.  Otherwise the
coefficients are rounded at a power-of-two scale (2^40 over the largest) and the reported bound
subtracts the largest possible rounding error, so it stays a proven bound (``info['scaling']``
says which).  The reported ``objective`` is always ``objective_value`` of the returned weights.

Two symmetries are broken (``symmetry_breaking``, on by default), for neurons without linear
penalties on their parameters.  Sign: for a hidden neuron of binary weights whose |z| bound is
odd on every row (odd fan-in on +-1 inputs), negating its incoming weights and bias negates its
activation on every sample (z is never 0), and negating its outgoing weights undoes that
downstream (in any domain, sparsity included); one outgoing weight is fixed to +1 (to >= 0 when
it is ternary).  Ternary neurons, and rows where the bound is even, can reach z = 0, which maps
to +1 either way: no symmetry there.  Permutation: hidden neurons with the same sources, bias,
weight domain and destinations can swap all their weights; their activation patterns are kept
sorted.  For 64-4-1 that removes 2^4 x 4! = 384 copies of every network.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import dimod
import numpy as np

from qubonn.errors import QubonnError, SolverOptionError

from .._common import (
    NUM_READS,
    BackendSampler,
    Option,
    check_any,
    check_optional_bool,
    check_optional_positive_float,
    check_positive_int,
    check_seed,
)
from ..contract import as_problem

if TYPE_CHECKING:  # the compiled problem, for annotations only
    from qubonn.problem import Problem

try:
    from ortools.sat.python import cp_model
except ImportError as _exc:  # pragma: no cover - exercised by a test that hides ortools
    raise ImportError(
        "the 'cpsat' backend needs OR-Tools: install it with pip install \"ortools>=9.10\" "
        '(in the clone of qubonn: pip install -e ".[cpsat]")'
    ) from _exc

#: CP-SAT workers by default.  Its portfolio (LP, core-based, LNS, ...) proves optima far sooner
#: with several workers, even on 2 cores: measured on digits 3-vs-8, 16-4-1 with 12 images was
#: proven in 22 s with 8 workers and not in 60 s with 2; 16 workers were slower again.
DEFAULT_WORKERS = 8
#: CP-SAT's search time when building the model used up the time limit: enough to return the
#: hinted start network (the fixed start-up of a time limit, docs/native-annealer.md)
CPSAT_MIN_SEARCH_S = 0.05
#: Largest denominator tried when reading a float coefficient as an exact fraction.
MAX_DENOMINATOR = 10**6
#: Largest integer coefficient allowed in the model (CP-SAT works in int64; keep headroom).
MAX_COEFFICIENT = 2**40
#: Longest count range a squared loss is stated on by indicators (one Boolean per unit of
#: distance: exact and LP-friendly); beyond it (integer inputs) by one product d * d.
MAX_INDICATORS = 1024


def _check_workers(name: str, value: Any) -> int | None:
    return None if value is None else check_positive_int(name, value)


def _check_symmetry(name: str, value: Any) -> bool:
    out = check_optional_bool(name, value)
    return True if out is None else out


@dataclass
class _Model:
    """A built CP-SAT model and what is needed to read its solution back."""

    model: Any
    omega: list  # one Boolean per arc
    beta: dict  # neuron -> Boolean (neurons with a bias)
    minus: dict = field(default_factory=dict)  # parameter -> its minus Boolean (ternary groups)
    terms: list = field(default_factory=list)  # (real coefficient, variable, max |value|)
    constant: float = 0.0
    start_weights: Any = None  # the hinted network (returned when CP-SAT finds nothing better)


def _fraction(x: float) -> Fraction | None:
    """``x`` as a fraction with a small denominator when that fraction *is* the float ``x``."""
    f = Fraction(x).limit_denominator(MAX_DENOMINATOR)
    return f if float(f) == float(x) else None


def _activation(model: Any, c: Any, theta: int, name: str) -> Any:
    """A Boolean alpha with alpha <=> c >= theta (sign(0) = +1)."""
    alpha = model.NewBoolVar(name)
    model.Add(c >= theta).OnlyEnforceIf(alpha)
    model.Add(c <= theta - 1).OnlyEnforceIf(alpha.Not())
    return alpha


def _hinge_terms(m: _Model, c: Any, S: int, lo: int, hi: int, y: int, L: float, tag: str):
    """delta_k on when the count is k or more outside [lo, hi]; cost L (2k - 1) each."""
    depth = lo if y == 1 else S - hi  # the farthest the count can lie outside
    if depth > MAX_INDICATORS:
        _squared_shortfall(m, (lo - c) if y == 1 else (c - hi), depth, L, f"d{tag}")
        return
    for k in range(1, depth + 1):
        delta = m.model.NewBoolVar(f"d{tag},{k}")
        if y == 1:
            m.model.Add(c >= lo - k + 1).OnlyEnforceIf(delta.Not())
        else:
            m.model.Add(c <= hi + k - 1).OnlyEnforceIf(delta.Not())
        m.terms.append((L * (2 * k - 1), delta, 1))


def _squared_shortfall(m: _Model, short: Any, depth: int, L: float, tag: str) -> None:
    """L * max(0, short)^2 by one product, where the indicators would be too many (integer
    inputs make count ranges long): d >= short, d >= 0, q = d * d (minimised: d is the max)."""
    d = m.model.NewIntVar(0, depth, f"{tag},d")
    m.model.Add(d >= short)
    q = m.model.NewIntVar(0, depth * depth, f"{tag},q")
    m.model.AddMultiplicationEquality(q, [d, d])
    m.terms.append((L, q, depth * depth))


def _multiclass_terms(
    m: _Model, c: dict, K: np.ndarray, g: np.ndarray, outs: np.ndarray, y: int, margin: int,
    L: float, tag: str,
) -> None:
    """L * max(0, margin - (z_y - z_k))^2 for every k != y, by indicators on d = z_y - z_k
    (z = g c - K_n: the row's bounds ``K``)."""
    jy = int(outs[y])
    for k, jk in enumerate(outs):
        jk = int(jk)
        if k == y:
            continue
        d = int(g[jy]) * c[jy] - int(K[jy]) - int(g[jk]) * c[jk] + int(K[jk])
        depth = margin + int(K[jy] + K[jk])
        if depth > MAX_INDICATORS:
            _squared_shortfall(m, margin - d, depth, L, f"q{tag},{k}")
            continue
        for t in range(1, depth + 1):
            delta = m.model.NewBoolVar(f"q{tag},{k},{t}")
            m.model.Add(d >= margin - t + 1).OnlyEnforceIf(delta.Not())
            m.terms.append((L * (2 * t - 1), delta, 1))


def _parameters(m: _Model, net: Any, h: np.ndarray, sparsity: float) -> list:
    """The parameters' Booleans (arcs, then biases), a minus Boolean per ternary one (w = omega
    - minus, at most one on), and their costs: linear penalties h w and sparsity lambda |w|."""
    model = m.model
    params = [*m.omega, *(m.beta[int(j)] for j in np.nonzero(net.has_bias)[0])]
    ternary = net.parameter_ternary
    for p, (he, var) in enumerate(zip(h, params, strict=True)):
        if not ternary[p]:
            if he:
                m.terms.append((2.0 * he, var, 1))
                m.constant -= he
            continue
        minus = model.NewBoolVar(f"m{p}")
        model.AddBoolOr([var.Not(), minus.Not()])
        m.minus[p] = minus
        if he:
            m.terms += [(float(he), var, 1), (-float(he), minus, 1)]
        if sparsity:
            m.terms += [(sparsity, var, 1), (sparsity, minus, 1)]
    return params


def _ternary_product(model: Any, plus: Any, minus: Any, alpha: Any, name: str) -> Any:
    """A Boolean g <=> (plus and alpha) or (minus and not alpha): w a = 2 g - plus - minus."""
    g = model.NewBoolVar(name)
    model.AddBoolOr([plus.Not(), alpha.Not(), g])
    model.AddBoolOr([minus.Not(), alpha, g])
    model.AddBoolOr([g.Not(), plus, minus])
    model.AddBoolOr([g.Not(), plus.Not(), alpha])
    model.AddBoolOr([g.Not(), minus.Not(), alpha.Not()])
    return g


def _count(m: _Model, net: Any, j: int, n: int, x: np.ndarray, alpha: dict, arcs: list,
           bias_p: dict, K: int) -> Any:
    """The count c = (z + K_n) / g of neuron j on sample n (inputs ``x``) as a linear
    expression.  Binary weights: sum over terms of |v| [w agrees with v] (the agreement literal
    of an arc from a neuron is XNOR(omega, alpha)); ternary: K_n + sum w v."""
    model, n_in = m.model, net.n_inputs
    lits: list = []
    ternary = bool(net.ternary[j])
    for e in arcs:
        s = int(net.arc_src[e])
        if s < n_in:
            v = int(x[s])
            if v == 0:
                continue
            if ternary:
                lits += [v * m.omega[e], -v * m.minus[e]]
            else:
                lit = m.omega[e] if v > 0 else m.omega[e].Not()
                lits.append(lit if abs(v) == 1 else abs(v) * lit)
        elif ternary:
            g = _ternary_product(model, m.omega[e], m.minus[e], alpha[s - n_in], f"g{n},{e}")
            lits += [2 * g, -m.omega[e], -m.minus[e]]
        else:
            g = model.NewBoolVar(f"g{n},{e}")
            model.AddBoolXOr([m.omega[e], alpha[s - n_in], g])  # g = XNOR(omega, alpha)
            lits.append(g)
    if j in m.beta:
        lits += [m.beta[j], -m.minus[bias_p[j]]] if ternary else [m.beta[j]]
    return K + sum(lits) if ternary else sum(lits)


def _build(problem: Problem, symmetry_breaking: bool) -> _Model:
    """The CP-SAT model of training ``problem``'s network on its data (see the module doc)."""
    f = problem.formulation
    net, obj = f.network, f.model
    X = np.asarray(problem.X)
    Y = obj.targets
    N, n_in = X.shape
    K_n, theta_n, mu, g = obj.K_n, obj.theta_n, obj.mu, obj.g
    out_pos = {int(j): p for p, j in enumerate(net.outputs)}
    hinge = obj.loss == "hinge"
    multiclass = obj.loss == "multiclass"
    row_w = obj.row_weights * obj.loss_weight
    cls = obj.true_class
    model = cp_model.CpModel()
    m = _Model(model, [model.NewBoolVar(f"w{e}") for e in range(net.n_arcs)], {})
    bias_p = {}
    for k, j in enumerate(np.nonzero(net.has_bias)[0]):
        m.beta[int(j)] = model.NewBoolVar(f"b{j}")
        bias_p[int(j)] = net.n_arcs + k
    h = np.asarray(f.linear_penalties, dtype=float)
    _parameters(m, net, h, obj.sparsity)
    if symmetry_breaking:
        _break_sign_symmetry(m, net, h, K_n)
    arcs_into = [[] for _ in range(net.n_neurons)]
    for e, j in enumerate(net.arc_dst):
        arcs_into[int(j)].append(e)
    is_source = np.zeros(net.n_neurons, dtype=bool)
    src_neurons = net.arc_src[net.arc_src >= n_in] - n_in
    is_source[src_neurons] = True
    abs_z: dict[int, list] = {j: [] for j in range(net.n_neurons)}
    alphas: list[dict[int, Any]] = []
    for n in range(N):
        alpha: dict[int, Any] = {}
        counts: dict[int, Any] = {}
        alphas.append(alpha)
        for j in range(net.n_neurons):  # topological order: sources come first
            Kj, gj, tj = int(K_n[n, j]), int(g[j]), int(theta_n[n, j])
            Sj = 2 * Kj // gj  # the count's range
            expr = _count(m, net, j, n, X[n], alpha, arcs_into[j], bias_p, Kj)
            c = model.NewIntVar(0, Sj, f"c{n},{j}")
            model.Add(c == expr)
            counts[j] = c
            if multiclass and j in out_pos:
                continue  # a plain pre-activation: its loss is stated per sample below
            clamped = hinge and j in out_pos
            if is_source[j] or not clamped:
                alpha[j] = _activation(model, c, tj, f"a{n},{j}")
            if clamped:
                o = out_pos[j]
                y, lw = int(Y[n, o]), float(row_w[n, o])
                _hinge_terms(m, c, Sj, int(obj.lo[n, o]), int(obj.hi[n, o]), y, lw, f"{n},{j}")
                if mu[j]:  # -mu (2y - 1)(g c - K)
                    sgn = 2 * y - 1
                    m.terms.append((-float(gj) * sgn * mu[j], c, Sj))
                    m.constant += sgn * mu[j] * Kj
            else:
                if j in out_pos:  # 0-1 loss: L [alpha != y]
                    y = int(Y[n, out_pos[j]])
                    lw = float(row_w[n, out_pos[j]])
                    m.terms.append((lw * (1 - 2 * y), alpha[j], 1))
                    m.constant += lw * y
                if mu[j]:  # -mu |z|, |z| = z if alpha else -z
                    absz = model.NewIntVar(0, Kj, f"m{n},{j}")
                    model.Add(absz == gj * c - Kj).OnlyEnforceIf(alpha[j])
                    model.Add(absz == Kj - gj * c).OnlyEnforceIf(alpha[j].Not())
                    m.terms.append((-mu[j], absz, Kj))
                    abs_z[j].append(absz)
        if multiclass:
            margin = obj.mc_margin
            lw = float(row_w[n, 0])
            _multiclass_terms(m, counts, K_n[n], g, net.outputs, int(cls[n]), margin, lw, str(n))
    _margin_cuts(m, net, X, abs_z, alphas, arcs_into)
    if symmetry_breaking:
        _break_permutation_symmetry(m, net, h, alphas, n_in)
    return m


#: Largest number of training samples for which the margin cuts enumerate sign patterns.
MAX_CUT_SAMPLES = 16
#: Largest number of training samples for which the cut is also stated per activation pattern.
MAX_PATTERN_SAMPLES = 12


def _margin_cuts(
    m: _Model, net: Any, X: np.ndarray, abs_z: dict, alphas: dict, arcs_into: list
) -> None:
    """sum_n |z_nj| <= its maximum over all weights, for neurons fed by inputs only.

    With activation pattern s (s_n = a_nj), sum_n |z_nj| = sum_n s_n z_nj <= M(s) = sum_i
    |sum_n s_n x_ni| (+ |sum_n s_n| for a bias), whatever the weights.  The LP relaxation of the
    reified |z| lacks this, so without it CP-SAT cannot bound the margin reward even on two
    samples.  For N <= MAX_PATTERN_SAMPLES the cut is stated per pattern (one Boolean per
    pattern, exactly one on); up to MAX_CUT_SAMPLES only its maximum over patterns.
    """
    N, n_in = X.shape
    if N > MAX_CUT_SAMPLES or N == 0:
        return
    patterns = 1 - 2 * ((np.arange(1 << N)[:, None] >> np.arange(N)) & 1)
    for j, terms in abs_z.items():
        src = net.arc_src[arcs_into[j]]
        if len(terms) != N or np.any(src >= n_in):
            continue
        best = np.abs(patterns @ X[:, src]).sum(axis=1)
        if net.has_bias[j]:
            best = best + np.abs(patterns.sum(axis=1))
        if N > MAX_PATTERN_SAMPLES:
            m.model.Add(sum(terms) <= int(best.max()))
            continue
        chosen = []
        for k, s in enumerate(patterns):
            p = m.model.NewBoolVar(f"p{j},{k}")
            for n in range(N):
                lit = alphas[n][j] if s[n] > 0 else alphas[n][j].Not()
                m.model.AddImplication(p, lit)
            chosen.append(p)
        m.model.AddExactlyOne(chosen)
        m.model.Add(sum(terms) <= sum(int(b) * p for b, p in zip(best, chosen, strict=True)))


def _break_sign_symmetry(m: _Model, net: Any, h: np.ndarray, K_n: np.ndarray) -> None:
    """Fix the sign of one outgoing weight of each hidden neuron whose sign flip is an exact
    symmetry: a binary neuron whose |z| bound K_nj is odd on every row (z = g c - K_n then has
    K's parity, so it is never 0).  A ternary neuron can reach z = 0 (all weights zero), where
    sign(0) = +1 either way, so its flip is no symmetry.  Negating the outgoing weights keeps
    every domain (ternary ones included) and the sparsity term; a ternary outgoing weight is
    fixed to >= 0 (its minus bit off), since it may be 0."""
    n_arcs, n_in = net.n_arcs, net.n_inputs
    bias_index = {int(j): n_arcs + k for k, j in enumerate(np.nonzero(net.has_bias)[0])}
    for j in net.hidden:
        j = int(j)
        if net.ternary[j] or np.any(K_n[:, j] % 2 == 0):
            continue  # a tie z = 0 maps to +1 either way: not a symmetry
        into = np.nonzero(net.arc_dst == j)[0]
        out = np.nonzero(net.arc_src == n_in + j)[0]
        touched = [*into.tolist(), *out.tolist()]
        if j in bias_index:
            touched.append(bias_index[j])
        if out.size == 0 or np.any(h[touched] != 0):
            continue
        e = int(out[0])
        if e in m.minus:
            m.model.Add(m.minus[e] == 0)
        else:
            m.model.Add(m.omega[e] == 1)


#: Samples whose activations order interchangeable neurons (2^40 stays well inside int64).
ORDER_SAMPLES = 40


def _break_permutation_symmetry(
    m: _Model, net: Any, h: np.ndarray, alphas: list, n_in: int
) -> None:
    """Order interchangeable hidden neurons by their activation pattern.

    Hidden neurons with the same sources, bias, weight domain and destinations (and no linear
    penalties on their parameters) can trade all their weights without changing anything else
    (integer inputs, ternary weights and the sparsity term included: all are per source);
    so some optimum has their patterns sum_n 2^n alpha_nj (first ORDER_SAMPLES samples) sorted.
    This composes with the sign rule: their first outgoing arcs share a destination.
    """
    if not alphas:
        return
    n_arcs = net.n_arcs
    bias_index = {int(j): n_arcs + k for k, j in enumerate(np.nonzero(net.has_bias)[0])}
    classes: dict[tuple, list[int]] = {}
    for j in net.hidden:
        j = int(j)
        into = np.nonzero(net.arc_dst == j)[0]
        out = np.nonzero(net.arc_src == n_in + j)[0]
        touched = [*into.tolist(), *out.tolist()]
        if j in bias_index:
            touched.append(bias_index[j])
        if np.any(h[touched] != 0):
            continue
        key = (
            tuple(sorted(net.arc_src[into].tolist())),
            bool(net.has_bias[j]),
            bool(net.ternary[j]),  # a binary and a ternary neuron cannot trade weights
            tuple(sorted(net.arc_dst[out].tolist())),
        )
        classes.setdefault(key, []).append(j)
    for members in classes.values():
        if len(members) < 2:
            continue
        index = [
            sum((1 << n) * alphas[n][j] for n in range(min(len(alphas), ORDER_SAMPLES)))
            for j in members
        ]
        for lo, hi in zip(index, index[1:], strict=False):
            m.model.Add(lo <= hi)


def _start_weights(problem: Problem, initial_states: Any) -> Any:
    """The network to hint: the first initial state's weights, or all weights +1."""
    from qubonn.network import Weights

    net = problem.network
    if initial_states is None:
        return Weights(
            w=np.ones(net.n_arcs, dtype=np.int8), b=np.where(net.has_bias, 1, 0).astype(np.int8)
        )
    try:
        arr, labels = dimod.as_samples(initial_states)
    except (TypeError, ValueError) as exc:
        raise SolverOptionError(f"invalid value for option 'initial_states': {exc}") from None
    params = problem.labels[: problem.formulation.layout.n_parameter_bits]
    missing = [v for v in params if v not in labels]
    if arr.shape[0] == 0 or missing:
        raise SolverOptionError(
            "invalid value for option 'initial_states': it must give every parameter of the "
            f"problem (missing {missing[:3]}{'...' if len(missing) > 3 else ''})"
        )
    row = arr[0, [labels.index(v) for v in params]]
    if not np.all(np.isin(row, (-1, 0, 1))):
        raise SolverOptionError("invalid value for option 'initial_states': values must be 0/1")
    # a ternary weight's two bits both on is an alias of 0: weights_of reads it so
    x = np.zeros(problem.n_variables, dtype=np.int8)
    x[: len(params)] = row > 0
    return problem.weights_of(x)


def _hint(m: _Model, net: Any, weights: Any) -> None:
    """Hint CP-SAT the parameters of ``weights`` (a ternary one: its plus and minus bits)."""
    values = np.concatenate([weights.w, weights.b[net.has_bias]])
    for p, (var, value) in enumerate(zip(m.omega + list(m.beta.values()), values, strict=True)):
        m.model.AddHint(var, int(value > 0))
        if p in m.minus:
            m.model.AddHint(m.minus[p], int(value < 0))


def _values(m: _Model, solver: Any, net: Any) -> Any:
    """The Weights of CP-SAT's solution: 2 omega - 1, or omega - minus in ternary groups."""
    from qubonn.network import Weights

    plus = np.array([solver.Value(v) for v in m.omega + list(m.beta.values())], dtype=np.int8)
    values = 2 * plus - 1
    for p, var in m.minus.items():
        values[p] = plus[p] - solver.Value(var)
    b = np.zeros(net.n_neurons, dtype=np.int8)
    b[np.nonzero(net.has_bias)[0]] = values[net.n_arcs :]
    return Weights(w=values[: net.n_arcs].copy(), b=b)


def _integer_objective(m: _Model) -> tuple[list[int], int, float, str]:
    """Integer coefficients, their scale, the rounding error bound and the scaling's name."""
    reals = [t[0] for t in m.terms]
    fracs = [_fraction(c) for c in reals]
    if reals and all(fr is not None for fr in fracs):
        scale = 1
        for fr in fracs:
            scale = scale * fr.denominator // math.gcd(scale, fr.denominator)
        ints = [int(fr * scale) for fr in fracs]
        if max(abs(i) for i in ints) <= MAX_COEFFICIENT:
            return ints, scale, 0.0, f"exact (x{scale})"
    big = max((abs(c) for c in reals), default=1.0) or 1.0
    scale = 2 ** max(0, int(math.floor(math.log2(MAX_COEFFICIENT / big))))
    ints = [round(c * scale) for c in reals]
    err = sum(abs(i / scale - c) * t[2] for i, c, t in zip(ints, reals, m.terms, strict=True))
    return ints, scale, err, f"rounded (x2^{int(math.log2(scale))}, error <= {err:.3g})"


class CpsatSampler(BackendSampler):
    """Exact training with OR-Tools CP-SAT on a compiled :class:`qubonn.problem.Problem`.

    ``qubonn.solve(problem, backend="cpsat", time_limit=60)`` or ``sampler.sample_problem(problem)``
    (``sampler.sample(problem.bqm, problem=problem)`` works too; a bare BQM is refused: CP-SAT
    models the network, which a QUBO alone does not describe).  One read: the valid QUBO state of
    the best weights found, its QUBO energy, and in ``info``: ``status`` ("optimal", "feasible",
    or "timed_out" when CP-SAT found nothing itself: then the read is the start network, which is
    valid), ``objective`` (``objective_value`` of those weights), ``bound`` (proven lower
    bound, objective units), ``time`` (solve seconds), ``scaling``.

    Options: ``time_limit`` (seconds; None: until proven), ``seed`` (0), ``num_workers`` (8;
    None: CP-SAT's default, one per core), ``symmetry_breaking`` (True), ``initial_states`` (a
    start: the weights of its first state are hinted to CP-SAT, and returned if CP-SAT finds
    nothing better; default the all-(+1) network), ``num_reads``
    (accepted so one budget fits every backend; CP-SAT returns one read whatever it is).
    """

    name: ClassVar[str] = "cpsat"
    description: ClassVar[str] = "OR-Tools CP-SAT on the network: proven optimum (small problems)"
    options: ClassVar[tuple[Option, ...]] = (
        Option("time_limit", "None or seconds > 0", check_optional_positive_float),
        Option("seed", "None or an integer >= 0", check_seed, 0),
        Option("num_workers", "None or an integer >= 1", _check_workers, DEFAULT_WORKERS),
        Option("symmetry_breaking", "True or False", _check_symmetry, True),
        Option("initial_states", "samples-like over the problem's variables", check_any),
        NUM_READS,
    )

    def sample(
        self, bqm: dimod.BinaryQuadraticModel, problem: Problem | None = None, **options: Any
    ) -> dimod.SampleSet:
        """Solve ``problem`` (whose QUBO ``bqm`` must be); see the class docstring."""
        if problem is None:
            raise QubonnError(
                "backend 'cpsat' solves the network's training problem, not a bare QUBO: pass "
                "the compiled qubonn Problem (qubonn.solve(problem, backend='cpsat') or "
                "sample(bqm, problem=problem))"
            )
        if bqm is not None and bqm is not problem.bqm and bqm.num_variables != problem.n_variables:
            raise QubonnError(
                f"backend 'cpsat': the BQM has {bqm.num_variables} variables but the problem "
                f"{problem.n_variables}; pass the problem's own BQM"
            )
        return self.sample_problem(problem, **options)

    def sample_problem(self, problem: Problem, **options: Any) -> dimod.SampleSet:
        """Solve a compiled Problem exactly (within ``time_limit``); one read."""
        problem = as_problem(problem, "backend 'cpsat'")
        opts = self.check_options(options)
        start = time.perf_counter()
        m = _build(problem, opts["symmetry_breaking"])
        ints, scale, err, scaling = _integer_objective(m)
        m.model.Minimize(sum(i * t[1] for i, t in zip(ints, m.terms, strict=True) if i))
        start_weights = _start_weights(problem, opts["initial_states"])
        _hint(m, problem.network, start_weights)
        solver = cp_model.CpSolver()
        params = solver.parameters
        if opts["time_limit"] is not None:  # building the model counts against the limit
            left = opts["time_limit"] - (time.perf_counter() - start)
            params.max_time_in_seconds = max(CPSAT_MIN_SEARCH_S, left)
        params.random_seed = int(opts["seed"] or 0) % (2**31)
        if opts["num_workers"] is not None:
            params.num_workers = opts["num_workers"]
        built = time.perf_counter()
        code = solver.Solve(m.model)
        solved = time.perf_counter()
        m.start_weights = start_weights
        return self._result(problem, m, solver, code, scale, err, scaling, start, built, solved)

    def _result(self, problem, m, solver, code, scale, err, scaling, start, built, solved):
        """The one-read SampleSet of the solve (see the class docstring)."""

        net = problem.network
        if code in (cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
            raise QubonnError(  # every weight assignment is a solution: a bug in the model
                f"backend 'cpsat': CP-SAT says {solver.StatusName(code)} "
                f"({m.model.Validate() or 'no detail'}); please report this"
            )
        found = code in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        value = problem.objective_value
        weights, objective = m.start_weights, value(m.start_weights)
        if found:
            weights_found = _values(m, solver, net)
            objective_found = value(weights_found)
            # the start can win only when the symmetry rules kept CP-SAT from using it
            if code == cp_model.OPTIMAL or objective_found <= objective:
                weights, objective = weights_found, objective_found
        if found:
            # A solution that is not optimal may leave hinge indicators on that need not be
            # (they are only forced on), so the model may overstate the objective; it can
            # never understate it, and at the optimum the two agree.
            model_value = solver.ObjectiveValue() / scale + m.constant
            tol = err + 1e-6 * max(1.0, abs(objective_found))
            over = model_value - objective_found
            if over < -tol or (code == cp_model.OPTIMAL and over > tol):
                raise QubonnError(  # a bug in the model, never the user's fault
                    f"backend 'cpsat': model objective {model_value} differs from the replayed "
                    f"objective {objective_found}; please report this"
                )
        bound = solver.BestObjectiveBound() / scale + m.constant - err
        status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}.get(code, "timed_out")
        x = problem.feasible_state(weights)
        out = dimod.SampleSet.from_samples_bqm((x[None, :], problem.labels), problem.bqm)
        out.info.update(
            status=status,
            objective=float(objective),
            bound=float(min(bound, objective)),
            time=solved - built,
            scaling=scaling,
            backend=self.name,
            cpsat_status=solver.StatusName(code),
            timing={
                "build_s": built - start,
                "solve_s": solved - built,
                "total_s": time.perf_counter() - start,
            },
        )
        return out
