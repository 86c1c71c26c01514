"""Package discovery (the rest of the metadata is in pyproject.toml).

The source tree holds two roots: ``qubonn/`` and ``backends/``, the latter installed as the
subpackage ``qubonn.backends`` (``package-dir`` in pyproject.toml).  setuptools' automatic
discovery cannot follow that mapping, so the packages are found here, under both roots: a new
subpackage needs no list to be kept up to date (one was missed once, and the wheel broke).
"""

from setuptools import find_packages, setup


def qubonn_packages() -> list[str]:
    """Every package under ``qubonn/``, and every one under ``backends/`` as ``qubonn.backends``."""
    own = find_packages(include=["qubonn", "qubonn.*"])
    solvers = ["qubonn.backends"] + [
        f"qubonn.backends.{name}" for name in find_packages("backends")
    ]
    return own + solvers


setup(packages=qubonn_packages())
