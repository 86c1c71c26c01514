"""The network description language: grammar (grammar.lark), parser and printer."""

from qubonn.language.parser import load_spec, parse
from qubonn.language.printer import to_text

__all__ = ["load_spec", "parse", "to_text"]
