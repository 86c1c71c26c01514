"""Import every module of the installed qubonn (run from outside the source tree).

Checks that the package imported is the installed one, not the clone, and that no module is
missing from it or fails to import with the base dependencies (the optional extras -- gpu,
distributed, cpsat -- are imported only where they are used).
"""

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

import qubonn

source_tree = Path(sys.argv[1]).resolve()
installed_at = Path(qubonn.__file__).resolve()
if source_tree in installed_at.parents:
    sys.exit(f"qubonn was imported from the source tree ({installed_at}), not the installation")
#: the import names of the optional extras' packages: a module that needs one may fail without it
OPTIONAL = {
    "ortools": "cpsat",
    "ray": "distributed",
    "cupy": "gpu",
    "cupyx": "gpu",
    "onnx": "onnx",
    "onnxruntime": "onnx",
}


def missing_extra(error: ImportError) -> str | None:
    """The extra whose package ``error`` (or its cause) reports missing, if any."""
    while error is not None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            return OPTIONAL.get(error.name.split(".")[0])
        error = error.__cause__
    return None


names = ["qubonn"] + [m.name for m in pkgutil.walk_packages(qubonn.__path__, "qubonn.")]
for name in names:
    if name.endswith(".__main__"):  # it runs the command line when imported
        assert importlib.util.find_spec(name) is not None, name
        continue
    try:
        importlib.import_module(name)
    except ImportError as e:
        extra = missing_extra(e)
        if extra is None:
            raise
        print(f"{name}: needs the '{extra}' extra, not installed here")
print(f"imported {len(names)} modules from {installed_at.parent}")
