"""The compiler: (network, data, objective) -> :class:`~qubonn.problem.Problem` (a QUBO).

It owns :func:`compile` (checks, the size estimate and memory budget, the formulation, and the
engine a Problem is constructed with) and the two engines that build the identical QUBO: "fast"
(:mod:`~qubonn.compiler.fast`, numpy / scipy.sparse, the default) and "pyqubo"
(:mod:`~qubonn.compiler.symbolic`, the reference and the way to add custom terms).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from qubonn.compiler import fast
from qubonn.compiler.size import SizeEstimate, estimate
from qubonn.errors import ProblemTooLargeError
from qubonn.formulation import Objective, build
from qubonn.network import Network
from qubonn.problem import Problem

__all__ = ["compile", "estimate", "SizeEstimate", "default_memory_budget"]


def default_memory_budget() -> int:
    """Half the machine's memory, or ``QUBONN_MAX_MEMORY`` (bytes, or with a K/M/G suffix)."""
    env = os.environ.get("QUBONN_MAX_MEMORY")
    if env:
        return parse_bytes(env)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def parse_bytes(text: str | int) -> int:
    if isinstance(text, int) and text >= 1:
        return text
    t = str(text).strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if mult > 1 else t) * mult
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(
            f"cannot read a memory size from {text!r}; use a positive size, e.g. 8G or 500M"
        )
    return int(value)


def compile(  # noqa: A001 - the public name the docs promise
    network: Network,
    X: np.ndarray,
    y: np.ndarray,
    *,
    engine: str = "fast",
    objective: Objective | None = None,
    loss: str = "auto",
    loss_weight: float = 1.0,
    margin: float | str = "auto",
    margin_scale: str = "fan_in",
    hard_margin: int | str = "auto",
    penalties: dict[str, float] | None = None,
    class_weight: str | None = None,
    slack_encoding: str = "binary",
    sparsity: float = 0.0,
    linear_penalties: np.ndarray | None = None,
    extra: Any = None,
    extra_feed_dict: dict[str, float] | None = None,
    max_memory: int | str | None = None,
) -> Problem:
    """Compile the training problem of ``network`` on data ``X`` (+-1, or the integers its
    inputs declare) with targets ``y``.

    y: one +-1 (or 0/1) target per sample for a single output, or (N, n_outputs) for several.
    Objective keywords (or an :class:`Objective`): ``loss`` ("hinge", "01", "multiclass", or
    "auto": hinge for one output, multiclass for several),
    ``loss_weight``, ``margin`` (soft margin strength mu), ``margin_scale`` ("fan_in",
    the default, or "none"), ``hard_margin`` (m; "auto", the default for both margins, is
    m = 3 and mu = 0.5 under the multiclass loss, mu = 0.2 otherwise), ``penalties``
    (overrides of the safe constraint weights "and", "sign", "tie"), ``class_weight`` (None
    or "balanced"),
    ``slack_encoding`` ("binary", the default, or "unary": one bit per unit of slack, which
    generic single-spin samplers follow; see :mod:`qubonn.formulation.slack`), ``sparsity``
    (lambda per link a ``ternary`` group keeps).
    ``linear_penalties``: h_e per parameter (arcs, then biases) for sum_e h_e w_e.
    ``extra``: a PyQUBO expression over the problem's variable labels ("w[0]", "b[3]", ...),
    compiled by PyQUBO and added in either engine.
    ``max_memory``: refuse (with the size estimate) problems whose compile would need more.
    """
    if engine not in ("fast", "pyqubo"):
        raise ValueError(f"engine must be 'fast' or 'pyqubo', not {engine!r}")
    if not isinstance(network, Network):
        raise TypeError(
            f"compile() needs a qubonn Network (from qubonn.parse or qubonn.load_spec), "
            f"not {type(network).__name__}"
        )
    if objective is None:
        objective = Objective(
            loss=loss,
            loss_weight=loss_weight,
            margin=margin,
            margin_scale=margin_scale,
            hard_margin=hard_margin,
            penalties=dict(penalties or {}),
            class_weight=class_weight,
            slack_encoding=slack_encoding,
            sparsity=sparsity,
        )
    X = np.asarray(X)
    n = X.shape[0] if X.ndim == 2 else 0
    size = estimate(network, n, objective)
    budget = default_memory_budget() if max_memory is None else parse_bytes(max_memory)
    if size.memory(engine) > budget:
        raise ProblemTooLargeError(
            f"this problem is too large for the memory budget of {budget / 2**30:.1f} GB: "
            f"{size.report(engine)}. Use fewer samples (or mini-batches), a smaller network, "
            "the fast engine, or raise max_memory / QUBONN_MAX_MEMORY."
        )
    formulation = build(network, X, y, objective, linear_penalties)
    labels = formulation.layout.labels() if extra is not None else []
    extra_part = _extra_part(labels, extra, extra_feed_dict or {}) if extra is not None else None
    if engine == "fast":
        state: Any = fast.FastEngine.for_formulation(
            formulation, extra=extra_part, extra_expression=extra
        )
    else:
        from qubonn.compiler.symbolic import SymbolicEngine

        state = SymbolicEngine.for_formulation(formulation, extra, extra_feed_dict)
    X = network.check_inputs(X)
    return Problem(formulation=formulation, X=X, engine=state, estimate=size)


def _extra_part(labels: list[str], extra: Any, feed: dict[str, float]) -> fast.QuboPart:
    try:
        bqm = extra.compile().to_bqm(feed_dict=feed)
    except Exception as e:  # PyQUBO raises plain RuntimeErrors for missing placeholders
        raise ValueError(f"cannot compile the extra term with PyQUBO: {e}") from None
    known = set(labels)
    unknown = [v for v in bqm.variables if v not in known]
    if unknown:
        raise ValueError(
            f"the extra term uses variable(s) {unknown[:5]} that are not in this problem; "
            "use its labels, e.g. 'w[0]', 'b[3]', 'a[0,2]' (see Problem.labels)"
        )
    return fast.part_from_bqm(bqm, labels)
