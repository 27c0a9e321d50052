r"""Convolution layers, 2-D cross-correlation and template matching.

A convolution layer of a CNN slides each of ``F`` filters ``w[f]`` of shape
``(C, HH, WW)`` over a zero-padded input ``x`` of shape ``(N, C, H, W)`` and takes
dot products; strictly, that is a *cross-correlation* (the kernel is not flipped):

.. math::

    \mathrm{out}[n, f, r, c] = b_f + \sum_{k, i, j}
        w[f, k, i, j]\; x_{\mathrm{pad}}[n, k, s r + i, s c + j],

with stride :math:`s`, and an output of height
:math:`H' = 1 + \lfloor (H + 2p - HH) / s \rfloor` (width likewise), the floor
rule PyTorch uses. The gradients of :math:`\sum \mathrm{out} \odot \mathrm{dout}`
are a correlation of the input with ``dout`` (for ``dw``), a sum (for ``db``) and
a *full convolution* of ``dout`` with ``w``, which is a correlation with the
flipped kernel (for ``dx``) [1]_.

Naive loop versions sit beside the fast ones. The fast versions turn the layer
into one matrix product per sample (im2col [2]_; small samples are grouped):
for stride 1 the columns are contiguous slices of the flattened padded image,
so building them is nine memory copies for a 3x3 kernel, the bias rides along
as a row of ones, and the product runs in BLAS.

References
----------
.. [1] Dumoulin, V. and Visin, F. (2016). A guide to convolution arithmetic for
       deep learning. arXiv:1603.07285.
.. [2] Chellapilla, K., Puri, S. and Simard, P. (2006). High performance
       convolutional neural networks for document processing. *Tenth
       International Workshop on Frontiers in Handwriting Recognition*.
.. [3] Lewis, J. P. (1995). Fast normalized cross-correlation. *Vision
       Interface*, 120-123.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

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
    "conv_backward",
    "conv_backward_naive",
    "conv_forward",
    "conv_forward_naive",
    "correlate2d",
    "correlate_method",
    "match_template",
]

# The fast layer builds the columns of one sample at a time (a few MB that stay
# warm in cache between the copies and the matrix product); samples whose columns
# take fewer bytes than this are grouped, so that tiny images still make matrix
# products large enough for BLAS.
_SAMPLE_BYTES = 1 << 18


# --------------------------------------------------------------------------
# Input checks shared by the layer functions
# --------------------------------------------------------------------------


def _layer_inputs(
    x: ArrayLike, w: ArrayLike, stride: object, pad: object
) -> tuple[FloatArray, FloatArray, int, int, int, int]:
    """Check `x`, `w`, `stride`, `pad`; return them with the output size."""
    x_arr = as_float_array(x, "x", ndim=4, layout="(N, C, H, W)", finite=False)
    w_arr = as_float_array(w, "w", ndim=4, layout="(F, C, HH, WW)", finite=False)
    stride = check_int(stride, "stride", minimum=1)
    pad = check_int(pad, "pad", minimum=0)
    if w_arr.shape[1] != x_arr.shape[1]:
        msg = (
            f"w must have as many channels as x: w has C = {w_arr.shape[1]} "
            f"(shape {format_shape(w_arr.shape)}), x has C = {x_arr.shape[1]} "
            f"(shape {format_shape(x_arr.shape)})"
        )
        raise ValueError(msg)
    _, _, h, wd = x_arr.shape
    hh, ww = w_arr.shape[2:]
    if hh > h + 2 * pad or ww > wd + 2 * pad:
        msg = (
            f"w's kernel {hh}x{ww} is larger than the padded input "
            f"{h + 2 * pad}x{wd + 2 * pad} (H + 2*pad by W + 2*pad with pad = {pad})"
        )
        raise ValueError(msg)
    dtype = np.result_type(x_arr.dtype, w_arr.dtype)
    x_arr = x_arr.astype(dtype, copy=False)
    w_arr = w_arr.astype(dtype, copy=False)
    h_out = 1 + (h + 2 * pad - hh) // stride
    w_out = 1 + (wd + 2 * pad - ww) // stride
    n, c = x_arr.shape[:2]
    f = w_arr.shape[0]
    # Memory bounds, checked before anything is allocated: the padded input, the
    # output and one sample's column matrix.
    detail = f"x {format_shape(x_arr.shape)}, w {format_shape(w_arr.shape)}, pad {pad}"
    check_size(
        n * c * (h + 2 * pad) * (wd + 2 * pad), "pad", MAX_ELEMENTS, detail=detail
    )
    check_size(n * f * h_out * w_out, "x and w", MAX_ELEMENTS, detail=detail)
    check_size(c * hh * ww * h_out * w_out, "x and w", MAX_ELEMENTS, detail=detail)
    return x_arr, w_arr, stride, pad, h_out, w_out


def _bias(b: ArrayLike | None, n_filters: int, dtype: np.dtype[Any]) -> FloatArray:
    if b is None:
        return np.zeros(n_filters, dtype=dtype)
    b_arr = as_float_array(
        b, "b", ndim=1, layout="(F,)", allow_empty=True, finite=False
    )
    if b_arr.shape != (n_filters,):
        msg = (
            f"b must have shape (F,) = ({n_filters},); got {format_shape(b_arr.shape)}"
        )
        raise ValueError(msg)
    return b_arr


def _check_dout(dout: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    d = as_float_array(dout, "dout", ndim=4, layout="(N, F, H', W')", finite=False)
    if d.shape != shape:
        msg = (
            f"dout must have the output's shape (N, F, H', W') = "
            f"{format_shape(shape)}; got {format_shape(d.shape)}"
        )
        raise ValueError(msg)
    return d


_Layer = TypeVar("_Layer", bound=Callable[..., Any])


def _overflow_checked(fn: _Layer) -> _Layer:
    """Run a layer function; refuse an overflow that finite inputs produced.

    NaN and infinity in the inputs propagate (documented, and not checked, to
    keep the layer fast); but finite inputs whose products exceed the float range
    raise ValueError naming them instead of returning infinities with numpy's
    warning. The check costs one pass over the result, and a pass over the
    inputs only when the result is not finite.
    """

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore"):
            result = fn(*args, **kwargs)
        outputs = result if isinstance(result, tuple) else (result,)
        if all(np.all(np.isfinite(o)) for o in outputs):
            return result
        arrays = [
            a
            for a in (*args, *kwargs.values())
            if a is not None and not isinstance(a, int)
        ]
        if all(np.all(np.isfinite(np.asarray(a, dtype=np.float64))) for a in arrays):
            names = ", ".join(
                p for p in ("dout", "x", "w", "b") if p in fn.__code__.co_varnames
            )
            msg = (
                f"{names} must be small enough for the layer's sums to stay inside "
                f"the float range; the result overflows: scale them down"
            )
            raise ValueError(msg)
        return result

    return checked  # type: ignore[return-value]


# --------------------------------------------------------------------------
# Naive loops: the readable reference
# --------------------------------------------------------------------------


@_overflow_checked
def conv_forward_naive(
    x: ArrayLike,
    w: ArrayLike,
    b: ArrayLike | None = None,
    *,
    stride: int = 1,
    pad: int = 0,
) -> FloatArray:
    """Forward pass of a convolution layer, written as plain loops.

    Same contract as :func:`conv_forward`; use it to read or to check, not to run.

    Parameters
    ----------
    x : (N, C, H, W) array_like
        Input: N samples of C channels.
    w : (F, C, HH, WW) array_like
        F filters.
    b : (F,) array_like, optional
        Biases; zero when omitted.
    stride : int, optional
        Step between windows, >= 1.
    pad : int, optional
        Zeros added on every side of each image, >= 0.

    Returns
    -------
    (N, F, H', W') ndarray
        ``H' = 1 + (H + 2*pad - HH) // stride`` and likewise ``W'``.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.conv import conv_forward_naive
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv_forward_naive(x, np.ones((1, 1, 2, 2)))
    array([[[[ 8., 12.],
             [20., 24.]]]])
    """
    x_arr, w_arr, stride, pad, h_out, w_out = _layer_inputs(x, w, stride, pad)
    n, _, _, _ = x_arr.shape
    f, _, hh, ww = w_arr.shape
    bias = _bias(b, f, x_arr.dtype)
    xp = np.pad(x_arr, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((n, f, h_out, w_out), dtype=x_arr.dtype)
    for i in range(n):
        for k in range(f):
            for r in range(h_out):
                for c in range(w_out):
                    window = xp[
                        i, :, r * stride : r * stride + hh, c * stride : c * stride + ww
                    ]
                    out[i, k, r, c] = np.sum(window * w_arr[k]) + bias[k]
    return out


@_overflow_checked
def conv_backward_naive(
    dout: ArrayLike,
    x: ArrayLike,
    w: ArrayLike,
    *,
    stride: int = 1,
    pad: int = 0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Backward pass of a convolution layer, written as plain loops.

    Same contract as :func:`conv_backward`: every output value ``out[n, f, r, c]``
    sends ``dout[n, f, r, c] * w[f]`` back to the window it read and collects
    ``dout[n, f, r, c] * window`` into ``dw[f]``.

    Parameters
    ----------
    dout : (N, F, H', W') array_like
        Upstream gradient, shaped like the forward output.
    x : (N, C, H, W) array_like
        The forward input.
    w : (F, C, HH, WW) array_like
        The filters.
    stride, pad : int, optional
        As in the forward pass.

    Returns
    -------
    dx : (N, C, H, W) ndarray
    dw : (F, C, HH, WW) ndarray
    db : (F,) ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.conv import conv_backward_naive
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> dx, dw, db = conv_backward_naive(
    ...     np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2))
    ... )
    >>> dx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dw[0, 0], db
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    x_arr, w_arr, stride, pad, h_out, w_out = _layer_inputs(x, w, stride, pad)
    n, _, h, wd = x_arr.shape
    f, _, hh, ww = w_arr.shape
    d = _check_dout(dout, (n, f, h_out, w_out))
    dtype = np.result_type(x_arr.dtype, d.dtype)
    xp = np.pad(x_arr, ((0, 0), (0, 0), (pad, pad), (pad, pad))).astype(dtype)
    dxp = np.zeros_like(xp)
    dw = np.zeros(w_arr.shape, dtype=dtype)
    for i in range(n):
        for k in range(f):
            for r in range(h_out):
                for c in range(w_out):
                    rows = slice(r * stride, r * stride + hh)
                    cols = slice(c * stride, c * stride + ww)
                    g = d[i, k, r, c]
                    dxp[i, :, rows, cols] += g * w_arr[k]
                    dw[k] += g * xp[i, :, rows, cols]
    dx = dxp[:, :, pad : pad + h, pad : pad + wd]
    db = d.sum(axis=(0, 2, 3)).astype(dtype)
    return dx, dw, db


# --------------------------------------------------------------------------
# Fast layer: im2col per sample (or per block of small samples), one GEMM each
# --------------------------------------------------------------------------


class _Im2col:
    """Column matrices of blocks of padded samples, and their adjoint.

    The padded block is held channel-major, ``(C, B, Hp, Wp)``, in a buffer that
    is zeroed once: each block only rewrites the interior, so the border stays
    zero. Column row ``(i, j, k)`` holds channel ``k`` shifted by kernel offset
    ``(i, j)``; one more row of ones multiplies the bias column of the filter
    matrix, so the bias costs nothing beyond the matrix product.

    For stride 1 the output positions are indexed on the padded grid itself
    (``pitch`` ``Hp x Wp`` per sample): the column for offset ``(i, j)`` is then
    one contiguous slice of the flattened block (a plain copy), and the
    ``Wp - W'`` unused positions at the end of each row are a few per cent of
    wasted work, cropped afterwards. For stride > 1 the columns are gathered
    with strided copies onto the ``H' x W'`` grid, so a one-sample block's
    product can be written straight into the output.

    A block holds one sample when its columns take at least
    :data:`_SAMPLE_BYTES`; smaller samples are grouped so that each matrix
    product stays large enough for BLAS to run near its peak.
    """

    def __init__(
        self,
        shape: tuple[int, int, int, int],
        kernel: tuple[int, int],
        stride: int,
        pad: int,
        dtype: np.dtype[Any],
    ) -> None:
        n, c, h, w = shape
        self.c, self.h, self.w = c, h, w
        self.hh, self.ww = kernel
        self.stride, self.pad = stride, pad
        self.hp, self.wp = h + 2 * pad, w + 2 * pad
        self.h_out = 1 + (self.hp - self.hh) // stride
        self.w_out = 1 + (self.wp - self.ww) // stride
        self.grid = (self.hp, self.wp) if stride == 1 else (self.h_out, self.w_out)
        self.rows = self.hh * self.ww * c
        size = self.grid[0] * self.grid[1]
        per_sample = (self.rows + 1) * size * dtype.itemsize
        self.block = max(1, min(n, _SAMPLE_BYTES // max(per_sample, 1)))
        self.padded = np.zeros((c, self.block, self.hp, self.wp), dtype=dtype)
        self.cols = np.empty((self.rows + 1, self.block * size), dtype=dtype)
        self.cols[self.rows] = 1

    def length(self, b: int) -> int:
        """Return the number of column positions a block of `b` samples uses."""
        gh, gw = self.grid
        if self.stride == 1:
            return (b - 1) * gh * gw + (self.h_out - 1) * gw + self.w_out
        return b * gh * gw

    def load(self, x_block: FloatArray) -> int:
        """Copy samples into the padded buffer; fill and return the columns' length."""
        b = x_block.shape[0]
        p = self.pad
        self.padded[:, :b, p : p + self.h, p : p + self.w] = x_block.transpose(
            1, 0, 2, 3
        )
        n_cols = self.length(b)
        cols = self.cols[: self.rows, :n_cols].reshape(self.hh, self.ww, self.c, n_cols)
        s = self.stride
        if s == 1:
            flat = self.padded.reshape(self.c, -1)
            for i in range(self.hh):
                for j in range(self.ww):
                    start = i * self.wp + j
                    cols[i, j] = flat[:, start : start + n_cols]
        else:
            for i in range(self.hh):
                for j in range(self.ww):
                    window = self.padded[
                        :,
                        :b,
                        i : i + s * (self.h_out - 1) + 1 : s,
                        j : j + s * (self.w_out - 1) + 1 : s,
                    ]
                    cols[i, j] = window.reshape(self.c, n_cols)
        return n_cols

    def columns(self, n_cols: int) -> FloatArray:
        """Return the filled ``(HH*WW*C + 1, n_cols)`` columns, ones row last."""
        return self.cols[:, :n_cols]

    def outputs(self, result: FloatArray, b: int) -> FloatArray:
        """View a ``(F, block * grid)`` product as ``(b, F, H', W')``."""
        gh, gw = self.grid
        grid = result[:, : b * gh * gw].reshape(result.shape[0], b, gh, gw)
        return grid[:, :, : self.h_out, : self.w_out].transpose(1, 0, 2, 3)

    def scatter(self, dcols: FloatArray, dpad: FloatArray, b: int) -> FloatArray:
        """Adjoint of :meth:`load`: add column gradients onto ``dpad``, view ``dx``.

        ``dpad`` is a ``(C, block, Hp, Wp)`` work buffer; the returned view of
        it is ``(b, C, H, W)``.
        """
        n_cols = dcols.shape[1]
        dpad[:, :b] = 0
        d = dcols.reshape(self.hh, self.ww, self.c, n_cols)
        s = self.stride
        if s == 1:
            flat = dpad.reshape(self.c, -1)
            for i in range(self.hh):
                for j in range(self.ww):
                    start = i * self.wp + j
                    flat[:, start : start + n_cols] += d[i, j]
        else:
            for i in range(self.hh):
                for j in range(self.ww):
                    dpad[
                        :,
                        :b,
                        i : i + s * (self.h_out - 1) + 1 : s,
                        j : j + s * (self.w_out - 1) + 1 : s,
                    ] += d[i, j].reshape(self.c, b, self.h_out, self.w_out)
        p = self.pad
        return dpad[:, :b, p : p + self.h, p : p + self.w].transpose(1, 0, 2, 3)

    def grid_values(self, d_block: FloatArray, out: FloatArray) -> FloatArray:
        """Lay ``(b, F, H', W')`` values onto the column grid of ``out``.

        ``out`` is an ``(F, block * grid)`` buffer whose off-grid positions are
        zero (they are never written); the filled ``(F, n_cols)`` part is
        returned.
        """
        b, f = d_block.shape[:2]
        gh, gw = self.grid
        grid = out[:, : b * gh * gw].reshape(f, b, gh, gw)
        grid[:, :, : self.h_out, : self.w_out] = d_block.transpose(1, 0, 2, 3)
        return out[:, : self.length(b)]


