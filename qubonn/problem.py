"""A compiled training problem: the formulation, its QUBO (through an engine), and decoding.

It owns the :class:`Problem` object that the compiler constructs and backends and trainers
consume: what the problem is (sizes, labels, weights), changing weights without reassembly, the
QUBO and BQM views (computed by the *engine* it is given: the fast numpy engine or the symbolic
PyQUBO one, see :mod:`qubonn.compiler`), energies, and decoding, which it delegates to
:mod:`qubonn.decoder`.  It imports neither the compiler nor pyqubo nor the training layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import scipy.sparse as sp

from qubonn import decoder
from qubonn.decoder import Broken, ConstraintReport, Decoded
from qubonn.formulation import Formulation
from qubonn.formulation.completion import feasible_state
from qubonn.network import Network, Weights

if TYPE_CHECKING:
    from qubonn.compiler.size import SizeEstimate

__all__ = ["Broken", "ConstraintReport", "Decoded", "Engine", "Problem", "QuboPart"]


@dataclass(frozen=True)
class QuboPart:
    """A QUBO, or one unweighted part of it: upper-triangular couplings, linear biases, offset."""

    quadratic: sp.csr_matrix  # strictly upper triangular, n x n
    linear: np.ndarray
    offset: float


class Engine(Protocol):
    """What a :class:`Problem` needs from the engine that compiled it."""

    name: str
    has_extra: bool  # terms beyond the formulation (a user's PyQUBO expression)

    def qubo(self, formulation: Formulation) -> QuboPart:
        """The QUBO (in label order) for the formulation's current weights and penalties."""

    def expression(self, formulation: Formulation) -> Any:
        """The training energy as a PyQUBO expression."""


