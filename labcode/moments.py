r"""Moments of samples, skewness and kurtosis, MGFs and transformed densities.

For a sample :math:`x_1, \dots, x_n` with mean :math:`\bar x`,

.. math::

    m'_k = \frac{1}{n}\sum_i x_i^k, \qquad
    m_k = \frac{1}{n}\sum_i (x_i - \bar x)^k, \qquad
    g_1 = \frac{m_3}{m_2^{3/2}}, \qquad
    g_2 = \frac{m_4}{m_2^{2}} - 3,

the raw and central sample moments, the (biased) moment skewness and the excess
kurtosis. The bias-corrected versions are the "adjusted Fisher-Pearson"
estimators :math:`G_1` and :math:`G_2` of Joanes and Gill [1]_, the same as
``scipy.stats.skew(..., bias=False)`` and ``scipy.stats.kurtosis(..., bias=False)``.
Statistics reduce along ``axis=0`` by default, as in ``scipy.stats``;
``axis=None`` flattens the input first.

The change-of-variables rule for a strictly monotone :math:`g` with inverse
:math:`h = g^{-1}` gives the density :math:`f_Y(y) = f_X(h(y))\,|h'(y)|`
and the CDF :math:`F_Y(y) = F_X(h(y))` for increasing :math:`g`,
:math:`1 - F_X(h(y))` for decreasing :math:`g` (continuous :math:`X`) [2]_.

References
----------
.. [1] Joanes, D. N. and Gill, C. A. (1998). Comparing measures of sample
       skewness and kurtosis. *Journal of the Royal Statistical Society D*,
       47(1), 183-189.
.. [2] Casella, G. and Berger, R. L. (2002). *Statistical Inference*, 2nd ed.,
       sections 2.1-2.3. Duxbury.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import logsumexp

from labcode._validation import (
    FloatArray,
    as_float_array,
    as_numeric_array,
    check_bool,
    check_callable,
    check_int,
    check_real,
)

__all__ = [
    "MAX_MGF_ORDER",
    "MAX_ORDER",
    "MAX_SEQUENCE",
    "binomial_transform",
    "central_moment",
    "die_moments",
    "empirical_mgf",
    "inverse_binomial_transform",
    "kurtosis",
    "mgf_moment",
    "pearson_median_skewness",
    "raw_moment",
    "skewness",
    "standardized_moment",
    "transform_cdf",
    "transform_pdf",
    "transform_pdf_piecewise",
]

Density = Callable[[Any], Any]

#: The largest moment order of the sample moments: higher orders are decided by
#: the largest sample alone, and float exponents lose their parity beyond 2**24.
MAX_ORDER = 1 << 20
#: The largest order :func:`mgf_moment` differentiates: finite-difference stencils
#: of higher order are swamped by rounding (k = 10 is already off by a per cent
#: for the normal distribution).
MAX_MGF_ORDER = 8
#: The longest sequence the binomial transforms take (their cost grows as n**2,
#: and beyond it the float binomial coefficients overflow).
MAX_SEQUENCE = 1024


def _sample(x: ArrayLike, axis: int | None) -> tuple[FloatArray, int]:
    """Validate a sample, move the reduction axis first; return it and ``n``."""
    arr = as_float_array(x, "x")
    if arr.ndim == 0:
        msg = "x must be an array of samples; got a scalar"
        raise ValueError(msg)
    if axis is None:
        arr = arr.reshape(-1)
        axis = 0
    axis_i = check_int(axis, "axis")
    if not -arr.ndim <= axis_i < arr.ndim:
        msg = f"axis must be in [{-arr.ndim}, {arr.ndim - 1}] for x of shape {arr.shape}; got {axis_i}"
        raise ValueError(msg)
    return np.moveaxis(arr, axis_i, 0), arr.shape[axis_i]


def _order(k: object, maximum: int = MAX_ORDER, why: str = "") -> int:
    """Check a moment order ``k``: an int in ``0..maximum``."""
    reason = why or "higher orders are decided by the largest sample alone"
    return check_int(k, "k", minimum=0, maximum=maximum, why=reason)


def _finite(values: FloatArray, what: str) -> FloatArray:
    """Return `values`, or raise ValueError naming `what` if any is not finite."""
    if not np.all(np.isfinite(values)):
        msg = f"{what} must give a result inside the float64 range; it overflows"
        raise ValueError(msg)
    return values


def _power_mean(arr: FloatArray, order: int) -> FloatArray:
    """``mean(arr**order, axis=0)``, scaled so that no power overflows on the way.

    The entries are divided by their largest magnitude, the powers (at most 1)
    averaged and the scale put back: the result overflows only when the moment
    itself is beyond the float64 range, and then ValueError says so.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        size = np.max(np.abs(arr), axis=0)
        safe = np.where(size > 0, size, 1.0)
        unit = (arr / safe).astype(np.float64)
        mean = np.mean(unit**order, axis=0) * safe.astype(np.float64) ** order
    with np.errstate(over="ignore"):
        cast = mean.astype(arr.dtype, copy=False)
    return _finite(cast, "x and k")


