"""Hyperparameter sweeps: one BNNClassifier per grid point and seed, on any executor, resumable.

>>> rows = sweep("examples/digits.qnn", {"margin": [0, 0.5], "dropout.p": [0, 0.3]}, seeds=5,
...              data="digits:3,8", executor="ray", out="results.csv", backend="neal")

Grid and fixed keys are the parameters of :class:`~qubonn.BNNClassifier`, as
``get_params(deep=True)`` names them (``margin``, ``loss``, ``backend``, ``num_reads``, ...;
``dropout__p`` for the fields of its dropout scheme), keys into its dict parameters
(``penalties__sign``, ``solver_options__num_sweeps``), or options of the solver backend alone
(``num_sweeps``, ``beta_range``, ...: they go to ``solver_options``).  A dot is the same as the
double underscore (``dropout.p`` == ``dropout__p``, the CLI's spelling).  Grid points come from
scikit-learn's :class:`~sklearn.model_selection.ParameterGrid` (keys sorted, the last one
changing fastest); each run is ``clone(base).set_params(**point)``, so a parameter added to the
classifier can be swept with no change here.  The base classifier (with the network) and the data
set go to every worker once (the executor's ``shared``); each task trains and scores one
classifier.

Results are a table, one row per (parameters, seed): the parameters, the seed, train and test
accuracy, the size of the final QUBO, and times.  With ``out`` each row is appended to the file as
soon as its run finishes, so an interrupted sweep keeps what finished, and running the same sweep
again skips the rows already there (resume).  ``.csv`` files are appended in place; ``.parquet``
files (needs pyarrow) collect rows in a ``<out>.partial.csv`` journal that is merged into the
Parquet file when the sweep ends or is interrupted.

The package's modules, in the order a sweep uses them: :mod:`.values` (text and cells),
:mod:`.inputs` (network, data, seeds, grid), :mod:`.runs` (what one run is), :mod:`.results`
(the table) and :mod:`.driver` (the sweep).
"""

from __future__ import annotations

from qubonn.sweep.driver import sweep
from qubonn.sweep.results import RESULT_COLUMNS, check_table_path, summarize
from qubonn.sweep.runs import SweepTask, clone_with, estimator_params, valid_keys
from qubonn.sweep.values import SweepError, cell, parse_grid, parse_seeds

__all__ = [
    "RESULT_COLUMNS",
    "SweepError",
    "SweepTask",
    "cell",
    "check_table_path",
    "clone_with",
    "estimator_params",
    "parse_grid",
    "parse_seeds",
    "summarize",
    "sweep",
    "valid_keys",
]
