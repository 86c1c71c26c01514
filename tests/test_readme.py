"""The README's Python example runs as written (save and load a model included)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_shows_how_to_load_a_model():
    code = "\n".join(_python_blocks())
    assert "qubonn.load_model(" in code and ".save(" in code


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for block in _python_blocks():
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    assert (tmp_path / "model.json").exists()
