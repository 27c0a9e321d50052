r"""Convolution layers: forward and backward passes, naive and fast.

The definitions (cross-correlation with stride and zero padding, the floor rule
for the output size, the three gradients) are in the docstring of
:mod:`labcode.conv`, which re-exports everything public here. The naive loops
are the readable reference; the fast versions build im2col columns per sample
(small samples grouped; the layouts are in :mod:`labcode.conv._columns`), fold
the bias into the matrix product as a row of ones, and run one BLAS product per
block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from labcode._validation import (
    MAX_ELEMENTS,
    MAX_NAIVE_STEPS,
    FloatArray,
    as_float_array,
    check_int,
    check_size,
    format_shape,
)
from labcode.conv._columns import Columns, GridColumns, filter_matrix

__all__ = [
    "conv_backward",
    "conv_backward_naive",
    "conv_forward",
    "conv_forward_naive",
]


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


def _check_naive_size(windows: int) -> None:
    """Refuse more window positions than a naive loop should visit."""
    check_size(
        windows,
        "x and w",
        MAX_NAIVE_STEPS,
        detail="windows of a naive loop; use the fast layer",
        unit="loop steps",
    )


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
    _check_naive_size(n * f * h_out * w_out)
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
    _check_naive_size(n * f * h_out * w_out)
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
    wmat = filter_matrix(w_arr.astype(dtype, copy=False), bias.astype(dtype))
    plan = Columns(x_arr.shape, (hh, ww), stride, pad, dtype)
    out = np.empty((n, f, plan.h_out, plan.w_out), dtype=dtype)
    flat_out = out.reshape(n, f, plan.size)
    # A one-sample block's product is written straight into `out`; grouped
    # samples land in a work buffer and are transposed into place.
    result = None if plan.block == 1 else np.empty((f, plan.cols.shape[1]), dtype)
    for start in range(0, n, plan.block):
        cols = plan.load(x_arr[start : start + plan.block])
        if result is None:
            np.matmul(wmat, cols, out=flat_out[start])
        else:
            part = result[:, : cols.shape[1]]
            np.matmul(wmat, cols, out=part)
            b_n = cols.shape[1] // plan.size
            flat_out[start : start + b_n] = part.reshape(f, b_n, plan.size).transpose(
                1, 0, 2
            )
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
    wmat_t = np.ascontiguousarray(filter_matrix(w_arr.astype(dtype, copy=False)).T)
    plan = GridColumns(x_arr.shape, (hh, ww), stride, pad, dtype)
    rows = plan.rows
    dx = np.empty(x_arr.shape, dtype=dtype)
    # [dW | db] accumulates cols @ dout^T; the columns' row of ones gives db.
    dwb = np.zeros((rows + 1, f), dtype=dtype)
    partial = np.empty_like(dwb)
    d_grid = np.zeros((f, plan.cols.shape[1]), dtype=dtype)
    dcols = np.empty((rows, plan.cols.shape[1]), dtype=dtype)
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
    dw = dwb[:rows].T.reshape(f, hh, ww, c).transpose(0, 3, 1, 2).copy()
    db = dwb[rows].copy()
    return dx, dw, db
