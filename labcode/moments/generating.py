r"""Moment generating functions, binomial transforms and the moments of a die."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from labcode._validation import (
    as_float_array,
    as_numeric_array,
    check_callable,
    check_int,
    check_real,
)
from labcode.moments._common import _finite, _order, _result

__all__ = [
    "MAX_MGF_ORDER",
    "MAX_SEQUENCE",
    "binomial_transform",
    "die_moments",
    "empirical_mgf",
    "inverse_binomial_transform",
    "mgf_moment",
]


#: The largest order :func:`mgf_moment` differentiates: finite-difference stencils
#: of higher order are swamped by rounding (k = 10 is already off by a per cent
#: for the normal distribution).
MAX_MGF_ORDER = 8
#: The longest sequence the binomial transforms take (their cost grows as n**2,
#: and beyond it the float binomial coefficients overflow).
MAX_SEQUENCE = 1024


def empirical_mgf(x: ArrayLike, t: ArrayLike) -> Any:
    """Return the empirical moment generating function ``mean(exp(t * x))``.

    Computed as ``exp(logsumexp(t * x) - log n)``, so large ``t * x`` does not
    overflow before the average is taken.

    Parameters
    ----------
    x : (n,) array_like
        A 1-D sample.
    t : float or array_like
        Points at which to evaluate; any shape.

    Returns
    -------
    float or ndarray
        Same shape as `t`, float64.

    Raises
    ------
    ValueError
        If the value at some `t` is beyond the float64 range (about 1.8e308).

    Examples
    --------
    >>> from labcode.moments import empirical_mgf
    >>> float(empirical_mgf([0.0, 1.0], 0.0))
    1.0
    >>> round(float(empirical_mgf([0.0, 1.0], 1.0)), 6)  # (1 + e) / 2
    1.859141
    """
    sample = as_float_array(x, "x", ndim=1, layout="(n,)", dtype=np.float64)
    t_arr = as_float_array(t, "t", allow_empty=True, dtype=np.float64)
    flat = t_arr.reshape(-1, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        logm = logsumexp(flat * sample[np.newaxis, :], axis=1) - math.log(sample.size)
        values = np.exp(logm).reshape(t_arr.shape)
    if not np.all(np.isfinite(values)):
        worst = float(flat[np.argmax(np.nan_to_num(logm, nan=np.inf)), 0])
        msg = (
            f"t must keep mean(exp(t * x)) inside the float64 range; at t = {worst:.6g} "
            f"it is exp({float(np.max(logm)):.6g})"
        )
        raise ValueError(msg)
    return _result(values)


def _central_difference_weights(
    order: int, offsets: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Weights w with sum_j w_j f(j h) ~ h**order f^(order)(0) (Taylor matching)."""
    p = offsets.size
    powers = np.arange(p)[:, np.newaxis]
    vandermonde = offsets[np.newaxis, :] ** powers
    rhs = np.zeros(p)
    rhs[order] = math.factorial(order)
    return np.asarray(np.linalg.solve(vandermonde, rhs), dtype=np.float64)


