"""The trainer: a scikit-learn estimator over compile -> solve -> decode.

``BNNClassifier(network, ...).fit(X, y)`` compiles the exact training QUBO, hands it to a solver
backend, decodes every read, keeps the read whose *replayed* network has the lowest training
objective, and records a history.  With ``dropout=Dropout(...)`` it first runs the
dropout-inspired scheme: thinned subnetworks are trained and their solutions set linear penalties
h_e on the parameters of the full model (see docs/formulation.md and docs/training.md).

Both classifiers (this one and :class:`~qubonn.training.STEClassifier`) are real scikit-learn
estimators: ``__init__`` only stores its arguments, ``fit`` validates them, and ``clone``,
``GridSearchCV``, ``Pipeline`` and ``cross_val_score`` work.  Their ``history_`` has one format,
see :data:`HISTORY_KEYS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qubonn.errors import ConstantPredictionWarning, Interrupted
from qubonn.formulation import Objective
from qubonn.formulation.objective import class_weight_value
from qubonn.network import Network, SubNetwork, Weights
from qubonn.options import is_finite_real, is_whole
from qubonn.training.labels import encode_targets
from qubonn.training.metrics import predict_targets

#: The keys of every ``history_`` record, of both classifiers: ``stage`` ("dropout" or "final"
#: for a QUBO solve, "epoch" for gradient training), ``step`` (round or epoch number within the
#: stage), ``train_accuracy`` (exact accuracy of the binary network of that step on the data it
#: was trained on), ``objective`` (what the step minimised: the replayed QUBO objective, or the
#: mean mini-batch loss) and ``time_s`` (seconds the step took).  Records of a QUBO solve add what
#: the solver returned: kept, variables, couplings, compile_s, solve_s, mode, reads,
#: valid_share, best_energy.
HISTORY_KEYS = ("stage", "step", "train_accuracy", "objective", "time_s")

_DROPOUT_VARIANTS = ("iterative", "independent", "frequency")
_DROPOUT_SCALES = ("none", "keep", "presence")


@dataclass
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

    A parameter object in scikit-learn's sense: ``get_params`` / ``set_params`` make its
    fields nested parameters of the classifier, so ``GridSearchCV(clf, {"dropout__p": [0.1,
    0.3]})`` works when ``clf.dropout`` is a ``Dropout``.  Values are checked when it is made
    and again when the classifier is fitted (``set_params`` does not check).
    """

    p: float = 0.3
    rounds: int = 8
    eta: float = 0.5
    variant: Literal["iterative", "independent", "frequency"] = "iterative"
    scale: Literal["none", "keep", "presence"] = "none"
    batch_size: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The fields, as scikit-learn's nested parameters (``dropout__p``, ...)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def set_params(self, **params: Any) -> Dropout:
        """Set fields in place (what ``GridSearchCV`` does with ``dropout__p=...``)."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid dropout parameter {name!r}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def validate(self) -> None:
        """Raise a ValueError naming the first field with an impossible value."""
        if not 0 <= self.p < 1:
            raise ValueError(f"dropout p must be in [0, 1), not {self.p!r}")
        if int(self.rounds) != self.rounds or self.rounds < 1:
            raise ValueError(f"dropout rounds must be an integer >= 1, not {self.rounds!r}")
        if not (np.isfinite(self.eta) and self.eta >= 0):
            raise ValueError(f"dropout eta must be a number >= 0, not {self.eta!r}")
        if self.variant not in _DROPOUT_VARIANTS:
            raise ValueError(
                f"dropout variant must be 'iterative', 'independent' or 'frequency', "
                f"not {self.variant!r}"
            )
        if self.scale not in _DROPOUT_SCALES:
            raise ValueError(
                f"dropout scale must be 'none', 'keep' or 'presence', not {self.scale!r}"
            )
        if self.batch_size is not None and (
            int(self.batch_size) != self.batch_size or self.batch_size < 1
        ):
            raise ValueError(f"dropout batch_size must be an integer >= 1, not {self.batch_size!r}")


def as_dropout(value: Dropout | dict | None) -> Dropout | None:
    """A checked :class:`Dropout` (or None) from a Dropout, a dict of its fields or None."""
    if value is None:
        return None
    if isinstance(value, Dropout):
        value.validate()
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
    """Inputs (N, n_inputs) as the network declares them: the shared validator
    :func:`qubonn.network.check_inputs`."""
    return network.check_inputs(X, what=what)


def default_network(n_features: int, n_classes: int) -> Network:
    """The network ``network=None`` trains: the inputs wired straight to one output (two
    classes) or one output per class (the arg-max of the outputs predicts), i.e. a binary
    perceptron."""
    from qubonn.language import parse

    outputs = 1 if n_classes == 2 else n_classes
    return parse(f"input x[{n_features}]\noutput y[{outputs}] <- x")



def check_random_state(random_state: Any) -> None:
    """Raise a ValueError unless ``random_state`` is an int >= 0, None, or a numpy
    RandomState/Generator (scikit-learn's convention)."""
    if random_state is None or isinstance(
        random_state, np.random.RandomState | np.random.Generator
    ):
        return
    if not is_whole(random_state) or random_state < 0:
        raise ValueError(
            f"random_state must be an integer >= 0, None, or a numpy RandomState/Generator; "
            f"not {random_state!r}"
        )


def seed_sequence(random_state: Any) -> np.random.SeedSequence:
    """The seeds of a fit: an int gives the same seeds as the former ``seed=`` argument, None
    fresh ones, a ``RandomState``/``Generator`` one drawn from it."""
    check_random_state(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31 - 1)))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63 - 1)))
    return np.random.SeedSequence(None if random_state is None else int(random_state))


