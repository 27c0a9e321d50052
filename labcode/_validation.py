"""Shared input checks with messages that say what was expected and what came.

Every public function of labcode validates its arguments with these helpers, so
that bad input fails early with a ``ValueError`` or ``TypeError`` that names the
parameter, the expected form and the value received, instead of crashing deep
inside numpy or, worse, returning a silently wrong answer.

The messages follow one pattern::

    X must be 2-D (m, n); got shape (5,)

Messages are built before ``raise`` (never ``assert``, which vanishes under
``python -O``).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_float_array",
    "check_choice",
    "check_int",
    "check_ndim",
    "check_real",
    "check_rng",
    "float_dtype",
    "format_shape",
]


def format_shape(shape: tuple[int, ...]) -> str:
    """Return a shape as Python prints it, ``(5,)`` or ``(2, 3)``."""
    return str(tuple(int(s) for s in shape))


def float_dtype(dtype: np.dtype[Any]) -> np.dtype[np.floating[Any]]:
    """Return the floating dtype labcode computes in for input of `dtype`.

    float32 stays float32 and float64 stays float64; integers, booleans and the
    other real floating types compute in float64.
    """
    if dtype == np.float32:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_float_array(
    x: ArrayLike,
    name: str,
    *,
    ndim: int | Iterable[int] | None = None,
    layout: str = "",
    allow_empty: bool = False,
    finite: bool = True,
    dtype: np.dtype[Any] | type | None = None,
) -> NDArray[np.floating[Any]]:
    """Convert `x` to a real floating ndarray, checking its form.

    Parameters
    ----------
    x : array_like
        The value passed by the user.
    name : str
        The parameter name used in error messages.
    ndim : int or iterable of int, optional
        Accepted numbers of dimensions.
    layout : str, optional
        The expected layout shown in messages, for example ``"(m, n)"``.
    allow_empty : bool, optional
        Accept arrays with zero elements.
    finite : bool, optional
        Reject NaN and infinity.
    dtype : dtype, optional
        Force this floating dtype; by default :func:`float_dtype` decides.

    Returns
    -------
    ndarray
        A float32 or float64 array (a view of `x` when no conversion is needed).

    Raises
    ------
    TypeError
        If `x` is not numeric (strings, objects, complex numbers).
    ValueError
        If `x` has the wrong number of dimensions, is empty or is not finite.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        msg = f"{name} must be a numeric array; could not convert it: {exc}"
        raise ValueError(msg) from exc
    kind = arr.dtype.kind
    if kind == "c":
        msg = f"{name} must be real; got complex dtype {arr.dtype}"
        raise TypeError(msg)
    if kind not in "biuf":
        msg = f"{name} must be a numeric array; got dtype {arr.dtype}"
        raise TypeError(msg)
    if ndim is not None:
        check_ndim(arr, name, ndim, layout)
    if not allow_empty and arr.size == 0:
        msg = f"{name} must not be empty; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    target = np.dtype(dtype) if dtype is not None else float_dtype(arr.dtype)
    out = arr.astype(target, copy=False)
    if finite and not np.all(np.isfinite(out)):
        msg = f"{name} must contain only finite values; got NaN or infinity"
        raise ValueError(msg)
    return out


def check_ndim(
    arr: NDArray[Any], name: str, ndim: int | Iterable[int], layout: str = ""
) -> None:
    """Raise ValueError unless `arr` has one of the accepted numbers of dimensions.

    Parameters
    ----------
    arr : ndarray
        The array to check.
    name : str
        The parameter name used in the message.
    ndim : int or iterable of int
        Accepted numbers of dimensions.
    layout : str, optional
        The expected layout, for example ``"(N, C, H, W)"``.
    """
    accepted = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim in accepted:
        return
    wanted = " or ".join(f"{d}-D" for d in accepted)
    where = f" {layout}" if layout else ""
    msg = f"{name} must be {wanted}{where}; got shape {format_shape(arr.shape)}"
    raise ValueError(msg)


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Return `value` as an int, rejecting bools, floats and values below `minimum`.

    Parameters
    ----------
    value : object
        The value passed by the user.
    name : str
        The parameter name used in the message.
    minimum : int, optional
        The smallest accepted value.

    Returns
    -------
    int
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        msg = f"{name} must be an integer; got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    out = int(value)
    if minimum is not None and out < minimum:
        msg = f"{name} must be >= {minimum}; got {out}"
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
) -> float:
    """Return `value` as a finite float inside the given bounds.

    Parameters
    ----------
    value : object
        The value passed by the user.
    name : str
        The parameter name used in the message.
    low, high : float, optional
        Bounds of the accepted interval.
    low_inclusive, high_inclusive : bool, optional
        Whether each bound belongs to the interval.

    Returns
    -------
    float
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        msg = f"{name} must be a real number; got {value!r} of type {type(value).__name__}"
        raise TypeError(msg)
    out = float(value)
    if not np.isfinite(out):
        msg = f"{name} must be finite; got {out}"
        raise ValueError(msg)
    if low is not None and (out < low or (out == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        msg = f"{name} must be {op} {low}; got {out}"
        raise ValueError(msg)
    if high is not None and (out > high or (out == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        msg = f"{name} must be {op} {high}; got {out}"
        raise ValueError(msg)
    return out


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """Return `value` if it is one of `choices`, else raise ValueError.

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
    """
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(c) for c in options)
        msg = f"{name} must be one of {listed}; got {value!r}"
        raise ValueError(msg)
    return value


def check_rng(rng: object) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for `rng`.

    Parameters
    ----------
    rng : None, int or numpy.random.Generator
        ``None`` gives fresh OS entropy, an int is a seed, a Generator is used as
        it is. The legacy ``numpy.random.RandomState`` is refused.

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    msg = (
        "rng must be None, an int seed or a numpy.random.Generator "
        f"(from numpy.random.default_rng); got {type(rng).__name__}"
    )
    raise TypeError(msg)