def mgf_moment(
    mgf: Callable[[NDArray[np.float64]], ArrayLike], k: int, *, h: float | None = None
) -> float:
    """Return the k-th raw moment ``E[X**k] = M^(k)(0)`` from an MGF, numerically.

    The k-th derivative at 0 is taken by a central finite-difference stencil of
    accuracy order 6 (error of order ``h**6``).

    Parameters
    ----------
    mgf : callable
        ``mgf(t)`` for a 1-D float64 array ``t`` near 0; it must accept arrays
        (all the stencil points are passed in one call).
    k : int
        Order, 0 <= k <= :data:`MAX_MGF_ORDER` (higher-order stencils are
        swamped by rounding).
    h : float, optional
        Step, > 0. The default ``eps**(1 / (k + 6))`` balances truncation against
        rounding for a distribution of unit scale; for a variable of scale
        ``s``, pass about that value divided by ``s``.

    Returns
    -------
    float

    Notes
    -----
    Expect about five correct significant digits for ``k <= 6`` when the MGF
    is finite on ``|t| < 1`` or wider; an MGF that blows up close to 0 needs a
    smaller `h`.

    Examples
    --------
    The standard normal has ``M(t) = exp(t**2 / 2)`` and ``E[X**4] = 3``:

    >>> import numpy as np
    >>> from labcode.moments import mgf_moment
    >>> round(mgf_moment(lambda t: np.exp(t**2 / 2), 4), 6)
    3.0
    """
    order = _order(
        k,
        MAX_MGF_ORDER,
        "finite differences of higher order are swamped by rounding",
    )
    check_callable(mgf, "mgf")
    accuracy = 6
    step = (
        float(np.finfo(np.float64).eps) ** (1.0 / (order + accuracy))
        if h is None
        else check_real(h, "h", low=0.0, low_inclusive=False)
    )
    half = (order + accuracy - 1) // 2
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    weights = _central_difference_weights(order, offsets)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        returned = mgf(offsets * step)  # non-finite values are refused below
    try:
        values = np.asarray(returned, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"mgf must return real numbers; got {type(returned).__name__}"
        raise TypeError(msg) from exc
    if values.shape != offsets.shape:
        msg = (
            f"mgf must return one value per point: called with shape {offsets.shape}, "
            f"returned shape {values.shape}"
        )
        raise ValueError(msg)
    if not np.all(np.isfinite(values)):
        msg = f"mgf is not finite near 0 (at t in [{-half * step:.3g}, {half * step:.3g}])"
        raise ValueError(msg)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        moment = float(weights @ values / step**order)
    if not np.isfinite(moment):
        msg = f"h must be large enough for a finite stencil; got h = {step:.3g}"
        raise ValueError(msg)
    return moment


def _is_object_ints(a: object) -> bool:
    """Whether `a` is an object array (Python ints beyond 64 bits)."""
    return isinstance(a, np.ndarray) and a.dtype.kind == "O"


def _integer_sequence(a: ArrayLike, name: str) -> list[int] | None:
    """Return `a` as Python ints when every entry is an integer, else None.

    Python ints too large for int64 arrive as an object array and stay exact.
    """
    if (
        isinstance(a, list | tuple)
        and a
        and all(isinstance(v, int | np.integer) for v in a)
    ):
        # Checked before numpy sees them: numpy would turn ints beyond 64 bits
        # into floats or objects depending on their neighbours.
        return [int(v) for v in a]
    arr = as_numeric_array(a, name) if not _is_object_ints(a) else np.asarray(a)
    if arr.dtype.kind not in "iubO":
        return None
    if arr.ndim != 1 or arr.size == 0:
        msg = f"{name} must be a non-empty 1-D sequence (n,); got shape {arr.shape}"
        raise ValueError(msg)
    items = arr.tolist()
    if all(isinstance(v, int) for v in items):
        return [int(v) for v in items]
    msg = f"{name} must hold integers or floats; got {arr.dtype} entries"
    raise TypeError(msg)


def _binomial(a: ArrayLike, name: str, sign: int) -> Any:
    """b_n = sum_k C(n, k) * sign**(n - k) * a_k, exact for integers."""
    ints = _integer_sequence(a, name)
    length = len(ints) if ints is not None else int(np.size(a))
    if length > MAX_SEQUENCE:
        msg = (
            f"{name} must have at most {MAX_SEQUENCE} entries (the transform costs "
            f"n**2 terms); got {length}"
        )
        raise ValueError(msg)
    if ints is not None:
        out = [
            sum(math.comb(n, k) * (sign ** (n - k)) * ints[k] for k in range(n + 1))
            for n in range(len(ints))
        ]
        return np.array(out, dtype=object)
    seq = as_float_array(a, name, ndim=1, layout="(n,)", dtype=np.float64)
    values = np.zeros_like(seq)
    for n in range(seq.size):
        coeffs = np.array(
            [math.comb(n, k) * sign ** (n - k) for k in range(n + 1)], dtype=np.float64
        )
        with np.errstate(over="ignore", invalid="ignore"):
            values[n] = coeffs @ seq[: n + 1]
    return _finite(values, name)


def binomial_transform(a: ArrayLike) -> Any:
    r"""Return the binomial transform :math:`b_n = \sum_{k=0}^{n} \binom{n}{k} a_k`.

    Parameters
    ----------
    a : (n,) array_like
        The sequence :math:`a_0, a_1, \dots`. Integers (including Python ints of
        any size) are transformed exactly, as Python ints in an object array;
        floats give a float64 array.

    Returns
    -------
    (n,) ndarray

    See Also
    --------
    inverse_binomial_transform : Undoes it.

    Notes
    -----
    The signed form :math:`\sum_k (-1)^k \binom{n}{k} a_k` is its own inverse;
    it equals ``(-1)**n`` times :func:`inverse_binomial_transform`.

    Examples
    --------
    The transform of all ones is the powers of two, and the Fibonacci numbers
    go to every second Fibonacci number:

    >>> from labcode.moments import binomial_transform
    >>> binomial_transform([1, 1, 1, 1, 1]).tolist()
    [1, 2, 4, 8, 16]
    >>> binomial_transform([0, 1, 1, 2, 3, 5]).tolist()
    [0, 1, 3, 8, 21, 55]
    """
    return _binomial(a, "a", 1)


def inverse_binomial_transform(b: ArrayLike) -> Any:
    r"""Return :math:`a_n = \sum_{k=0}^{n} (-1)^{n-k} \binom{n}{k} b_k`.

    Parameters
    ----------
    b : (n,) array_like
        A transformed sequence; integers are handled exactly.

    Returns
    -------
    (n,) ndarray

    Examples
    --------
    >>> from labcode.moments import inverse_binomial_transform
    >>> inverse_binomial_transform([1, 2, 4, 8, 16]).tolist()
    [1, 1, 1, 1, 1]
    """
    return _binomial(b, "b", -1)


def die_moments(faces: int = 6) -> tuple[Fraction, Fraction]:
    """Return the exact mean and variance of a fair die with `faces` faces.

    Parameters
    ----------
    faces : int, optional
        Number of faces, numbered 1 to `faces`, >= 1 (any size: the closed forms
        below are exact, checked against the defining sums in the tests).

    Returns
    -------
    (Fraction, Fraction)
        ``E[X] = (faces + 1) / 2`` and ``Var X = (faces**2 - 1) / 12``.

    Examples
    --------
    >>> from labcode.moments import die_moments
    >>> die_moments()
    (Fraction(7, 2), Fraction(35, 12))
    """
    count = check_int(faces, "faces", minimum=1)
    return Fraction(count + 1, 2), Fraction(count * count - 1, 12)