def _filter_matrix(w: FloatArray, b: FloatArray | None = None) -> FloatArray:
    """``(F, HH*WW*C [+ 1])``: columns ordered like :class:`_Im2col`'s rows.

    With `b`, the bias is the last column (it meets the columns' row of ones).
    """
    f = w.shape[0]
    k = w[0].size
    wmat = np.empty((f, k + (b is not None)), dtype=w.dtype)
    wmat[:, :k] = w.transpose(0, 2, 3, 1).reshape(f, k)
    if b is not None:
        wmat[:, k] = b
    return wmat


@_overflow_checked
def conv_forward(
    x: ArrayLike,
    w: ArrayLike,
    b: ArrayLike | None = None,
    *,
    stride: int = 1,
    pad: int = 0,
) -> FloatArray:
    """Forward pass of a convolution layer (cross-correlation), vectorised.

    Parameters
    ----------
    x : (N, C, H, W) array_like
        Input: N samples of C channels.
    w : (F, C, HH, WW) array_like
        F filters, each spanning all C channels.
    b : (F,) array_like, optional
        Biases; zero when omitted.
    stride : int, optional
        Step between windows, >= 1.
    pad : int, optional
        Zeros added on every side of each image, >= 0.

    Returns
    -------
    (N, F, H', W') ndarray
        ``H' = 1 + (H + 2*pad - HH) // stride`` and likewise ``W'``. float32 when
        every input is float32, else float64.

    Raises
    ------
    ValueError
        Wrong number of dimensions, a channel mismatch, a kernel larger than the
        padded input, empty arrays, ``stride < 1`` or ``pad < 0``.
    TypeError
        Non-numeric or complex arrays, non-integer `stride` or `pad`.

    See Also
    --------
    conv_forward_naive : The same as readable loops.
    conv_backward : Its gradients.

    Notes
    -----
    Each sample (or block of small samples) becomes one matrix product of the
    ``(F, HH*WW*C + 1)`` filter matrix, whose last column is the bias, with a
    ``(HH*WW*C + 1, L)`` column matrix (im2col) whose last row is ones. NaN and
    infinity propagate as in any matrix product; they are not checked, to keep
    the layer fast.

    Examples
    --------
    A 2x2 box filter sums each window; with ``pad=1`` the border sees zeros:

    >>> import numpy as np
    >>> from labcode.conv import conv_forward
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv_forward(x, np.ones((1, 1, 2, 2)))
    array([[[[ 8., 12.],
             [20., 24.]]]])
    >>> conv_forward(x, np.ones((1, 1, 2, 2)), [0.5], stride=2, pad=1)
    array([[[[ 0.5,  3.5],
             [ 9.5, 24.5]]]])

    The output shape follows the floor rule:

    >>> import numpy as np
    >>> from labcode.conv import conv_forward
    >>> conv_forward(np.zeros((2, 3, 7, 7)), np.zeros((4, 3, 3, 3)), stride=2).shape
    (2, 4, 3, 3)
    """
    x_arr, w_arr, stride, pad, _, _ = _layer_inputs(x, w, stride, pad)
    n = x_arr.shape[0]
    f, _, hh, ww = w_arr.shape
    bias = _bias(b, f, x_arr.dtype)
    dtype = np.result_type(x_arr.dtype, bias.dtype)
    x_arr = x_arr.astype(dtype, copy=False)
    wmat = _filter_matrix(w_arr.astype(dtype, copy=False), bias.astype(dtype))
    plan = _Im2col(x_arr.shape, (hh, ww), stride, pad, dtype)
    out = np.empty((n, f, plan.h_out, plan.w_out), dtype=dtype)
    # A one-sample block on the (H', W') grid is written straight into `out`;
    # otherwise the product lands in a work buffer and is cropped/transposed.
    direct = plan.block == 1 and plan.stride != 1
    result = None if direct else np.empty((f, plan.cols.shape[1]), dtype=dtype)
    for start in range(0, n, plan.block):
        block = x_arr[start : start + plan.block]
        b_n = block.shape[0]
        cols = plan.columns(plan.load(block))
        if result is None:
            np.matmul(wmat, cols, out=out[start].reshape(f, -1))
        else:
            np.matmul(wmat, cols, out=result[:, : cols.shape[1]])
            out[start : start + b_n] = plan.outputs(result, b_n)
    return out


