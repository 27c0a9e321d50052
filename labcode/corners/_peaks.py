"""Corner peaks: local maxima of a response, strongest first, spaced apart.

Part of :mod:`labcode.corners`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import as_float_array, check_bool, check_int, check_real


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
