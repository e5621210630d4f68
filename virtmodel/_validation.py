"""Parameter checks shared by every constructor.

Each check raises :class:`~virtmodel.errors.InvalidParameter` with a message of
the form ``"<name> must be <rule>, got <value>"`` and returns the value
converted to the type the caller works with.  Array checks accept anything
``numpy.asarray`` accepts and return float arrays (0-d for scalars) so that
analytic models broadcast.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from .errors import InvalidParameter

__all__ = [
    "real_array",
    "positive",
    "nonnegative",
    "probability",
    "positive_int",
    "nonnegative_int",
    "integer_array",
    "as_output",
    "scalar",
    "sequence",
]


def _fmt(value) -> str:
    arr = np.asarray(value) if not isinstance(value, str) else None
    if arr is not None and arr.ndim > 0:
        return np.array2string(arr, threshold=8, precision=6)
    return repr(value)


def real_array(name: str, value) -> np.ndarray:
    """Convert ``value`` to a float array; reject non-numeric input, NaN and infinities."""
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, bool):
        raise InvalidParameter(f"{name} must be a real number, got {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be a real number or array of them, got {value!r}") from None
    if arr.dtype == object:
        raise InvalidParameter(f"{name} must be a real number or array of them, got {value!r}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise InvalidParameter(f"{name} must be finite (no NaN or infinity), got {_fmt(value)}")
    return arr


def positive(name: str, value) -> np.ndarray:
    """A finite real number (or array) strictly greater than zero."""
    arr = real_array(name, value)
    if arr.size and not np.all(arr > 0):
        raise InvalidParameter(f"{name} must be > 0, got {_fmt(value)}")
    return arr


def nonnegative(name: str, value) -> np.ndarray:
    """A finite real number (or array) greater than or equal to zero."""
    arr = real_array(name, value)
    if arr.size and not np.all(arr >= 0):
        raise InvalidParameter(f"{name} must be >= 0, got {_fmt(value)}")
    return arr


def probability(name: str, value, *, open_low: bool = False) -> np.ndarray:
    """A number (or array) in [0, 1] (or (0, 1] with ``open_low``)."""
    arr = real_array(name, value)
    low_ok = arr > 0 if open_low else arr >= 0
    if arr.size and not np.all(low_ok & (arr <= 1)):
        rng = "(0, 1]" if open_low else "[0, 1]"
        raise InvalidParameter(f"{name} must lie in {rng}, got {_fmt(value)}")
    return arr


def _int_scalar(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and np.isfinite(value) and value == int(value):
            return int(value)
        raise InvalidParameter(f"{name} must be an integer, got {value!r}")
    return operator.index(value)


def positive_int(name: str, value) -> int:
    """An integer >= 1 (floats equal to an integer are accepted)."""
    v = _int_scalar(name, value)
    if v < 1:
        raise InvalidParameter(f"{name} must be an integer >= 1, got {value!r}")
    return v


def nonnegative_int(name: str, value) -> int:
    """An integer >= 0."""
    v = _int_scalar(name, value)
    if v < 0:
        raise InvalidParameter(f"{name} must be an integer >= 0, got {value!r}")
    return v


def integer_array(name: str, value, minimum: int = 1) -> np.ndarray:
    """An integer array (floats that equal integers accepted) with every entry >= ``minimum``."""
    arr = real_array(name, value)
    if arr.size and not np.all(arr == np.round(arr)):
        raise InvalidParameter(f"{name} must be integers, got {_fmt(value)}")
    if arr.size and not np.all(arr >= minimum):
        raise InvalidParameter(f"{name} must be integers >= {minimum}, got {_fmt(value)}")
    return arr.astype(np.int64)


def scalar(check, name: str, value) -> float:
    """Apply an array check (``positive``, ``nonnegative``, ``real_array``...) and insist on one number.

    ``float(check(name, value))`` raised a bare ``TypeError`` for a list or an empty tuple; this
    raises :class:`InvalidParameter` naming the parameter instead (issue 13).

    >>> scalar(positive, "rate", 2)
    2.0
    """
    arr = check(name, value)
    if arr.ndim != 0:
        raise InvalidParameter(f"{name} must be a single real number, got {_fmt(value)}")
    return float(arr)


def sequence(name: str, value) -> tuple:
    """A list, tuple or other iterable (not a string or mapping) as a tuple, else :class:`InvalidParameter`.

    >>> sequence("modules", [1, 2])
    (1, 2)
    """
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise InvalidParameter(f"{name} must be a sequence (list or tuple), got {value!r}")
    return tuple(value)


def unique_names(kind: str, names) -> list:
    """``names`` as a list, else :class:`InvalidParameter` naming the ones that occur more than once.

    >>> unique_names("VM", ["a", "b"])
    ['a', 'b']
    """
    names = list(names)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidParameter(f"{kind} names must be unique, got duplicates {dup}")
    return names


def as_output(arr):
    """Return a Python float for 0-d results and an array otherwise."""
    arr = np.asarray(arr)
    return float(arr) if arr.ndim == 0 else arr
