"""Execute every tutorial notebook headless, as CI does.

The tutorials are jupytext percent-format ``.py`` files (``tutorials/NN_*.py``).  Each one is
converted to a notebook in memory and run cell by cell with nbclient; a failing cell fails the test
with the notebook's name, the cell's number and source, and the error.

The kernel is this interpreter (``sys.executable -m ipykernel_launcher``), described by a kernel
spec written to a temporary folder, so the run does not depend on which ``python3`` kernel
happens to be installed for the user or the system.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError  # noqa: E402

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
NOTEBOOKS = sorted(p for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
KERNEL_NAME = "qubonn-tutorials"
#: Seconds for any one cell, and for a whole notebook (each is meant to take well under a minute).
CELL_TIMEOUT = 240
NOTEBOOK_TIMEOUT = 300


def test_tutorials_exist():
    assert len(NOTEBOOKS) >= 6, f"expected the six tutorials in {TUTORIALS}, found {NOTEBOOKS}"
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        kinds = {cell.cell_type for cell in nb.cells}
        assert kinds == {"markdown", "code"}, f"{path.name}: needs prose and code, has {kinds}"


@pytest.fixture(scope="module")
def kernel_spec_manager(tmp_path_factory) -> KernelSpecManager:
    folder = tmp_path_factory.mktemp("kernels") / KERNEL_NAME
    folder.mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "qubonn tutorials",
        "language": "python",
    }
    (folder / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(folder.parent)])


def _cell_failure(path: Path, nb, exc: Exception) -> str:
    """Name the notebook and the (first) cell that failed, with its source and error."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                source = "\n    ".join(cell.source.splitlines()[:15])
                return (
                    f"{path.name}: cell {index} failed with {out['ename']}: {out['evalue']}\n"
                    f"    {source}"
                )
    return f"{path.name}: {type(exc).__name__}: {exc}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel_spec_manager, tmp_path, monkeypatch):
    nb = jupytext.read(path)
    assert any(c.cell_type == "code" for c in nb.cells), f"{path.name} has no code"
    # The kernel inherits the environment: no display needed, and nothing written to the repo.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_spec_manager)
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(TUTORIALS)}},
    )
    before = set(TUTORIALS.iterdir())
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError as exc:
        pytest.fail(f"{path.name}: a cell ran past {CELL_TIMEOUT} s: {exc}", pytrace=False)
    except CellExecutionError as exc:
        pytest.fail(_cell_failure(path, nb, exc), pytrace=False)
    elapsed = time.perf_counter() - start
    assert elapsed < NOTEBOOK_TIMEOUT, (
        f"{path.name} took {elapsed:.0f} s (limit {NOTEBOOK_TIMEOUT})"
    )
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, _cell_failure(path, nb, RuntimeError("error output"))
    written = sorted(p.name for p in set(TUTORIALS.iterdir()) - before)
    assert not written, f"{path.name} wrote {written} into tutorials/; use a temporary folder"
