r"""2-D cross-correlation of an image with a template, and template matching.

:func:`correlate2d` has the semantics of ``scipy.signal.correlate2d`` for the
modes ``valid``, ``same`` and ``full``, computed directly (shifted copies) or by
real FFTs of the shortest wrap-free length; :func:`correlate_method` says which
one ``method="auto"`` picks and why. :func:`match_template` scores every window
by zero-mean normalised cross-correlation, from one correlation and integral
images [1]_; :func:`best_match` finds the best window.

References
----------
.. [1] Lewis, J. P. (1995). Fast normalized cross-correlation. *Vision
       Interface*, 120-123.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.fft
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    MAX_ELEMENTS,
    FloatArray,
    as_float_array,
    check_choice,
    check_int,
    check_size,
    float_dtype,
    format_shape,
)

__all__ = [
    "MAX_DIRECT_TERMS",
    "best_match",
    "correlate2d",
    "correlate_method",
    "match_template",
]


# --------------------------------------------------------------------------
# 2-D cross-correlation of one image with one template
# --------------------------------------------------------------------------

# Cost model for method="auto", in nanoseconds, fitted to timings on a 2-core
# x86-64 machine (numpy 2.4, scipy 1.17): the direct method pays a fixed cost
# per template element plus each multiply-add; the FFT method pays a fixed cost
# plus three real 2-D transforms of n = P * Q points.
_DIRECT_PER_TERM_NS = 4000.0
_DIRECT_PER_MAC_NS = 0.6
_FFT_FIXED_NS = 60000.0
_FFT_PER_NLOGN_NS = 0.45


def _lags(size: int, t_size: int, mode: str) -> tuple[int, int]:
    """First and one-past-last lag of the output along one axis for `mode`."""
    if mode == "valid":
        return 0, size - t_size + 1
    if mode == "full":
        return -(t_size - 1), size
    # "same" is the centre of "full"; for an even template scipy.signal.correlate2d
    # starts half a sample later than scipy.signal.correlate, and so do we.
    first = -(t_size - 1) + t_size // 2
    return first, first + size


def _fft_length(size: int, t_size: int, lags: tuple[int, int]) -> int:
    """Shortest fast FFT length with no wrap-around for these lags."""
    lowest = lags[0]
    highest = lags[1] - 1 + t_size - 1
    return int(
        scipy.fft.next_fast_len(max(size - lowest, highest + 1, t_size), real=True)
    )


def _rfft2_padded(a: FloatArray, shape: tuple[int, ...]) -> NDArray[Any]:
    """``rfft2(a, shape)``, skipping the column transforms of all-zero rows."""
    rows = scipy.fft.rfft(a, n=shape[1], axis=1)
    return scipy.fft.fft(rows, n=shape[0], axis=0, overwrite_x=True)


def _correlate_fft(
    image: FloatArray, template: FloatArray, lags: tuple[tuple[int, int], ...]
) -> FloatArray:
    shape = tuple(
        _fft_length(image.shape[a], template.shape[a], lags[a]) for a in range(2)
    )
    spectrum = _rfft2_padded(image, shape)
    spectrum *= np.conj(_rfft2_padded(template, shape))
    circular = scipy.fft.irfft2(spectrum, shape)
    rows = np.arange(*lags[0]) % shape[0]
    cols = np.arange(*lags[1]) % shape[1]
    if rows[0] <= rows[-1] and cols[0] <= cols[-1]:  # one contiguous block
        out: FloatArray = circular[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        return out.astype(image.dtype, copy=True)
    return circular[np.ix_(rows, cols)].astype(image.dtype, copy=False)


def _correlate_direct(
    image: FloatArray, template: FloatArray, lags: tuple[tuple[int, int], ...]
) -> FloatArray:
    (r0, r1), (c0, c1) = lags
    th, tw = template.shape
    h, w = image.shape
    # Zero-pad so that every lag reads inside the array, then sum shifted copies.
    top, left = max(0, -r0), max(0, -c0)
    bottom = max(0, r1 - 1 + th - 1 - (h - 1))
    right = max(0, c1 - 1 + tw - 1 - (w - 1))
    padded = np.pad(image, ((top, bottom), (left, right)))
    out = np.zeros((r1 - r0, c1 - c0), dtype=image.dtype)
    term = np.empty_like(out)
    for i in range(th):
        for j in range(tw):
            if template[i, j] == 0:
                continue
            window = padded[
                r0 + top + i : r1 + top + i,
                c0 + left + j : c1 + left + j,
            ]
            np.multiply(window, template[i, j], out=term)
            out += term
    return out


def _direct_is_faster(
    out_shape: tuple[int, int], fft_shape: tuple[int, int], t_size: int
) -> bool:
    direct = t_size * (
        _DIRECT_PER_TERM_NS + _DIRECT_PER_MAC_NS * out_shape[0] * out_shape[1]
    )
    n = fft_shape[0] * fft_shape[1]
    fft = _FFT_FIXED_NS + 3 * _FFT_PER_NLOGN_NS * n * math.log2(max(n, 2))
    return direct < fft


#: The most multiply-adds ``correlate2d(..., method="direct")`` performs (about
#: ten seconds of work); larger problems must use ``method="fft"`` or ``"auto"``.
MAX_DIRECT_TERMS = 1 << 34


def _shape2(value: object, name: str) -> tuple[int, int]:
    """Check a 2-D shape: a pair of positive ints (a tuple, list or 1-D array)."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, tuple | list) or len(value) != 2:
        msg = f"{name} must be a pair (rows, columns); got {value!r:.60}"
        raise TypeError(msg)
    rows = check_int(value[0], f"{name}[0]", minimum=1)
    cols = check_int(value[1], f"{name}[1]", minimum=1)
    return rows, cols


