"""Value checks of solver options: the one wording, for every backend and both native modes.

Each checker takes the option's name and value and returns the value normalised, or raises a
:class:`~qubonn.errors.SolverOptionError` "invalid value for option 'NAME': VALUE; expected
WHAT".  The backends' option tables (``_common.Option``) name them; the native annealer's array
code (which runs without dimod, on GPU machines) calls them directly.  numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np

from qubonn.errors import SolverOptionError

#: The largest sweep count any annealer accepts: the kernels count sweeps in 32-bit integers,
#: and at a microsecond a sweep it already lasts half an hour.
MAX_SWEEPS = 2**31 - 1


def _fail(name: str, value: Any, valid: str) -> SolverOptionError:
    return SolverOptionError(f"invalid value for option {name!r}: {value!r}; expected {valid}")


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise _fail(name, value, "an integer >= 1")
    return int(value)


def check_sweeps(name: str, value: Any) -> int:
    valid = f"an integer in [1, {MAX_SWEEPS:,}] (time_limit for long runs)"
    if isinstance(value, bool) or not isinstance(value, Integral) or not 1 <= value <= MAX_SWEEPS:
        raise _fail(name, value, valid)
    return int(value)


def check_optional_sweeps(name: str, value: Any) -> int | None:
    return None if value is None else check_sweeps(name, value)


def check_seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise _fail(name, value, "None or an integer >= 0")
    return int(value)


def check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise _fail(name, value, "a finite number > 0")
    if value <= 0:
        raise _fail(name, value, "a finite number > 0")
    return float(value)


def check_optional_positive_float(name: str, value: Any) -> float | None:
    return None if value is None else check_positive_float(name, value)


def check_beta_range(name: str, value: Any) -> tuple[float, float] | None:
    valid = "None or two finite numbers (beta_hot, beta_cold) with 0 < beta_hot <= beta_cold"
    if value is None:
        return None
    try:
        hot, cold = (float(b) for b in value)
    except (TypeError, ValueError):
        raise _fail(name, value, valid) from None
    if not (math.isfinite(hot) and math.isfinite(cold) and 0 < hot <= cold):
        raise _fail(name, value, valid)
    return hot, cold


def check_beta_schedule(name: str, value: Any) -> np.ndarray | None:
    valid = "None or a non-empty 1-D sequence of finite inverse temperatures >= 0"
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(name, value, valid) from None
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise _fail(name, value, valid)
    return arr


def check_choice(*choices: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise _fail(name, value, "one of " + ", ".join(repr(c) for c in choices))
        return value

    return check


def check_callable(name: str, value: Any) -> Callable | None:
    if value is not None and not callable(value):
        raise _fail(name, value, "None or a callable progress(done, total, best_energy)")
    return value


def check_any(name: str, value: Any) -> Any:
    return value


def check_optional_bool(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool | np.bool_):
        raise _fail(name, value, "None, True or False")
    return None if value is None else bool(value)


# Options shared by the annealers; each backend picks the ones it supports.
