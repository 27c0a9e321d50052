"""The structure tensor and the Harris and Noble responses, vectorised.

Part of :mod:`labcode.corners`, whose docstring states the method and the
references.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from labcode._validation import FloatArray, check_choice, check_real
from labcode.corners._filters import (
    _Arena,
    _as_image,
    _gaussian1d,
    _gaussian1d_wide,
    _gaussian_gradient,
    _radius,
    _sobel_pair,
)


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