def _plan(
    image_shape: tuple[int, int], template_shape: tuple[int, int], mode: str
) -> tuple[tuple[tuple[int, int], ...], tuple[int, int], tuple[int, int]]:
    """Lags, output shape and FFT shape of a correlation, sizes checked."""
    lags = tuple(_lags(image_shape[a], template_shape[a], mode) for a in range(2))
    out_shape = (lags[0][1] - lags[0][0], lags[1][1] - lags[1][0])
    fft_shape = (
        _fft_length(image_shape[0], template_shape[0], lags[0]),
        _fft_length(image_shape[1], template_shape[1], lags[1]),
    )
    detail = (
        f"image {format_shape(image_shape)}, template {format_shape(template_shape)}"
    )
    check_size(
        out_shape[0] * out_shape[1], "image and template", MAX_ELEMENTS, detail=detail
    )
    return lags, out_shape, fft_shape


def correlate_method(
    image_shape: tuple[int, int],
    template_shape: tuple[int, int],
    *,
    mode: str = "valid",
) -> str:
    r"""Return the method ``correlate2d(..., method="auto")`` uses for these sizes.

    A cost model in nanoseconds, fitted to timings on a 2-core x86-64 machine
    (numpy 2.4, scipy 1.17), compares the two methods and picks the cheaper:

    .. math::

        T_\mathrm{direct} = t\,(4000 + 0.6\,P_o Q_o), \qquad
        T_\mathrm{fft} = 60000 + 3 \times 0.45\, n \log_2 n,

    for a template of ``t`` elements, an output of ``P_o x Q_o`` and an FFT of
    ``n = P Q`` points (the shortest fast lengths without wrap-around). The direct
    method pays a fixed cost per template element plus each multiply-add; the FFT
    method a fixed cost plus three real 2-D transforms. Small templates go direct,
    large ones through the FFT.

    Parameters
    ----------
    image_shape, template_shape : (int, int)
        Shapes of the image and of the template, positive.
    mode : {'valid', 'same', 'full'}, optional
        As in :func:`correlate2d`.

    Returns
    -------
    {'direct', 'fft'}

    Examples
    --------
    >>> from labcode.conv import correlate_method
    >>> correlate_method((64, 64), (3, 3))
    'direct'
    >>> correlate_method((512, 512), (60, 60))
    'fft'
    """
    img = _shape2(image_shape, "image_shape")
    tpl = _shape2(template_shape, "template_shape")
    mode = check_choice(mode, "mode", ("valid", "same", "full"))
    _check_fits(img, tpl, mode)
    _, out_shape, fft_shape = _plan(img, tpl, mode)
    t_size = tpl[0] * tpl[1]
    return "direct" if _direct_is_faster(out_shape, fft_shape, t_size) else "fft"


def _check_fits(img: tuple[int, ...], tpl: tuple[int, ...], mode: str) -> None:
    """Refuse a template larger than the image in mode 'valid'."""
    if mode == "valid" and (tpl[0] > img[0] or tpl[1] > img[1]):
        msg = (
            "template must be no larger than image in mode 'valid'; got template "
            f"{format_shape(tpl)} and image {format_shape(img)}"
        )
        raise ValueError(msg)


def _power_of_two_scale(a: FloatArray) -> Any:
    """Return a power of two, in `a`'s dtype, within a factor 2 of ``max|a|``.

    Dividing by it is exact (1 for an all-zero array) and brings the largest
    magnitude into [1, 2), for float32 and float64, subnormal data included.
    """
    top = np.max(np.abs(a))
    if top == 0:
        return a.dtype.type(1)
    _, exponent = np.frexp(top)
    return np.ldexp(a.dtype.type(1), int(exponent) - 1)