def binary_inputs(X: np.ndarray, input_threshold: float | None, network: Network) -> np.ndarray:
    """X as +-1 int8 for the network: binarised at ``input_threshold`` (x >= t -> +1), or
    checked to be +-1 already when it is None."""
    if input_threshold is not None:
        X = np.where(np.asarray(X) >= input_threshold, 1, -1).astype(np.int8)
    try:
        return check_X(X, network)
    except ValueError as e:
        if input_threshold is None and "only -1 and +1" in str(e):
            raise ValueError(
                f"{e}; or set input_threshold (e.g. BNNClassifier(input_threshold=0.5)) to "
                "binarise inside the classifier"
            ) from None
        raise


def warn_if_constant(classifier: Any, predictions: np.ndarray, what: str) -> None:
    """Warn (:class:`~qubonn.errors.ConstantPredictionWarning`) when a fitted network predicts
    one class for every training sample: a constant classifier, whatever its accuracy says."""
    if predictions.size and np.all(predictions == predictions[0]):
        warnings.warn(
            f"{type(classifier).__name__}: the trained network predicts class "
            f"{np.asarray(predictions[0]).tolist()!r} for all {predictions.size} training "
            f"samples (a constant classifier); {what}",
            ConstantPredictionWarning,
            stacklevel=3,
        )


def _pick_best(problem, sampleset) -> tuple[Weights, float, float]:
    """The read whose replayed network has the lowest objective (ties: lowest energy)."""
    f = problem.formulation
    rec = sampleset.record
    order = [sampleset.variables.index(v) for v in problem.labels[: f.layout.n_parameter_bits]]
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
        x[: f.layout.n_parameter_bits] = params[i]
        w = problem.weights_of(x)
        obj = problem.objective_value(w)
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
    strategy: str = "direct"
    strategy_options: dict | None = None


def train_once(
    network: Network,
    X: np.ndarray,
    T: np.ndarray,
    objective: Objective,
    h: np.ndarray,
    backend: str,
    options: dict,
    engine: str = "fast",
    strategy: str = "direct",
    strategy_options: dict | None = None,
) -> tuple[Any, Any, Weights, dict]:
    """Compile, solve, keep the read whose replayed network is best: (problem, sampleset,
    weights, history record).  The record says what the solver itself returned (and, for a
    strategy other than "direct", what each of its sub-solves returned)."""
    import qubonn

    t0 = time.perf_counter()
    problem = qubonn.compile(network, X, T, objective=objective, linear_penalties=h, engine=engine)
    t1 = time.perf_counter()
    sampleset = qubonn.solve(
        problem, backend=backend, strategy=strategy, strategy_options=strategy_options, **options
    )
    t2 = time.perf_counter()
    if sampleset.info.get("interrupted"):
        raise _interrupted(backend, options, sampleset.info)
    weights, obj, _ = _pick_best(problem, sampleset)
    record = {
        "train_accuracy": problem.accuracy(weights),
        "objective": obj,
        "time_s": t2 - t0,
        "kept": int(network.hidden.size),
        "variables": problem.n_variables,
        "couplings": int(problem.qubo().quadratic.nnz),
        "compile_s": t1 - t0,
        "solve_s": t2 - t1,
        "mode": sampleset.info.get("mode", "spin"),
        "reads": len(sampleset),
        "valid_share": 1.0 - problem.broken_share(sampleset),
        "best_energy": float(sampleset.first.energy),
    }
    if strategy != "direct":
        record.update(strategy=strategy, subsolves=sampleset.info.get("subsolves", []))
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
        sub,
        task.X,
        task.T,
        task.objective,
        task.h[sub.parameter_map],
        task.backend,
        task.options,
        strategy=task.strategy,
        strategy_options=task.strategy_options,
    )
    params = np.concatenate([weights.w, weights.b[sub.has_bias]]).astype(float)
    return params, record


