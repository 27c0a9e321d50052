"""Column matrices (im2col) of the fast convolution layer, and their adjoint.

Private to :mod:`labcode.conv`. Two layouts, each where it measured fastest:

- :class:`Columns` (the forward pass) indexes the output grid ``H' x W'``, so a
  one-sample block's matrix product is written straight into the output; its
  copies read the input directly and skip the positions that read padding.
- :class:`GridColumns` (the backward pass) indexes, for stride 1, the padded
  grid ``Hp x Wp``: each kernel offset is then one contiguous slice, so the
  adjoint (col2im) is nine contiguous shifted additions, 2.5x faster than
  adding strided rectangles into ``dx``; the few per cent of extra positions
  are cropped.

Both fold the bias into the product as a row of ones, and group samples whose
columns are small so that each product stays large enough for BLAS.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labcode._validation import FloatArray

# The fast layer builds the columns of one sample at a time (a few MB that stay
# warm in cache between the copies and the matrix product); samples whose columns
# take fewer bytes than this are grouped, so that tiny images still make matrix
# products large enough for BLAS.
SAMPLE_BYTES = 1 << 18


def filter_matrix(w: FloatArray, b: FloatArray | None = None) -> FloatArray:
    """``(F, HH*WW*C [+ 1])``: columns in the order of the column matrices' rows.

    With `b`, the bias is the last column (it meets the columns' row of ones).
    """
    f = w.shape[0]
    k = w[0].size
    wmat = np.empty((f, k + (b is not None)), dtype=w.dtype)
    wmat[:, :k] = w.transpose(0, 2, 3, 1).reshape(f, k)
    if b is not None:
        wmat[:, k] = b
    return wmat


def pitch(width: int, itemsize: int) -> int:
    """Row length, in elements, for a column buffer `width` positions wide.

    Rounded up to a 64-byte multiple, and moved off multiples of 4096 bytes:
    a column matrix whose rows are a multiple of 4 KiB apart (64x64 images give
    4096 positions) makes OpenBLAS's float32 product about 1.6x slower on this
    project's machine (cache-set aliasing); 64 spare bytes per row avoid it.
    """
    per_line = max(1, 64 // itemsize)
    pitch = -(-width // per_line) * per_line
    if (pitch * itemsize) % 4096 == 0:
        pitch += per_line
    return pitch


def samples_per_block(n: int, rows: int, positions: int, itemsize: int) -> int:
    """How many of `n` samples share one column matrix (and one product).

    One, when a sample's ``rows x positions`` columns take at least
    :data:`SAMPLE_BYTES`; smaller samples are grouped, so that each matrix
    product stays large enough for BLAS to run near its peak.
    """
    return max(1, min(n, SAMPLE_BYTES // max(rows * positions * itemsize, 1)))


def _valid_range(offset: int, size: int, n_out: int, stride: int, pad: int) -> range:
    """Output indices whose window, at kernel `offset`, reads inside the input.

    Output index ``r`` reads input row ``r*stride + offset - pad``; the others
    read zero padding.
    """
    lo = max(0, -(-(pad - offset) // stride))
    hi = min(n_out, (size - 1 + pad - offset) // stride + 1)
    return range(lo, max(lo, hi))


class Columns:
    """Column matrices of blocks of samples, on the output grid.

    Column row ``(i, j, k)`` holds channel ``k`` shifted by kernel offset
    ``(i, j)``, at every output position (the ``H' x W'`` grid, so a one-sample
    block's product is the sample's output, written in place). The copies read
    the input directly; the positions whose window reads zero padding are
    zeroed once, when the buffer is made, and never written again. One more row
    of ones multiplies the bias column of the filter matrix, so the bias costs
    nothing beyond the matrix product.

    With stride 1 and an output as wide as the input (``W' = W``: "same"
    padding), output row ``r`` of offset ``(i, j)`` reads input row
    ``r + i - pad`` shifted by ``j - pad``, so each offset is one contiguous run
    of the flattened image: a plain copy, after
    which the ``|j - pad|`` columns that wrapped around a row end are zeroed.
    Otherwise each offset copies the rectangle of output positions whose
    window lies on the image.

    Samples are taken in blocks of :func:`samples_per_block`.
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
        hh, ww = kernel
        self.h_out = 1 + (h + 2 * pad - hh) // stride
        self.w_out = 1 + (w + 2 * pad - ww) // stride
        self.size = self.h_out * self.w_out
        self.rows = hh * ww * c
        self.block = samples_per_block(n, self.rows + 1, self.size, dtype.itemsize)
        width = self.block * self.size
        self.cols = np.empty((self.rows + 1, pitch(width, dtype.itemsize)), dtype)
        self.cols[self.rows] = 1
        used = self.cols[: self.rows, :width]
        grid = used.reshape(hh, ww, c, self.block, self.h_out, self.w_out)
        runs = used.reshape(hh, ww, c, self.block, self.size)
        self.runs = stride == 1 and self.w_out == w
        # (columns to fill, index of the source) per kernel offset; with runs,
        # the wrapped-around columns to zero after each copy.
        self.copies: list[tuple[FloatArray, tuple[slice, ...]]] = []
        self.wraps: list[FloatArray] = []
        every = slice(None)
        for i in range(hh):
            r = _valid_range(i, h, self.h_out, stride, pad)
            for j in range(ww):
                q = _valid_range(j, w, self.w_out, stride, pad)
                target = grid[i, j]
                target[:, :, : r.start] = 0
                target[:, :, r.stop :] = 0
                target[:, :, :, : q.start] = 0
                target[:, :, :, q.stop :] = 0
                if not (r and q):
                    continue
                if self.runs:
                    shift = (i - pad) * w + (j - pad)
                    lo = max(r.start * w, -shift)
                    hi = min(r.stop * w, h * w - shift)
                    source = slice(lo + shift, hi + shift)
                    self.copies.append(
                        (runs[i, j][:, :, lo:hi], (every, every, source))
                    )
                else:
                    x_rows = slice(
                        r.start * stride + i - pad, r[-1] * stride + i - pad + 1, stride
                    )
                    x_cols = slice(
                        q.start * stride + j - pad, q[-1] * stride + j - pad + 1, stride
                    )
                    self.copies.append(
                        (
                            target[:, :, r.start : r.stop, q.start : q.stop],
                            (every, every, x_rows, x_cols),
                        )
                    )

        if self.runs:
            # The columns that wrapped around a row end, for every kernel row i
            # at once (rows off the image are zero already; zeroing them again
            # is harmless).
            for j in range(ww):
                q = _valid_range(j, w, self.w_out, stride, pad)
                if q.start > 0:
                    self.wraps.append(grid[:, j, ..., : q.start])
                if q.stop < self.w_out:
                    self.wraps.append(grid[:, j, ..., q.stop :])

    def load(self, x_block: FloatArray) -> FloatArray:
        """Fill the columns of ``(b, C, H, W)`` samples; return ``(rows + 1, b*H'*W')``."""
        b, c = x_block.shape[:2]
        if self.runs:
            source = x_block.reshape(b, c, -1).transpose(1, 0, 2)
        else:
            source = x_block.transpose(1, 0, 2, 3)
        for target, index in self.copies:
            target[:, :b] = source[index]
        for wrap in self.wraps:
            wrap[:, :, :b] = 0
        return self.cols[:, : b * self.size]


class GridColumns:
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
    with strided copies onto the ``H' x W'`` grid.

    Samples are taken in blocks of :func:`samples_per_block`.
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
        self.block = samples_per_block(n, self.rows + 1, size, dtype.itemsize)
        self.padded = np.zeros((c, self.block, self.hp, self.wp), dtype=dtype)
        width = pitch(self.block * size, dtype.itemsize)
        self.cols = np.empty((self.rows + 1, width), dtype=dtype)
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
