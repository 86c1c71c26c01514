"""Spec text -> :class:`~qubonn.network.Network`, with errors that point at line and column.

It owns reading the language: Lark parses with the grammar of ``grammar.lark`` (the one
definition), a :class:`lark.Transformer` turns the tree into input and group specs, and Lark's
exceptions become :class:`~qubonn.errors.SpecError` s that name the file, line and column and say
what was expected (terminal names come from the grammar, never hard-coded generated ones).
"""

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
    "DOMAIN": "'binary' or 'ternary'",
    "SIGNED": "an integer",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}  # terminals with a literal pattern ('[', '<-', 'window', ...) are described by it


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
    if not text.strip():
        raise SpecError(
            "the spec is empty; declare an input and an output group, e.g. 'input x[16]' and "
            "'output y[1] <- x'",
            SourcePos(1, 1),
            text,
            filename,
        )
    if not text.endswith("\n"):
        text += "\n"
    parser = _parser()
    try:
        tree = parser.parse(text)
    except lark.exceptions.UnexpectedCharacters as e:
        msg = f"unexpected character '{e.char}'" + _expected(e.allowed or set(), parser)
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
        inputs, groups = _ToSpecs().transform(tree)
        return Network(inputs, groups)
    except lark.exceptions.VisitError as e:  # an error raised in a transformer callback
        if isinstance(e.orig_exc, NetworkError):
            raise SpecError(e.orig_exc.message, e.orig_exc.pos, text, filename) from None
        raise
    except SpecError:
        raise
    except NetworkError as e:
        raise SpecError(e.message, e.pos, text, filename) from None


#: the largest spec file read: far beyond any network within the size limits (a line per group),
#: and it keeps a mistaken file (a data dump, a log) from taking minutes and gigabytes to parse
MAX_SPEC_BYTES = 1 << 20


def load_spec(path: str | Path) -> Network:
    """Read and parse a ``.qnn`` file (UTF-8, a byte-order mark allowed)."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise SpecError(
                "is not a regular file (a pipe, a device or a socket); give a spec file",
                None, "", str(path),
            )
        if path.is_file() and path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(
                f"is {path.stat().st_size:,} bytes, over the limit of {MAX_SPEC_BYTES:,} for a "
                "spec file; is it a spec?",
                None, "", str(path),
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("no such spec file", None, "", str(path)) from None
    except IsADirectoryError:
        raise SpecError("is a folder, not a spec file", None, "", str(path)) from None
    except OSError as e:
        raise SpecError(f"cannot read the spec file: {e.strerror}", None, "", str(path)) from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")  # a BOM from some Windows editors
    except UnicodeDecodeError as e:  # binary: say where, like any other error in the text
        before = data[: e.start].decode("utf-8", "backslashreplace")
        line_start = before.rfind("\n") + 1
        pos = SourcePos(before.count("\n") + 1, len(before) - line_start + 1)
        shown = data.decode("utf-8", "backslashreplace")
        raise SpecError(
            f"not a UTF-8 text file (byte 0x{data[e.start]:02x} at offset {e.start}: {e.reason})",
            pos,
            shown,
            str(path),
        ) from None
    nul = text.find("\x00")
    if nul >= 0:  # UTF-8 but binary (an archive, an image): one clear error, not a syntax one
        line_start = text.rfind("\n", 0, nul) + 1
        pos = SourcePos(text.count("\n", 0, nul) + 1, nul - line_start + 1)
        raise SpecError(f"not a text file (a NUL byte at offset {nul})", pos, text, str(path))
    return parse(text, filename=str(path))


def _pos(tok: lark.Token) -> SourcePos:
    return SourcePos(tok.line, tok.column)


def _dims(tok: lark.Token) -> tuple[int, ...]:
    return tuple(int(p) for p in re.split(r"\s*x\s*", str(tok).strip()))


def _pairs(dims: tuple[int, ...]) -> tuple[int, int]:
    return dims if len(dims) == 2 else (dims[0], dims[0])


@lark.v_args(inline=True)
class _ToSpecs(lark.Transformer):
    """The parse tree -> (input specs, group specs); semantic checks that need a token's
    position raise :class:`NetworkError` here (Lark wraps them in a ``VisitError``)."""

    def start(self, *statements) -> tuple[list[InputSpec], list[GroupSpec]]:
        inputs = [s for s in statements if isinstance(s, InputSpec)]
        groups = [s for s in statements if isinstance(s, GroupSpec)]
        return inputs, groups

    def input_decl(
        self, name: lark.Token, shape: tuple[int, ...], values: tuple[int, int] | None = None
    ) -> InputSpec:
        return InputSpec(str(name), shape, pos=_pos(name), values=values)

    def values(self, lo: lark.Token, hi: lark.Token) -> tuple[int, int]:
        return int(lo), int(hi)

    def group_decl(self, role: lark.Token, name: lark.Token, shape: tuple[int, ...], *rest):
        sources = tuple(r for r in rest if isinstance(r, Source))
        options = [r for r in rest if isinstance(r, lark.Token)]
        settings: dict[str, lark.Token] = {}
        for tok in options:  # each kind of option at most once
            if tok.type in settings:
                what = "bias" if tok.type == "BIAS" else "the weight domain"
                raise NetworkError(
                    f"{what} is set twice ('{settings[tok.type]}' and '{tok}')", _pos(tok)
                )
            settings[tok.type] = tok
        bias = str(settings.get("BIAS", "bias")) == "bias"
        domain = str(settings.get("DOMAIN", "binary"))
        output = str(role) == "output"
        return GroupSpec(
            str(name), shape, sources, bias=bias, output=output, pos=_pos(name), domain=domain
        )

    def shape(self, tok: lark.Token) -> tuple[int, ...]:
        dims = _dims(tok)
        if any(d < 1 for d in dims):
            raise NetworkError("sizes must be at least 1", _pos(tok))
        return dims

    def option(self, tok: lark.Token) -> lark.Token:
        return tok

    def source(self, name: lark.Token, *parts) -> Source:
        kinds = dict(parts)
        window, stride = kinds.get("window", (None, (1, 1)))
        return Source(
            str(name), slice=kinds.get("slice"), window=window, stride=stride, pos=_pos(name)
        )

    def slice(self, a: lark.Token, b: lark.Token) -> tuple[str, tuple[int, int]]:
        if int(a) >= int(b):
            raise NetworkError(f"empty slice [{a}:{b}]: start must be below stop", _pos(a))
        return "slice", (int(a), int(b))

    def window(self, size: lark.Token, stride: tuple[int, int] = (1, 1)):
        window = _pairs(_dims(size))
        if min(window) < 1:
            raise NetworkError("window sizes must be at least 1", _pos(size))
        return "window", (window, stride)

    def stride(self, tok: lark.Token) -> tuple[int, int]:
        stride = _pairs(_dims(tok))
        if min(stride) < 1:
            raise NetworkError("stride must be at least 1", _pos(tok))
        return stride