@dataclass
class Problem:
    """A training QUBO.  ``bqm`` for any dimod sampler; ``decode`` to get the trained network.

    Weights ("loss", "margin", "sign", "and", "tie") and the linear parameter penalties change
    with :meth:`set_term_weights` / :meth:`set_linear_penalties` without reassembling the terms.
    Build one with :func:`qubonn.compile`.
    """

    formulation: Formulation
    X: np.ndarray
    engine: Engine
    estimate: SizeEstimate
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict:
        """Pickle without caches: a dimod BQM does not keep its variable order through pickle,
        and the QUBO is cheap to re-combine from the engine's parts."""
        state = dict(self.__dict__)
        state["_cache"] = {k: v for k, v in self._cache.items() if k == "labels"}
        return state

    # -- what it is -----------------------------------------------------------------------------
    @property
    def network(self) -> Network:
        return self.formulation.network

    @property
    def n_samples(self) -> int:
        return self.formulation.layout.n_samples

    @property
    def n_variables(self) -> int:
        return self.formulation.layout.n_vars

    @property
    def term_weights(self) -> dict[str, float]:
        """Current weights of the energy's terms (loss, margin, and the constraint penalties;
        not the network's :class:`~qubonn.network.Weights`)."""
        return dict(self.formulation.term_weights)

    @property
    def linear_penalties(self) -> np.ndarray:
        return self.formulation.linear_penalties.copy()

    @property
    def has_extra_terms(self) -> bool:
        """Whether the QUBO has terms beyond the training objective (``compile(extra=...)``):
        then its energy is not the replayed objective, and structured solvers do not apply."""
        return bool(self.engine.has_extra)

    @property
    def labels(self) -> list[str]:
        if "labels" not in self._cache:
            self._cache["labels"] = self.formulation.layout.labels()
        return self._cache["labels"]

    def __repr__(self) -> str:
        q = self.qubo()
        return (
            f"<Problem {self.engine.name} engine: {self.n_variables:,} variables, "
            f"{q.quadratic.nnz:,} couplings, {self.n_samples} samples, "
            f"term weights {self.term_weights}>"
        )

    def size_report(self) -> str:
        q = self.qubo()
        lines = [
            f"network:    {self.network!r}",
            f"samples:    {self.n_samples}",
            f"variables:  {self.n_variables:,} ({self.formulation.layout.n_parameters:,} "
            "parameters)",
            f"linear:     {int(np.count_nonzero(q.linear)):,}",
            f"quadratic:  {q.quadratic.nnz:,} (estimated before building: "
            f"{self.estimate.quadratic:,})",
            "term weights: " + ", ".join(f"{k}={v:g}" for k, v in self.term_weights.items()),
        ]
        return "\n".join(lines)

    def copy(self) -> Problem:
        """A problem of its own term weights and penalties over the same compiled terms (the
        engine's assembled parts are shared: they do not depend on the weights)."""
        return replace(self, _cache={k: v for k, v in self._cache.items() if k == "labels"})

    # -- changing weights without reassembly ----------------------------------------------------
    def set_term_weights(self, **weights: float) -> Problem:
        """Change term weights in place (e.g. ``sign=40, margin=0.1``); returns self."""
        for k, v in weights.items():
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"weight '{k}' must be a finite number >= 0, not {v!r}")
        self.formulation = self.formulation.with_term_weights(**weights)
        self._invalidate()
        return self

    def set_linear_penalties(self, h: np.ndarray) -> Problem:
        """Set h_e (one per parameter: arcs, then biases) in sum_e h_e w_e; returns self."""
        h = np.asarray(h, dtype=float)
        n = self.formulation.layout.n_parameters
        if h.shape != (n,):
            raise ValueError(f"linear penalties have shape {h.shape}; this problem needs ({n},)")
        if not np.all(np.isfinite(h)):
            raise ValueError("linear penalties must be finite numbers")
        self.formulation = replace(self.formulation, linear_penalties=h)
        self._invalidate()
        return self

    def _invalidate(self) -> None:
        for k in ("qubo", "bqm"):
            self._cache.pop(k, None)

    # -- the QUBO -------------------------------------------------------------------------------
    def qubo(self) -> QuboPart:
        """Upper-triangular CSR couplings, linear biases (label order) and offset."""
        if "qubo" not in self._cache:
            self._cache["qubo"] = self.engine.qubo(self.formulation)
        return self._cache["qubo"]

    def _symbolic_bqm(self):
        """PyQUBO's own BQM for the current weights (the symbolic engine only)."""
        return self.engine.bqm(self.formulation)

    @property
    def bqm(self):
        """The QUBO as a ``dimod.BinaryQuadraticModel`` (labels as in :attr:`labels`)."""
        if "bqm" not in self._cache:
            import dimod

            q = self.qubo()
            coo = q.quadratic.tocoo()
            self._cache["bqm"] = dimod.BinaryQuadraticModel.from_numpy_vectors(
                q.linear,
                (coo.row, coo.col, coo.data),
                q.offset,
                dimod.BINARY,
                variable_order=self.labels,
            )
        return self._cache["bqm"]

    @property
    def expression(self):
        """The training energy as a PyQUBO expression (built on first use for the fast engine)."""
        return self.engine.expression(self.formulation)

    def energy(self, sample: Any) -> np.ndarray | float:
        """Energy of one sample (float) or of several (array), computed from the QUBO."""
        x = self._as_array(sample)
        q = self.qubo()
        single = x.ndim == 1
        x2 = np.atleast_2d(x).astype(float)
        e = np.einsum("si,si->s", x2, (q.quadratic @ x2.T).T) + x2 @ q.linear + q.offset
        return float(e[0]) if single else e

    # -- decoding (qubonn.decoder) --------------------------------------------------------------
    def _as_array(self, sample: Any) -> np.ndarray:
        """A sample as a 0/1 array in label order: dict, dimod sample/SampleSet, or array."""
        return decoder.as_array(sample, self.labels)

    def weights_of(self, sample: Any) -> Weights:
        return decoder.weights_of(self.formulation, self._as_array(sample))

    def feasible_state(self, weights: Weights) -> np.ndarray:
        """The assignment that the forward pass with ``weights`` implies (0/1, label order).

        Every constraint holds and its energy is the replayed objective: a warm start for
        annealers, and a check of the formulation (:func:`qubonn.formulation.feasible_state`)."""
        return feasible_state(self.formulation, self.X, weights)

    def constraint_report(self, sample: Any) -> ConstraintReport:
        return decoder.constraint_report(self.formulation, self._as_array(sample))

    def objective_value(self, weights: Weights) -> float:
        """The replayed training objective of ``weights`` (loss, regularisers, linear
        penalties): the QUBO energy of their feasible state, and what solvers are judged by."""
        return self.formulation.value(self.X, weights)

    def accuracy(self, weights: Weights) -> float:
        """Training accuracy of the network with ``weights``, by replaying the forward pass."""
        f = self.formulation
        return decoder.accuracy_from_targets(self.network, self.X, f.targets, weights)

    def decode(self, sample: Any) -> Decoded:
        """Trained network, constraint report and replayed metrics of one sample."""
        x = self._as_array(sample)
        return decoder.decode(self.formulation, self.X, x, self.energy(x))

    def broken_share(self, sampleset) -> float:
        """Share of the samples in ``sampleset`` that break at least one constraint."""
        return decoder.broken_share(self.formulation, decoder.as_arrays(sampleset, self.labels))

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the QUBO: ``.npz`` (plain upper-triangular COO ``row, col, data`` with linear
        biases on the diagonal, ``offset``, ``labels``) or any other suffix as dimod's
        serialisation.  A front for :func:`qubonn.backends.problem_io.save_problem`, which owns
        QUBO files (imported on use: files are the backends layer's business)."""
        from qubonn.backends.problem_io import save_problem

        return save_problem(self, path)
