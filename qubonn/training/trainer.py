"""The trainer: scikit-learn style fit / predict / score over compile -> solve -> decode.

``BNNClassifier(network, ...).fit(X, y)`` compiles the exact training QUBO, hands it to a solver
backend, decodes every read, keeps the read whose *replayed* network has the lowest training
objective, and records a history.  With ``dropout=Dropout(...)`` it first runs the
dropout-inspired scheme: thinned subnetworks are trained and their solutions set linear penalties
h_e on the parameters of the full model (see docs/formulation.md and docs/training.md).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qubonn.errors import Interrupted
from qubonn.formulation import Objective, objective_value
from qubonn.network import Network, SubNetwork, Weights, check_inputs
from qubonn.training.labels import encode_targets
from qubonn.training.metrics import predict_targets


@dataclass(frozen=True)
class Dropout:
    """The dropout-inspired iterative regulariser.

    p:          probability of dropping each hidden neuron in a round;
    rounds:     number of thinned subnetworks trained;
    eta:        step of the linear penalties (h_e -= eta * w_e per round where e is present);
    variant:    "iterative" (h fed back into later rounds), "independent" (rounds see h = 0;
                h accumulates; rounds can run in parallel), "frequency" (after all rounds,
                h_e = -eta * (2 f_e - 1) with f_e the share of rounds, among those where e was
                present, that set w_e = +1);
    scale:      "none", "keep" (eta / (1 - p)) or "presence" (h_e rescaled by rounds / times
                e was present);
    batch_size: train each round on a random mini-batch of this many samples (None: all).
    """

    p: float = 0.3
    rounds: int = 8
    eta: float = 0.5
    variant: Literal["iterative", "independent", "frequency"] = "iterative"
    scale: Literal["none", "keep", "presence"] = "none"
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.p < 1:
            raise ValueError(f"dropout p must be in [0, 1), not {self.p!r}")
        if int(self.rounds) != self.rounds or self.rounds < 1:
            raise ValueError(f"dropout rounds must be an integer >= 1, not {self.rounds!r}")
        if not (np.isfinite(self.eta) and self.eta >= 0):
            raise ValueError(f"dropout eta must be a number >= 0, not {self.eta!r}")
        if self.variant not in ("iterative", "independent", "frequency"):
            raise ValueError(
                f"dropout variant must be 'iterative', 'independent' or 'frequency', "
                f"not {self.variant!r}"
            )
        if self.scale not in ("none", "keep", "presence"):
            raise ValueError(
                f"dropout scale must be 'none', 'keep' or 'presence', not {self.scale!r}"
            )
        if self.batch_size is not None and (
            int(self.batch_size) != self.batch_size or self.batch_size < 1
        ):
            raise ValueError(f"dropout batch_size must be an integer >= 1, not {self.batch_size!r}")


def as_dropout(value: Dropout | dict | None) -> Dropout | None:
    if value is None or isinstance(value, Dropout):
        return value
    if isinstance(value, dict):
        unknown = set(value) - set(Dropout.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown dropout option(s) {sorted(unknown)}; valid: "
                f"{sorted(Dropout.__dataclass_fields__)}"
            )
        return Dropout(**value)
    raise TypeError(f"dropout must be a Dropout, a dict of its options or None, not {value!r}")


def check_X(X: Any, network: Network, what: str = "X") -> np.ndarray:
    """+-1 inputs (N, n_inputs): the shared validator :func:`qubonn.network.check_inputs`."""
    return check_inputs(X, network.n_inputs, what=what)


def _pick_best(problem, sampleset) -> tuple[Weights, float, float]:
    """The read whose replayed network has the lowest objective (ties: lowest energy)."""
    f = problem.formulation
    rec = sampleset.record
    order = [sampleset.variables.index(v) for v in problem.labels[: f.layout.n_parameters]]
    params = np.asarray(rec.sample)[:, order]
    if params.min() < 0:
        params = (params + 1) // 2
    best = None
    seen: dict[bytes, float] = {}
    for i in np.argsort(rec.energy, kind="stable"):
        key = params[i].tobytes()
        if key in seen:
            continue
        x = np.zeros(problem.n_variables, dtype=np.int8)
        x[: f.layout.n_parameters] = params[i]
        w = problem.weights_of(x)
        obj = objective_value(f.network, problem.X, f.targets, w, f.objective, f.linear_penalties)
        seen[key] = obj
        if best is None or obj < best[1] - 1e-12:
            best = (w, obj, float(rec.energy[i]))
    assert best is not None
    return best


@dataclass
class _RoundTask:
    """One dropout round, picklable for executors."""

    network: Network
    keep: np.ndarray
    X: np.ndarray
    T: np.ndarray
    objective: Objective
    h: np.ndarray
    backend: str
    options: dict


def train_once(
    network: Network,
    X: np.ndarray,
    T: np.ndarray,
    objective: Objective,
    h: np.ndarray,
    backend: str,
    options: dict,
    engine: str = "fast",
) -> tuple[Any, Any, Weights, dict]:
    """Compile, solve, keep the read whose replayed network is best: (problem, sampleset,
    weights, history record).  The record says what the solver itself returned."""
    import qubonn

    t0 = time.perf_counter()
    problem = qubonn.compile(network, X, T, objective=objective, linear_penalties=h, engine=engine)
    t1 = time.perf_counter()
    sampleset = qubonn.solve(problem, backend=backend, **options)
    t2 = time.perf_counter()
    if sampleset.info.get("interrupted"):
        raise _interrupted(backend, options, sampleset.info)
    weights, obj, _ = _pick_best(problem, sampleset)
    record = {
        "kept": int(network.hidden.size),
        "variables": problem.n_variables,
        "couplings": int(problem.qubo().quadratic.nnz),
        "compile_s": t1 - t0,
        "solve_s": t2 - t1,
        "mode": sampleset.info.get("mode", "spin"),
        "reads": len(sampleset),
        "valid_share": 1.0 - problem.broken_share(sampleset),
        "best_energy": float(sampleset.first.energy),
        "objective": obj,
        "train_accuracy": problem.accuracy(weights),
    }
    return problem, sampleset, weights, record


def _interrupted(backend: str, options: dict, info: dict) -> Interrupted:
    """The error for a solve that stopped early: a partial result is not a trained model."""
    done = info.get("num_sweeps")
    asked = options.get("num_sweeps")
    where = "" if done is None else f" after {done}" + ("" if asked is None else f" of {asked}")
    where += " sweeps" if where else ""
    return Interrupted(
        f"the solve ({backend}) was interrupted{where}; its partial result was discarded",
        info,
    )


def _run_round(task: _RoundTask) -> tuple[np.ndarray, dict]:
    """Train one thinned subnetwork; its parameters (+-1, in its own order) and a record."""
    sub = SubNetwork(task.network, task.keep)
    *_, weights, record = train_once(
        sub, task.X, task.T, task.objective, task.h[sub.parameter_map], task.backend, task.options
    )
    params = np.concatenate([weights.w, weights.b[sub.has_bias]]).astype(float)
    return params, record


class BNNClassifier:
    """A binary neural network classifier trained exactly, as a QUBO.

    >>> clf = BNNClassifier(qubonn.load_spec("examples/digits.qnn"), margin=0.05)
    >>> clf.fit(X_train, y_train).score(X_test, y_test)

    network:        a :class:`~qubonn.network.Network` (one output for two classes, or one
                    output per class for one-vs-rest).
    loss, loss_weight, margin, margin_scale, hard_margin, penalties, class_weight: the
                    objective (see :class:`~qubonn.formulation.Objective`); ``loss="auto"``
                    (the default) is "hinge" for one output and "multiclass" for several.
    dropout:        a :class:`Dropout` (or a dict of its options) to run the dropout scheme.
    backend:        a solver name from ``qubonn.backends_available()``; ``num_reads``, ``seed``
                    and ``**solver_options`` go to it.
    engine:         compiler engine, "fast" or "pyqubo".
    progress:       show progress bars (tqdm); False for scripts.
    executor:       run independent dropout rounds through it (``executor.map``).

    The trained network is the solver's own best read (by replayed objective).  The native
    backend moves between valid network states (its structured mode), so its reads are valid
    networks; ``history_`` records, per solve, the share of valid reads and the objective.
    """

    def __init__(
        self,
        network: Network,
        *,
        loss: str = "auto",
        loss_weight: float = 1.0,
        margin: float = 0.0,
        margin_scale: str = "none",
        hard_margin: int = 0,
        penalties: dict[str, float] | None = None,
        class_weight: str | None = None,
        dropout: Dropout | dict | None = None,
        backend: str = "native",
        num_reads: int = 16,
        seed: int | None = 0,
        engine: str = "fast",
        progress: bool = False,
        executor: Any = None,
        **solver_options: Any,
    ):
        if not isinstance(network, Network):
            raise TypeError(
                f"BNNClassifier needs a qubonn Network (qubonn.load_spec(path) or qubonn.parse("
                f"text)), not {type(network).__name__}"
            )
        self.network = network
        self.objective = Objective(
            loss=loss,
            loss_weight=loss_weight,
            margin=margin,
            margin_scale=margin_scale,
            hard_margin=hard_margin,
            penalties=dict(penalties or {}),
            class_weight=class_weight,
        )
        self.dropout = as_dropout(dropout)
        from qubonn.backends import backend_names

        if backend not in backend_names():
            from qubonn.backends import get_backend

            get_backend(backend)  # raises the registry's clear error with the valid names
        if int(num_reads) != num_reads or num_reads < 1:
            raise ValueError(f"num_reads must be an integer >= 1, not {num_reads!r}")
        if engine not in ("fast", "pyqubo"):
            raise ValueError(f"engine must be 'fast' or 'pyqubo', not {engine!r}")
        self.backend = backend
        self.num_reads = int(num_reads)
        self.seed = seed
        self.engine = engine
        self.progress = progress
        self.executor = executor
        self.solver_options = solver_options

    def __repr__(self) -> str:
        o = self.objective
        parts = [f"loss={o.loss!r}"]
        if o.margin:
            parts.append(f"margin={o.margin:g}")
        if o.hard_margin:
            parts.append(f"hard_margin={o.hard_margin}")
        if o.class_weight:
            parts.append(f"class_weight={o.class_weight!r}")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        parts.append(f"backend={self.backend!r}")
        return f"BNNClassifier({self.network!r}, {', '.join(parts)})"

    # -- fitting ----------------------------------------------------------------------------
    def _solver_options(self, seed: int | None) -> dict:
        """Options for the backend; the seed only where the backend takes one."""
        from qubonn.backends import get_backend

        options = {"num_reads": self.num_reads, **self.solver_options}
        if "seed" in get_backend(self.backend).parameters:
            options["seed"] = seed
        return options

    def fit(self, X: Any, y: Any) -> BNNClassifier:
        """Train on +-1 inputs X (n_samples, n_inputs) and class labels y; returns self.

        Raises :class:`~qubonn.errors.Interrupted` when a solve is interrupted (Ctrl-C): a
        partial solve is not a trained model, so nothing is fitted from it."""

        X = check_X(X, self.network)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y must be 1-D with one label per sample ({X.shape[0]}), not shape {y.shape}"
            )
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"y has only one class ({self.classes_.tolist()}); need at least two")
        T = encode_targets(y, self.classes_.tolist(), self.network.n_outputs)
        seeds = np.random.SeedSequence(self.seed).generate_state(
            (self.dropout.rounds if self.dropout else 0) + 1
        )
        self.history_: list[dict] = []
        h = np.zeros(self.network.n_parameters)
        if self.dropout is not None:
            h = self._dropout_penalties(X, T, seeds[:-1])
        self.linear_penalties_ = h
        bar = self._bar(1, "final solve")
        problem, sampleset, weights, record = train_once(
            self.network,
            X,
            T,
            self.objective,
            h,
            self.backend,
            self._solver_options(int(seeds[-1])),
            self.engine,
        )
        self.weights_ = weights
        self.problem_ = problem
        self.sampleset_ = sampleset
        self.history_.append({"stage": "final", "round": None, **record})
        if bar is not None:
            bar.update(1)
            bar.close()
        return self

    def _bar(self, total: int, desc: str):
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, leave=False)

    def _sample_keep(self, rng: np.random.Generator) -> np.ndarray:
        hidden = self.network.hidden.size
        for _ in range(1000):
            keep = rng.random(hidden) >= self.dropout.p
            if SubNetwork(self.network, keep).connected_outputs():
                return keep
        raise ValueError(
            f"dropout p={self.dropout.p} cuts every path to an output in 1000 tries; lower p"
        )

    def _dropout_penalties(self, X: np.ndarray, T: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        d = self.dropout
        n_par = self.network.n_parameters
        rng = np.random.default_rng(int(seeds[0]) if seeds.size else 0)
        eta = d.eta / (1 - d.p) if d.scale == "keep" else d.eta
        h = np.zeros(n_par)
        plus = np.zeros(n_par)
        present = np.zeros(n_par)
        tasks = []
        for r in range(d.rounds):
            keep = self._sample_keep(rng)
            rows = (
                np.sort(rng.choice(X.shape[0], size=min(d.batch_size, X.shape[0]), replace=False))
                if d.batch_size
                else np.arange(X.shape[0])
            )
            tasks.append((r, keep, rows))

        def task_for(r, keep, rows, h_now):
            return _RoundTask(
                self.network,
                keep,
                X[rows],
                T[rows],
                self.objective,
                h_now if d.variant == "iterative" else np.zeros(n_par),
                self.backend,
                self._solver_options(int(seeds[r])),
            )

        bar = self._bar(d.rounds, "dropout rounds")
        if d.variant != "iterative" and self.executor is not None:
            results = self.executor.map(
                _run_round, [task_for(r, k, rows, h) for r, k, rows in tasks]
            )
        else:
            results = None
        for i, (r, keep, rows) in enumerate(tasks):
            if results is None:
                params, record = _run_round(task_for(r, keep, rows, h))
            else:
                params, record = results[i]
            where = SubNetwork(self.network, keep).parameter_map
            present[where] += 1
            plus[where] += params > 0
            if d.variant in ("iterative", "independent"):
                h[where] -= eta * params
            record.update({"stage": "dropout", "round": r})
            self.history_.append(record)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(acc=f"{record['train_accuracy']:.2f}")
        if bar is not None:
            bar.close()
        if d.variant == "frequency":
            f = np.divide(plus, present, out=np.full(n_par, 0.5), where=present > 0)
            h = -eta * (2 * f - 1)
        elif d.scale == "presence":
            h = h * d.rounds / np.maximum(present, 1)
        return h

    # -- using the trained network ----------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "weights_"):
            raise RuntimeError("this BNNClassifier is not fitted yet; call fit(X, y) first")

    def decision_function(self, X: Any) -> np.ndarray:
        """Output pre-activations (n_samples, n_outputs) of the trained network."""
        self._check_fitted()
        return self.network.predict_outputs(check_X(X, self.network), self.weights_)[1]

    def predict(self, X: Any) -> np.ndarray:
        """Class labels of X, by the trained network's forward pass."""
        self._check_fitted()
        idx = predict_targets(self.network, check_X(X, self.network), self.weights_)
        return self.classes_[idx]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy on (X, y)."""
        y = np.asarray(y)
        pred = self.predict(X)
        if y.shape != pred.shape:
            raise ValueError(f"y has shape {y.shape}; expected {pred.shape}")
        return float(np.mean(pred == y))

    def to_model(self, metadata: dict | None = None):
        from qubonn.modelfile import TrainedModel

        self._check_fitted()
        meta = {
            "classes": self.classes_.tolist(),
            "objective": {k: v for k, v in asdict(self.objective).items()},
            "dropout": asdict(self.dropout) if self.dropout else None,
            "backend": self.backend,
            "num_reads": self.num_reads,
            "seed": self.seed,
            "solver_options": {
                k: v
                for k, v in self.solver_options.items()
                if isinstance(v, int | float | str | bool | None)
            },
            "train_accuracy": self.history_[-1]["train_accuracy"],
            **(metadata or {}),
        }
        return TrainedModel(self.network, self.weights_, meta)

    def save(self, path: str | Path, metadata: dict | None = None) -> Path:
        """Write the trained model file (spec, weights, classes, training settings)."""
        from qubonn.modelfile import save_model

        return save_model(path, self.to_model(metadata))
