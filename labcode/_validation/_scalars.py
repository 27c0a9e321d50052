"""Checks of scalars and options: bools, ints, reals, choices, callables, generators.

Part of :mod:`labcode._validation`, whose docstring states the error contract
(points 3, 7 and 8: no truthiness, generators, choices).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np


def _describe(value: object) -> str:
    """``repr`` of a value, shortened, with its type: ``'1' of type str``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} of type {type(value).__name__}"


def check_bool(value: object, name: str) -> bool:
    """Return `value` as a bool; only ``True``, ``False`` and numpy bools pass.

    Truthiness is not accepted: ``None``, ``0``, ``1``, ``"no"`` are a TypeError.

    Examples
    --------
    >>> from labcode._validation import check_bool
    >>> check_bool(True, "bias")
    True
    >>> check_bool(None, "bias")
    Traceback (most recent call last):
    ...
    TypeError: bias must be a bool (True or False); got None of type NoneType
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    msg = f"{name} must be a bool (True or False); got {_describe(value)}"
    raise TypeError(msg)


def check_int(
    value: object,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    why: str = "",
) -> int:
    """Return `value` as an int, rejecting bools, floats and values out of range.

    Parameters
    ----------
    value : object
        The value passed by the user.
    name : str
        The parameter name used in the message.
    minimum, maximum : int, optional
        The smallest and the largest accepted value.
    why : str, optional
        Why `maximum` is the limit, shown in the message.

    Returns
    -------
    int

    Examples
    --------
    >>> from labcode._validation import check_int
    >>> check_int(10**12, "faces", maximum=10**7, why="one term per face")
    Traceback (most recent call last):
    ...
    ValueError: faces must be <= 10000000 (one term per face); got 1000000000000
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be an integer; got {_describe(value)}"
        raise TypeError(msg)
    out = int(value)
    if minimum is not None and out < minimum:
        msg = f"{name} must be >= {minimum}; got {out}"
        raise ValueError(msg)
    if maximum is not None and out > maximum:
        reason = f" ({why})" if why else ""
        msg = f"{name} must be <= {maximum}{reason}; got {out}"
        raise ValueError(msg)
    return out


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    why: str = "",
) -> float:
    """Return `value` as a finite float inside the given bounds.

    Parameters
    ----------
    value : object
        The value passed by the user: an int or a real float (Python or numpy),
        not a bool.
    name : str
        The parameter name used in the message.
    low, high : float, optional
        Bounds of the accepted interval.
    low_inclusive, high_inclusive : bool, optional
        Whether each bound belongs to the interval.
    why : str, optional
        Why the bounds are what they are, shown in the message.

    Returns
    -------
    float

    Examples
    --------
    >>> from labcode._validation import check_real
    >>> check_real(-1.0, "sigma", low=0.0, low_inclusive=False)
    Traceback (most recent call last):
    ...
    ValueError: sigma must be > 0.0; got -1.0
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a real number; got {_describe(value)}"
        raise TypeError(msg)
    try:
        out = float(value)
    except OverflowError:  # a Python int beyond the float range
        out = float("inf")
    if not np.isfinite(out):
        msg = f"{name} must be finite; got {value!r:.40}"
        raise ValueError(msg)
    reason = f" ({why})" if why else ""
    if low is not None and (out < low or (out == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        msg = f"{name} must be {op} {low}{reason}; got {out}"
        raise ValueError(msg)
    if high is not None and (out > high or (out == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        msg = f"{name} must be {op} {high}{reason}; got {out}"
        raise ValueError(msg)
    return out


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """Return `value` if it is one of `choices`.

    Parameters
    ----------
    value : object
        The value passed by the user.
    name : str
        The parameter name used in the message.
    choices : iterable of str
        The accepted values.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        If `value` is not a string.
    ValueError
        If it is a string not among `choices` (matching is exact).

    Examples
    --------
    >>> from labcode._validation import check_choice
    >>> check_choice("FFT", "method", ["direct", "fft"])
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'direct', 'fft'; got 'FFT'
    """
    options = tuple(choices)
    listed = ", ".join(repr(c) for c in options)
    if not isinstance(value, str):
        msg = f"{name} must be one of {listed}; got {_describe(value)}"
        raise TypeError(msg)
    if value not in options:
        msg = f"{name} must be one of {listed}; got {value!r}"
        raise ValueError(msg)
    return value


def check_callable(value: object, name: str) -> None:
    """Raise TypeError unless `value` is callable.

    Examples
    --------
    >>> from labcode._validation import check_callable
    >>> check_callable(3, "f")
    Traceback (most recent call last):
    ...
    TypeError: f must be callable; got 3 of type int
    """
    if not callable(value):
        msg = f"{name} must be callable; got {_describe(value)}"
        raise TypeError(msg)


def check_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for `rng`.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        ``None`` gives fresh OS entropy, a non-negative int is a seed, a
        Generator is used as it is. The legacy ``numpy.random.RandomState``,
        floats and bools are a TypeError; a negative seed is a ValueError.
    name : str, optional
        The parameter name used in the message.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> from labcode._validation import check_rng
    >>> check_rng(-1)
    Traceback (most recent call last):
    ...
    ValueError: rng must be None, a non-negative int seed or a numpy.random.Generator; got -1
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    wanted = "None, a non-negative int seed or a numpy.random.Generator"
    if isinstance(rng, bool | np.bool_):
        msg = f"{name} must be {wanted}; got {_describe(rng)}"
        raise TypeError(msg)
    if isinstance(rng, numbers.Integral):
        seed = int(rng)
        if seed < 0:
            msg = f"{name} must be {wanted}; got {seed}"
            raise ValueError(msg)
        return np.random.default_rng(seed)
    msg = (
        f"{name} must be {wanted} (from numpy.random.default_rng); got {_describe(rng)}"
    )
    raise TypeError(msg)
