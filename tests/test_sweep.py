"""Sweeps: grid parsing, validation, results tables, resume after interruption, executors, CLI."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import qubonn
from qubonn.cli import main
from qubonn.distributed import ProcessExecutor
from qubonn.options import parse_value
from qubonn.sweep import (
    RESULT_COLUMNS,
    SweepError,
    cell,
    estimator_params,
    parse_grid,
    parse_seeds,
    summarize,
    sweep,
)
from qubonn.training import Dropout

SPEC = "input x[4]\nhidden h[2] <- x\noutput y[1] <- h"
FIXED = {"backend": "neal", "num_reads": 2, "num_sweeps": 30}
#: columns that differ between two runs of the same task (times, where, when)
VOLATILE = {"compile_s", "solve_s", "fit_s", "worker", "finished"}


def _data():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(14, 4)).astype(np.int8)
    y = (X[:, 0] + X[:, 1] + X[:, 2] > 0).astype(int)
    return X[:8], y[:8], X[8:], y[8:]


def _stable(rows):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- parsing and validation ----------------------------------------------------------------
def test_parse_values_grid_and_seeds():
    assert [parse_value(t) for t in ("0", "0.5", "true", "None", "hinge", " 2 ")] == [
        0,
        0.5,
        True,
        None,
        "hinge",
        2,
    ]
    assert parse_grid(["margin=0,0.5,1", "dropout.p=0,0.3", "loss=hinge"]) == {
        "margin": [0, 0.5, 1],
        "dropout.p": [0, 0.3],
        "loss": ["hinge"],
    }
    assert parse_seeds("3") == 3 and parse_seeds("0,4,7") == [0, 4, 7]
    for bad, match in [
        (["margin"], "KEY=V1,V2"),
        (["=1"], "KEY=V1,V2"),
        (["margin="], "KEY=V1,V2"),
        (["margin=0,,1"], "empty value"),
        (["margin=0", "margin=1"], "given twice"),
    ]:
        with pytest.raises(SweepError, match=match):
            parse_grid(bad)
    with pytest.raises(SweepError, match="--seeds is a count"):
        parse_seeds("a")


def test_cells_are_canonical():
    assert cell(0) == cell(0.0) == cell(np.int64(0)) == "0"
    assert cell(0.3) == "0.3" and cell(None) == "" and cell(True) == "true"
    assert cell(parse_value(cell(1e-7))) == cell(1e-7)


def test_estimator_params_map_flat_keys_and_reject_unknown_ones():
    base = qubonn.BNNClassifier(qubonn.parse(SPEC), backend="neal")
    kw = estimator_params(
        base, {"margin": 0.5, "dropout.p": 0.3, "penalties.sign": 9, "num_sweeps": 5}
    )
    dropout = kw.pop("dropout")
    assert isinstance(dropout, Dropout) and dropout == Dropout()
    assert kw == {
        "margin": 0.5,
        "penalties": {"sign": 9},
        "solver_options": {"num_sweeps": 5},
        "dropout__p": 0.3,
    }
    # the double underscore (sklearn's spelling) means the same; a parameter added to the
    # classifier is a sweep key with no list to update
    assert estimator_params(base, {"dropout__p": 0.3})["dropout__p"] == 0.3
    assert estimator_params(base, {"n_jobs": 2, "input_threshold": 0.5}) == {
        "n_jobs": 2,
        "input_threshold": 0.5,
    }
    for key, match in [
        ("foo", "unknown grid key.*'foo'.*backend 'neal'"),
        ("dropout.q", "dropout fields: p, rounds"),
        ("seed", "give seeds with"),
        ("random_state", "cannot be a sweep parameter"),
        ("executor", "cannot be a sweep parameter"),
    ]:
        with pytest.raises(SweepError, match=match):
            estimator_params(base, {key: 1})


def test_grid_points_set_the_classifier_by_set_params(tmp_path):
    """Every grid point is clone(base).set_params(point): margin is fan-in scaled, as in
    qubonn train (before, a sweep's margin=0.2 was unscaled), and a nested dropout field or a
    penalty reaches the classifier."""
    from qubonn.sweep import SweepTask
    from qubonn.sweep.driver import _tasks

    base = qubonn.BNNClassifier(qubonn.parse(SPEC))
    (task,) = _tasks(base, [{"margin": 0.2, "dropout.p": 0.25}], {"penalties.sign": 7}, [3])
    assert isinstance(task, SweepTask) and task.seed == 3
    clf = task.estimator(base)
    assert clf.random_state == 3 and clf.dropout.p == 0.25
    settings = clf.check_params()
    assert settings.objective.margin_scale == "fan_in" and settings.objective.margin == 0.2
    assert settings.objective.penalties == {"sign": 7}
    assert base.dropout is None and base.margin == "auto"  # the base is never changed
    with pytest.raises(SweepError, match="penalties.x.*unknown penalty"):
        _tasks(base, [{"penalties.x": 1}], {}, [0])
    # the CLI reads "none" as None: for a parameter of words it is the word (before: refused)
    grid = parse_grid(["margin_scale=fan_in,none", "dropout.scale=none"])
    assert grid == {"margin_scale": ["fan_in", None], "dropout.scale": [None]}
    points = [{"margin_scale": v, "dropout.scale": None} for v in grid["margin_scale"]]
    tasks = _tasks(base, points, {}, [0])
    assert [dict(t.params)["margin_scale"] for t in tasks] == ["fan_in", "none"]
    assert tasks[1].estimator(base).check_params().objective.margin_scale == "none"
    assert tasks[1].estimator(base).dropout.scale == "none"


def test_bad_grid_points_fail_before_any_run(tmp_path):
    net = qubonn.parse(SPEC)
    with pytest.raises(SweepError, match="grid point margin=-1: margin"):
        sweep(net, {"margin": [0, -1]}, data=_data(), out=tmp_path / "r.csv", **FIXED)
    with pytest.raises(SweepError, match="both swept"):
        sweep(net, {"num_sweeps": [1, 2]}, data=_data(), **FIXED)
    with pytest.raises(SweepError, match="distinct integers"):
        sweep(net, {}, seeds=[1, 1], data=_data(), **FIXED)
    assert not (tmp_path / "r.csv").exists()


# -- running ---------------------------------------------------------------------------------
def test_sweep_rows_and_table(tmp_path):
    out = tmp_path / "r.csv"
    grid = {"margin": [0, 0.5], "dropout.p": [0.0, 0.5]}
    rows = sweep(
        qubonn.parse(SPEC),
        grid,
        seeds=2,
        data=_data(),
        out=out,
        **{"dropout.rounds": 2, "dropout.variant": "independent"},
        **FIXED,
    )
    assert len(rows) == 8
    assert [(r["margin"], r["dropout.p"], r["seed"]) for r in rows[:3]] == [
        (0, 0.0, 0),
        (0, 0.0, 1),
        (0.5, 0.0, 0),
    ]  # ParameterGrid's order: keys sorted, the last one (margin) changing fastest
    for r in rows:
        assert 0 <= r["train_accuracy"] <= 1 and 0 <= r["test_accuracy"] <= 1
        assert r["solves"] == 3  # two dropout rounds and the final fit
        assert r["variables"] > 0 and r["couplings"] > 0 and r["fit_s"] > 0
    table = _read(out)
    assert len(table) == 8
    assert list(table[0])[:4] == ["network", "data", "margin", "dropout.p"]
    assert set(RESULT_COLUMNS) <= set(table[0]) and "num_sweeps" in table[0]
    # the table holds what the classifier gives when trained directly
    clf = qubonn.BNNClassifier(
        qubonn.parse(SPEC),
        margin=0.5,
        dropout={"p": 0.5, "rounds": 2, "variant": "independent"},
        random_state=1,
        backend="neal",
        num_reads=2,
        solver_options={"num_sweeps": 30},
    )
    X, y, Xt, yt = _data()
    clf.fit(X, y)
    row = rows[7]
    assert (row["margin"], row["dropout.p"], row["seed"]) == (0.5, 0.5, 1)
    assert row["test_accuracy"] == clf.score(Xt, yt)
    assert row["best_energy"] == clf.history_[-1]["best_energy"]
    assert float(table[7]["test_accuracy"]) == clf.score(Xt, yt)


def test_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path):
    net, grid, out = qubonn.parse(SPEC), {"margin": [0, 0.25, 0.5]}, tmp_path / "r.csv"
    full = sweep(net, grid, seeds=2, data=_data(), **FIXED)

    def stop_after_two(row, done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(net, grid, seeds=2, data=_data(), out=out, progress=stop_after_two, **FIXED)
    assert len(_read(out)) == 2  # what finished was kept

    ran = []
    rows = sweep(
        net, grid, seeds=2, data=_data(), out=out, progress=lambda r, *_: ran.append(r), **FIXED
    )
    assert len(ran) == 4 and len(_read(out)) == 6
    assert _stable(rows) == _stable(full)  # resumed rows read back from the file are the same
    # nothing left to do; a wider grid runs only the new points; --restart starts over
    again = []
    sweep(net, grid, seeds=2, data=_data(), out=out, progress=lambda *a: again.append(a), **FIXED)
    assert again == []
    more = []
    grid2 = {"margin": [0, 0.25, 0.5, 1]}
    rows = sweep(
        net, grid2, seeds=3, data=_data(), out=out, progress=lambda *a: more.append(a), **FIXED
    )
    assert len(more) == 12 - 6 and len(rows) == 12 and len(_read(out)) == 12
    sweep(net, grid, seeds=1, data=_data(), out=out, resume=False, **FIXED)
    assert len(_read(out)) == 3


def test_resume_redoes_a_torn_last_row(tmp_path):
    net, grid, out = qubonn.parse(SPEC), {"margin": [0]}, tmp_path / "r.csv"
    sweep(net, grid, seeds=2, data=_data(), out=out, **FIXED)
    lines = out.read_bytes().splitlines(keepends=True)
    torn = lines[-1][: len(lines[-1]) // 2 + 20]  # keys whole, results cut off, no line break
    assert not torn.endswith(b"\n")
    out.write_bytes(b"".join(lines[:-1]) + torn)
    ran = []
    with pytest.warns(UserWarning, match="cut off"):
        rows = sweep(
            net,
            grid,
            seeds=2,
            data=_data(),
            out=out,
            progress=lambda r, *_: ran.append(r),
            **FIXED,
        )
    assert [r["seed"] for r in ran] == [1]
    table = _read(out)
    assert [int(r["seed"]) for r in table] == [0, 1] and len(rows) == 2
    assert all(r["finished"] for r in table)


def test_resume_refuses_a_damaged_row_with_its_line(tmp_path):
    net, grid, out = qubonn.parse(SPEC), {"margin": [0]}, tmp_path / "r.csv"
    sweep(net, grid, seeds=2, data=_data(), out=out, **FIXED)
    lines = out.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(",", ",,", 1)  # one cell too many
    out.write_text("".join(lines))
    with pytest.raises(SweepError, match=r"r\.csv: line 2: damaged row"):
        sweep(net, grid, seeds=2, data=_data(), out=out, **FIXED)


def test_resume_refuses_another_sweeps_table(tmp_path):
    out = tmp_path / "r.csv"
    net = qubonn.parse(SPEC)
    sweep(net, {"margin": [0]}, data=_data(), out=out, **FIXED)
    with pytest.raises(SweepError, match="another sweep's results"):
        sweep(net, {"hard_margin": [0]}, data=_data(), out=out, **FIXED)


def test_process_pool_sweep_matches_local():
    net, grid = qubonn.parse(SPEC), {"margin": [0, 0.5]}
    local = sweep(net, grid, seeds=2, data=_data(), **FIXED)
    with ProcessExecutor(workers=2) as ex:
        pooled = sweep(net, grid, seeds=2, data=_data(), executor=ex, **FIXED)
    assert _stable(pooled) == _stable(local)
    assert len({r["worker"] for r in pooled}) >= 1


def test_parquet_results(tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    import pyarrow.parquet as pq

    out = tmp_path / "r.parquet"
    net = qubonn.parse(SPEC)

    def stop(row, done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(net, {"margin": [0, 0.5]}, data=_data(), out=out, progress=stop, **FIXED)
    assert pq.read_table(out).num_rows == 1  # merged from the journal on interrupt
    assert not (tmp_path / "r.parquet.partial.csv").exists()
    rows = sweep(net, {"margin": [0, 0.5]}, data=_data(), out=out, **FIXED)
    table = pq.read_table(out).to_pylist()
    assert len(table) == 2 and _stable(table) == _stable(rows)


def test_parquet_without_pyarrow_says_what_to_do(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(SweepError, match="needs pyarrow"):
        sweep(qubonn.parse(SPEC), {}, data=_data(), out=tmp_path / "r.parquet", **FIXED)


# -- command line ----------------------------------------------------------------------------
@pytest.fixture()
def files(tmp_path):
    spec = tmp_path / "net.qnn"
    spec.write_text(SPEC + "\n")
    X, y, Xt, yt = _data()
    data = tmp_path / "d.npz"
    np.savez(data, X=np.concatenate([X, Xt]), y=np.concatenate([y, yt]))
    return spec, data


def test_cli_sweep_runs_and_resumes(files, tmp_path, capsys):
    spec, data = files
    out = tmp_path / "r.csv"
    argv = [
        "sweep", str(spec), "--grid", "margin=0,0.5", "dropout.p=0,0.5", "--seeds", "2",
        "--set", "dropout.rounds=2", "num_sweeps=30", "--backend", "neal", "--reads", "2",
        "--data", str(data), "--test", "0.4", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "[8/8]" in text and "8 runs in" in text and "margin  dropout.p  runs" in text
    assert len(_read(out)) == 8
    assert main(argv) == 0
    assert "[" not in capsys.readouterr().out.split("margin")[0]  # nothing ran again


def test_cli_sweep_redoes_a_torn_row_with_a_warning(files, tmp_path, capsys):
    spec, data = files
    out = tmp_path / "r.csv"
    argv = [
        "sweep", str(spec), "--seeds", "2", "--set", "num_sweeps=30", "--backend", "neal",
        "--reads", "2", "--data", str(data), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    text = out.read_text()
    out.write_text(text[: len(text) - 40])  # the last row torn
    capsys.readouterr()
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "qubonn sweep: warning: " in captured.err and "cut off" in captured.err
    assert "[2/2]" in captured.out and len(_read(out)) == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--grid", "foo=1,2"], "unknown grid key(s) ['foo']"),
        (["--set", "progress=1"], "--set progress: 'progress' cannot be a sweep parameter"),
        (["--set", "out=x.csv"], "--set out: 'out' cannot be a sweep parameter"),
        (["--grid", "margin"], "a grid axis is KEY=V1,V2"),
        (["--grid", "dropout.q=1"], "unknown grid key 'dropout.q'"),
        (["--seeds", "x"], "--seeds is a count"),
        (["--set", "num_sweeps=1,2"], "--set num_sweeps takes one value"),
        (["--address", "auto"], "--address applies to --executor ray"),
        (["--workers", "2"], "--workers applies to --executor process"),
    ],
)
def test_cli_bad_input_is_one_line(files, tmp_path, capsys, extra, message):
    spec, data = files
    argv = ["sweep", str(spec), "--data", str(data), "--backend", "neal"]
    assert main(argv + ["--out", str(tmp_path / "r.csv"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_ray_missing_is_one_line(files, tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)
    spec, data = files
    argv = ["sweep", str(spec), "--data", str(data), "--backend", "neal", "--executor", "ray"]
    assert main(argv + ["--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'ray>=2.9'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "grid, seeds, fragment",
    [
        ({"margin": [0.0]}, 10**9, "1,000,000,000 seeds make 1,000,000,000 training runs"),
        ({"margin": list(range(400)), "eta": list(range(400))}, 1, "160,000 training runs"),
        ({"margin": list(range(1000))}, 200, "1,000 grid points x 200 seeds"),
    ],
)
def test_a_sweep_over_the_run_limit_is_refused_before_planning(tmp_path, grid, seeds, fragment):
    with pytest.raises(SweepError, match=fragment):
        sweep(qubonn.parse(SPEC), grid, seeds=seeds, data=_data(), out=tmp_path / "s.csv")


@pytest.mark.parametrize("name", ["s.xlsx", "s.json", "results"])
def test_sweep_refuses_an_out_it_cannot_write_in_its_format(tmp_path, capsys, name):
    spec = tmp_path / "net.qnn"
    spec.write_text(SPEC)
    out = tmp_path / name
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    assert "written as .csv or .parquet" in capsys.readouterr().err
    assert not out.exists()


def test_sweep_rows_and_summary_carry_the_valid_share(tmp_path):
    out = tmp_path / "s.csv"
    rows = sweep(qubonn.parse(SPEC), {"margin": [0.0]}, seeds=2, data=_data(), out=out,
                 backend="native", num_reads=2, num_sweeps=30)
    assert all(float(r["valid_share"]) == 1.0 for r in rows)
    assert "valid_share" in _read(out)[0]
    (point,) = summarize(rows, ["margin"])
    assert point["valid_mean"] == 1.0
    broken = [{**rows[0], "valid_share": 0.0}, rows[1]]
    assert summarize(broken, ["margin"])[0]["valid_mean"] == 0.5
