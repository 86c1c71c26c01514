"""The command line: subcommand discovery, error handling, and ``qubonn check``."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import qubonn.commands
from qubonn.cli import build_parser, main

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.qnn"))


def test_check_valid_files(capsys):
    assert main(["check", *map(str, EXAMPLES)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for path in EXAMPLES:
        assert f"{path}: ok" in out
    digits = out.split(f"{ROOT / 'examples' / 'digits.qnn'}: ok\n")[1].splitlines()[:2]
    assert digits == [
        "  inputs 64, neurons 5 (hidden 4, outputs 1)",
        "  arcs 260, biases 5, parameters 265, fan-in 5..65",
    ]


def test_check_invalid_file_message_format(tmp_path, capsys):
    bad = tmp_path / "bad.qnn"
    bad.write_text("input x[4]\nhidden h[2] <- x\noutput y[1] <- h, q\n")
    assert main(["check", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"qubonn check: error: {bad}:3:19: 'q' is not defined (defined: h, x, y)",
        "    output y[1] <- h, q",
        "                      ^",
    ]


def test_check_mixed_files_reports_all(tmp_path, capsys):
    bad = tmp_path / "bad.qnn"
    bad.write_text("input x[4]\noutput y[1] <- x,\n")
    missing = tmp_path / "missing.qnn"
    assert main(["check", str(bad), str(EXAMPLES[0]), str(missing)]) == 2
    out, err = capsys.readouterr()
    assert f"{EXAMPLES[0]}: ok" in out
    assert f"{bad}:2:18: unexpected end of line" in err
    assert f"{missing}: no such spec file" in err
    assert "2 of 3 files have errors" in err
    assert "Traceback" not in err


def test_usage_errors_return_2(capsys):
    assert main([]) == 2
    assert "usage: qubonn" in capsys.readouterr().err
    assert main(["check"]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["--help"]) == 0


def test_every_command_module_is_discovered():
    modules = sorted(
        m.name for m in pkgutil.iter_modules(qubonn.commands.__path__) if not m.name.startswith("_")
    )
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == modules
    assert "check" in modules


def test_broken_command_and_qubonn_errors(tmp_path, monkeypatch, capsys):
    (tmp_path / "zzbroken.py").write_text("raise ImportError('needs the foo package')\n")
    (tmp_path / "zzfails.py").write_text(
        "from qubonn.errors import DataError\n"
        "def add_parser(sub):\n"
        "    p = sub.add_parser('zzfails')\n"
        "    p.set_defaults(func=run)\n"
        "def run(args):\n"
        "    raise DataError('data.csv: line 3 is bad; fix it')\n"
    )
    monkeypatch.setattr(qubonn.commands, "__path__", [*qubonn.commands.__path__, str(tmp_path)])
    assert main(["check", str(EXAMPLES[0])]) == 0  # a broken module does not hide the others
    capsys.readouterr()
    assert main(["zzbroken"]) == 2
    assert "needs the foo package" in capsys.readouterr().err
    assert main(["zzfails"]) == 2
    err = capsys.readouterr().err
    assert err == "qubonn zzfails: error: data.csv: line 3 is bad; fix it\n"
    for name in ("zzbroken", "zzfails"):
        sys.modules.pop(f"qubonn.commands.{name}", None)


def test_installed_script_runs_check():
    script = Path(sys.executable).parent / "qubonn"
    if not script.exists():
        pytest.skip(f"no installed qubonn script next to {sys.executable}")
    result = subprocess.run(
        [str(script), "check", *map(str, EXAMPLES)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok\n") == len(EXAMPLES)


def test_every_command_writes_errors_in_one_style(tmp_path, capsys):
    """``qubonn COMMAND: error: ...`` whatever the command and the error (argparse's style)."""
    bad = tmp_path / "bad.qnn"
    bad.write_text("input x[4]\noutput y[1] <- q\n")
    model = tmp_path / "m.json"
    model.write_text("{}")
    data = tmp_path / "x.csv"
    data.write_text("1,0\n")
    cases = [
        ["check", str(bad)],
        ["train", str(bad), "--quiet"],
        ["compile", str(bad)],
        ["sweep", str(bad), "--out", str(tmp_path / "r.csv")],
        ["evaluate", str(model)],
        ["predict", str(model), str(data)],
        ["crossval", str(tmp_path / "none.npz")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        first = capsys.readouterr().err.splitlines()[0]
        assert first.startswith(f"qubonn {argv[0]}: error: "), first
