r"""Linear least squares by gradient descent, with explicit shapes.

For a design matrix ``X`` of shape ``(m, n)`` and targets ``y`` of shape ``(m,)``
(or ``(m, k)`` for ``k`` outputs fitted at once) the loss is the halved mean
squared error

.. math::

    J(\theta) = \frac{1}{2m} \lVert X\theta - y \rVert^2, \qquad
    \nabla J(\theta) = \frac{1}{m} X^\top (X\theta - y),

and gradient descent repeats :math:`\theta \leftarrow \theta - \alpha
\nabla J(\theta)`. It converges for every start when the step satisfies
:math:`0 < \alpha < 2 / \lambda_{\max}(X^\top X / m)`.

Shapes are checked, not broadcast: a ``(m,)`` prediction minus a ``(m, 1)`` target
is an ``(m, m)`` matrix in numpy, and gradient descent on it converges quietly to
the wrong answer. Here that mix is an error that names the argument.

References
----------
.. [1] Boyd, S. and Vandenberghe, L. (2004). *Convex Optimization*, section 9.3.
       Cambridge University Press.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    MAX_NAIVE_STEPS,
    FloatArray,
    as_float_array,
    check_int,
    check_real,
    check_size,
    format_shape,
)

__all__ = [
    "MAX_ITERATIONS",
    "GradientDescentResult",
    "add_intercept",
    "gradient_descent",
    "mse_gradient",
    "mse_gradient_naive",
    "mse_loss",
    "stable_learning_rate",
]

#: The most steps :func:`gradient_descent` takes in one call. Ten million steps
#: are minutes of work even on a tiny problem; a method that needs more should be
#: preconditioned (scale the features) rather than iterated longer.
MAX_ITERATIONS = 10_000_000


class GradientDescentResult(NamedTuple):
    """What :func:`gradient_descent` returns; unpacks as ``theta, losses``.

    Attributes
    ----------
    theta : (n,) or (n, k) ndarray
        The fitted parameters, shaped like ``y`` with ``m`` replaced by ``n``.
    losses : (t + 1,) ndarray of float64
        The loss at the start and after each of the ``t`` steps taken.
    """

    theta: FloatArray
    losses: NDArray[np.float64]


def add_intercept(x: ArrayLike) -> FloatArray:
    """Prepend a column of ones to the features, giving a design matrix.

    Parameters
    ----------
    x : (m,) or (m, n) array_like
        Features; a 1-D array is one feature per sample.

    Returns
    -------
    (m, n + 1) ndarray
        ``[1, x]`` row by row, so that ``theta[0]`` is the intercept.

    Examples
    --------
    >>> from labcode.regression import add_intercept
    >>> add_intercept([2.0, 3.0])
    array([[1., 2.],
           [1., 3.]])
    """
    arr = as_float_array(x, "x", ndim=(1, 2), layout="(m,) or (m, n)")
    if arr.ndim == 1:
        arr = arr[:, np.newaxis]
    ones = np.ones((arr.shape[0], 1), dtype=arr.dtype)
    return np.concatenate([ones, arr], axis=1)


def _check_problem(
    X: ArrayLike, y: ArrayLike, theta: ArrayLike | None, theta_name: str = "theta"
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate ``X``, ``y`` and ``theta`` together; return them in one dtype."""
    X_arr = as_float_array(X, "X")
    if X_arr.ndim != 2:
        hint = ""
        if X_arr.ndim == 1:
            hint = (
                "; for a single feature pass x.reshape(-1, 1), "
                "or add_intercept(x) to fit a line with an intercept"
            )
        msg = f"X must be 2-D (m, n); got shape {format_shape(X_arr.shape)}{hint}"
        raise ValueError(msg)
    y_arr = as_float_array(y, "y", ndim=(1, 2), layout="(m,) or (m, k)")
    m, n = X_arr.shape
    if y_arr.shape[0] != m:
        hint = ""
        if y_arr.ndim == 2 and y_arr.shape[0] == 1 and y_arr.shape[1] == m:
            hint = "; y looks like a row vector, use y.ravel() or y.reshape(-1, 1)"
        msg = (
            f"y must have one row per row of X, shape ({m},) or ({m}, k); "
            f"got shape {format_shape(y_arr.shape)}{hint}"
        )
        raise ValueError(msg)
    if y_arr.ndim == 1:
        want: tuple[int, ...] = (n,)
        want_txt = f"({n},) to match y of shape ({m},)"
    else:
        want = (n, y_arr.shape[1])
        want_txt = (
            f"{format_shape(want)} to match y of shape {format_shape(y_arr.shape)}"
        )
    dtype = np.result_type(X_arr.dtype, y_arr.dtype)
    if theta is None:
        theta_arr = np.zeros(want, dtype=dtype)
    else:
        theta_arr = as_float_array(
            theta, theta_name, ndim=(1, 2), layout="(n,) or (n, k)"
        )
        if theta_arr.shape != want:
            msg = (
                f"{theta_name} must have shape {want_txt}; "
                f"got shape {format_shape(theta_arr.shape)}"
            )
            raise ValueError(msg)
        dtype = np.result_type(dtype, theta_arr.dtype)
    return (
        X_arr.astype(dtype, copy=False),
        y_arr.astype(dtype, copy=False),
        theta_arr.astype(dtype, copy=True),
    )


