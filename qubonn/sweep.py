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
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from qubonn.errors import QubonnError
from qubonn.options import parse_key_value, parse_value

RESULT_COLUMNS = (
    "train_accuracy",
    "test_accuracy",
    "valid_share",  # the final solve's share of valid reads: 0 means its networks are broken
    "variables",
    "couplings",
    "solves",
    "best_energy",
    "objective",
    "compile_s",
    "solve_s",
    "fit_s",
    "worker",
    "finished",
)
#: BNNClassifier parameters that the sweep itself sets (seeds from ``seeds``) or that are no
#: value of a table cell
_RESERVED = {"seed", "seeds", "random_state", "executor", "verbose", "network", "data"}


class SweepError(QubonnError, ValueError):
    """A sweep is described wrongly (grid, seeds, output file); the message says how to fix it."""


# -- values: CLI text <-> Python <-> table cells -------------------------------------------
def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["margin=0,0.5", "dropout.p=0,0.3"]`` -> ``{"margin": [0, 0.5], "dropout.p": [0, 0.3]}``.

    Values are split at commas and read by :func:`~qubonn.options.parse_value`."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, values = parse_key_value(
            item,
            what="a grid axis",
            example="margin=0,0.5,1 or dropout.p=0,0.3",
            several=True,
            error=SweepError,
        )
        if key in grid:
            raise SweepError(f"grid key {key!r} is given twice; list all its values in one axis")
        grid[key] = values
    return grid


def parse_seeds(text: str) -> int | list[int]:
    """``"10"`` -> 10 (seeds 0..9); ``"0,3,7"`` -> [0, 3, 7]."""
    try:
        if "," in text:
            return [int(s) for s in text.split(",")]
        return int(text)
    except ValueError:
        raise SweepError(
            f"--seeds is a count (e.g. 10) or a list (e.g. 0,3,7); not {text!r}"
        ) from None


def cell(value: Any) -> str:
    """The canonical text of a value, for table cells and resume keys (0 == 0.0 -> "0")."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if math.isfinite(v) and v.is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(v)
    return str(value)


def _typed(column: str, text: str) -> Any:
    if text == "":
        return None
    if column in ("worker", "finished", "network", "data"):
        return text
    return parse_value(text)


def _row_problem(header: Sequence[str], fields: Sequence[str]) -> str:
    """What is wrong with a results row ("" when nothing): every cell there, results readable."""
    if len(fields) != len(header):
        return f"{len(fields)} cells, the header has {len(header)}"
    row = dict(zip(header, fields, strict=True))
    for column in ("train_accuracy", "test_accuracy"):
        text = row.get(column, "")
        if text == "" and column == "test_accuracy":
            continue
        try:
            value = float(text)
        except ValueError:
            return f"{column} is {text!r}, not a number"
        if not 0.0 <= value <= 1.0:
            return f"{column} is {text!r}, not in [0, 1]"
    if "finished" in row:
        try:
            datetime.fromisoformat(row["finished"])
        except ValueError:
            return f"finished is {row['finished']!r}, not a time"
    return ""


# -- what a run is ---------------------------------------------------------------------------
def _flatten(fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Fixed arguments as flat keys: a Dropout/dict -> dropout.*, penalties -> penalties.*
    (the table's columns, one value each)."""
    from qubonn.training import Dropout

    flat: dict[str, Any] = {}
    for key, value in fixed.items():
        if key == "dropout":
            if value is None:
                continue
            fields = value.get_params() if isinstance(value, Dropout) else dict(value)
            flat.update({f"dropout.{k}": v for k, v in fields.items()})
        elif key == "penalties":
            flat.update({f"penalties.{k}": v for k, v in dict(value or {}).items()})
        else:
            flat[key] = value
    return flat


@cache
def _solver_parameters(backend: str) -> frozenset[str]:
    from qubonn.backends import get_backend

    return frozenset(get_backend(backend).parameters)


