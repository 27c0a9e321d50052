"""Denoising binary and grey-level images with MRF priors on the grid.

Part of :mod:`labcode.mrf`, whose docstring states the conventions and references.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import check_choice, check_int, check_real, format_shape
from labcode.mrf._expansion import alpha_expansion
from labcode.mrf._general import _as_array
from labcode.mrf._grid import _MAX_COSTS, IntArray, grid_graph_cut

# The most grey levels denoise_grey handles.
_MAX_LEVELS = 1 << 16

# --------------------------------------------------------------------------
# Denoising
# --------------------------------------------------------------------------


def _check_image(noisy: ArrayLike, what: str) -> NDArray[Any]:
    arr = _as_array(noisy, "noisy")
    if arr.ndim != 2:
        msg = f"noisy must be 2-D (H, W); got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.size == 0:
        msg = f"noisy must not be empty; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.dtype.kind not in "biuf" or not np.all(arr == np.round(arr)):
        msg = f"noisy must be {what}; got dtype {arr.dtype}"
        raise ValueError(msg)
    if not np.all(np.abs(arr) < _MAX_LEVELS):
        msg = f"noisy must be {what} below {_MAX_LEVELS}; got values up to {np.abs(arr).max()}"
        raise ValueError(msg)
    return arr


def denoise_binary(
    noisy: ArrayLike,
    *,
    data_weight: float,
    smoothness: float,
    method: str = "graphcut",
    max_sweeps: int = 20,
) -> IntArray:
    r"""Restore a binary image under the Ising/Potts prior.

    The energy charges ``data_weight`` for each pixel that differs from the
    observation and ``smoothness`` for each pair of 4-neighbours that differ:

    .. math::

        E(x) = \beta \sum_p [x_p \ne y_p] + \lambda \sum_{p \sim q} [x_p \ne x_q].

    Parameters
    ----------
    noisy : (H, W) array_like of int
        The observed binary image: 0 and 1, or booleans.
    data_weight : float
        :math:`\beta > 0`.
    smoothness : float
        :math:`\lambda \ge 0`.
    method : {'graphcut', 'icm'}, optional
        ``'graphcut'``: the exact minimum (:func:`grid_graph_cut`). ``'icm'``:
        iterated conditional modes from the observation, a local minimum; the
        sweep updates all pixels of one colour of the checkerboard at once
        (they do not touch each other), then the other colour.
    max_sweeps : int, optional
        For ``'icm'``: the largest number of sweeps.

    Returns
    -------
    (H, W) ndarray of int

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mrf import denoise_binary
    >>> noisy = np.zeros((5, 5), dtype=int)
    >>> noisy[2, 2] = 1  # one flipped pixel
    >>> int(denoise_binary(noisy, data_weight=1.0, smoothness=0.5).sum())
    0
    """
    arr = _check_image(noisy, "a binary image of 0 and 1 (or booleans)")
    if not np.all((arr == 0) | (arr == 1)):
        msg = "noisy must be a binary image of 0 and 1 (or booleans)"
        raise ValueError(msg)
    y = arr.astype(np.intp)
    beta = check_real(data_weight, "data_weight", low=0.0, low_inclusive=False)
    lam = check_real(smoothness, "smoothness", low=0.0)
    method = check_choice(method, "method", ("graphcut", "icm"))
    sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
    unary = np.stack([beta * (y == 1), beta * (y == 0)], axis=-1).astype(np.float64)
    if method == "graphcut":
        return grid_graph_cut(unary, lam)
    x = y.copy()
    rows, cols = np.indices(y.shape)
    colours = [(rows + cols) % 2 == c for c in (0, 1)]
    shifts = ((-1, 0), (1, 0), (0, -1), (0, 1))
    h, w = y.shape
    for _ in range(sweeps):
        before = x.copy()
        for colour in colours:
            padded = np.pad(x, 1, mode="constant", constant_values=-1)
            around = [
                padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w] for dr, dc in shifts
            ]
            ones = sum(n == 1 for n in around)
            zeros = sum(n == 0 for n in around)
            cost0 = unary[..., 0] + lam * ones
            cost1 = unary[..., 1] + lam * zeros
            keep_current = np.where(x == 0, cost0 <= cost1, cost1 <= cost0)
            new = np.where(keep_current, x, 1 - x)
            x = np.where(colour, new, x)
        if np.array_equal(x, before):
            break
    return x


def denoise_grey(
    noisy: ArrayLike,
    *,
    data_weight: float,
    smoothness: float,
    truncation: float,
    n_levels: int | None = None,
    method: str = "bk",
) -> IntArray:
    r"""Restore a grey-level image by alpha-expansion on a truncated-linear prior.

    .. math::

        E(x) = \beta \sum_p |x_p - y_p|
             + \lambda \sum_{p \sim q} \min(|x_p - x_q|, T),
        \qquad x_p \in \{0, \dots, L - 1\}.

    The absolute data term tolerates outliers (salt-and-pepper noise); the
    truncated prior smooths small steps but lets real edges cost at most
    :math:`\lambda T`, so they stay sharp.

    Parameters
    ----------
    noisy : (H, W) array_like of int
        Grey levels ``0..L-1``.
    data_weight : float
        :math:`\beta > 0`.
    smoothness : float
        :math:`\lambda \ge 0` (4-neighbours).
    truncation : float
        :math:`T > 0`.
    n_levels : int, optional
        :math:`L`; by default one more than the largest level in `noisy`.
    method : {'bk', 'scipy'}, optional
        The min-cut solver of each expansion move.

    Returns
    -------
    (H, W) ndarray of int

    Examples
    --------
    An outlier (9), two small errors (1 and 4) and a real edge between 0 and 5:

    >>> import numpy as np
    >>> from labcode.mrf import denoise_grey
    >>> noisy = np.array([[0, 0, 0, 5, 5], [0, 9, 0, 5, 4], [1, 0, 0, 5, 5]])
    >>> denoise_grey(noisy, data_weight=1.0, smoothness=1.5, truncation=2.0)
    array([[0, 0, 0, 5, 5],
           [0, 0, 0, 5, 5],
           [0, 0, 0, 5, 5]])
    """
    arr = _check_image(noisy, "an image of integer grey levels")
    if arr.min() < 0:
        msg = f"noisy must hold grey levels >= 0; got minimum {arr.min()}"
        raise ValueError(msg)
    y = arr.astype(np.intp)
    top = int(y.max()) + 1
    levels = top if n_levels is None else check_int(n_levels, "n_levels", minimum=top)
    if levels > _MAX_LEVELS or levels * y.size > _MAX_COSTS:
        msg = (
            f"n_levels must be <= {_MAX_LEVELS} and n_levels * H * W <= {_MAX_COSTS} "
            f"(the cost array); got {levels} levels for {y.shape[0]} x {y.shape[1]}"
        )
        raise ValueError(msg)
    beta = check_real(data_weight, "data_weight", low=0.0, low_inclusive=False)
    lam = check_real(smoothness, "smoothness", low=0.0)
    with np.errstate(over="ignore"):
        unary = beta * np.abs(y[..., None] - np.arange(levels)).astype(np.float64)
    if not np.all(np.isfinite(unary)):
        msg = f"data_weight is too large: data_weight * (L - 1) overflows; got {beta}"
        raise ValueError(msg)
    return alpha_expansion(
        unary,
        lam,
        pairwise="truncated_linear",
        truncation=truncation,
        labels=y,
        method=method,
    ).labels
