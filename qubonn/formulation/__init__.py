"""The formulation: (network, data, objective) -> named energy terms over binary variables.

This package decides *what* the training energy is; the compiler engines (``qubonn.compiler``)
decide how to turn it into a QUBO.  ``docs/formulation.md`` states the mathematics; the names here
follow it.  It owns:

* :mod:`~qubonn.formulation.objective`   the :class:`Objective`: the settings and their checks;
* :mod:`~qubonn.formulation.model`       the :class:`ObjectiveModel`, the objective as arrays
  (thresholds, slack ranges, margins, class weights) that builders and solvers read, safe
  penalties, the oracle :func:`objective_value`;
* :mod:`~qubonn.formulation.layout`      the variables' index space and labels, row labels;
* :mod:`~qubonn.formulation.slack`       the trimmed binary slack encoding (the only copy);
* :mod:`~qubonn.formulation.terms`       the two term shapes and the :class:`Formulation`;
* :mod:`~qubonn.formulation.builders`    one builder per term over a shared count form, and
  :func:`build`;
* :mod:`~qubonn.formulation.completion`  :func:`feasible_state`, parameters -> full valid state.
"""

from __future__ import annotations

from qubonn.formulation.builders import TERM_BUILDERS, CountForm, build, count_form
from qubonn.formulation.completion import feasible_state
from qubonn.formulation.layout import Layout, row_label
from qubonn.formulation.model import (
    ObjectiveModel,
    hidden_sources,
    initial_weights,
    max_loss_per_sample,
    objective_model,
    objective_value,
    safe_penalties,
)
from qubonn.formulation.objective import LossName, Objective, as_targets
from qubonn.formulation.slack import slack_coefficients
from qubonn.formulation.terms import Formulation, PolyTerms, ProductTerms, Terms, row_terms

__all__ = [
    "TERM_BUILDERS",
    "CountForm",
    "Formulation",
    "Layout",
    "LossName",
    "Objective",
    "ObjectiveModel",
    "PolyTerms",
    "ProductTerms",
    "Terms",
    "as_targets",
    "build",
    "count_form",
    "feasible_state",
    "hidden_sources",
    "initial_weights",
    "max_loss_per_sample",
    "objective_model",
    "objective_value",
    "row_label",
    "row_terms",
    "safe_penalties",
    "slack_coefficients",
]