def mse_loss(X: ArrayLike, y: ArrayLike, theta: ArrayLike) -> float:
    """Halved mean squared error ``||X @ theta - y||^2 / (2 m)``.

    Parameters
    ----------
    X : (m, n) array_like
        Design matrix.
    y : (m,) or (m, k) array_like
        Targets.
    theta : (n,) or (n, k) array_like
        Parameters, with the same number of dimensions as `y`.

    Returns
    -------
    float

    Examples
    --------
    >>> from labcode.regression import mse_loss
    >>> mse_loss([[1.0, 0.0], [1.0, 1.0]], [1.0, 3.0], [1.0, 1.0])
    0.25
    """
    X_arr, y_arr, theta_arr = _check_problem(X, y, theta)
    with np.errstate(over="ignore", invalid="ignore"):
        residual = X_arr @ theta_arr - y_arr
    return _half_mean_square(residual, "X @ theta - y")


def _half_mean_square(residual: FloatArray, what: str) -> float:
    """``||residual||^2 / (2 m)``, scaled so that squaring does not overflow.

    Raises ValueError naming `what` when the residual itself overflowed or the
    loss is beyond the float64 range.
    """
    if not np.all(np.isfinite(residual)):
        msg = f"{what} must be finite; it overflows float64 (scale X and y down)"
        raise ValueError(msg)
    m = int(residual.shape[0])
    r = residual.astype(np.float64)
    size = float(np.max(np.abs(r))) if r.size else 0.0
    if size == 0.0:
        return 0.0
    unit = r / size
    with np.errstate(over="ignore"):
        loss = float(np.vdot(unit, unit)) / (2 * m) * size * size
    if not np.isfinite(loss):
        msg = f"{what} must have a squared norm inside float64; got |residual| ~ {size:.3g}"
        raise ValueError(msg)
    return loss


def mse_gradient(X: ArrayLike, y: ArrayLike, theta: ArrayLike) -> FloatArray:
    """Gradient of :func:`mse_loss` with respect to `theta`, ``X.T @ (X @ theta - y) / m``.

    Parameters
    ----------
    X : (m, n) array_like
        Design matrix.
    y : (m,) or (m, k) array_like
        Targets.
    theta : (n,) or (n, k) array_like
        Parameters, with the same number of dimensions as `y`.

    Returns
    -------
    ndarray
        Same shape as `theta`.

    Examples
    --------
    >>> from labcode.regression import mse_gradient
    >>> mse_gradient([[1.0, 0.0], [1.0, 1.0]], [1.0, 3.0], [1.0, 1.0])
    array([-0.5, -0.5])
    """
    X_arr, y_arr, theta_arr = _check_problem(X, y, theta)
    with np.errstate(over="ignore", invalid="ignore"):
        grad: FloatArray = X_arr.T @ (X_arr @ theta_arr - y_arr) / X_arr.shape[0]
    if not np.all(np.isfinite(grad)):
        msg = "X, y and theta must give a finite gradient; it overflows float64"
        raise ValueError(msg)
    return grad


