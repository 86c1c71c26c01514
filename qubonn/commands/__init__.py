"""Subcommands of the ``qubonn`` command line, discovered by :mod:`qubonn.cli`.

Each module here defines ``add_parser(subparsers)``, which registers one subparser with
``subparsers.add_parser(...)`` and sets ``func=<callable(args) -> int>`` on it with
``set_defaults``.  Modules whose names start with ``_`` are skipped.
"""
