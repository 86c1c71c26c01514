"""``qubonn check FILE...``: parse and validate network specs, print a summary of each."""

from __future__ import annotations

import argparse
import sys

from qubonn.cli import error_line
from qubonn.errors import SpecError
from qubonn.language import load_spec
from qubonn.network import Network


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="validate network description files (.qnn) and summarise them",
        description="Parse and validate each spec file. Prints a summary per valid file; "
        "errors go to stderr as 'qubonn check: error: file:line:col: message'. Exit status 0 "
        "if every file is valid, 2 otherwise.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="network description files (.qnn)")
    p.set_defaults(func=run)


def summary_lines(network: Network) -> list[str]:
    """The summary printed for a valid network."""
    s = network.summary()
    fan = network.fan_in
    lines = [
        f"  inputs {s['inputs']}, neurons {s['neurons']} "
        f"(hidden {s['hidden']}, outputs {s['outputs']})",
        f"  arcs {s['arcs']}, biases {s['biases']}, parameters {s['parameters']}, "
        f"fan-in {int(fan.min())}..{int(fan.max())}",
    ]
    integer = [f"{i.name} {i.values[0]}..{i.values[1]}" for i in network.inputs if i.values]
    if integer:
        lines.append("  integer inputs: " + ", ".join(integer))
    ternary = [g.name for g in network.groups if g.domain == "ternary"]
    if ternary:
        lines.append("  ternary weights: " + ", ".join(ternary))
    return lines


def run(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            network = load_spec(path)
        except SpecError as e:
            print(error_line("check", e.format()), file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: ok")
        for line in summary_lines(network):
            print(line)
    if failed and len(args.files) > 1:
        print(
            error_line("check", f"{failed} of {len(args.files)} files have errors"),
            file=sys.stderr,
        )
    return 2 if failed else 0
