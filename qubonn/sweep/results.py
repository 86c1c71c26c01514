"""The results table: one row per run, appended as runs finish, read back to resume."""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qubonn.sweep.values import SweepError, _row_problem, _typed, cell

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
