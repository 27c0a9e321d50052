r"""Numerical gradients by centred differences, and a relative-error measure.

The centred difference

.. math::

    \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

has error :math:`O(h^2)` in exact arithmetic; in floating point the rounding error
of the two evaluations adds :math:`O(\epsilon |f| / h)`, so in float64 a step near
:math:`10^{-5}` to :math:`10^{-6}` balances both and gives about ten correct digits
[1]_. Compare an analytic gradient with it through :func:`relative_error`, which
is scale-free: below about ``1e-7`` in float64 the two agree.

References
----------
.. [1] Nocedal, J. and Wright, S. J. (2006). *Numerical Optimization*, 2nd ed.,
       section 8.1. Springer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    as_float_array,
    check_callable,
    check_real,
    format_shape,
)

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(
    f: Callable[[NDArray[np.float64]], float],
    x: ArrayLike,
    *,
    h: float = 1e-5,
) -> NDArray[np.float64]:
    """Gradient of a scalar function by centred differences, one element at a time.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for an array shaped like `x`. It receives a float64 copy
        of `x` with one element moved, so it may keep or change its argument.
    x : array_like
        The point, of any shape.
    h : float, optional
        The step, > 0.

    Returns
    -------
    ndarray of float64
        Shaped like `x`.

    Raises
    ------
    TypeError
        If `f` is not callable or does not return a real number.
    ValueError
        If `h` is not positive, is too small to move an element of `x` or so
        large that ``x + h`` overflows, if `x` is empty or not finite, or if `f`
        returns NaN or infinity.

    Notes
    -----
    Costs ``2 * x.size`` calls of `f`: meant for checking, on small inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.gradcheck import numerical_gradient
    >>> numerical_gradient(lambda v: float(np.sum(v**3)), [1.0, 2.0])
    array([ 3., 12.])
    """
    check_callable(f, "f")
    step = check_real(h, "h", low=0.0, low_inclusive=False)
    # A C-ordered copy: reshape(-1) is then a view, so moving flat_point[i] moves
    # the point that f sees (a Fortran-ordered x once gave all zeros).
    point = np.array(as_float_array(x, "x", dtype=np.float64), order="C", copy=True)
    grad = np.empty(point.shape, dtype=np.float64)
    flat_point = point.reshape(-1)
    flat_grad = grad.reshape(-1)
    for i in range(flat_point.size):
        saved = flat_point[i]
        with np.errstate(over="ignore", invalid="ignore"):
            upper, lower = saved + step, saved - step
            width = upper - lower
        if not np.isfinite(width):
            msg = f"h must keep x + h and x - h finite; got h = {step} at x = {saved}"
            raise ValueError(msg)
        if width == 0.0:
            msg = (
                f"h must be large enough to move x: x + h == x - h at x = {saved} "
                f"for h = {step}"
            )
            raise ValueError(msg)
        flat_point[i] = upper
        up = _scalar(f(point.copy()))
        flat_point[i] = lower
        down = _scalar(f(point.copy()))
        flat_point[i] = saved
        # Divide by the step actually taken (upper - lower is exact in floats
        # near x, and differs from 2 h when h is below the spacing of x).
        with np.errstate(over="ignore", invalid="ignore"):
            flat_grad[i] = (up - down) / width
        if not np.isfinite(flat_grad[i]):
            msg = (
                f"f must stay finite near x: the difference quotient at element {i} "
                f"is {flat_grad[i]} (f(x + h) = {up}, f(x - h) = {down})"
            )
            raise ValueError(msg)
    return grad


def _scalar(value: object) -> float:
    """Check what `f` returned: one finite real number."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        msg = f"f must return a real scalar; got {type(value).__name__}"
        raise TypeError(msg) from exc
    if arr.shape != () or arr.dtype.kind not in "iuf":
        msg = f"f must return a real scalar; got {type(value).__name__} {value!r:.60}"
        raise TypeError(msg)
    out = float(arr)
    if not np.isfinite(out):
        msg = f"f must return a finite value; got {out}"
        raise ValueError(msg)
    return out


def relative_error(a: ArrayLike, b: ArrayLike) -> float:
    r"""Largest elementwise relative difference of two arrays.

    .. math::

        \max_i \frac{|a_i - b_i|}{\max(|a_i| + |b_i|, \tau)},

    with a floor :math:`\tau = 10^{-12}` so that two zeros compare as equal.

    Parameters
    ----------
    a, b : array_like
        Arrays of the same shape.

    Returns
    -------
    float
        0 for identical arrays, at most 1.

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> from labcode.gradcheck import relative_error
    >>> relative_error([1.0, 0.0], [1.0, 0.0])
    0.0
    >>> round(relative_error([1.0, 2.0], [1.0, 2.002]), 6)
    0.0005
    """
    a_arr = as_float_array(a, "a", allow_empty=True, dtype=np.float64)
    b_arr = as_float_array(b, "b", allow_empty=True, dtype=np.float64)
    if a_arr.shape != b_arr.shape:
        msg = (
            f"a and b must have the same shape; got {format_shape(a_arr.shape)} "
            f"and {format_shape(b_arr.shape)}"
        )
        raise ValueError(msg)
    if a_arr.size == 0:
        return 0.0
    # Halved, so that neither a - b nor |a| + |b| overflows for values near 1e308.
    half_a, half_b = a_arr / 2, b_arr / 2
    scale = np.maximum(np.abs(half_a) + np.abs(half_b), 0.5e-12)
    out: Any = np.max(np.abs(half_a - half_b) / scale)
    return float(out)
