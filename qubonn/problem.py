"""A compiled training problem: the QUBO, its weights, and the way back to a trained network."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qubonn.compiler.fast import QuboPart, combine
from qubonn.compiler.size import SizeEstimate
from qubonn.formulation import Formulation, PolyTerms, objective_value
from qubonn.network import Network, Weights


@dataclass(frozen=True)
class Broken:
    """One violated constraint: its kind, sample, where (neuron or arc), and its residual."""

    name: str
    sample: int
    where: str
    value: float

    def __str__(self) -> str:
        return f"{self.name}[n={self.sample},{self.where}] = {self.value:g}"


@dataclass(frozen=True)
class ConstraintReport:
    broken: tuple[Broken, ...]
    counts: dict[str, int]
    n_samples: int

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def broken_samples(self) -> np.ndarray:
        return np.unique([b.sample for b in self.broken]).astype(int)

    @property
    def broken_share(self) -> float:
        """Share of training samples with at least one broken constraint."""
        return self.broken_samples.size / self.n_samples if self.n_samples else 0.0

    def __str__(self) -> str:
        if self.ok:
            return "all constraints hold"
        parts = ", ".join(f"{n}: {c}" for n, c in self.counts.items() if c)
        head = f"{len(self.broken)} broken constraint(s) ({parts}) on {self.broken_samples.size} "
        head += f"of {self.n_samples} samples"
        shown = "\n".join(f"  {b}" for b in self.broken[:10])
        more = f"\n  ... and {len(self.broken) - 10} more" if len(self.broken) > 10 else ""
        return f"{head}\n{shown}{more}"


@dataclass(frozen=True)
class Decoded:
    """What a sample means: the trained weights, the constraint report, and replayed metrics.

    Accuracy and loss are computed by replaying the forward pass with the decoded weights,
    never read from the solver's activation bits."""

    weights: Weights
    report: ConstraintReport
    energy: float
    loss: float  # loss + regularisers of the replayed network (what a feasible energy equals)
    accuracy: float  # training accuracy of the replayed network

    def __str__(self) -> str:
        return (
            f"energy {self.energy:g}, replayed objective {self.loss:g}, training accuracy "
            f"{self.accuracy:.1%}; {self.report}"
        )


