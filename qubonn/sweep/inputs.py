"""A sweep's inputs: the network, the data set, the seeds and the grid points, checked."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from qubonn.sweep.values import SweepError


# -- inputs ----------------------------------------------------------------------------------
def _network(spec_or_network: Any) -> tuple[Any, str]:
    import qubonn
    from qubonn.network import Network

    if isinstance(spec_or_network, Network):
        digest = hashlib.sha1(spec_or_network.to_text().encode()).hexdigest()[:10]
        return spec_or_network, f"network-{digest}"
    if isinstance(spec_or_network, str | os.PathLike):
        return qubonn.load_spec(spec_or_network), str(spec_or_network)
    raise TypeError(f"sweep needs a spec path or a Network, not {type(spec_or_network).__name__}")


def _dataset(data: Any) -> Any:
    from qubonn import datasets

    if isinstance(data, datasets.Dataset):
        return data
    if isinstance(data, str):
        return datasets.load_data(data)
    if isinstance(data, Mapping):
        return datasets.digits(**data)
    if isinstance(data, tuple) and len(data) == 4:
        X_train, y_train, X_test, y_test = (np.asarray(a) for a in data)
        classes = tuple(int(c) for c in np.unique(np.concatenate([y_train, y_test])))
        return datasets.Dataset(X_train, y_train, X_test, y_test, classes, "arrays")
    raise TypeError(
        "data must be a Dataset, a data set name (e.g. 'digits:3,8'), a dict of "
        "qubonn.datasets.digits arguments, or (X_train, y_train, X_test, y_test)"
    )


def _data_label(data: Any) -> str:
    return f"{data.name} train={len(data.y_train)} test={len(data.y_test)}"


#: training runs one sweep may plan (grid points x seeds): a bound far above any real sweep,
#: checked before the run list is built (``--seeds 1000000000`` once built a billion-element list)
MAX_RUNS = 100_000


def _too_many_runs(runs: int, what: str) -> SweepError:
    return SweepError(
        f"{what} make {runs:,} training runs, over the limit of {MAX_RUNS:,} per sweep; "
        "use fewer seeds or grid values, or split the sweep (one --out keeps all rows)"
    )


def _seeds(seeds: int | Iterable[int]) -> list[int]:
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise SweepError(f"seeds must be a count >= 1 or a list of seeds, not {seeds}")
        if seeds > MAX_RUNS:
            raise _too_many_runs(int(seeds), f"{seeds:,} seeds")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise SweepError(f"seeds must be distinct integers >= 0, not {out}")
    return out


def _grid_points(grid: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The grid's points, by scikit-learn's ParameterGrid (a scalar is a one-value axis)."""
    from sklearn.model_selection import ParameterGrid

    axes = {}
    for key, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Iterable):
            values = [values]
        values = list(values)
        if not values:
            raise SweepError(f"grid axis {key!r} has no values")
        axes[key] = values
    grid_points = ParameterGrid(axes)
    if len(grid_points) > MAX_RUNS:
        raise _too_many_runs(len(grid_points), f"the grid's {len(axes)} axes")
    return list(grid_points)
