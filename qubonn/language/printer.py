"""Network -> description-language text that parses back to an equal network."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qubonn.network import Network, Source


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _source(s: Source) -> str:
    text = s.group
    if s.slice is not None:
        text += f"[{s.slice[0]}:{s.slice[1]}]"
    if s.window is not None:
        text += f" window {_dims(s.window)}"
        if s.stride != (1, 1):
            text += f" stride {_dims(s.stride)}"
    return text


def to_text(network: Network) -> str:
    lines = [
        f"input {i.name}[{_dims(i.shape)}]"
        + ("" if i.values is None else f" values {i.values[0]}..{i.values[1]}")
        for i in network.inputs
    ]
    for g in network.groups:
        role = "output" if g.output else "hidden"
        line = f"{role} {g.name}[{_dims(g.shape)}] <- " + ", ".join(_source(s) for s in g.sources)
        if not g.bias:
            line += " nobias"
        if g.domain != "binary":
            line += f" {g.domain}"
        lines.append(line)
    return "\n".join(lines) + "\n"
