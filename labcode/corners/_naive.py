"""The Harris response as plain loops over pixels: the readable twin.

Part of :mod:`labcode.corners`; :func:`harris_response_naive` computes what
:func:`harris_response` does, every sum written out.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import MAX_NAIVE_STEPS, check_choice, check_real, check_size
from labcode.corners._filters import _as_image, _log_normaliser, _radius


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
