"""The image checks and the filters of :mod:`labcode.corners`: Sobel, Gaussian.

Part of :mod:`labcode.corners`, whose docstring states the method and the
references. The filters reproduce scipy's arithmetic (zero padding, Gaussian
truncated at 4 sigma) with bounded work for any `sigma`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage, special

from labcode._validation import FloatArray, as_numeric_array, format_shape

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