def mse_gradient_naive(X: ArrayLike, y: ArrayLike, theta: ArrayLike) -> FloatArray:
    """Compute the gradient of :func:`mse_loss` with plain loops over samples.

    The readable reference: for each sample ``i`` the residual
    ``r_i = x_i . theta - y_i`` adds ``r_i * x_i / m`` to the gradient.

    Parameters
    ----------
    X : (m, n) array_like
        Design matrix.
    y : (m,) or (m, k) array_like
        Targets.
    theta : (n,) or (n, k) array_like
        Parameters, with the same number of dimensions as `y`.

    Returns
    -------
    ndarray
        Same shape as `theta`.

    Examples
    --------
    >>> from labcode.regression import mse_gradient_naive
    >>> mse_gradient_naive([[1.0, 0.0], [1.0, 1.0]], [1.0, 3.0], [1.0, 1.0])
    array([-0.5, -0.5])
    """
    X_arr, y_arr, theta_arr = _check_problem(X, y, theta)
    m, n = X_arr.shape
    check_size(
        m * n * max(1, theta_arr.size // n),
        "X and theta",
        MAX_NAIVE_STEPS,
        detail=f"X of shape {format_shape(X_arr.shape)}; use mse_gradient",
        unit="loop steps",
    )
    theta2 = theta_arr.reshape(n, -1)
    y2 = y_arr.reshape(m, -1)
    grad = np.zeros_like(theta2)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(m):
            for j in range(theta2.shape[1]):
                residual = sum(X_arr[i, a] * theta2[a, j] for a in range(n)) - y2[i, j]
                for a in range(n):
                    grad[a, j] += residual * X_arr[i, a] / m
    if not np.all(np.isfinite(grad)):
        msg = "X, y and theta must give a finite gradient; it overflows float64"
        raise ValueError(msg)
    return grad.reshape(theta_arr.shape)


def stable_learning_rate(X: ArrayLike) -> float:
    """Return the step-size bound ``2 / lambda_max(X.T @ X / m)`` of gradient descent.

    Gradient descent on :func:`mse_loss` converges from every start exactly when
    ``0 < lr < stable_learning_rate(X)``; ``lr`` equal to half this bound is the
    classic ``1 / L`` choice.

    Parameters
    ----------
    X : (m, n) array_like
        Design matrix.

    Returns
    -------
    float
        ``inf`` when ``X`` is all zeros (any step leaves theta unchanged) or the
        bound is beyond the float64 range; it may round to 0.0 for ``X`` near
        1e154 and above. Computed from ``X / max|X|``, so it never overflows.

    Examples
    --------
    >>> from labcode.regression import stable_learning_rate
    >>> stable_learning_rate([[1.0, 0.0], [0.0, 2.0]])
    1.0
    """
    X_arr = as_float_array(X, "X", ndim=2, layout="(m, n)").astype(np.float64)
    size = float(np.max(np.abs(X_arr)))
    if size == 0.0:
        return float("inf")
    # The largest singular value squared is the largest eigenvalue of X^T X; it
    # is taken of X / size (at most sqrt(m n)), so nothing overflows, and
    # 2 m / (size * sigma)**2 is formed as a square of a ratio.
    sigma_unit = float(np.linalg.norm(X_arr / size, ord=2))
    with np.errstate(over="ignore", under="ignore"):
        root = np.float64(np.sqrt(2.0 * X_arr.shape[0]) / sigma_unit) / np.float64(size)
        return float(root * root)


def gradient_descent(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lr: float,
    iterations: int,
    theta0: ArrayLike | None = None,
    tol: float | None = None,
) -> GradientDescentResult:
    r"""Fit linear least squares by full-batch gradient descent.

    Minimises :func:`mse_loss`, ``J(theta) = ||X @ theta - y||^2 / (2 m)``, with
    the update ``theta <- theta - lr * X.T @ (X @ theta - y) / m``.

    Parameters
    ----------
    X : (m, n) array_like
        Design matrix, one row per sample (see :func:`add_intercept` for a bias
        column). A 1-D array is refused: reshape a single feature with
        ``x.reshape(-1, 1)``.
    y : (m,) or (m, k) array_like
        Targets. ``(m,)`` gives ``theta`` of shape ``(n,)``; ``(m, k)``, including
        the column vector ``(m, 1)``, gives ``theta`` of shape ``(n, k)``.
    lr : float
        Step size, > 0. Steps at or above :func:`stable_learning_rate` diverge,
        which raises ValueError rather than returning infinities.
    iterations : int
        Maximum number of steps, 0 <= iterations <= :data:`MAX_ITERATIONS`. The
        loss history grows with the steps actually taken (nothing is allocated
        for steps that `tol` makes unnecessary).
    theta0 : (n,) or (n, k) array_like, optional
        Starting point, shaped like the result; zeros by default. Mixing a
        ``(n,)`` start with ``(m, 1)`` targets is an error, not a broadcast.
    tol : float, optional
        Stop early once every entry of the gradient is at most `tol` in
        absolute value.

    Returns
    -------
    GradientDescentResult
        ``(theta, losses)``; ``losses[0]`` is the loss at `theta0` and
        ``losses[i]`` the loss after ``i`` steps.

    Raises
    ------
    ValueError
        For inconsistent shapes (naming the argument, the expected shape and the
        shape given), non-finite data, ``lr <= 0``, ``iterations < 0`` or a step
        size that makes the iteration diverge.
    TypeError
        For non-numeric data or a non-integer `iterations`.

    See Also
    --------
    numpy.linalg.lstsq : The closed-form solution gradient descent converges to.

    Notes
    -----
    The loss is a convex quadratic with Hessian :math:`H = X^\top X / m`. With
    :math:`L = \lambda_{\max}(H)`, the iteration converges for
    :math:`0 < \alpha < 2/L`, linearly with rate
    :math:`\max_i |1 - \alpha \lambda_i(H)|`.

    Float32 input is computed in float32; integers in float64. The loss history
    is always float64.

    Examples
    --------
    Fit ``y = 1 + 2 x`` exactly:

    >>> import numpy as np
    >>> from labcode.regression import add_intercept, gradient_descent
    >>> x = np.array([0.0, 1.0, 2.0, 3.0])
    >>> theta, losses = gradient_descent(
    ...     add_intercept(x), 1 + 2 * x, lr=0.3, iterations=500
    ... )
    >>> np.round(theta, 6)
    array([1., 2.])
    >>> bool(losses[-1] < 1e-12)
    True

    A column-vector target gives a column-vector theta:

    >>> import numpy as np
    >>> from labcode.regression import add_intercept, gradient_descent
    >>> x = np.array([0.0, 1.0, 2.0, 3.0])
    >>> theta, _ = gradient_descent(
    ...     add_intercept(x), (1 + 2 * x).reshape(-1, 1), lr=0.3, iterations=500
    ... )
    >>> theta.shape
    (2, 1)
    """
    lr_f = check_real(lr, "lr", low=0.0, low_inclusive=False)
    n_iter = check_int(
        iterations,
        "iterations",
        minimum=0,
        maximum=MAX_ITERATIONS,
        why="labcode.regression.MAX_ITERATIONS; precondition instead",
    )
    tol_f = None if tol is None else check_real(tol, "tol", low=0.0)
    X_arr, y_arr, theta = _check_problem(X, y, theta0, "theta0")
    m = X_arr.shape[0]
    XT = X_arr.T

    # The history grows by doubling with the steps actually taken: a large
    # `iterations` with an early `tol` stop allocates only what it uses.
    losses = np.empty(min(n_iter, 1023) + 1, dtype=np.float64)
    # A step below 2 / L decreases the loss at every step, so a loss that grows by
    # more than round-off means lr is too large: stop and say so rather than
    # return a diverging answer. The round-off slack scales with the loss at
    # theta = 0, ||y||^2 / (2 m), and the current loss.
    eps = float(np.finfo(X_arr.dtype).eps)
    loss_at_zero = _half_mean_square(y_arr, "y")
    with np.errstate(over="ignore", invalid="ignore"):
        residual = X_arr @ theta - y_arr
    losses[0] = _half_mean_square(residual, "X @ theta0 - y")
    taken = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, n_iter + 1):
            grad = XT @ residual / m
            if tol_f is not None and float(np.max(np.abs(grad))) <= tol_f:
                break
            theta -= lr_f * grad
            residual = X_arr @ theta - y_arr
            loss = float(np.vdot(residual, residual)) / (2 * m)
            prev = losses[step - 1]
            if not np.isfinite(loss) or loss > prev + 64 * eps * (prev + loss_at_zero):
                limit = stable_learning_rate(X_arr)
                msg = (
                    f"lr={lr_f} makes gradient descent diverge (the loss rose from "
                    f"{prev:.6g} to {loss:.6g} at step {step}); for this X it "
                    f"converges only for lr < 2 / lambda_max(X.T @ X / m) = {limit:.6g}"
                )
                raise ValueError(msg)
            if step == losses.size:
                losses = np.concatenate([losses, np.empty_like(losses)])
            losses[step] = loss
            taken = step
    return GradientDescentResult(theta, losses[: taken + 1].copy())