@_overflow_checked
def conv_backward(
    dout: ArrayLike,
    x: ArrayLike,
    w: ArrayLike,
    *,
    stride: int = 1,
    pad: int = 0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Backward pass of a convolution layer, vectorised.

    Exact gradients of :math:`\sum \mathrm{conv\_forward}(x, w, b) \odot
    \mathrm{dout}` with respect to `x`, `w` and `b`.

    Parameters
    ----------
    dout : (N, F, H', W') array_like
        Upstream gradient, shaped like the forward output.
    x : (N, C, H, W) array_like
        The forward input.
    w : (F, C, HH, WW) array_like
        The filters.
    stride, pad : int, optional
        As in the forward pass.

    Returns
    -------
    dx : (N, C, H, W) ndarray
    dw : (F, C, HH, WW) ndarray
    db : (F,) ndarray

    Raises
    ------
    ValueError
        The checks of :func:`conv_forward`, and `dout` not shaped like the output.

    See Also
    --------
    conv_backward_naive : The same as readable loops.

    Notes
    -----
    With the column matrix :math:`X_c` and the filter matrix :math:`W_m` of the
    forward pass (:math:`\mathrm{out} = W_m X_c`), the gradients are
    :math:`dW_m = D\,X_c^\top`, :math:`dX_c = W_m^\top D`, and ``dx`` adds each
    column of :math:`dX_c` back where it was read (col2im). For stride 1 that is
    the full convolution of ``dout`` with ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.conv import conv_backward
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> dx, dw, db = conv_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)))
    >>> dx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dw[0, 0], db
    (array([[ 8., 12.],
           [20., 24.]]), array([4.]))
    """
    x_arr, w_arr, stride, pad, h_out, w_out = _layer_inputs(x, w, stride, pad)
    n = x_arr.shape[0]
    f, c, hh, ww = w_arr.shape
    d = _check_dout(dout, (n, f, h_out, w_out))
    dtype = np.result_type(x_arr.dtype, d.dtype)
    x_arr = x_arr.astype(dtype, copy=False)
    d = d.astype(dtype, copy=False)
    plan = _Im2col(x_arr.shape, (hh, ww), stride, pad, dtype)
    wmat_t = np.ascontiguousarray(_filter_matrix(w_arr.astype(dtype, copy=False)).T)
    dx = np.empty(x_arr.shape, dtype=dtype)
    # [dW | db] accumulates cols @ dout^T; the columns' row of ones gives db.
    dwb = np.zeros((plan.rows + 1, f), dtype=dtype)
    partial = np.empty_like(dwb)
    d_grid = np.zeros((f, plan.cols.shape[1]), dtype=dtype)
    dcols = np.empty((plan.rows, plan.cols.shape[1]), dtype=dtype)
    dpad = np.empty_like(plan.padded)
    for start in range(0, n, plan.block):
        block = x_arr[start : start + plan.block]
        b_n = block.shape[0]
        cols = plan.columns(plan.load(block))
        dflat = plan.grid_values(d[start : start + b_n], d_grid)
        np.matmul(cols, dflat.T, out=partial)
        dwb += partial
        dc = dcols[:, : cols.shape[1]]
        np.matmul(wmat_t, dflat, out=dc)
        dx[start : start + b_n] = plan.scatter(dc, dpad, b_n)
    dw = dwb[: plan.rows].T.reshape(f, hh, ww, c).transpose(0, 3, 1, 2).copy()
    db = dwb[plan.rows].copy()
    return dx, dw, db


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
    """Check a 2-D shape: a pair of positive ints."""
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
        at most :data:`MAX_DIRECT_TERMS` multiply-adds); ``'fft'`` multiplies
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
