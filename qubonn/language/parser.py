"""Spec text -> :class:`~qubonn.network.Network`, with errors that point at line and column."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from pathlib import Path

import lark

from qubonn.errors import NetworkError, SourcePos, SpecError
from qubonn.network import GroupSpec, InputSpec, Network, Source

_TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "DIMS": "a size such as 16 or 8x8",
    "ROLE": "'hidden' or 'output'",
    "BIAS": "'bias' or 'nobias'",
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "COMMA": "','",
    "__ANON_0": "'<-'",
    "INPUT": "'input'",
    "WINDOW": "'window'",
    "STRIDE": "'stride'",
}


@cache
def _parser() -> lark.Lark:
    grammar = files("qubonn.language").joinpath("grammar.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _describe(token_type: str, parser: lark.Lark) -> str:
    if token_type in _TOKEN_WORDS:
        return _TOKEN_WORDS[token_type]
    for term in parser.terminals:
        if term.name == token_type and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return token_type.lower()


def _expected(expected: set[str], parser: lark.Lark) -> str:
    words = sorted({_describe(t, parser) for t in expected if t not in ("WS", "COMMENT")})
    if not words:
        return ""
    if len(words) == 1:
        return f"; expected {words[0]}"
    return "; expected one of: " + ", ".join(words)


def parse(text: str, filename: str = "<spec>") -> Network:
    """Parse description-language ``text`` into a validated :class:`Network`.

    Raises :class:`~qubonn.errors.SpecError` (a ``ValueError``) that names ``filename``, the line
    and the column, for syntax errors and for semantic ones (undefined names, cycles, ...).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes spec text (str), not {type(text).__name__}")
    if not text.endswith("\n"):
        text += "\n"
    parser = _parser()
    try:
        tree = parser.parse(text)
    except lark.exceptions.UnexpectedCharacters as e:
        bad = text.splitlines()[e.line - 1][e.column - 1 : e.column] if e.line >= 1 else "?"
        msg = f"unexpected character '{bad}'" + _expected(e.allowed or set(), parser)
        raise SpecError(msg, SourcePos(e.line, e.column), text, filename) from None
    except lark.exceptions.UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            lines = text.splitlines()
            pos = SourcePos(len(lines), len(lines[-1]) + 1 if lines else 1)
            shown = "end of file"
        elif tok.type == "_NL":
            pos = SourcePos(tok.line, tok.column)
            shown = "end of line"
        else:
            pos = SourcePos(tok.line, tok.column)
            shown = f"'{tok.value}'"
        msg = f"unexpected {shown}" + _expected(e.expected or set(), parser)
        raise SpecError(msg, pos, text, filename) from None
    except lark.exceptions.UnexpectedEOF as e:  # pragma: no cover - LALR reports UnexpectedToken
        raise SpecError(
            "unexpected end of file" + _expected(set(e.expected), parser), None, text, filename
        ) from None
    try:
        inputs, groups = _build(tree)
        return Network(inputs, groups)
    except SpecError:
        raise
    except NetworkError as e:
        raise SpecError(e.message, e.pos, text, filename) from None


def load_spec(path: str | Path) -> Network:
    """Read and parse a ``.qnn`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such spec file", None, "", str(path)) from None
    except UnicodeDecodeError as e:
        raise SpecError(f"not a UTF-8 text file ({e.reason})", None, "", str(path)) from None
    except OSError as e:
        raise SpecError(f"cannot read the spec file: {e.strerror}", None, "", str(path)) from None
    return parse(text, filename=str(path))


def _pos(tok: lark.Token) -> SourcePos:
    return SourcePos(tok.line, tok.column)


def _dims(tok: lark.Token) -> tuple[int, ...]:
    return tuple(int(p) for p in re.split(r"\s*x\s*", str(tok).strip()))


def _build(tree: lark.Tree) -> tuple[list[InputSpec], list[GroupSpec]]:
    inputs: list[InputSpec] = []
    groups: list[GroupSpec] = []
    for st in tree.children:
        if not isinstance(st, lark.Tree):
            continue
        if st.data == "input_decl":
            name, shape = st.children
            inputs.append(InputSpec(str(name), _shape(shape), pos=_pos(name)))
        elif st.data == "group_decl":
            role, name, shape, *rest = st.children
            sources = [_source(c) for c in rest if isinstance(c, lark.Tree) and c.data == "source"]
            options = [c for c in rest if isinstance(c, lark.Tree) and c.data == "option"]
            bias = True
            seen_option = None
            for opt in options:
                tok = opt.children[0]
                if seen_option is not None:
                    raise NetworkError(
                        f"bias is set twice ('{seen_option}' and '{tok}')", _pos(tok)
                    )
                seen_option = str(tok)
                bias = str(tok) == "bias"
            groups.append(
                GroupSpec(
                    str(name),
                    _shape(shape),
                    tuple(sources),
                    bias=bias,
                    output=str(role) == "output",
                    pos=_pos(name),
                )
            )
    return inputs, groups


def _shape(tree: lark.Tree) -> tuple[int, ...]:
    tok = tree.children[0]
    dims = _dims(tok)
    if any(d < 1 for d in dims):
        raise NetworkError("sizes must be at least 1", _pos(tok))
    return dims


def _source(tree: lark.Tree) -> Source:
    name, *parts = tree.children
    slc = None
    window = None
    stride = (1, 1)
    for p in parts:
        if p.data == "slice":
            a, b = p.children
            slc = (int(a), int(b))
            if slc[0] >= slc[1]:
                raise NetworkError(f"empty slice [{a}:{b}]: start must be below stop", _pos(a))
        elif p.data == "window":
            size, *st = p.children
            wd = _dims(size)
            window = wd if len(wd) == 2 else (wd[0], wd[0])
            if st:
                sd = _dims(st[0].children[0])
                stride = sd if len(sd) == 2 else (sd[0], sd[0])
                if min(stride) < 1:
                    raise NetworkError("stride must be at least 1", _pos(st[0].children[0]))
            if min(window) < 1:
                raise NetworkError("window sizes must be at least 1", _pos(size))
    return Source(str(name), slice=slc, window=window, stride=stride, pos=_pos(name))