def _check_class_weight_dict(class_weight: dict) -> None:
    for label, w in class_weight.items():
        class_weight_value(w, f"class_weight[{label!r}]")


def _class_weights_in_order(class_weight: dict, classes: np.ndarray) -> tuple[float, ...]:
    """scikit-learn's {label: weight} as one weight per class of ``classes_`` (missing: 1)."""
    unknown = [label for label in class_weight if label not in set(classes.tolist())]
    if unknown:
        raise ValueError(
            f"class_weight names label(s) {unknown[:5]} that are not in y (classes "
            f"{classes.tolist()}); give weights for the classes of y"
        )
    return tuple(float(class_weight.get(c, 1.0)) for c in classes.tolist())


class _Settings(NamedTuple):
    """The checked, converted parameters of one fit (what ``__init__`` stored, validated)."""

    objective: Objective
    dropout: Dropout | None
    solver_options: dict


class BNNClassifier(ClassifierMixin, BaseEstimator):
    """A binary neural network classifier trained exactly, as a QUBO.

    >>> clf = BNNClassifier(qubonn.load_spec("examples/digits.qnn"), margin=0.05)
    >>> clf.fit(X_train, y_train).score(X_test, y_test)

    network:        a :class:`~qubonn.network.Network` (one output for two classes, or one
                    output per class, trained with ``loss``); None trains :func:`default_network`,
                    the inputs wired straight to the outputs, sized from the data in ``fit``.
    loss, loss_weight, margin, margin_scale, hard_margin, penalties, class_weight,
    slack_encoding, sparsity: the objective (see :class:`~qubonn.formulation.Objective`);
                    ``loss="auto"`` (the default) is "hinge" for one output and
                    "multiclass" for several;
                    ``margin="auto"`` and ``hard_margin="auto"`` (the defaults) are mu = 0.5
                    and m = 3 under the multiclass loss (measured on validation images at ten
                    classes), mu = 0.2 and m = 0 under the one-vs-rest losses;
                    ``margin_scale="fan_in"``, the default everywhere, divides the margin
                    by each neuron's fan-in; ``slack_encoding="unary"`` writes the
                    sign constraints' slack one bit per unit (larger, but generic single-spin
                    samplers return valid states on it; the structured native annealer does
                    not need it); ``sparsity`` prices each link a ``ternary`` group keeps.
    dropout:        a :class:`Dropout` (or a dict of its options) to run the dropout scheme;
                    with a ``Dropout``, ``dropout__p`` etc. are nested parameters.
    backend:        a solver name from ``qubonn.backends_available()``; ``num_reads``,
                    ``solver_options`` (a dict, e.g. ``{"num_sweeps": 500}``) and a seed drawn
                    from ``random_state`` go to it.
    strategy:       how the backend solves (``qubonn.backends.network.strategies``): "direct" (the
                    whole QUBO at once), "decompose" (mini-batch sub-QUBOs, for generic
                    samplers such as neal) or "continuation"; ``strategy_options`` tune it.
    engine:         compiler engine, "fast" or "pyqubo".
    input_threshold: None (inputs must be -1/+1: a clear error otherwise) or a number t that
                    binarises X inside the classifier (x >= t -> +1, else -1), in ``fit``,
                    ``predict`` and ``decision_function`` alike.
    random_state:   an int (equal ints give equal models), None, or a numpy RandomState.
    verbose:        > 0 shows progress bars (tqdm).
    n_jobs:         processes for independent dropout rounds (``variant="independent"`` or
                    "frequency"); None or 1: serial; -1: all CPUs.  ``executor`` overrides it.
    executor:       run independent dropout rounds through it (``executor.map``).

    ``__init__`` only stores these; ``fit`` checks them (with the same messages as before), so
    ``clone``, ``set_params`` and ``GridSearchCV`` work.  The trained network is the solver's
    own best read (by replayed objective); ``history_`` records each solve (see
    :data:`HISTORY_KEYS`).  ``fit`` warns (:class:`~qubonn.errors.ConstantPredictionWarning`)
    when the trained network predicts one class for every training sample.
    """

    def __init__(
        self,
        network: Network | None = None,
        *,
        loss: str = "auto",
        loss_weight: float = 1.0,
        margin: float | str = "auto",
        margin_scale: str = "fan_in",
        hard_margin: int | str = "auto",
        penalties: dict[str, float] | None = None,
        class_weight: str | dict | None = None,
        slack_encoding: str = "binary",
        sparsity: float = 0.0,
        dropout: Dropout | dict | None = None,
        backend: str = "native",
        num_reads: int = 16,
        solver_options: dict[str, Any] | None = None,
        engine: str = "fast",
        input_threshold: float | None = None,
        random_state: Any = 0,
        verbose: int = 0,
        n_jobs: int | None = None,
        executor: Any = None,
        strategy: str = "direct",
        strategy_options: dict | None = None,
    ):
        self.network = network
        self.loss = loss
        self.loss_weight = loss_weight
        self.margin = margin
        self.margin_scale = margin_scale
        self.hard_margin = hard_margin
        self.penalties = penalties
        self.class_weight = class_weight
        self.slack_encoding = slack_encoding
        self.sparsity = sparsity
        self.dropout = dropout
        self.backend = backend
        self.num_reads = num_reads
        self.solver_options = solver_options
        self.engine = engine
        self.input_threshold = input_threshold
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.executor = executor
        self.strategy = strategy
        self.strategy_options = strategy_options

    # -- parameters -------------------------------------------------------------------------
    def check_params(self) -> _Settings:
        """Check the stored parameters (what ``fit`` does first) and convert them; raises a
        ValueError/TypeError that names the parameter.  Lets a search reject a bad grid point
        before any training."""
        from qubonn.backends import backend_names, get_backend

        if self.network is not None and not isinstance(self.network, Network):
            raise TypeError(
                f"BNNClassifier needs a qubonn Network (qubonn.load_spec(path) or qubonn.parse("
                f"text)) or None, not {type(self.network).__name__}"
            )
        # every field of the Objective is a parameter of the same name here (one list: the
        # Objective's); a new objective field is a new __init__ argument, nothing else
        fields = [f.name for f in dataclasses.fields(Objective)]
        values = {name: getattr(self, name) for name in fields}
        values["penalties"] = dict(values["penalties"] or {})
        if isinstance(self.class_weight, dict):  # scikit-learn's {label: weight}: set in fit
            _check_class_weight_dict(self.class_weight)
            values["class_weight"] = None
        objective = Objective(**values)
        dropout = as_dropout(self.dropout)
        if self.backend not in backend_names():
            get_backend(self.backend)  # raises the registry's clear error with the valid names
        if not is_whole(self.num_reads) or self.num_reads < 1:
            raise ValueError(f"num_reads must be an integer >= 1, not {self.num_reads!r}")
        if self.engine not in ("fast", "pyqubo"):
            raise ValueError(f"engine must be 'fast' or 'pyqubo', not {self.engine!r}")
        threshold = self.input_threshold
        if threshold is not None and not (is_finite_real(threshold)):
            raise ValueError(
                f"input_threshold must be a number or None, not {self.input_threshold!r}"
            )
        if self.n_jobs is not None and (not is_whole(self.n_jobs) or self.n_jobs == 0):
            raise ValueError(f"n_jobs must be None, -1 or an integer >= 1, not {self.n_jobs!r}")
        options = dict(self.solver_options or {})
        for name, own in (("num_reads", "num_reads="), ("seed", "random_state=")):
            if name in options:
                raise ValueError(
                    f"solver_options[{name!r}]: {name} is set by the classifier's {own} "
                    "parameter; give it there"
                )
        check_random_state(self.random_state)
        from qubonn.backends.network.strategies import check_strategy

        check_strategy(self.strategy, self.strategy_options)  # names the valid strategies
        return _Settings(objective, dropout, options)

    def _solver_options(self, settings: _Settings, seed: int | None) -> dict:
        """Options for the backend; the seed only where the backend takes one."""
        from qubonn.backends import get_backend

        options = {"num_reads": int(self.num_reads), **settings.solver_options}
        if "seed" in get_backend(self.backend).parameters:
            options["seed"] = seed
        return options

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> BNNClassifier:
        """Train on inputs X (n_samples, n_features) and class labels y; returns self.

        X must be -1/+1 unless ``input_threshold`` is set.  Raises
        :class:`~qubonn.errors.Interrupted` when a solve is interrupted (Ctrl-C): a partial
        solve is not a trained model, so nothing is fitted from it."""
        settings = self.check_params()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(f"y has only one class ({classes.tolist()}); need at least two")
        network = self.network
        if network is None:
            network = default_network(X.shape[1], classes.size)
        X = binary_inputs(X, self.input_threshold, network)
        T = encode_targets(y, classes.tolist(), network.n_outputs)
        objective = settings.objective.for_network(network)  # the "auto" loss and margins
        if isinstance(self.class_weight, dict):
            weights = _class_weights_in_order(self.class_weight, classes)
            objective = dataclasses.replace(objective, class_weight=weights)
        settings = settings._replace(objective=objective)
        dropout = settings.dropout
        seeds = seed_sequence(self.random_state).generate_state(
            (dropout.rounds if dropout else 0) + 1
        )
        self.network_ = network
        self.classes_ = classes
        self.history_: list[dict] = []
        h = np.zeros(network.n_parameters)
        if dropout is not None:
            h = self._dropout_penalties(settings, X, T, seeds[:-1])
        options = self._solver_options(settings, int(seeds[-1]))
        with self._solve_bar(options) as options:
            problem, sampleset, weights, record = train_once(
                network,
                X,
                T,
                settings.objective,
                h,
                self.backend,
                options,
                self.engine,
                strategy=self.strategy,
                strategy_options=self.strategy_options,
            )
        self.linear_penalties_ = h
        self.objective_ = settings.objective
        self.weights_ = weights
        self.problem_ = problem
        self.sampleset_ = sampleset
        self.history_.append({"stage": "final", "step": 0, **record})
        margin = self.objective_.margin
        hint = "a smaller margin" if margin else "a margin (e.g. margin=0.2)"
        if margin and self.margin_scale == "none":
            hint = "margin_scale='fan_in' (the default) or a smaller margin"
        warn_if_constant(
            self,
            classes[predict_targets(network, X, weights)],
            f"try {hint}, more num_reads or num_sweeps (solver_options), or a wider network",
        )
        return self

    def _bar(self, total: int, desc: str):
        if not self.verbose:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, leave=False)

    @contextlib.contextmanager
    def _solve_bar(self, options: dict) -> Iterator[dict]:
        """The final solve's progress bar, driven by the solver's ``progress`` callback where
        the backend takes one (sweeps done of the total, best energy so far); yields the
        options to solve with.  The bar is closed however the solve ends, so an error message
        starts on a line of its own."""
        from qubonn.backends import get_backend

        takes_progress = "progress" in get_backend(self.backend).parameters
        direct = self.strategy == "direct"  # sub-solves would each restart the bar
        if not (self.verbose and takes_progress and direct) or "progress" in options:
            bar = self._bar(1, "final solve")
            try:
                yield options
            finally:
                if bar is not None:
                    bar.close()
            return
        bar = self._bar(None, "final solve")

        def progress(done: int, total: int, best_energy: float) -> bool:
            bar.total = total
            bar.n = done
            bar.set_postfix(best=f"{best_energy:.4g}", refresh=False)
            bar.refresh()
            return False

        try:
            yield {**options, "progress": progress}
        finally:
            bar.close()

    def _sample_keep(self, network: Network, p: float, rng: np.random.Generator) -> np.ndarray:
        hidden = network.hidden.size
        for _ in range(1000):
            keep = rng.random(hidden) >= p
            if SubNetwork(network, keep).connected_outputs():
                return keep
        raise ValueError(f"dropout p={p} cuts every path to an output in 1000 tries; lower p")

    def _round_executor(self) -> tuple[Any, bool]:
        """(executor for independent rounds or None, whether this fit owns and closes it)."""
        if self.executor is not None:
            return self.executor, False
        if self.n_jobs is None or self.n_jobs == 1:
            return None, False
        from qubonn.distributed import ProcessExecutor

        return ProcessExecutor(workers=None if self.n_jobs < 0 else int(self.n_jobs)), True

    def _dropout_penalties(
        self, settings: _Settings, X: np.ndarray, T: np.ndarray, seeds: np.ndarray
    ) -> np.ndarray:
        d = settings.dropout
        network = self.network_
        n_par = network.n_parameters
        rng = np.random.default_rng(int(seeds[0]) if seeds.size else 0)
        eta = d.eta / (1 - d.p) if d.scale == "keep" else d.eta
        h = np.zeros(n_par)
        plus = np.zeros(n_par)
        present = np.zeros(n_par)
        tasks = []
        for r in range(d.rounds):
            keep = self._sample_keep(network, d.p, rng)
            rows = (
                np.sort(rng.choice(X.shape[0], size=min(d.batch_size, X.shape[0]), replace=False))
                if d.batch_size
                else np.arange(X.shape[0])
            )
            tasks.append((r, keep, rows))

        def task_for(r, keep, rows, h_now):
            return _RoundTask(
                network,
                keep,
                X[rows],
                T[rows],
                settings.objective,
                h_now if d.variant == "iterative" else np.zeros(n_par),
                self.backend,
                self._solver_options(settings, int(seeds[r])),
                self.strategy,
                self.strategy_options,
            )

        bar = self._bar(d.rounds, "dropout rounds")
        results = None
        if d.variant != "iterative":
            executor, owned = self._round_executor()
            if executor is not None:
                try:
                    results = executor.map(
                        _run_round, [task_for(r, k, rows, h) for r, k, rows in tasks]
                    )
                finally:
                    if owned:
                        executor.close()
        for i, (r, keep, rows) in enumerate(tasks):
            if results is None:
                params, record = _run_round(task_for(r, keep, rows, h))
            else:
                params, record = results[i]
            where = SubNetwork(network, keep).parameter_map
            present[where] += 1
            plus[where] += params > 0
            if d.variant in ("iterative", "independent"):
                h[where] -= eta * params
            self.history_.append({"stage": "dropout", "step": r, **record})
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
    def _inputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = validate_data(self, X, reset=False)
        return binary_inputs(X, self.input_threshold, self.network_)

    def decision_function(self, X: Any) -> np.ndarray:
        """Output pre-activations of the trained network: shape (n,) for two classes,
        (n, n_classes) for one output per class (the arg-max, lowest index among equal
        maxima, is the prediction).  For two classes it is z + 1/2 (z the integer
        pre-activation), so that ``> 0`` means ``classes_[1]`` exactly as the network's
        sign(0) = +1 does."""
        X = self._inputs(X)
        z = self.network_.predict_outputs(X, self.weights_)[1]
        return z[:, 0] + 0.5 if self.network_.n_outputs == 1 else z

    def predict(self, X: Any) -> np.ndarray:
        """Class labels of X, by the trained network's forward pass."""
        X = self._inputs(X)
        idx = predict_targets(self.network_, X, self.weights_)
        return self.classes_[idx]

    def to_model(self, metadata: dict | None = None):
        from qubonn.modelfile import TrainedModel

        check_is_fitted(self, "weights_")
        dropout = as_dropout(self.dropout)
        meta = {
            "classes": self.classes_.tolist(),
            "objective": {k: v for k, v in asdict(self.objective_).items()},
            "dropout": asdict(dropout) if dropout else None,
            "backend": self.backend,
            "strategy": self.strategy,
            "num_reads": self.num_reads,
            "seed": int(self.random_state) if is_whole(self.random_state) else None,
            "solver_options": {
                k: v
                for k, v in (self.solver_options or {}).items()
                if isinstance(v, int | float | str | bool | None)
            },
            "train_accuracy": self.history_[-1]["train_accuracy"],
            **(metadata or {}),
        }
        return TrainedModel(self.network_, self.weights_, meta)

    def save(
        self, path: str | Path, metadata: dict | None = None, *, overwrite: bool = True
    ) -> Path:
        """Write the trained model file (spec, weights, classes, training settings);
        ``overwrite=False`` never replaces an existing file (see :func:`save_model`)."""
        from qubonn.modelfile import save_model

        return save_model(path, self.to_model(metadata), overwrite=overwrite)