def correlate2d(
    image: ArrayLike,
    template: ArrayLike,
    *,
    mode: str = "valid",
    method: str = "auto",
) -> FloatArray:
    r"""Cross-correlate a 2-D image with a 2-D template.

    .. math::

        z[r, c] = \sum_{i, j} \mathrm{image}[r + i, c + j]\;\mathrm{template}[i, j],

    with zeros outside the image, the same result as
    ``scipy.signal.correlate2d(image, template, mode)`` for real input.

    Parameters
    ----------
    image : (H, W) array_like
        The image.
    template : (h, w) array_like
        The template (kernel); for ``mode="valid"`` no larger than the image.
    mode : {'valid', 'same', 'full'}, optional
        ``'valid'``: only positions where the template lies inside the image,
        ``(H - h + 1, W - w + 1)``. ``'full'``: every overlap,
        ``(H + h - 1, W + w - 1)``. ``'same'``: the centre of ``'full'``, ``(H, W)``,
        starting at row ``h // 2`` and column ``w // 2`` of ``'full'`` as in
        ``scipy.signal.correlate2d`` (``scipy.signal.correlate`` starts at
        ``(h - 1) // 2``: the two differ by one for an even template size).
    method : {'auto', 'direct', 'fft'}, optional
        ``'direct'`` sums shifted copies of the image (one per template element,
        at most :data:`~labcode.conv.MAX_DIRECT_TERMS` multiply-adds); ``'fft'`` multiplies
        spectra, with the FFT length chosen just long enough to avoid wrap-around
        for the requested lags; ``'auto'`` estimates both costs from the sizes
        and picks the cheaper, as :func:`correlate_method` reports.

    Returns
    -------
    ndarray
        float32 when both inputs are float32, else float64.

    Raises
    ------
    ValueError
        Not 2-D, empty, non-finite, an unknown `mode` or `method`, a template
        larger than the image in ``'valid'`` mode, an output or FFT of more than
        ``labcode._validation.MAX_ELEMENTS`` elements, or a result beyond the
        float range (the inputs are scaled by powers of two, so only a result
        that is itself too large overflows).
    TypeError
        Non-numeric or complex input, or a non-string `mode` or `method`.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.conv import correlate2d
    >>> image = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    >>> correlate2d(image, [[1.0, 1.0]])
    array([[3., 2.],
           [1., 4.]])
    >>> correlate2d(image, [[1.0, 1.0]], mode="same")
    array([[3., 2., 0.],
           [1., 4., 3.]])
    >>> np.allclose(
    ...     correlate2d(image, [[1.0, -1.0]], method="fft", mode="full"),
    ...     [[-1.0, -1.0, 2.0, 0.0], [0.0, -1.0, -2.0, 3.0]],
    ... )
    True
    """
    img = as_float_array(image, "image", ndim=2, layout="(H, W)")
    tpl = as_float_array(template, "template", ndim=2, layout="(h, w)")
    mode = check_choice(mode, "mode", ("valid", "same", "full"))
    method = check_choice(method, "method", ("auto", "direct", "fft"))
    _check_fits(img.shape, tpl.shape, mode)
    dtype = np.result_type(img.dtype, tpl.dtype)
    lags, out_shape, fft_shape = _plan(img.shape, tpl.shape, mode)
    if method == "auto":
        method = correlate_method(img.shape, tpl.shape, mode=mode)
    elif method == "direct":
        check_size(
            tpl.size * out_shape[0] * out_shape[1],
            "method='direct' with this image and template",
            MAX_DIRECT_TERMS,
            detail="that many multiply-adds; use method='fft' or 'auto'",
        )
    else:
        check_size(
            fft_shape[0] * fft_shape[1],
            "method='fft' with this image and template",
            MAX_ELEMENTS,
            detail=f"an FFT of shape {format_shape(fft_shape)}",
        )
    # Both inputs scaled by powers of two (exact), so that nothing overflows on
    # the way (FFT sums, products); the scales go back on at the end.
    s_img, s_tpl = _power_of_two_scale(img), _power_of_two_scale(tpl)
    img = (img / s_img).astype(dtype, copy=False)
    tpl = (tpl / s_tpl).astype(dtype, copy=False)
    if method == "direct":
        out = _correlate_direct(img, tpl, lags)
    else:
        out = _correlate_fft(img, tpl, lags)
    with np.errstate(over="ignore"):
        out *= s_img.astype(out.dtype)
        out *= s_tpl.astype(out.dtype)
    if not np.all(np.isfinite(out)):
        msg = (
            f"image and template must have a correlation inside {dtype}; it "
            f"overflows (largest |image| ~ {float(s_img):.3g}, "
            f"|template| ~ {float(s_tpl):.3g})"
        )
        raise ValueError(msg)
    return out


# --------------------------------------------------------------------------
# Template matching by zero-mean normalised cross-correlation
# --------------------------------------------------------------------------