def estimator_params(base: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """``set_params`` arguments for ``clone(base)`` from flat sweep keys.

    Keys are ``base.get_params(deep=True)`` names (``dropout.p`` spelled with a dot works too);
    ``head__key`` of a dict parameter (penalties, solver_options) sets that key of the dict;
    other keys are options of the solver backend (into ``solver_options``).  Unknown keys raise
    a SweepError that lists the valid ones.  ``dropout__*`` on a classifier without dropout
    starts from ``Dropout()``'s defaults."""
    from qubonn.training import Dropout

    valid = base.get_params(deep=True)
    top: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    dicts: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        name = key.replace(".", "__")
        head, sep, tail = name.partition("__")
        if key in _RESERVED or head in _RESERVED:
            hint = " (give seeds with seeds=/--seeds)" if key in ("seed", "seeds") else ""
            raise SweepError(f"{key!r} cannot be a sweep parameter{hint}; {valid_keys(base)}")
        if sep and head == "dropout":
            if tail not in Dropout.__dataclass_fields__:
                raise SweepError(
                    f"unknown grid key {key!r}; dropout fields: "
                    f"{', '.join(Dropout.__dataclass_fields__)}"
                )
            nested[name] = value
        elif sep and head in valid and (valid[head] is None or isinstance(valid[head], dict)):
            dicts.setdefault(head, dict(valid[head] or {}))[tail] = value
        elif name in valid and not sep:
            top[name] = value
        elif sep:
            raise SweepError(f"unknown grid key {key!r}; {valid_keys(base)}")
        else:
            dicts.setdefault("solver_options", dict(valid["solver_options"] or {}))[name] = value
    backend = str(top.get("backend", valid["backend"]))
    solver = set(dicts.get("solver_options", {})) - set(valid["solver_options"] or {})
    unknown = sorted(solver - _solver_parameters(backend))
    if unknown:
        raise SweepError(
            f"unknown grid key(s) {unknown}: not a classifier parameter nor an option of "
            f"backend {backend!r} ({', '.join(sorted(_solver_parameters(backend)))}); "
            + valid_keys(base)
        )
    if nested and not isinstance(top.get("dropout", valid["dropout"]), Dropout):
        top["dropout"] = Dropout(**dict(top.get("dropout") or valid["dropout"] or {}))
    return {**top, **dicts, **nested}


def valid_keys(base: Any) -> str:
    """The keys a sweep of ``base`` takes, for error messages."""
    names = [k for k in base.get_params(deep=False) if k not in _RESERVED]
    return (
        f"valid keys: {', '.join(names)}, dropout.<p|rounds|eta|variant|scale|batch_size>, "
        "penalties.<and|sign|tie>, or an option of the backend (e.g. num_sweeps)"
    )


@dataclass(frozen=True)
class SweepTask:
    """One run: the flat parameters (grid point and fixed values, the row's columns), their
    ``set_params`` arguments, the seed, and the GPUs the solve may want (backend, options)."""

    params: tuple[tuple[str, Any], ...]
    set_params: tuple[tuple[str, Any], ...]
    seed: int
    backend: str
    solver_options: tuple[tuple[str, Any], ...]

    def estimator(self, base: Any) -> Any:
        """The classifier of this run: ``clone(base).set_params(...)`` with its seed."""
        return clone_with(base, dict(self.set_params)).set_params(random_state=self.seed)


def _fit_one(task: SweepTask, shared: tuple[Any, Any]) -> dict[str, Any]:
    """Train and score one classifier (runs in a worker)."""
    base, data = shared
    t0 = time.perf_counter()
    clf = task.estimator(base)
    clf.fit(data.X_train, data.y_train)
    fit_s = time.perf_counter() - t0
    final = clf.history_[-1]
    return {
        "train_accuracy": clf.score(data.X_train, data.y_train),
        "test_accuracy": clf.score(data.X_test, data.y_test) if len(data.y_test) else None,
        "valid_share": final["valid_share"],
        "variables": final["variables"],
        "couplings": final["couplings"],
        "solves": len(clf.history_),
        "best_energy": final["best_energy"],
        "objective": final["objective"],
        "compile_s": sum(h.get("compile_s", 0.0) for h in clf.history_),
        "solve_s": sum(h["solve_s"] for h in clf.history_),
        "fit_s": fit_s,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


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


# -- the results table -----------------------------------------------------------------------
#: the results file formats, by suffix
TABLE_SUFFIXES = (".csv", ".parquet")


def check_table_path(path: str | os.PathLike) -> Path:
    """The results path, if its suffix names a format the sweep writes (never CSV text in a
    file called .xlsx or .json)."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise SweepError(
            f"--out {path}: the results table is written as .csv or .parquet, not "
            f"{path.suffix or 'a file without a suffix'}; name it e.g. {path.with_suffix('.csv')}"
        )
    return path


class _Table:
    """Reads finished rows and appends new ones, for .csv (in place) and .parquet (journal)."""

    def __init__(self, path: Path, columns: list[str], key_columns: list[str]):
        self.path = path
        self.columns = columns
        self.key_columns = key_columns
        self.parquet = path.suffix.lower() == ".parquet"
        if self.parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise SweepError(
                    f"writing {path} needs pyarrow (pip install pyarrow); or use a .csv path"
                ) from None
        self.journal = path.with_name(path.name + ".partial.csv") if self.parquet else path
        existing = self._header()
        if existing is not None:
            self._check_header(existing[0], existing[1])
            self.columns = list(existing[1])  # same columns, maybe in another order: keep it

    def _header(self) -> tuple[Path, list[str]] | None:
        if self.parquet and self.path.exists():
            import pyarrow.parquet as pq

            return self.path, list(pq.read_schema(self.path).names)
        if self.journal.exists() and self.journal.stat().st_size > 0:
            with open(self.journal, newline="") as f:
                return self.journal, next(csv.reader(f), [])
        return None

    @staticmethod
    def remove(path: Path) -> None:
        """Start over: delete earlier results (and a Parquet file's journal)."""
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".partial.csv").unlink(missing_ok=True)

    def _read_csv(self, path: Path) -> list[dict[str, Any]]:
        """The finished rows; a torn last row (a run cut off while its row was written) is cut
        from the file with a warning, so that it is redone; a damaged row elsewhere is an
        error naming its line."""
        if not path.exists() or path.stat().st_size == 0:
            return []
        self._cut_torn_tail(path)
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            self._check_header(path, header)
            rows = []
            for fields in reader:
                problem = _row_problem(header, fields)
                if problem:
                    raise SweepError(
                        f"{path}: line {reader.line_num}: damaged row ({problem}); repair or "
                        "delete that line, or start over with --restart"
                    )
                rows.append({c: _typed(c, v) for c, v in zip(header, fields, strict=True)})
            return rows

    @staticmethod
    def _cut_torn_tail(path: Path) -> None:
        """Rows end with a line break (written and synced whole); text after the last one is
        a torn row.  Cut it so the rerun's row starts on a line of its own."""
        data = path.read_bytes()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        if keep == 0:  # not even a whole header: let the header check speak
            return
        torn = data[keep:].decode("utf-8", "replace")
        with open(path, "r+b") as f:
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        warnings.warn(
            f"{path}: its last row was cut off ({torn[:60]!r}...) and is not counted as done; "
            "that run is redone",
            stacklevel=4,
        )

    def _check_header(self, path: Path, header: Sequence[str]) -> None:
        if sorted(header) != sorted(self.columns):
            missing = [c for c in self.columns if c not in header]
            extra = [c for c in header if c not in self.columns]
            raise SweepError(
                f"{path} holds another sweep's results (its columns differ: missing {missing}, "
                f"extra {extra}); choose another --out, or delete the file to start over"
            )

    def read(self) -> list[dict[str, Any]]:
        rows = []
        if self.parquet and self.path.exists():
            import pyarrow.parquet as pq

            table = pq.read_table(self.path)
            self._check_header(self.path, table.column_names)
            rows = table.to_pylist()
        return rows + self._read_csv(self.journal)

    def key(self, row: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(cell(row.get(c)) for c in self.key_columns)

    def append(self, row: Mapping[str, Any]) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        new = not self.journal.exists() or self.journal.stat().st_size == 0
        with open(self.journal, "a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(self.columns)
            writer.writerow([cell(row.get(c)) for c in self.columns])
            f.flush()
            os.fsync(f.fileno())

    def finish(self) -> None:
        """Merge the journal into the Parquet file (atomically); CSV needs nothing."""
        if not self.parquet or not self.journal.exists():
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = self.read()
        arrays = {}
        for c in self.columns:
            values = [r.get(c) for r in rows]
            try:
                arrays[c] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep the text
                arrays[c] = pa.array([None if v is None else cell(v) for v in values])
        tmp = self.path.with_name(self.path.name + ".tmp")
        pq.write_table(pa.table(arrays), tmp)
        os.replace(tmp, self.path)
        self.journal.unlink()


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


def _none_as_text(base: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line text reads ``none`` as None; for a parameter whose values are words
    (``margin_scale=none``, ``dropout.scale=none``) it is the word "none"."""
    from qubonn.training import Dropout

    words = {f"dropout__{k}": v for k, v in Dropout().get_params().items()}
    words.update(base.get_params(deep=True))
    return {
        key: "none"
        if value is None and isinstance(words.get(key.replace(".", "__")), str)
        else value
        for key, value in params.items()
    }


def clone_with(base: Any, set_params: Mapping[str, Any]) -> Any:
    """``clone(base).set_params(...)`` on a deep copy of the values: nested ``set_params``
    (``dropout__p``) changes the Dropout it is given in place, so tasks must not share one."""
    import copy

    from sklearn.base import clone

    return clone(base).set_params(**copy.deepcopy(dict(set_params)))


def _describe(point: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={cell(v)}" for k, v in point.items()) or "(no grid)"


def summarize(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Mean and spread of test (and train) accuracy, and the mean valid share, per grid point,
    over seeds."""
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(cell(r.get(k)) for k in keys), []).append(r)
    out = []
    for key, group in groups.items():
        test = [float(r["test_accuracy"]) for r in group if r.get("test_accuracy") is not None]
        train = [float(r["train_accuracy"]) for r in group]
        valid = [float(r["valid_share"]) for r in group if r.get("valid_share") not in (None, "")]
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                "runs": len(group),
                "valid_mean": float(np.mean(valid)) if valid else None,
                "train_mean": float(np.mean(train)),
                "test_mean": float(np.mean(test)) if test else None,
                "test_std": float(np.std(test)) if test else None,
            }
        )
    return out
