"""The wheel holds every file of the source packages.

CI installs the project editable, which reads the source tree and so never sees a package the
wheel leaves out (``qubonn.formulation`` was once missing: every training command failed after
``pip install .``).  This test builds the wheel and compares it with the tree; ``.ci/run`` also
installs it into a fresh virtualenv and runs the main job.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> the package path it installs as (pyproject.toml's package-dir)
SOURCE_ROOTS = {"qubonn": "qubonn", "backends": "qubonn/backends"}


def source_files() -> set[str]:
    """Every file of the source packages, as its path inside the wheel."""
    files = set()
    for folder, installed in SOURCE_ROOTS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(f"{installed}/{path.relative_to(ROOT / folder).as_posix()}")
    return files


def build_wheel(into: Path) -> Path:
    """Build the wheel from a copy of the project (a ``build/`` folder left in the tree by an
    earlier build would otherwise hand stale files to this one)."""
    source = into / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for folder in SOURCE_ROOTS:
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(into), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = into.glob("qubonn-*.whl")
    return wheel


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(tmp_path):
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(source_files() - names)
    assert not missing, f"the wheel leaves out {missing}"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "qubonn = qubonn.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def declared_lower_bounds() -> dict[str, str]:
    """pyproject.toml's dependencies: name -> lower bound."""
    import re
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for dep in deps:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", dep)
        assert match, f"dependency {dep!r} has no lower bound"
        bounds[match[1].lower()] = match[2]
    return bounds


def test_ci_tests_the_declared_lower_bounds():
    """The lowest-versions CI step pins exactly the lower bounds pyproject.toml declares."""
    pins = {}
    for line in (ROOT / ".ci" / "lowest-versions.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    declared = declared_lower_bounds()
    assert set(pins) == set(declared)
    for name, version in declared.items():
        # "2.0" is declared, "2.0.0" pinned: the same release
        assert pins[name].split(".")[: len(version.split("."))] == version.split("."), name