def _window_sums(a: NDArray[np.float64], shape: tuple[int, int]) -> NDArray[np.float64]:
    """Sum of `a` over every window of `shape` that fits, by an integral image."""
    integral = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    np.cumsum(a, axis=0, out=integral[1:, 1:])
    np.cumsum(integral[1:, 1:], axis=1, out=integral[1:, 1:])
    h, w = shape
    return integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]


def match_template(image: ArrayLike, template: ArrayLike) -> FloatArray:
    r"""Zero-mean normalised cross-correlation of a template at every position.

    .. math::

        \gamma[r, c] = \frac{\sum_{i,j} (I_{r+i, c+j} - \bar I_{r,c})(T_{ij} - \bar T)}
        {\sqrt{\sum_{i,j} (I_{r+i,c+j} - \bar I_{r,c})^2 \sum_{i,j} (T_{ij} - \bar T)^2}},

    where :math:`\bar I_{r,c}` is the mean of the image window at ``(r, c)``. The
    numerator is one correlation (:func:`correlate2d`, FFT for large templates);
    the window means and energies come from integral images [3]_.

    Parameters
    ----------
    image : (H, W) array_like
        A grayscale image.
    template : (h, w) array_like
        A grayscale template no larger than the image, not constant.

    Returns
    -------
    (H - h + 1, W - w + 1) ndarray
        Scores in [-1, 1]: 1 where a window is an increasing affine copy of the
        template (``a * T + b``, ``a > 0``), -1 for ``a < 0``. Flat windows, where
        the score is undefined, get 0. float32 when both inputs are float32.

    Raises
    ------
    ValueError
        Not 2-D, empty, non-finite, a template larger than the image, or a
        constant template.

    See Also
    --------
    best_match : The position of the highest score.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.conv import match_template, best_match
    >>> image = np.zeros((5, 6))
    >>> image[2:4, 3:5] = [[1.0, 2.0], [3.0, 4.0]]
    >>> scores = match_template(image, [[10.0, 20.0], [30.0, 40.0]])
    >>> scores.shape, best_match(scores), round(float(scores.max()), 6)
    ((4, 5), (2, 3), 1.0)
    """
    img = as_float_array(image, "image", ndim=2, layout="(H, W)")
    tpl = as_float_array(template, "template", ndim=2, layout="(h, w)")
    if tpl.shape[0] > img.shape[0] or tpl.shape[1] > img.shape[1]:
        msg = (
            "template must be no larger than image; got template "
            f"{format_shape(tpl.shape)} and image {format_shape(img.shape)}"
        )
        raise ValueError(msg)
    out_dtype = np.result_type(img.dtype, tpl.dtype)
    # The scores do not change when image or template is scaled: scaling both to
    # order 1 by powers of two (exact) keeps every energy and product finite for
    # data near 1e300 or 1e-300.
    img64 = img.astype(np.float64) / _power_of_two_scale(img)
    img64 -= img64.mean()  # better conditioned window energies
    t_scale = _power_of_two_scale(tpl)
    t = tpl.astype(np.float64) / t_scale
    t -= t.mean()
    t_energy = float(np.sum(t * t))
    scale = float(np.max(np.abs(tpl))) / t_scale  # in [0.5, 1)
    if t_energy <= (1e-12 * scale) ** 2 * tpl.size or t_energy == 0.0:
        msg = "template must not be constant: its normalised correlation is undefined"
        raise ValueError(msg)
    numerator = correlate2d(img64, t, mode="valid")
    n = tpl.size
    sums = _window_sums(img64, tpl.shape)
    energy = _window_sums(img64 * img64, tpl.shape) - sums * sums / n
    denominator = np.sqrt(np.maximum(energy, 0.0) * t_energy)
    # Windows whose variance is lost in rounding are flat: score 0, not noise / noise.
    flat = energy <= 1e-10 * max(float(np.max(img64 * img64)), 1e-300) * n
    scores = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=scores, where=~flat)
    np.clip(scores, -1.0, 1.0, out=scores)
    return scores.astype(float_dtype(out_dtype), copy=False)


def best_match(scores: ArrayLike) -> tuple[int, int]:
    """Return the ``(row, col)`` of the highest score, the top-left of the match.

    Parameters
    ----------
    scores : (M, N) array_like
        A score map such as the output of :func:`match_template`.

    Returns
    -------
    tuple of int
        The first position of the maximum in row-major order.

    Examples
    --------
    >>> from labcode.conv import best_match
    >>> best_match([[0.1, 0.5], [0.9, -1.0]])
    (1, 0)
    """
    s = as_float_array(scores, "scores", ndim=2, layout="(M, N)")
    row, col = np.unravel_index(int(np.argmax(s)), s.shape)
    return int(row), int(col)
