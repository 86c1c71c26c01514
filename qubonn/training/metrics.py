"""Accuracy of a binary network, always by replaying its forward pass (the functions live in
:mod:`qubonn.decoder`, which the problem layer uses too; re-exported here for the trainers)."""

from __future__ import annotations

from qubonn.decoder import accuracy_from_targets, predict_targets

__all__ = ["accuracy_from_targets", "predict_targets"]
