"""qubonn backends: which solver backends exist and whether each can run here."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "backends",
        help="list solver backends and whether each can run here",
        description="List the solver backends (built-in and registered through the "
        "'qubonn.backends' entry-point group) and whether each can run on this machine.",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import qubonn

    print(qubonn.backends_available())
    return 0
