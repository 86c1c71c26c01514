"""``KEY=VALUE`` option text: the one parser behind every option of that form.

Also the one test of a numeric option's type (:func:`is_finite_real`, :func:`is_whole`).
The command line uses it for ``--option`` (train), ``--penalty`` (train, compile), ``--grid``
and ``--set`` (sweep); the sweep library reads table cells back with :func:`parse_value`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np


def is_finite_real(value: Any) -> bool:
    """A finite int or float (numpy's too), not a bool: what every numeric option accepts."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool | np.bool_)
        and bool(np.isfinite(value))
    )


def is_whole(value: Any) -> bool:
    """A finite real with an integer value (3 and 3.0, not 3.5): counts, seeds, sizes."""
    return is_finite_real(value) and float(value).is_integer()


def parse_value(text: str) -> Any:
    """A value from text: int, float, true/false, none/null, a JSON list or object, else the
    string itself (stripped)."""
    t = text.strip()
    low = t.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(t)
        except ValueError:
            pass
    if t[:1] in ("[", "{", '"'):
        try:
            return json.loads(t)
        except json.JSONDecodeError:
            pass
    return t


def parse_key_value(
    text: str,
    *,
    what: str,
    example: str,
    several: bool = False,
    error: Callable[[str], Exception] = ValueError,
    convert: Callable[[str], Any] = parse_value,
) -> tuple[str, Any]:
    """``"KEY=VALUE"`` -> ``(key, convert(value))``; with ``several``, ``"KEY=V1,V2"`` ->
    ``(key, [convert(V1), convert(V2)])``.  Malformed text raises ``error`` with a message that
    names ``what`` it is and shows ``example``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    form = "KEY=V1,V2,..." if several else "KEY=VALUE"
    if not sep or not key or not value.strip():
        raise error(f"{what} is {form}, e.g. {example}; not {text!r}")
    if not several:
        return key, convert(value)
    parts = value.split(",")
    if any(not v.strip() for v in parts):
        raise error(f"{what} {text!r} has an empty value; separate values by commas")
    return key, [convert(v) for v in parts]
