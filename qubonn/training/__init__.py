"""Training: fitting binary neural networks (exactly by QUBO, or by gradient baselines)."""

from qubonn.training.ensemble import ensemble_model, ovo_classifier, save_ensemble
from qubonn.training.ste import STEClassifier
from qubonn.training.trainer import BNNClassifier, Dropout

__all__ = [
    "BNNClassifier",
    "Dropout",
    "STEClassifier",
    "ensemble_model",
    "ovo_classifier",
    "save_ensemble",
]
