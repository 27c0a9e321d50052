r"""Harris and Noble corner detection: structure tensor, response, peaks.

Shifting a window :math:`w` by :math:`(u, v)` changes the image by the weighted
sum of squared differences

.. math::

    E(u, v) = \sum_{x, y} w(x, y)\,\bigl(I(x + u, y + v) - I(x, y)\bigr)^2
    \approx \begin{pmatrix} u & v \end{pmatrix} M \begin{pmatrix} u \\ v \end{pmatrix},
    \qquad
    M = \sum_{x, y} w \begin{pmatrix} I_x^2 & I_x I_y \\ I_x I_y & I_y^2 \end{pmatrix},

to first order in the shift (Taylor expansion of :math:`I`). The 2x2 *structure
tensor* :math:`M` has two eigenvalues: both small on a flat patch, one large on
an edge, both large at a corner. Harris and Stephens [1]_ score cornerness
without eigenvalues as :math:`R = \det M - k\,(\operatorname{tr} M)^2`; Noble
[2]_ as :math:`2 \det M / (\operatorname{tr} M + \varepsilon)`, the harmonic mean
of the two eigenvalues.

The default recipe is scikit-image's ``corner_harris`` [3]_: Sobel derivatives
with zero padding, a Gaussian window of standard deviation ``sigma`` (truncated
at 4 sigma) and zero padding again, so that the responses agree with it to
rounding. It is computed with fewer passes: the three products are filtered
side by side in one wide array, one vertical and one horizontal pass in all.

References
----------
.. [1] Harris, C. and Stephens, M. (1988). A combined corner and edge detector.
       *Proceedings of the Alvey Vision Conference*, 147-151.
.. [2] Noble, J. A. (1988). Finding corners. *Image and Vision Computing*, 6(2),
       121-128.
.. [3] van der Walt, S. et al. (2014). scikit-image: image processing in Python.
       *PeerJ* 2:e453.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, special

from labcode._validation import (
    MAX_NAIVE_STEPS,
    FloatArray,
    as_float_array,
    as_numeric_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_size,
    format_shape,
)

__all__ = [
    "corner_peaks",
    "harris_response",
    "harris_response_naive",
    "structure_tensor",
]

# Gaussian windows are truncated at this many standard deviations (as in scipy
# and scikit-image).
_TRUNCATE = 4.0


def _as_image(image: ArrayLike) -> FloatArray:
    """Check a 2-D grayscale image; convert it as skimage's img_as_float does.

    float64 stays, float32 (and float16) compute in float32, integers are scaled
    by their dtype's maximum, booleans become 0.0 and 1.0.
    """
    arr = as_numeric_array(image, "image")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        msg = (
            f"image must be 2-D grayscale; got shape {format_shape(arr.shape)}, which looks "
            "like RGB(A): convert it first, for example with labcode.datasets.rgb_to_gray"
        )
        raise ValueError(msg)
    if arr.ndim != 2:
        msg = f"image must be 2-D grayscale (H, W); got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.size == 0:
        msg = f"image must not be empty; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(np.float64)
    if kind in "iu":
        # Integer images are scaled by their dtype's maximum: unsigned to [0, 1],
        # signed to [-1, 1] (the minimum clipped to -1), as skimage.util.img_as_float
        # does, with the same arithmetic (a product with the reciprocal).
        scaled: FloatArray = np.multiply(
            arr, 1.0 / np.iinfo(arr.dtype).max, dtype=np.float64
        )
        if kind == "i":
            np.maximum(scaled, -1.0, out=scaled)
        return scaled
    out_f: FloatArray = arr.astype(
        np.float32 if arr.dtype in (np.float32, np.float16) else np.float64, copy=False
    )
    if not np.all(np.isfinite(out_f)):
        msg = "image must contain only finite values; got NaN or infinity"
        raise ValueError(msg)
    return out_f


class _Arena:
    """Views carved from one allocation.

    Image-sized temporaries taken from one large block cost one request to the
    operating system, which can back it with huge pages (numpy asks for them on
    Linux for arrays of 4 MiB and more), instead of thousands of page faults for
    a dozen separate arrays. On a 512 x 512 image that is about half the time of
    the whole response.
    """

    def __init__(self, n_items: int, dtype: np.dtype[Any]) -> None:
        self.buffer = np.empty(n_items, dtype=dtype)
        self.used = 0

    def take(self, shape: tuple[int, ...]) -> FloatArray:
        size = int(np.prod(shape))
        view = self.buffer[self.used : self.used + size].reshape(shape)
        self.used += size
        return view


def _sobel_pair(image: FloatArray, arena: _Arena) -> tuple[FloatArray, FloatArray]:
    """Sobel derivatives along rows and columns with zero padding.

    Same arithmetic, in the same order, as ``scipy.ndimage.sobel(mode="constant")``,
    which computes in float64 whatever the input: the derivative ``[-1, 0, 1]``
    along the axis, then ``2 x + (left + right)`` across it.
    """
    h, w = image.shape
    padded = arena.take((h + 2, w + 2))
    padded[[0, -1], :] = 0
    padded[:, [0, -1]] = 0
    padded[1:-1, 1:-1] = image
    acc = arena.take((h, w)) if image.dtype == np.float64 else np.empty((h, w))
    scratch = np.empty_like(acc)
    out = []
    for axis in (0, 1):
        # The derivative along `axis`, kept with a zero border across it.
        if axis == 0:
            d = arena.take((h, w + 2))
            np.subtract(padded[2:, :], padded[:-2, :], out=d)
            d[:, [0, -1]] = 0
            centre, left, right = d[:, 1:-1], d[:, :-2], d[:, 2:]
        else:
            d = arena.take((h + 2, w))
            np.subtract(padded[:, 2:], padded[:, :-2], out=d)
            d[[0, -1], :] = 0
            centre, left, right = d[1:-1], d[:-2], d[2:]
        np.multiply(centre, 2.0, out=acc, dtype=acc.dtype)
        np.add(left, right, out=scratch, dtype=scratch.dtype)
        acc += scratch
        result = arena.take((h, w))
        result[...] = acc
        out.append(result)
    return out[0], out[1]


def _radius(sigma: float) -> int | None:
    """Return the truncation radius ``int(4 sigma + 0.5)``, None beyond 2**53."""
    reach = _TRUNCATE * sigma + 0.5
    return int(reach) if reach < 2.0**53 else None


def _log_normaliser(sigma: float, radius: int | None) -> float:
    r"""``log sum_{|x| <= radius} exp(-x**2 / (2 sigma**2))``, without overflow.

    Summed directly up to a million terms; beyond, the sum of the smooth
    Gaussian equals its integral plus the trapezoid end correction to far below
    float64 precision (Euler-Maclaurin), taken in log space so that
    ``sigma = 1e308`` works.
    """
    if radius is not None and radius <= 1_000_000:
        x = np.arange(-radius, radius + 1, dtype=np.float64) / sigma
        return float(np.log(np.sum(np.exp(-0.5 * x * x))))
    ratio = _TRUNCATE if radius is None else radius / sigma
    edge = math.exp(-0.5 * ratio * ratio)
    area = math.sqrt(2 * math.pi) * float(special.erf(ratio / math.sqrt(2)))
    return math.log(sigma) + math.log(area + edge / sigma)


def _gaussian1d(
    a: FloatArray, sigma: float, axis: int, output: FloatArray, order: int = 0
) -> None:
    """``scipy.ndimage.gaussian_filter1d`` with zero padding, truncated at 4 sigma.

    Exactly scipy's arithmetic whenever its kernel fits in the array. A wider
    kernel (a large `sigma`) only reads padding beyond the array's extent, so its
    taps are cut there (keeping scipy's normalisation over the full radius): the
    work is bounded by the image size whatever `sigma` is (``sigma = 1e5`` once
    hung, ``1e308`` overflowed). A radius of 0 (``sigma < 0.125``) is the identity
    for the smoothing and zero for the derivative (``sigma = 1e-320`` once divided
    by zero).
    """
    radius = _radius(sigma)
    extent = a.shape[axis]
    if radius == 0:
        if order == 0:
            output[...] = a
        else:
            output[...] = 0
        return
    if radius is not None and radius <= extent:
        ndimage.gaussian_filter1d(
            a,
            sigma,
            axis=axis,
            order=order,
            mode="constant",
            truncate=_TRUNCATE,
            output=output,
        )
        return
    taps = np.arange(-extent, extent + 1, dtype=np.float64)
    unit = taps / sigma
    weights = np.exp(-0.5 * unit * unit - _log_normaliser(sigma, radius))
    if order == 1:
        weights *= -unit / sigma
    # correlate1d with the reversed kernel, as gaussian_filter1d does.
    ndimage.correlate1d(
        a, weights[::-1], axis=axis, output=output, mode="constant", cval=0.0
    )


def _gaussian1d_wide(
    vertical: FloatArray, s: float, w: int, output: FloatArray
) -> None:
    """Filter the three products of width `w`, laid side by side, horizontally.

    When the kernel fits in the gap between products one pass filters all three
    (scipy's arithmetic); a wider kernel is cut at the products' width, each
    product filtered alone.
    """
    radius = _radius(s)
    if radius is not None and radius <= w:
        _gaussian1d(vertical, s, 1, output)
        return
    step = 2 * w  # the gap is w wide
    output[...] = 0
    for start in (0, step, 2 * step):
        block = np.ascontiguousarray(vertical[:, start : start + w])
        out_block = np.empty_like(block)
        _gaussian1d(block, s, 1, out_block)
        output[:, start : start + w] = out_block


def _gaussian_gradient(img: FloatArray, s: float, axis: int) -> FloatArray:
    """Differentiate by a Gaussian along `axis`, smoothing along the other.

    The same as ``ndimage.gaussian_filter(img, s, order=...)`` for one derivative,
    through :func:`_gaussian1d` so that any `sigma` is safe.
    """
    first = np.empty_like(img)
    out = np.empty_like(img)
    _gaussian1d(img, s, 0, first, order=1 if axis == 0 else 0)
    _gaussian1d(first, s, 1, out, order=1 if axis == 1 else 0)
    return out


def structure_tensor(
    image: ArrayLike, *, sigma: float = 1.0, gradient: str = "sobel"
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Compute the structure tensor's elements at every pixel, ``(Arr, Arc, Acc)``.

    With :math:`I_r, I_c` the derivatives along rows and columns and :math:`G`
    a Gaussian window,

    .. math::

        A_{rr} = G * I_r^2, \qquad A_{rc} = G * (I_r I_c), \qquad A_{cc} = G * I_c^2 .

    Parameters
    ----------
    image : (H, W) array_like
        Grayscale image, float or integer (integers are scaled by their dtype's
        range, unsigned to [0, 1], as scikit-image does).
    sigma : float, optional
        Standard deviation of the Gaussian window, > 0.
    gradient : {'sobel', 'gaussian'}, optional
        ``'sobel'``: 3x3 Sobel derivatives, as scikit-image. ``'gaussian'``:
        derivatives of a Gaussian of the same `sigma`, the recipe of Solem's
        *Programming Computer Vision with Python* that the source post used.

    Returns
    -------
    Arr, Arc, Acc : (H, W) ndarray
        float32 for float32 input, else float64.

    Raises
    ------
    ValueError
        If the image is not 2-D (an RGB image gets a message saying to convert
        it), is empty or not finite, or if `sigma` is not positive.

    Examples
    --------
    A vertical step edge: all the variation is across columns. The zeros
    beyond the border make the top and bottom rows look like horizontal edges
    too, so look at the centre of an image large enough that the window (radius
    ``4 * sigma``) does not reach them:

    >>> import numpy as np
    >>> from labcode.corners import structure_tensor
    >>> image = np.zeros((15, 15))
    >>> image[:, 8:] = 1.0
    >>> Arr, Arc, Acc = structure_tensor(image, sigma=1.0)
    >>> round(float(Acc[7, 7]), 3), float(Arr[7, 7]), float(Arc[7, 7])
    (10.255, 0.0, 0.0)
    >>> round(float(Arr[0, 10]), 3)  # at the border, the zero padding
    6.205
    """
    img = _as_image(image)
    s = check_real(sigma, "sigma", low=0.0, low_inclusive=False)
    method = check_choice(gradient, "gradient", ("sobel", "gaussian"))
    a_rr, a_rc, a_cc, _ = _structure_tensor(img, s, method, extra=0)
    return a_rr, a_rc, a_cc


def _structure_tensor(
    img: FloatArray, s: float, method: str, extra: int
) -> tuple[FloatArray, FloatArray, FloatArray, _Arena]:
    """Structure tensor views into one arena with `extra` more image-sized arrays."""
    h, w = img.shape
    radius = _radius(s)
    # Columns of zeros between the products: a kernel wider than an image reads
    # only padding beyond it, so w columns separate the products for any sigma.
    gap = w if radius is None else min(radius, w)
    step = w + gap
    wide_shape = (h, 3 * w + 2 * gap)
    n_wide = wide_shape[0] * wide_shape[1]
    # wide + vertical, then the Sobel stage (6 image-sized arrays at most), extras.
    arena = _Arena(2 * n_wide + 6 * (h + 2) * (w + 2) + extra * h * w, img.dtype)
    wide = arena.take(wide_shape)
    vertical = arena.take(wide_shape)
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "sobel":
            i_row, i_col = _sobel_pair(img, arena)
        else:
            i_row = _gaussian_gradient(img, s, axis=0)
            i_col = _gaussian_gradient(img, s, axis=1)
        # The three products side by side, separated by `gap` zero columns: one
        # vertical and one horizontal Gaussian pass filter all three, each exactly
        # as if it were alone with zero padding.
        wide[:, w:step] = 0
        wide[:, step + w : 2 * step] = 0
        np.multiply(i_row, i_row, out=wide[:, :w])
        np.multiply(i_row, i_col, out=wide[:, step : step + w])
        np.multiply(i_col, i_col, out=wide[:, 2 * step : 2 * step + w])
        _gaussian1d(wide, s, 0, vertical)
        _gaussian1d_wide(vertical, s, w, wide)
    if not np.all(np.isfinite(wide)):
        msg = (
            "image must have values small enough for the structure tensor (squared "
            f"gradients) to stay inside {img.dtype}; largest |image| = "
            f"{float(np.max(np.abs(img))):.3g}: scale it down"
        )
        raise ValueError(msg)
    return (
        wide[:, :w],
        wide[:, step : step + w],
        wide[:, 2 * step : 2 * step + w],
        arena,
    )


def harris_response(
    image: ArrayLike,
    *,
    sigma: float = 1.0,
    k: float = 0.05,
    method: str = "harris",
    eps: float = 1e-6,
    gradient: str = "sobel",
) -> FloatArray:
    r"""Compute the corner response of every pixel, Harris's or Noble's.

    Parameters
    ----------
    image : (H, W) array_like
        Grayscale image, float or integer.
    sigma : float, optional
        Standard deviation of the Gaussian window, > 0.
    k : float, optional
        Harris's sensitivity, in [0, 0.25): larger values reject more edge-like
        points. Used by ``method="harris"``.
    method : {'harris', 'noble'}, optional
        ``'harris'``: :math:`\det M - k (\operatorname{tr} M)^2`. ``'noble'``:
        :math:`2 \det M / (\operatorname{tr} M + \varepsilon)`. The factor 2 makes
        it the harmonic mean :math:`2\lambda_1\lambda_2/(\lambda_1 + \lambda_2)`
        of the eigenvalues, in the same units as they are (it equals
        :math:`\lambda` when both are :math:`\lambda`), and it is the scale of
        ``skimage.feature.corner_harris(method="eps")``, so the two agree.
    eps : float, optional
        Noble's guard against division by zero on flat patches, > 0.
    gradient : {'sobel', 'gaussian'}, optional
        See :func:`structure_tensor`.

    Returns
    -------
    (H, W) ndarray
        float32 for float32 input, else float64. A constant image gives zeros
        at every pixel farther than ``1 + int(4 sigma + 0.5)`` from the border
        (``gradient='sobel'``); nearer, the zero padding makes the border an edge
        and the response is not zero, as in scikit-image. A zero image gives
        zeros everywhere.

    Raises
    ------
    ValueError
        The checks of :func:`structure_tensor`, `k` outside [0, 0.25), `eps`
        not positive, an unknown `method`, or an image so large (beyond about
        1e75 in float64) that the response overflows.

    See Also
    --------
    corner_peaks : Pick the corners from the response.
    harris_response_naive : The same as plain loops over pixels.

    Notes
    -----
    Any positive finite `sigma` works in time bounded by the image size: the
    Gaussian window is truncated at ``int(4 sigma + 0.5)`` as in scikit-image,
    and the taps beyond the image, which only read the zero padding, are skipped.

    Examples
    --------
    The strongest responses of a bright square are its four corners:

    >>> import numpy as np
    >>> from labcode.corners import harris_response, corner_peaks
    >>> square = np.zeros((10, 10))
    >>> square[2:8, 2:8] = 1.0
    >>> corner_peaks(harris_response(square), min_distance=1).tolist()
    [[2, 2], [2, 7], [7, 2], [7, 7]]
    """
    kk = check_real(k, "k", low=0.0, high=0.25, high_inclusive=False)
    name = check_choice(method, "method", ("harris", "noble"))
    e = check_real(eps, "eps", low=0.0, low_inclusive=False)
    img = _as_image(image)
    s = check_real(sigma, "sigma", low=0.0, low_inclusive=False)
    grad = check_choice(gradient, "gradient", ("sobel", "gaussian"))
    a_rr, a_rc, a_cc, arena = _structure_tensor(img, s, grad, extra=1)
    scratch = arena.take(img.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        response = a_rr * a_cc  # the only fresh image-sized array: it is returned
        np.square(a_rc, out=scratch)
        response -= scratch
        np.add(a_rr, a_cc, out=scratch)
    with np.errstate(over="ignore", invalid="ignore"):
        if name == "harris":
            np.square(scratch, out=scratch)
            scratch *= kk
            response -= scratch
        else:
            scratch += e
            response *= 2
            response /= scratch
    if not np.all(np.isfinite(response)):
        msg = (
            "image must have values small enough for the response (fourth powers "
            f"of the gradient) to stay inside {img.dtype}; largest |image| = "
            f"{float(np.max(np.abs(img))):.3g}: scale it down"
        )
        raise ValueError(msg)
    return response


def _sliding_max(a: NDArray[Any], d: int, axis: int) -> NDArray[Any]:
    """Maximum over the window ``[i - d, i + d]`` along `axis`, edges repeated.

    The same values as ``scipy.ndimage.maximum_filter1d(a, 2 d + 1, mode="nearest")``
    (a maximum involves no rounding), by doubling: after step ``k`` each entry
    holds the maximum of ``2**k`` consecutive ones, and two overlapping blocks
    cover any window. Every pass reads whole rows, so it is fast along both axes.
    """
    width = 2 * d + 1
    moved = np.moveaxis(a, axis, 0)
    n = moved.shape[0]
    padded = np.concatenate(
        [np.repeat(moved[:1], d, axis=0), moved, np.repeat(moved[-1:], d, axis=0)]
    )
    block = padded
    span = 1
    while 2 * span <= width:
        block = np.maximum(block[:-span], block[span:])
        span *= 2
    out = np.maximum(block[:n], block[width - span : width - span + n])
    return np.moveaxis(out, 0, axis)


def corner_peaks(
    response: ArrayLike,
    *,
    min_distance: int = 10,
    threshold_rel: float = 0.1,
    exclude_border: bool = True,
) -> NDArray[np.intp]:
    """Find corners: local maxima of a response, strongest first, spaced apart.

    A pixel is a corner when it is the maximum of the response over the
    ``(2 min_distance + 1)``-square around it, its value exceeds
    ``threshold_rel * response.max()`` (and the response's minimum), and no
    stronger corner lies within Chebyshev distance `min_distance` of it (ties,
    which only flat plateaus produce, are broken in row-major order). This is
    the rule of ``skimage.feature.corner_peaks`` with the same arguments.

    Parameters
    ----------
    response : (H, W) array_like
        A corner response such as :func:`harris_response`: real numbers (bool
        and integer arrays are read as float64), finite; may be empty.
    min_distance : int, optional
        Smallest allowed Chebyshev distance between corners, minus one (corners
        are more than `min_distance` apart), >= 1. Values beyond the image size
        act as the image size.
    threshold_rel : float, optional
        Fraction of the largest response a corner must exceed, in [0, 1].
    exclude_border : bool, optional
        Drop peaks closer than `min_distance` to the image border (only ``True``
        or ``False``).

    Returns
    -------
    (K, 2) ndarray of int
        ``(row, col)`` of each corner, strongest first.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.corners import corner_peaks
    >>> r = np.zeros((9, 9))
    >>> r[2, 2], r[2, 4], r[6, 6] = 5.0, 4.0, 3.0  # (2, 4) is too close to (2, 2)
    >>> corner_peaks(r, min_distance=2, exclude_border=False).tolist()
    [[2, 2], [6, 6]]
    """
    arr = as_float_array(
        response, "response", ndim=2, layout="(H, W)", allow_empty=True
    )
    d = check_int(min_distance, "min_distance", minimum=1)
    rel = check_real(threshold_rel, "threshold_rel", low=0.0, high=1.0)
    drop_border = check_bool(exclude_border, "exclude_border")
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.intp)
    # A window wider than the image covers all of it: the same peaks, bounded work.
    d = min(d, max(arr.shape))
    threshold = max(float(arr.min()), rel * float(arr.max()))
    local_max = _sliding_max(_sliding_max(arr, d, axis=0), d, axis=1)
    mask = (arr == local_max) & (arr > threshold)
    if drop_border:
        mask[:d] = False
        mask[-d:] = False
        mask[:, :d] = False
        mask[:, -d:] = False
    rows, cols = np.nonzero(mask)
    order = np.argsort(-arr[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    # Greedy spacing: accept in order of strength, block the square around each.
    blocked = np.zeros(arr.shape, dtype=bool)
    keep = np.zeros(rows.size, dtype=bool)
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        if not blocked[r, c]:
            keep[i] = True
            blocked[max(r - d, 0) : r + d + 1, max(c - d, 0) : c + d + 1] = True
    return np.stack([rows[keep], cols[keep]], axis=1).astype(np.intp)


def _naive_gradients(
    pixel: Callable[[int, int], float],
    shape: tuple[int, int],
    gradient: str,
    *,
    g: Callable[[int], float],
    dg: Callable[[int], float],
    reach: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the derivatives along rows and columns, summed over neighbours."""
    h, w = shape
    i_row = np.zeros((h, w))
    i_col = np.zeros((h, w))
    for r in range(h):
        for c in range(w):
            if gradient == "sobel":
                for j, weight in ((-1, 1.0), (0, 2.0), (1, 1.0)):
                    i_row[r, c] += weight * (pixel(r + 1, c + j) - pixel(r - 1, c + j))
                    i_col[r, c] += weight * (pixel(r + j, c + 1) - pixel(r + j, c - 1))
                continue
            for a in range(-reach, reach + 1):
                for b in range(-reach, reach + 1):
                    v = pixel(r - a, c - b)
                    i_row[r, c] += dg(a) * g(b) * v
                    i_col[r, c] += g(a) * dg(b) * v
    return i_row, i_col


def harris_response_naive(
    image: ArrayLike,
    *,
    sigma: float = 1.0,
    k: float = 0.05,
    method: str = "harris",
    eps: float = 1e-6,
    gradient: str = "sobel",
) -> NDArray[np.float64]:
    """Compute :func:`harris_response` with plain loops over pixels, in float64.

    The readable twin of the vectorised path, to read or to check (it costs
    ``H * W * (2 r + 1)**2`` operations for a window of radius ``r``): every
    derivative and every window sum is written out as the sum it is, with zero
    outside the image. Same arguments, same checks, same result to rounding.

    Parameters
    ----------
    image : (H, W) array_like
        Grayscale image, float or integer.
    sigma, k, method, eps, gradient
        As in :func:`harris_response`.

    Returns
    -------
    (H, W) ndarray of float64

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.corners import harris_response, harris_response_naive
    >>> square = np.zeros((8, 8))
    >>> square[2:6, 2:6] = 1.0
    >>> bool(np.allclose(harris_response_naive(square), harris_response(square)))
    True
    """
    kk = check_real(k, "k", low=0.0, high=0.25, high_inclusive=False)
    name = check_choice(method, "method", ("harris", "noble"))
    e = check_real(eps, "eps", low=0.0, low_inclusive=False)
    img = _as_image(image).astype(np.float64)
    s = check_real(sigma, "sigma", low=0.0, low_inclusive=False)
    grad = check_choice(gradient, "gradient", ("sobel", "gaussian"))
    h, w = img.shape

    def pixel(r: int, c: int) -> float:
        return float(img[r, c]) if 0 <= r < h and 0 <= c < w else 0.0

    # The truncated Gaussian g(x) = exp(-x^2 / 2 sigma^2) / Z, |x| <= radius;
    # taps beyond the image read only zeros and are left out.
    radius = _radius(s)
    reach = max(h, w) if radius is None else min(radius, max(h, w))
    check_size(
        h * w * (2 * reach + 1) ** 2,
        "image and sigma",
        MAX_NAIVE_STEPS,
        detail=f"a {h}x{w} image, window radius {reach}; use harris_response",
        unit="loop steps",
    )
    log_z = _log_normaliser(s, radius) if reach else 0.0

    def g(x: int) -> float:
        return math.exp(-0.5 * (x / s) ** 2 - log_z)

    def dg(x: int) -> float:  # the derivative kernel, g'(x) = -x / sigma^2 g(x)
        return -(x / s) / s * g(x)

    i_row, i_col = _naive_gradients(pixel, (h, w), grad, g=g, dg=dg, reach=reach)
    with np.errstate(over="ignore", invalid="ignore"):
        products = (i_row * i_row, i_row * i_col, i_col * i_col)
        tensor = [np.zeros((h, w)) for _ in products]
        for r in range(h):
            for c in range(w):
                for a in range(max(r - h + 1, -reach), min(r, reach) + 1):
                    for b in range(max(c - w + 1, -reach), min(c, reach) + 1):
                        weight = g(a) * g(b)
                        for t, p in zip(tensor, products, strict=True):
                            t[r, c] += weight * p[r - a, c - b]
        a_rr, a_rc, a_cc = tensor
        det = a_rr * a_cc - a_rc * a_rc
        trace = a_rr + a_cc
        response = (
            det - kk * trace * trace if name == "harris" else 2 * det / (trace + e)
        )
    if not np.all(np.isfinite(response)):
        msg = (
            "image must have values small enough for the response to stay inside "
            "float64; scale it down"
        )
        raise ValueError(msg)
    return response