@dataclass
class Problem:
    """A training QUBO.  ``bqm`` for any dimod sampler; ``decode`` to get the trained network.

    Weights ("loss", "margin", "sign", "and", "tie") and the linear parameter penalties change
    with :meth:`set_weights` / :meth:`set_linear_penalties` without reassembling the terms.
    """

    formulation: Formulation
    X: np.ndarray
    engine: str
    estimate: SizeEstimate
    _parts: dict[str, QuboPart] | None = None
    _extra: QuboPart | None = None
    _extra_expression: Any = None
    _extra_feed: dict[str, float] = field(default_factory=dict)
    _symbolic: Any = None  # (pyqubo expression, compiled model)
    _cache: dict[str, Any] = field(default_factory=dict)

    def __getstate__(self) -> dict:
        """Pickle without caches: a dimod BQM does not keep its variable order through pickle,
        and the QUBO is cheap to re-combine from the parts."""
        state = dict(self.__dict__)
        state["_cache"] = {k: v for k, v in self._cache.items() if k == "labels"}
        if self.engine == "fast":
            state["_symbolic"] = None  # the PyQUBO expression is rebuilt on demand
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
    def weights(self) -> dict[str, float]:
        """Current term weights (loss, margin, and the constraint penalties)."""
        return dict(self.formulation.weights)

    @property
    def linear_penalties(self) -> np.ndarray:
        return self.formulation.linear_penalties.copy()

    @property
    def labels(self) -> list[str]:
        if "labels" not in self._cache:
            self._cache["labels"] = self.formulation.layout.labels()
        return self._cache["labels"]

    def __repr__(self) -> str:
        q = self.qubo()
        return (
            f"<Problem {self.engine} engine: {self.n_variables:,} variables, "
            f"{q.quadratic.nnz:,} couplings, {self.n_samples} samples, weights {self.weights}>"
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
            "weights:    " + ", ".join(f"{k}={v:g}" for k, v in self.weights.items()),
        ]
        return "\n".join(lines)

    # -- changing weights without reassembly ----------------------------------------------------
    def set_weights(self, **weights: float) -> Problem:
        """Change term weights in place (e.g. ``sign=40, margin=0.1``); returns self."""
        for k, v in weights.items():
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"weight '{k}' must be a finite number >= 0, not {v!r}")
        self.formulation = self.formulation.with_weights(**weights)
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
            n = self.n_variables
            if self.engine == "fast":
                self._assemble_missing_parts()
                q = combine(
                    self._parts, self.formulation.weights, self.formulation.linear_penalties, n
                )
            else:
                q = self._qubo_from_bqm(self._symbolic_bqm())
            if self._extra is not None and self.engine == "fast":
                q = QuboPart(
                    (q.quadratic + self._extra.quadratic).tocsr(),
                    q.linear + self._extra.linear,
                    q.offset + self._extra.offset,
                )
            self._cache["qubo"] = q
        return self._cache["qubo"]

    def _assemble_missing_parts(self) -> None:
        """Assemble parts whose weight became non-zero (a part of weight 0 is built lazily)."""
        from qubonn.compiler.fast import assemble, part_names

        weights = self.formulation.weights
        missing = {k for k in part_names(self.formulation) if k not in self._parts and weights[k]}
        if missing:
            self._parts.update(assemble(self.formulation, only=missing))

    def _symbolic_bqm(self):
        from qubonn.compiler.symbolic import feed_dict

        _, model = self._symbolic
        return model.to_bqm(feed_dict={**self._extra_feed, **feed_dict(self.formulation)})

    def _qubo_from_bqm(self, bqm) -> QuboPart:
        from qubonn.compiler.fast import part_from_bqm

        return part_from_bqm(bqm, self.labels)

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
        if self._symbolic is None:
            from qubonn.compiler.symbolic import build_expression

            expr = build_expression(self.formulation)
            if self._extra_expression is not None:
                expr = expr + self._extra_expression
            self._symbolic = (expr, None)
        return self._symbolic[0]

    def energy(self, sample: Any) -> np.ndarray | float:
        """Energy of one sample (float) or of several (array), computed from the QUBO."""
        x = self._as_array(sample)
        q = self.qubo()
        single = x.ndim == 1
        x2 = np.atleast_2d(x).astype(float)
        e = np.einsum("si,si->s", x2, (q.quadratic @ x2.T).T) + x2 @ q.linear + q.offset
        return float(e[0]) if single else e

    # -- decoding -------------------------------------------------------------------------------
    def _as_array(self, sample: Any) -> np.ndarray:
        """A sample as a 0/1 array in label order: dict, dimod sample/SampleSet, or array."""
        if hasattr(sample, "record") and hasattr(sample, "variables"):  # dimod SampleSet
            sample = sample.first.sample
        if isinstance(sample, dict) or hasattr(sample, "keys"):
            missing = [v for v in self.labels[:5] if v not in sample]
            if missing:
                raise ValueError(f"sample lacks variable(s) {missing}; is it for this problem?")
            x = np.array([sample[v] for v in self.labels])
        else:
            x = np.asarray(sample)
            if x.shape[-1] != self.n_variables:
                raise ValueError(
                    f"sample has {x.shape[-1]} values; the problem has {self.n_variables} variables"
                )
        if x.size and x.min() < 0:  # spin samples
            x = (x + 1) // 2
        if not np.all((x == 0) | (x == 1)):
            raise ValueError("sample values must be 0/1 (or -1/+1 spins)")
        return x.astype(np.int8)

    def weights_of(self, sample: Any) -> Weights:
        x = self._as_array(sample)
        lay = self.formulation.layout
        w = (2 * x[: lay.n_arcs].astype(np.int8) - 1).astype(np.int8)
        b = np.zeros(self.network.n_neurons, dtype=np.int8)
        b[lay.bias_neurons] = 2 * x[lay.b0 : lay.a0] - 1
        return Weights(w=w, b=b)

    def feasible_state(self, weights: Weights) -> np.ndarray:
        """The assignment that the forward pass with ``weights`` implies (0/1, label order).

        Every constraint holds and its energy is the replayed objective: a warm start for
        annealers, and a check of the formulation."""
        f = self.formulation
        lay = f.layout
        net = f.network
        weights = net.check_weights(weights)
        N, n_in = lay.n_samples, net.n_inputs
        z = net.preactivations(self.X, weights).astype(np.int64)
        alpha = (z >= 0).astype(np.int64)
        K = net.fan_in.astype(np.int64)
        theta = (K + 1) // 2
        c = (z + K) // 2
        x = np.zeros(self.n_variables, dtype=np.int8)
        x[: lay.n_arcs] = (weights.w + 1) // 2
        x[lay.b0 : lay.a0] = (weights.b[lay.bias_neurons] + 1) // 2
        x[lay.a0 : lay.u0] = alpha[:, lay.alpha_neurons].reshape(-1)
        e = lay.u_arcs
        omega = (weights.w[e] + 1) // 2
        x[lay.u0 : lay.t0] = (omega[None, :] * alpha[:, net.arc_src[e] - n_in]).reshape(-1)
        # slack value per (n, j): what the sign constraint (or the hinge) leaves over
        shift = np.broadcast_to(theta, (N, net.n_neurons)) * alpha
        r = c - shift
        if lay.tie_neurons.size:
            t = (alpha[:, lay.tie_neurons] == 1) & (r[:, lay.tie_neurons] == theta[lay.tie_neurons])
            x[lay.t0 : lay.s0] = t.reshape(-1)
            r[:, lay.tie_neurons] -= t
        clamped = np.ones(net.n_neurons, dtype=bool)
        clamped[lay.alpha_neurons] = False
        if clamped.any():
            out = np.nonzero(clamped)[0]
            pos = np.searchsorted(net.outputs, out)
            y = f.targets[:, pos].astype(np.int64)
            m = f.objective.hard_margin
            hi = np.where(y == 1, K[out] - theta[out] - m, theta[out] - 1 - m)
            r[:, out] = np.clip(c[:, out] - (theta[out] + m) * y, 0, hi)
        # binary digits of r under the trimmed encoding: the last bit takes the top of the range
        owner_r = r[lay.slack_row_sample, lay.slack_row_neuron]
        n_bits = np.bincount(
            lay.slack_row_sample * net.n_neurons + lay.slack_row_neuron, minlength=N * net.n_neurons
        )
        k_last = n_bits[lay.slack_row_sample * net.n_neurons + lay.slack_row_neuron] - 1
        is_last = lay.slack_bit == k_last
        low_cap = (1 << k_last) - 1  # what the bits below the last reach
        last_on = owner_r > low_cap
        rest = owner_r - np.where(last_on, _last_coef(lay), 0)
        bits = np.where(is_last, last_on, (rest >> lay.slack_bit) & 1)
        x[lay.s0 :] = bits
        return x

    def constraint_report(self, sample: Any) -> ConstraintReport:
        from qubonn.compiler.symbolic import row_label

        x = self._as_array(sample).astype(float)
        broken: list[Broken] = []
        counts: dict[str, int] = {}
        for t in self.formulation.terms:
            if t.role != "constraint":
                continue
            vals = np.atleast_2d(t.row_values(x))[0]
            bad = np.nonzero(np.abs(vals) > 1e-9)[0]
            counts[t.name] = int(bad.size)
            kind = t.unit_kind if isinstance(t, PolyTerms) else "neuron"
            for r in bad[:1000]:
                label = row_label(self.formulation, t.name, int(t.sample[r]), int(t.unit[r]), kind)
                where = label[label.index(",") + 1 : -1]
                broken.append(Broken(t.name, int(t.sample[r]), where, float(vals[r])))
        return ConstraintReport(tuple(broken), counts, self.n_samples)

    def accuracy(self, weights: Weights) -> float:
        """Training accuracy of the network with ``weights``, by replaying the forward pass."""
        from qubonn.training.metrics import accuracy_from_targets

        return accuracy_from_targets(self.network, self.X, self.formulation.targets, weights)

    def decode(self, sample: Any) -> Decoded:
        """Trained network, constraint report and replayed metrics of one sample."""
        weights = self.weights_of(sample)
        f = self.formulation
        loss = objective_value(
            f.network, self.X, f.targets, weights, f.objective, f.linear_penalties
        )
        return Decoded(
            weights=weights,
            report=self.constraint_report(sample),
            energy=float(self.energy(sample)),
            loss=loss,
            accuracy=self.accuracy(weights),
        )

    def broken_share(self, sampleset) -> float:
        """Share of the samples in ``sampleset`` that break at least one constraint."""
        X = np.atleast_2d(self._as_array_many(sampleset)).astype(float)
        bad = np.zeros(X.shape[0], dtype=bool)
        for t in self.formulation.terms:
            if t.role == "constraint":
                bad |= np.any(np.abs(np.atleast_2d(t.row_values(X))) > 1e-9, axis=1)
        return float(bad.mean()) if bad.size else 0.0

    def _as_array_many(self, sampleset) -> np.ndarray:
        if hasattr(sampleset, "record"):
            order = [sampleset.variables.index(v) for v in self.labels]
            x = np.asarray(sampleset.record.sample)[:, order]
            return self._as_array(x) if x.ndim == 1 else np.stack([self._as_array(r) for r in x])
        return np.atleast_2d(np.asarray(sampleset))

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the QUBO: ``.npz`` (plain upper-triangular COO ``row, col, data`` with linear
        biases on the diagonal, ``offset``, ``labels``) or any other suffix as dimod's
        serialisation (``dimod.BinaryQuadraticModel.from_file`` reads it back)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        if path.suffix == ".npz":
            q = self.qubo()
            coo = q.quadratic.tocoo()
            diag = np.nonzero(q.linear)[0]
            with open(tmp, "wb") as fh:
                np.savez_compressed(
                    fh,
                    row=np.concatenate([diag, coo.row]).astype(np.int64),
                    col=np.concatenate([diag, coo.col]).astype(np.int64),
                    data=np.concatenate([q.linear[diag], coo.data]),
                    offset=np.float64(q.offset),
                    labels=np.array(self.labels),
                )
        else:
            with open(tmp, "wb") as fh, self.bqm.to_file() as src:
                fh.write(src.read())
        os.replace(tmp, path)
        return path


def _last_coef(layout) -> np.ndarray:
    """Per slack bit: the coefficient of the last bit of its group."""
    n_neurons = int(layout.slack_row_neuron.max()) + 1 if layout.slack_bit.size else 1
    group = layout.slack_row_sample * n_neurons + layout.slack_row_neuron
    last = np.zeros(int(group.max()) + 1 if group.size else 0, dtype=np.int64)
    is_last = np.r_[group[1:] != group[:-1], True] if group.size else np.zeros(0, bool)
    last[group[is_last]] = layout.slack_coef[is_last]
    return last[group]
