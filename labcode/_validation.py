"""The error contract of labcode: every input check, in one place.

Every public function of labcode checks its arguments with the helpers of this
module before it does any work. A newcomer needs to know only this page to know
how labcode fails.

The contract
------------
1. **Bad input raises, early, with our message.** A wrong *type* (a string
   where a number belongs, a float where an int belongs, ``None`` or ``1`` where
   a bool belongs, a complex or object array, an object that is not callable)
   raises ``TypeError``. A right type with a wrong *value* (a shape, a range,
   NaN or infinity, an unknown choice, a limit exceeded) raises ``ValueError``.
   No other exception type escapes an input check (no ``IndexError``,
   ``OverflowError``, ``ZeroDivisionError`` or numpy's own messages), and no
   check is an ``assert`` (asserts vanish under ``python -O``).
2. **One message pattern**: the parameter's name, what was expected, what came::

       X must be 2-D (m, n); got shape (5,)
       sigma must be > 0.0; got -1.0
       gray must be a bool (True or False); got 1 of type int
       method must be one of 'direct', 'fft', 'auto'; got 'FFT'
       faces must be <= 10000000 (the sums are exact, one term per face); got 10**12

   The message is built first and then raised (``msg = ...; raise ValueError(msg)``).
3. **No truthiness.** Flags are checked with :func:`check_bool`: only ``True``,
   ``False`` and numpy bools pass; ``None``, ``0``, ``1`` and ``"yes"`` are a
   ``TypeError``. Integers (:func:`check_int`) refuse bools and floats, even
   ``2.0``; reals (:func:`check_real`) refuse bools, strings and complex numbers.
4. **Arrays** (:func:`as_float_array`, :func:`as_int_array`) must be real
   numeric: bool, int, uint or float dtypes, never strings, objects or complex
   numbers. float32 stays float32 and everything else computes in float64
   (:func:`float_dtype`). Their number of dimensions, emptiness and finiteness
   are checked (NaN and infinity are refused unless a function documents
   otherwise) and, on request, their total size (``max_size``) and memory order
   (``contiguous=True`` returns a C-ordered array, so ``reshape(-1)`` is a view
   and writes through it reach the array; Fortran-ordered or strided input is
   copied).
5. **Resource bounds are stated and enforced before work starts.** A parameter
   that sets the amount of work or memory (iterations, window sizes, die faces,
   moment orders, program sizes) has a documented limit or an algorithm that
   does not blow up. Hitting a limit is a ``ValueError`` that says the limit
   (``maximum=`` of :func:`check_int`, :func:`check_size`). :data:`MAX_ELEMENTS`
   bounds the elements of any temporary array labcode allocates, and
   :data:`MAX_NAIVE_STEPS` the loop iterations of a naive twin.
6. **Results are finite for finite input, or the call raises.** Arithmetic that
   could overflow is done in a safe form (scaled norms, log space), and where a
   computation diverges (gradient descent or training with too large a step) the
   error names the parameter to change, for example ``lr``.
7. **Generators**: ``rng`` is ``None`` (fresh entropy), a non-negative int seed or
   a ``numpy.random.Generator`` (:func:`check_rng`); the legacy
   ``numpy.random.RandomState``, floats, bools and negative seeds are refused with
   our message.
8. **Choices** (:func:`check_choice`): a string from a fixed set, matched exactly
   (``'FFT'`` is not ``'fft'``); a non-string is a ``TypeError``.

Types
-----
:data:`FloatArray` and :data:`IntArray` are the array aliases every module of
labcode annotates with; they are defined here once.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MAX_ELEMENTS",
    "MAX_NAIVE_STEPS",
    "FloatArray",
    "IntArray",
    "as_float_array",
    "as_int_array",
    "as_numeric_array",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_int",
    "check_ndim",
    "check_real",
    "check_rng",
    "check_shape",
    "check_size",
    "float_dtype",
    "format_shape",
]

#: A real floating array, float32 or float64: what labcode computes in.
FloatArray: TypeAlias = NDArray[np.floating[Any]]
#: An array of indices or labels.
IntArray: TypeAlias = NDArray[np.intp]

#: The most elements any array that labcode allocates may have (2**27, 1 GiB of
#: float64). Inputs whose work would need more are refused before allocating.
MAX_ELEMENTS = 1 << 27
#: The most Python-level loop iterations a naive twin (``*_naive``) runs: the
#: twins are for reading and checking on small inputs; bigger ones belong to
#: the fast path.
MAX_NAIVE_STEPS = 10**7


def format_shape(shape: tuple[int, ...]) -> str:
    """Return a shape as Python prints it, ``(5,)`` or ``(2, 3)``."""
    return str(tuple(int(s) for s in shape))


def _describe(value: object) -> str:
    """``repr`` of a value, shortened, with its type: ``'1' of type str``."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} of type {type(value).__name__}"


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


def check_size(
    count: int, name: str, limit: int, *, detail: str = "", unit: str = "elements"
) -> None:
    """Raise ValueError if `count` elements (or steps) exceed `limit`.

    Parameters
    ----------
    count : int
        The amount of work or memory the arguments ask for.
    name : str
        The parameter (or parameters) responsible.
    limit : int
        The most allowed.
    detail : str, optional
        What was passed, for example ``"sigma = 1e5 on a (10, 10) image"``.
    unit : str, optional
        What is counted: ``"elements"`` (memory) or ``"loop steps"`` (work).

    Examples
    --------
    >>> from labcode._validation import check_size
    >>> check_size(10**9, "x", 1000, detail="shape (1000000000,)")
    Traceback (most recent call last):
    ...
    ValueError: x must need at most 1000 elements; got shape (1000000000,) (1000000000 elements)
    """
    if count <= limit:
        return
    what = f"{detail} ({count} {unit})" if detail else f"{count} {unit}"
    msg = f"{name} must need at most {limit} {unit}; got {what}"
    raise ValueError(msg)


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
