"""Checks of arrays: dtype, number of dimensions, shape, emptiness, finiteness.

Part of :mod:`labcode._validation`, whose docstring states the error contract
(point 4: arrays). The array aliases :data:`FloatArray` and :data:`IntArray`
are defined here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation._bounds import check_size

#: A real floating array, float32 or float64: what labcode computes in.
FloatArray: TypeAlias = NDArray[np.floating[Any]]
#: An array of indices or labels.
IntArray: TypeAlias = NDArray[np.intp]


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


def as_numeric_array(x: ArrayLike, name: str) -> NDArray[Any]:
    """Return ``np.asarray(x)``, checked to be real numeric (bool, int, uint, float).

    For functions that treat dtypes differently (an image whose integer dtype
    sets its scale); others use :func:`as_float_array`. Ragged sequences are a
    ValueError and non-numeric or complex data a TypeError, with our message.

    Examples
    --------
    >>> from labcode._validation import as_numeric_array
    >>> as_numeric_array([1, [2]], "image")
    Traceback (most recent call last):
    ...
    ValueError: image must be a numeric array; could not convert it: ...
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError, OverflowError) as exc:  # ragged sequences
        msg = f"{name} must be a numeric array; could not convert it: {exc}"
        raise ValueError(msg) from exc
    kind = arr.dtype.kind
    if kind == "c":
        msg = f"{name} must be real; got complex dtype {arr.dtype}"
        raise TypeError(msg)
    if kind not in "biuf":
        msg = f"{name} must be a numeric array; got dtype {arr.dtype}"
        raise TypeError(msg)
    return arr


def as_float_array(
    x: ArrayLike,
    name: str,
    *,
    ndim: int | Iterable[int] | None = None,
    layout: str = "",
    allow_empty: bool = False,
    finite: bool = True,
    dtype: np.dtype[Any] | type | None = None,
    max_size: int | None = None,
    contiguous: bool = False,
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
    max_size : int, optional
        The most elements accepted (see :func:`check_size`).
    contiguous : bool, optional
        Return a C-contiguous array (a copy when `x` is Fortran-ordered or
        strided), so that ``reshape(-1)`` is a view of it.

    Returns
    -------
    ndarray
        A float32 or float64 array (a view of `x` when no conversion is needed).

    Raises
    ------
    TypeError
        If `x` is not numeric (strings, objects, complex numbers).
    ValueError
        If `x` has the wrong number of dimensions, is empty, too large or not
        finite, or cannot be converted (ragged nested sequences).

    Examples
    --------
    >>> from labcode._validation import as_float_array
    >>> as_float_array([1, 2], "x")
    array([1., 2.])
    >>> as_float_array([1.0, 2.0], "X", ndim=2, layout="(m, n)")
    Traceback (most recent call last):
    ...
    ValueError: X must be 2-D (m, n); got shape (2,)
    """
    arr = as_numeric_array(x, name)
    if ndim is not None:
        check_ndim(arr, name, ndim, layout)
    if not allow_empty and arr.size == 0:
        msg = f"{name} must not be empty; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if max_size is not None:
        check_size(arr.size, name, max_size, detail=f"shape {format_shape(arr.shape)}")
    target = np.dtype(dtype) if dtype is not None else float_dtype(arr.dtype)
    out: FloatArray = arr.astype(target, copy=False)
    if contiguous:
        out = np.ascontiguousarray(out)
    if finite and not np.all(np.isfinite(out)):
        msg = f"{name} must contain only finite values; got NaN or infinity"
        raise ValueError(msg)
    return out


def as_int_array(
    x: ArrayLike,
    name: str,
    *,
    ndim: int | Iterable[int] | None = None,
    layout: str = "",
    allow_empty: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    what: str = "values",
) -> IntArray:
    """Convert `x` to an ``intp`` array of indices or labels, checking its form.

    Integer and bool arrays are accepted, and float arrays whose entries are all
    whole numbers (``[0.0, 2.0]``); ``0.5`` is a ``TypeError``.

    Parameters
    ----------
    x : array_like
        The value passed by the user.
    name : str
        The parameter name used in error messages.
    ndim : int or iterable of int, optional
        Accepted numbers of dimensions.
    layout : str, optional
        The expected layout shown in messages, for example ``"(N,)"``.
    allow_empty : bool, optional
        Accept arrays with zero elements.
    minimum, maximum : int, optional
        The range every entry must lie in (both ends included).
    what : str, optional
        What the entries are, for messages: ``"class labels"``.

    Returns
    -------
    ndarray of intp

    Examples
    --------
    >>> from labcode._validation import as_int_array
    >>> as_int_array([0.0, 2.0], "y").tolist()
    [0, 2]
    >>> as_int_array([0, 3], "y", minimum=0, maximum=2)
    Traceback (most recent call last):
    ...
    ValueError: y must hold values in 0..2; got values from 0 to 3
    """
    arr = as_numeric_array(x, name)
    if ndim is not None:
        check_ndim(arr, name, ndim, layout)
    if not allow_empty and arr.size == 0:
        msg = f"{name} must not be empty; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.dtype.kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr))
        if not np.all(whole):
            msg = (
                f"{name} must hold integer {what}; got dtype {arr.dtype} "
                "with non-integer values"
            )
            raise TypeError(msg)
        if arr.size and float(np.max(np.abs(arr.astype(np.float64)))) > 2.0**62:
            msg = f"{name} must hold integers that fit in {np.dtype(np.intp)}"
            raise ValueError(msg)
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.intp).max:
        msg = f"{name} must hold integers that fit in {np.dtype(np.intp)}"
        raise ValueError(msg)
    out: IntArray = arr.astype(np.intp, copy=False)
    if out.size and (
        (minimum is not None and int(out.min()) < minimum)
        or (maximum is not None and int(out.max()) > maximum)
    ):
        low = "" if minimum is None else str(minimum)
        high = "" if maximum is None else str(maximum)
        if minimum is None:
            wanted = f"{what} <= {high}"
        elif maximum is None:
            wanted = f"{what} >= {low}"
        else:
            wanted = f"{what} in {low}..{high}"
        msg = f"{name} must hold {wanted}; got values from {out.min()} to {out.max()}"
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


def check_shape(
    arr: NDArray[Any], name: str, shape: tuple[int, ...], layout: str = ""
) -> None:
    """Raise ValueError unless `arr` has exactly `shape`.

    Parameters
    ----------
    arr : ndarray
        The array to check.
    name : str
        The parameter name used in the message.
    shape : tuple of int
        The required shape.
    layout : str, optional
        What the axes mean, for example ``"(N, F, H', W')"``.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode._validation import check_shape
    >>> check_shape(np.zeros(3), "b", (2,), "(F,)")
    Traceback (most recent call last):
    ...
    ValueError: b must have shape (F,) = (2,); got shape (3,)
    """
    if arr.shape == tuple(shape):
        return
    where = f"{layout} = " if layout else ""
    msg = (
        f"{name} must have shape {where}{format_shape(shape)}; "
        f"got shape {format_shape(arr.shape)}"
    )
    raise ValueError(msg)
