r"""Sample moments: raw, central and standardized; skewness and kurtosis.

The bias-corrected skewness and kurtosis are the "adjusted Fisher-Pearson"
estimators of Joanes and Gill (1998), as in ``scipy.stats``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    FloatArray,
    check_bool,
    check_int,
)
from labcode.moments._common import MAX_ORDER, _finite, _order, _result, _sample

__all__ = [
    "MAX_ORDER",
    "central_moment",
    "kurtosis",
    "pearson_median_skewness",
    "raw_moment",
    "skewness",
    "standardized_moment",
]


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
