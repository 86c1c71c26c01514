"""The sweep itself: the tasks of a grid, run on an executor, written as they finish."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from qubonn.sweep.inputs import (
    MAX_RUNS,
    _data_label,
    _dataset,
    _grid_points,
    _network,
    _seeds,
    _too_many_runs,
)
from qubonn.sweep.results import RESULT_COLUMNS, _Table, check_table_path
from qubonn.sweep.runs import (
    SweepTask,
    _describe,
    _fit_one,
    _flatten,
    _none_as_text,
    clone_with,
    estimator_params,
)
from qubonn.sweep.values import SweepError


# -- the sweep -------------------------------------------------------------------------------
def sweep(
    spec_or_network: Any,
    grid: Mapping[str, Sequence[Any]],
    seeds: int | Iterable[int] = 1,
    *,
    data: Any = "digits",
    executor: Any = None,
    executor_options: Mapping[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = True,
    progress: Callable[[dict[str, Any], int, int], None] | None = None,
    **fixed: Any,
) -> list[dict[str, Any]]:
    """Train one classifier per grid point and seed; returns the rows (task order).

    spec_or_network: a .qnn path or a Network;
    grid:       {key: [values]}; keys as in the module docstring;
    seeds:      a count n (seeds 0..n-1) or a list; each is the classifier's ``random_state``;
    data:       a Dataset, a name for qubonn.datasets.load_data ("digits:3,8"), a dict of
                qubonn.datasets.digits arguments, or (X_train, y_train, X_test, y_test);
    executor:   "local" (default), "process", "ray", or an executor instance (not closed here);
    executor_options: options for a named executor (e.g. {"address": "auto"});
    out:        results file (.csv, or .parquet with pyarrow); rows are appended as runs finish;
    resume:     skip runs whose row (same parameters and seed) is already in ``out``; False
                deletes ``out`` first and starts over;
    progress:   called as progress(row, done, total) after each finished run;
    **fixed:    classifier parameters held fixed, the grid's keys (backend="neal",
                num_sweeps=200, dropout=Dropout(...), ...).
    """
    from qubonn.distributed import get_executor, gpus_for
    from qubonn.training import BNNClassifier

    if out is not None:
        check_table_path(out)
    network, network_label = _network(spec_or_network)
    dataset = _dataset(data)
    seed_list = _seeds(seeds)
    points = _grid_points(grid)
    if len(points) * len(seed_list) > MAX_RUNS:
        raise _too_many_runs(
            len(points) * len(seed_list), f"{len(points):,} grid points x {len(seed_list)} seeds"
        )
    flat_fixed = _flatten(fixed)
    both = sorted(set(grid) & set(flat_fixed))
    if both:
        raise SweepError(f"{both} are both swept (grid) and fixed; give each key once")
    param_columns = list(grid) + sorted(flat_fixed)
    key_columns = ["network", "data", *param_columns, "seed"]
    columns = key_columns + list(RESULT_COLUMNS)

    base_estimator = BNNClassifier(network)
    tasks = _tasks(base_estimator, points, flat_fixed, seed_list)
    label = {"network": network_label, "data": _data_label(dataset)}

    def row_of(task: SweepTask, result: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**label, **dict(task.params), "seed": task.seed, **(result or {})}

    table = None
    if out is not None:
        if not resume:
            _Table.remove(Path(out))
        table = _Table(Path(out), columns, key_columns)
    done: dict[tuple[str, ...], dict[str, Any]] = {}
    if table is not None:
        for r in table.read():
            done[table.key(r)] = r
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    todo: list[int] = []
    for i, task in enumerate(tasks):
        key = table.key(row_of(task, None)) if table is not None else None
        if key is not None and key in done:
            rows[i] = done[key]
        else:
            todo.append(i)

    owned = executor is None or isinstance(executor, str)
    ex = get_executor(executor, **dict(executor_options or {}))
    finished = len(tasks) - len(todo)
    stream: Any = None
    try:
        if todo:
            cluster_gpus = ex.gpus() if hasattr(ex, "gpus") else 0.0

            def gpus(task: SweepTask) -> float:
                return gpus_for(task.backend, dict(task.solver_options), cluster_gpus)

            items = [tasks[i] for i in todo]
            if hasattr(ex, "imap_unordered"):
                stream = ex.imap_unordered(
                    _fit_one, items, shared=(base_estimator, dataset), num_gpus=gpus
                )
            else:  # a plain map-only executor: rows arrive at the end
                stream = enumerate(
                    list(ex.map(partial(_fit_one, shared=(base_estimator, dataset)), items))
                )
            for j, result in stream:
                i = todo[j]
                row = row_of(tasks[i], result)
                rows[i] = row
                if table is not None:
                    table.append(row)
                finished += 1
                if progress is not None:
                    progress(row, finished, len(tasks))
    finally:
        try:
            if hasattr(stream, "close"):
                stream.close()  # stop the executor's tasks now (Ctrl-C, an error), not at gc
            if table is not None:
                table.finish()
        finally:
            if owned:
                ex.close()
    return [r for r in rows if r is not None]


def _tasks(
    base: Any, points: list[dict[str, Any]], fixed: dict[str, Any], seeds: list[int]
) -> list[SweepTask]:
    """One task per grid point and seed; every point is checked here (``check_params``),
    before any work is shipped."""
    tasks: list[SweepTask] = []
    for point in points:
        params = _none_as_text(base, {**point, **fixed})
        set_params = estimator_params(base, params)
        try:
            clf = clone_with(base, set_params)
            clf.check_params()
        except SweepError:
            raise
        except (ValueError, TypeError) as e:
            raise SweepError(f"grid point {_describe(point)}: {e}") from None
        items = tuple(set_params.items())
        options = tuple(dict(clf.solver_options or {}).items())
        tasks.extend(
            SweepTask(tuple(params.items()), items, s, str(clf.backend), options) for s in seeds
        )
    return tasks
