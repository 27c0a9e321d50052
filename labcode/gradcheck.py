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

from labcode._validation import as_float_array, check_real, format_shape

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
        If `h` is not positive or `x` is empty or not finite.

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
    func: object = f  # checked at run time: callers may not use a type checker
    if not callable(func):
        msg = f"f must be callable; got {type(func).__name__}"
        raise TypeError(msg)
    step = check_real(h, "h", low=0.0, low_inclusive=False)
    point = as_float_array(x, "x", dtype=np.float64).astype(np.float64, copy=True)
    grad = np.empty(point.shape, dtype=np.float64)
    flat_point = point.reshape(-1)
    flat_grad = grad.reshape(-1)
    for i in range(flat_point.size):
        saved = flat_point[i]
        flat_point[i] = saved + step
        up = _scalar(f(point.copy()))
        flat_point[i] = saved - step
        down = _scalar(f(point.copy()))
        flat_point[i] = saved
        flat_grad[i] = (up - down) / (2.0 * step)
    return grad


def _scalar(value: object) -> float:
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in "biuf":
        msg = f"f must return a real scalar; got {type(value).__name__} {value!r:.60}"
        raise TypeError(msg)
    return float(arr)


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
    scale = np.maximum(np.abs(a_arr) + np.abs(b_arr), 1e-12)
    out: Any = np.max(np.abs(a_arr - b_arr) / scale)
    return float(out)