def _result(values: FloatArray) -> Any:
    """Return a 0-d result as a NumPy scalar, anything else as an array."""
    return values[()] if values.ndim == 0 else values


def raw_moment(x: ArrayLike, k: int, *, axis: int | None = 0) -> Any:
    """Return the k-th raw sample moment, the mean of ``x**k``.

    Parameters
    ----------
    x : array_like
        Samples, at least one along `axis`.
    k : int
        Order, >= 0 (``k = 0`` gives 1, ``k = 1`` the mean).
    axis : int or None, optional
        Axis along which the samples lie; ``None`` flattens `x`.

    Returns
    -------
    float or ndarray
        The moment, reduced along `axis`.

    Examples
    --------
    >>> from labcode.moments import raw_moment
    >>> float(raw_moment([1, 2, 3, 4, 5, 6], 2))  # E[X^2] of a fair die: 91/6
    15.166666666666666
    """
    order = _order(k)
    arr, _ = _sample(x, axis)
    return _result(_power_mean(arr, order))


def _centred(arr: FloatArray) -> FloatArray:
    """``arr - mean(arr)`` along axis 0, the mean taken without overflow."""
    with np.errstate(over="ignore"):
        size = np.max(np.abs(arr), axis=0)
        safe = np.where(size > 0, size, 1.0)
        mean = np.mean(arr / safe, axis=0) * safe
        centred: FloatArray = arr - mean
    return _finite(centred, "x")


def _moments_about_mean(arr: FloatArray, orders: Sequence[int]) -> list[FloatArray]:
    centred = _centred(arr)
    return [_power_mean(centred, o) for o in orders]


def central_moment(x: ArrayLike, k: int, *, axis: int | None = 0) -> Any:
    """Return the k-th central sample moment, the mean of ``(x - mean(x))**k``.

    This is the plug-in (biased) estimator, as ``scipy.stats.moment``; the second
    central moment is the variance with ``ddof=0``.

    Parameters
    ----------
    x : array_like
        Samples, at least one along `axis`.
    k : int
        Order, >= 0 (``k = 0`` gives 1, ``k = 1`` gives 0).
    axis : int or None, optional
        Axis along which the samples lie; ``None`` flattens `x`.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> from labcode.moments import central_moment
    >>> float(central_moment([1, 2, 3, 4, 5, 6], 2))  # Var of a fair die: 35/12
    2.9166666666666665
    """
    order = _order(k)
    arr, _ = _sample(x, axis)
    if order == 1:
        return _result(np.zeros(arr.shape[1:], dtype=arr.dtype))
    return _result(_moments_about_mean(arr, [order])[0])


def _degenerate(arr: FloatArray, m2: FloatArray) -> NDArray[np.bool_]:
    """Zero variance up to rounding, by the same test as scipy.stats."""
    eps = np.finfo(m2.dtype).eps
    with np.errstate(over="ignore"):
        return np.asarray(m2 <= (eps * np.mean(arr, axis=0)) ** 2)


