"""Shared test helpers: a Hypothesis strategy for random network DAGs (``random_networks``)."""

from __future__ import annotations

from hypothesis import strategies as st

from qubonn.network import NetworkBuilder, Source


def _source(draw, name: str, shape: tuple[int, ...], allow_window: bool):
    """(Source, grid) for a source on ``name``; grid is set when the source is a window."""
    size = 1
    for s in shape:
        size *= s
    kinds = ["full", "slice"] + (["window"] if allow_window and len(shape) == 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "slice" and size > 1:
        a = draw(st.integers(0, size - 1))
        return Source(name, slice=(a, draw(st.integers(a + 1, size)))), None
    if kind == "window":
        h, w = shape
        kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
        sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        grid = ((h - kh) // sh + 1, (w - kw) // sw + 1)
        return Source(name, window=(kh, kw), stride=(sh, sw)), grid
    return Source(name), None


@st.composite
def random_networks(draw, max_groups: int = 3, max_outputs: int = 2):
    """Random valid DAGs: 1-D and 2-D inputs, skip connections, slices, windows (with strides),
    bias on and off, several output groups, groups declared in a random order."""
    shapes: dict[str, tuple[int, ...]] = {}
    inputs = []
    for i in range(draw(st.integers(1, 2))):
        if draw(st.booleans()):
            shape: tuple[int, ...] = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
        else:
            shape = (draw(st.integers(1, 6)),)
        inputs.append((f"in{i}", shape))
        shapes[f"in{i}"] = shape
    groups = []  # (name, shape, sources, bias, output)
    used: set[str] = set()
    n_hidden = draw(st.integers(0, max_groups))
    n_out = draw(st.integers(1, max_outputs))
    for gi in range(n_hidden + n_out):
        is_out = gi >= n_hidden
        name = f"out{gi - n_hidden}" if is_out else f"h{gi}"
        names = list(shapes)
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        if gi == n_hidden + n_out - 1:  # the last output collects everything still unused
            chosen += [n for n in names if n not in used and n not in chosen]
        sources = []
        grid = None
        for k, src_name in enumerate(chosen):
            src, g = _source(draw, src_name, shapes[src_name], allow_window=k == 0)
            sources.append(src)
            grid = grid or g
            used.add(src_name)
        if grid is not None:
            shape = grid if draw(st.booleans()) else (grid[0] * grid[1],)
        elif draw(st.booleans()):
            shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        else:
            shape = (draw(st.integers(1, 4)),)
        groups.append((name, shape, sources, draw(st.booleans()), is_out))
        shapes[name] = shape
    b = NetworkBuilder()
    for name, shape in inputs:
        b.input(name, shape)
    for name, shape, sources, bias, is_out in draw(st.permutations(groups)):
        add = b.output if is_out else b.hidden
        add(name, shape, *sources, bias=bias)
    return b.build()
