"""One-vs-one ensembles of binary networks: scikit-learn's ``OneVsOneClassifier`` over
:class:`~qubonn.training.BNNClassifier`, and their model files.

``OneVsOneClassifier(BNNClassifier(net), n_jobs=2)`` trains one single-output network per pair
of classes (``clone`` of the classifier, members in parallel through joblib with ``n_jobs``)
and predicts by the members' vote.  :func:`member_backend` sends the members to a Ray cluster
instead, through Ray's joblib backend: the ensemble stays scikit-learn's.
:func:`ensemble_model` turns the fitted ensemble into an
:class:`~qubonn.modelfile.EnsembleModel`, which saves as a model file (format version 2) and
predicts exactly as the fitted ensemble does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sklearn.multiclass import OneVsOneClassifier
from sklearn.utils.validation import check_is_fitted

from qubonn.training.trainer import BNNClassifier


def ovo_classifier(classifier: BNNClassifier, n_jobs: int | None = None) -> OneVsOneClassifier:
    """A one-vs-one ensemble of ``classifier`` (whose network has one output), members
    trained in ``n_jobs`` processes (None: one)."""
    network = classifier.network
    if network is not None and network.n_outputs != 1:
        raise ValueError(
            f"a one-vs-one ensemble trains a single-output network per pair of classes; this "
            f"network has {network.n_outputs} outputs"
        )
    return OneVsOneClassifier(classifier, n_jobs=n_jobs)


@contextmanager
def member_backend(executor: str = "process", address: str | None = None) -> Iterator[None]:
    """Where the members of a fit inside this block train: ``"process"``, joblib's local
    processes (``n_jobs``); ``"ray"``, a Ray cluster (``address``; none: Ray on this machine),
    through ``ray.util.joblib`` (give ``n_jobs=-1`` to use the cluster's CPUs).  Ray is
    started as qubonn's Ray executor starts it, with its messages when it is missing or
    unreachable, and stopped after the block if it was started here."""
    if executor == "process":
        yield
        return
    if executor != "ray":
        raise ValueError(f"executor must be 'process' or 'ray', not {executor!r}")
    import joblib

    from qubonn.distributed import get_executor

    with get_executor("ray", **({"address": address} if address else {})):
        from ray.util.joblib import register_ray

        register_ray()
        with joblib.parallel_backend("ray"):
            yield


def ensemble_model(ensemble: OneVsOneClassifier, metadata: dict | None = None):
    """The :class:`~qubonn.modelfile.EnsembleModel` of a fitted one-vs-one ensemble of
    :class:`BNNClassifier` members; ``metadata`` adds to the classes and the members'
    training settings."""
    from qubonn.modelfile import EnsembleModel

    check_is_fitted(ensemble, "estimators_")
    members_in = ensemble.estimators_
    if not all(isinstance(m, BNNClassifier) for m in members_in):
        raise TypeError("ensemble_model needs a OneVsOneClassifier of BNNClassifier members")
    network = members_in[0].network_
    text = network.to_text()
    if any(m.network_.to_text() != text for m in members_in):
        raise ValueError("the ensemble's members do not share one network")
    classes = ensemble.classes_.tolist()
    pairs = [(a, b) for i, a in enumerate(classes) for b in classes[i + 1 :]]
    members = tuple((pair, m.weights_) for pair, m in zip(pairs, members_in, strict=True))
    first = members_in[0].to_model().metadata
    meta = {
        "classes": classes,
        "ensemble": "ovo",
        "member_train_accuracy": [m.history_[-1]["train_accuracy"] for m in members_in],
        **{k: first[k] for k in ("objective", "dropout", "backend", "num_reads", "seed")},
        "solver_options": first["solver_options"],
        **(metadata or {}),
    }
    return EnsembleModel(network, members, meta, "ovo")


def save_ensemble(
    path: str | Path,
    ensemble: OneVsOneClassifier,
    metadata: dict | None = None,
    overwrite: bool = True,
) -> Path:
    """Write a fitted one-vs-one ensemble as a model file; returns the path.  ``overwrite=False``
    never replaces an existing file (:func:`qubonn.modelfile.save_model`)."""
    from qubonn.modelfile import save_model

    return save_model(path, ensemble_model(ensemble, metadata), overwrite=overwrite)


def member_seconds(ensemble: OneVsOneClassifier) -> list[float]:
    """Seconds each member's final solve took (compile + solve), in member order."""
    return [float(m.history_[-1]["time_s"]) for m in ensemble.estimators_]