def _standardized(arr: FloatArray, order: int) -> FloatArray:
    """``m_k / m_2**(k/2)`` along axis 0, NaN where the variance is zero.

    The ratio does not change when the data are scaled, so the deviations are
    divided by their largest magnitude first: their powers then neither
    underflow (data near 1e-100) nor overflow (data near 1e100).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Scale to order 1 before anything else (the mean of subnormal numbers is
        # itself imprecise), then scale the deviations to order 1 too.
        size = np.max(np.abs(arr), axis=0)
        data = arr / np.where(size > 0, size, 1.0)
        mean = np.mean(data, axis=0)
        centred = data - mean
        scale = np.max(np.abs(centred), axis=0)
        safe = np.where(scale > 0, scale, 1.0)
        unit = centred / safe
        m2 = np.mean(unit**2, axis=0)
        mk = np.mean(unit**order, axis=0)
        # scipy's test for zero variance, m2 <= (eps * mean)**2, in scaled units.
        eps = np.finfo(m2.dtype).eps
        zero = (scale == 0) | (m2 <= (eps * mean / safe) ** 2)
        return np.where(zero, np.nan, mk / m2 ** (order / 2))


def standardized_moment(x: ArrayLike, k: int, *, axis: int | None = 0) -> Any:
    """Return the k-th standardized sample moment ``m_k / m_2**(k/2)``.

    ``k = 3`` is the moment skewness and ``k = 4`` the (plain, not excess)
    kurtosis, both in their biased plug-in form.

    Parameters
    ----------
    x : array_like
        Samples, at least one along `axis`.
    k : int
        Order, >= 0.
    axis : int or None, optional
        Axis along which the samples lie; ``None`` flattens `x`.

    Returns
    -------
    float or ndarray
        NaN where the sample has zero variance (the ratio is undefined there),
        except ``k = 0`` and ``k = 1``, which are 1 and 0 for any sample.

    Examples
    --------
    >>> from labcode.moments import standardized_moment
    >>> round(
    ...     float(standardized_moment([0, 0, 0, 1], 3)), 12
    ... )  # one outlier on the right
    1.154700538379
    """
    order = _order(k)
    arr, _ = _sample(x, axis)
    if order in (0, 1):
        return _result(np.full(arr.shape[1:], float(1 - order), dtype=arr.dtype))
    return _result(_standardized(arr, order).astype(arr.dtype, copy=False))


def skewness(x: ArrayLike, *, axis: int | None = 0, bias: bool = True) -> Any:
    r"""Return the sample skewness, as ``scipy.stats.skew``.

    Parameters
    ----------
    x : array_like
        Samples along `axis`.
    axis : int or None, optional
        Axis along which the samples lie; ``None`` flattens `x`.
    bias : bool, optional
        Only ``True`` or ``False`` (``None`` is a TypeError, not "false").
        ``True`` gives the moment coefficient :math:`g_1 = m_3 / m_2^{3/2}`;
        ``False`` the adjusted Fisher-Pearson estimator
        :math:`G_1 = g_1 \sqrt{n(n-1)}/(n-2)`, which needs ``n > 2`` (with fewer
        samples :math:`g_1` is returned, as scipy does).

    Returns
    -------
    float or ndarray
        NaN for a sample with zero variance, where skewness is undefined.

    See Also
    --------
    pearson_median_skewness : A different, median-based measure.

    Notes
    -----
    Skewness is a standardized third moment. It is *not*
    ``(mean - median) / std``; that ratio, times 3, is Pearson's median
    skewness, a different statistic that can even have the opposite sign.

    Examples
    --------
    >>> from labcode.moments import skewness
    >>> round(float(skewness([0, 0, 0, 1])), 12)
    1.154700538379
    >>> float(skewness([0, 0, 0, 1], bias=False))
    2.0
    """
    unbiased = not check_bool(bias, "bias")
    arr, n = _sample(x, axis)
    values = _standardized(arr, 3)  # NaN stays NaN through the correction
    if unbiased and n > 2:
        values = values * math.sqrt(n * (n - 1)) / (n - 2)
    return _result(values.astype(arr.dtype, copy=False))


def kurtosis(
    x: ArrayLike, *, axis: int | None = 0, excess: bool = True, bias: bool = True
) -> Any:
    r"""Return the sample kurtosis, as ``scipy.stats.kurtosis``.

    Parameters
    ----------
    x : array_like
        Samples along `axis`.
    axis : int or None, optional
        Axis along which the samples lie; ``None`` flattens `x`.
    excess : bool, optional
        ``True`` subtracts 3, the kurtosis of every normal distribution, so a
        normal sample scores near 0 (scipy's ``fisher=True``); ``False`` gives
        the plain ratio :math:`m_4 / m_2^2` (Pearson's definition).
    bias : bool, optional
        ``True`` gives the plug-in moment ratio; ``False`` the estimator
        :math:`G_2 = \frac{(n-1)}{(n-2)(n-3)}\left[(n+1) g_2 + 6\right]` of the
        excess kurtosis, which needs ``n > 3`` (with fewer samples the plug-in
        value is returned, as scipy does).

    Returns
    -------
    float or ndarray
        NaN for a sample with zero variance, where kurtosis is undefined.

    Notes
    -----
    Kurtosis measures the weight of the tails, not how peaked the density is:
    a distribution can have a flat top and high kurtosis, or a sharp peak and
    low kurtosis (Westfall, 2014, *The American Statistician* 68(3)).

    Examples
    --------
    >>> from labcode.moments import kurtosis
    >>> float(kurtosis([-1, 1]))  # two points: the smallest possible kurtosis
    -2.0
    >>> float(kurtosis([-1, 1], excess=False))
    1.0
    """
    plain_wanted = not check_bool(excess, "excess")
    unbiased = not check_bool(bias, "bias")
    arr, n = _sample(x, axis)
    plain = _standardized(arr, 4)
    if unbiased and n > 3:
        g2 = plain - 3.0
        plain = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0) + 3.0
    values = plain if plain_wanted else plain - 3.0
    return _result(values.astype(arr.dtype, copy=False))


def pearson_median_skewness(
    x: ArrayLike, *, axis: int | None = 0, ddof: int = 0
) -> Any:
    """Return Pearson's median skewness ``3 * (mean - median) / std``.

    Parameters
    ----------
    x : array_like
        Samples along `axis`.
    axis : int or None, optional
        Axis along which the samples lie; ``None`` flattens `x`.
    ddof : int, optional
        Delta degrees of freedom of the standard deviation (0: divide by n).

    Returns
    -------
    float or ndarray
        NaN for a sample with zero variance.

    Notes
    -----
    For every distribution with finite variance the value lies in [-3, 3]
    (the mean and the median are within one standard deviation of each other).
    It agrees in sign with the moment skewness for many familiar skewed
    distributions, but not always.

    Examples
    --------
    >>> from labcode.moments import pearson_median_skewness
    >>> round(float(pearson_median_skewness([0, 0, 0, 3])), 12)  # sqrt(3)
    1.732050807569
    """
    arr, n = _sample(x, axis)
    dof = check_int(ddof, "ddof", minimum=0)
    if dof >= n:
        msg = f"ddof must be smaller than the number of samples {n}; got {dof}"
        raise ValueError(msg)
    # The statistic does not change when x is scaled: scale to order 1 first, so
    # that neither the mean nor the variance overflows (data near 1e200).
    size = np.max(np.abs(arr), axis=0)
    arr = arr / np.where(size > 0, size, 1.0).astype(arr.dtype)
    mean = np.mean(arr, axis=0)
    (m2,) = _moments_about_mean(arr, [2])
    zero = _degenerate(arr, m2)
    std = np.sqrt(m2 * n / (n - dof))
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(zero, np.nan, 3.0 * (mean - np.median(arr, axis=0)) / std)
    return _result(values.astype(arr.dtype, copy=False))


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


def transform_pdf(
    pdf: Density, inverse: Density, inverse_derivative: Density
) -> Density:
    r"""Return the density of ``Y = g(X)`` for a strictly monotone ``g``.

    With :math:`h = g^{-1}`, :math:`f_Y(y) = f_X(h(y))\,|h'(y)|`.

    Parameters
    ----------
    pdf : callable
        The density :math:`f_X` of X (vectorised over numpy arrays).
    inverse : callable
        :math:`h = g^{-1}`, defined on the range of g.
    inverse_derivative : callable
        :math:`h'`.

    Returns
    -------
    callable
        ``f_Y(y)``; zero outside the range of g is the caller's to supply
        through `pdf`, `inverse` and `inverse_derivative`.

    Examples
    --------
    ``Y = exp(X)`` of a standard normal is log-normal:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from labcode.moments import transform_pdf
    >>> f = transform_pdf(stats.norm.pdf, np.log, lambda y: 1 / y)
    >>> bool(np.isclose(f(2.0), stats.lognorm(1).pdf(2.0)))
    True
    """
    return _transform_pdf(
        pdf, inverse, inverse_derivative, ("pdf", "inverse", "inverse_derivative")
    )


def _transform_pdf(
    pdf: Density,
    inverse: Density,
    inverse_derivative: Density,
    names: tuple[str, str, str],
) -> Density:
    """Check and build :func:`transform_pdf`, naming the callables as given."""
    for f, name in zip((pdf, inverse, inverse_derivative), names, strict=True):
        check_callable(f, name)

    def density(y: Any) -> Any:
        return pdf(inverse(y)) * np.abs(inverse_derivative(y))

    return density


def transform_pdf_piecewise(
    pdf: Density, branches: Sequence[tuple[Density, Density]]
) -> Density:
    r"""Return the density of ``Y = g(X)`` for a piecewise strictly monotone ``g``.

    If the support splits into pieces :math:`A_i` on which g is strictly monotone
    with inverse :math:`h_i`, then :math:`f_Y(y) = \sum_i f_X(h_i(y))\,|h_i'(y)|`,
    summed over the pieces whose image contains y.

    Parameters
    ----------
    pdf : callable
        The density of X.
    branches : sequence of (inverse, inverse_derivative)
        One pair of callables per monotone piece; each must return values whose
        ``pdf`` is 0 (or the derivative 0) where y is outside that piece's image.

    Returns
    -------
    callable

    Examples
    --------
    ``Y = X**2`` of a standard normal is chi-square with one degree of freedom:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from labcode.moments import transform_pdf_piecewise
    >>> root = lambda y: np.sqrt(y)
    >>> slope = lambda y: 0.5 / np.sqrt(y)
    >>> f = transform_pdf_piecewise(
    ...     stats.norm.pdf, [(root, slope), (lambda y: -root(y), slope)]
    ... )
    >>> bool(np.isclose(f(1.5), stats.chi2(1).pdf(1.5)))
    True
    """
    given: object = branches  # checked at run time: callers may pass anything
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        msg = (
            "branches must be a sequence of (inverse, inverse_derivative) pairs; "
            f"got {type(given).__name__}"
        )
        raise TypeError(msg)
    pieces: list[object] = list(given)
    if not pieces:
        msg = "branches must hold at least one (inverse, inverse_derivative) pair; got none"
        raise ValueError(msg)
    densities = []
    for i, piece in enumerate(pieces):
        if not isinstance(piece, tuple | list) or len(piece) != 2:
            msg = f"branches[{i}] must be a pair (inverse, inverse_derivative); got {piece!r}"
            raise TypeError(msg)
        inverse, derivative = piece
        densities.append(
            _transform_pdf(
                pdf,
                inverse,
                derivative,
                ("pdf", f"branches[{i}][0]", f"branches[{i}][1]"),
            )
        )

    def density(y: Any) -> Any:
        return sum(d(y) for d in densities)

    return density


def transform_cdf(cdf: Density, inverse: Density, *, increasing: bool) -> Density:
    r"""Return the CDF of ``Y = g(X)`` for a strictly monotone ``g``.

    :math:`F_Y(y) = F_X(g^{-1}(y))` when g increases and
    :math:`F_Y(y) = 1 - F_X(g^{-1}(y))` when g decreases. The second form holds
    for continuous X; in general it is :math:`P(X \ge g^{-1}(y))`.

    Parameters
    ----------
    cdf : callable
        The CDF of X.
    inverse : callable
        :math:`g^{-1}`.
    increasing : bool
        Whether g is increasing (keyword-only, there is no safe default).

    Returns
    -------
    callable

    Examples
    --------
    ``Y = -X`` of an exponential variable:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from labcode.moments import transform_cdf
    >>> F = transform_cdf(stats.expon.cdf, lambda y: -y, increasing=False)
    >>> round(float(F(-1.0)), 6)  # P(-X <= -1) = P(X >= 1) = e^-1
    0.367879
    """
    check_callable(cdf, "cdf")
    check_callable(inverse, "inverse")
    if check_bool(increasing, "increasing"):

        def cdf_up(y: Any) -> Any:
            return cdf(inverse(y))

        return cdf_up

    def cdf_down(y: Any) -> Any:
        return 1.0 - cdf(inverse(y))

    return cdf_down


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
