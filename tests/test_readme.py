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


def test_training_doc_names_only_settings_and_attributes_that_exist():
    """docs/training.md once documented a polish step (``polish="anneal"``,
    ``clf.solver_weights_``) that did not exist: every ``name=`` setting it shows must be a
    parameter of the classifier, the dropout scheme or a strategy, and every fitted attribute
    ``name_`` one a fitted classifier has."""
    import dataclasses

    import numpy as np

    from qubonn.backends.network.strategies import ContinuationOptions, DecomposeOptions
    from qubonn.language import parse
    from qubonn.training import BNNClassifier, Dropout

    text = (ROOT / "docs" / "training.md").read_text()
    settings = set(re.findall(r"`([a-z_]+)=", text))
    known = set(BNNClassifier().get_params(deep=False)) | {"seed"}
    for options in (Dropout, DecomposeOptions, ContinuationOptions):
        known |= {f.name for f in dataclasses.fields(options)}
    assert settings <= known, f"not a setting anywhere: {sorted(settings - known)}"
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(8, 4))
    clf = BNNClassifier(parse("input x[4]\noutput y[1] <- x\n"), num_reads=2, verbose=0)
    clf.fit(X, np.array([0, 1] * 4))
    attributes = set(re.findall(r"(?:`|clf\.)([a-z][a-z_]*_)\b", text))
    missing = sorted(a for a in attributes if not hasattr(clf, a))
    assert not missing, f"a fitted classifier has no {missing}"


def test_install_hints_work_from_the_clone():
    """qubonn is not on PyPI: no doc, tutorial or message may tell anyone to
    ``pip install 'qubonn[...]'`` or ``pip install qubonn``."""
    published = re.compile(r"""pip install ['"]?qubonn\b""")
    offenders = []
    for folder, pattern in (("docs", "*.md"), ("tutorials", "*.py"), ("qubonn", "**/*.py"),
                            ("backends", "**/*.py"), (".", "README.md")):
        for path in (ROOT / folder).glob(pattern):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if published.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
