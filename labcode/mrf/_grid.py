"""MRFs on the image grid: exact binary cuts, alpha-expansion, denoising.

Part of :mod:`labcode.mrf`, whose docstring states the conventions and references.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_real,
    format_shape,
)
from labcode.mrf._general import _ENERGY_LIMIT, _as_array

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

# The forward neighbours of a pixel (the other half are their opposites); the
# last axis of a weight array follows this order. Kept in step with
# labcode.mrf._maxflow.FORWARD_OFFSETS (a test checks it).
_FORWARD: dict[int, tuple[tuple[int, int], ...]] = {
    4: ((0, 1), (1, 0)),
    8: ((0, 1), (1, 0), (1, 1), (1, -1)),
}
# Costs above this are scaled down by a power of two before the cut, so that
# no sum of capacities overflows float64.
_HUGE = 2.0**900
# The largest number of pixels, and of entries of an (H, W, L) cost array.
_MAX_COSTS = 1 << 28


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _check_connectivity(connectivity: object) -> int:
    conn = check_int(connectivity, "connectivity")
    if conn not in (4, 8):
        msg = f"connectivity must be 4 or 8; got {conn}"
        raise ValueError(msg)
    return conn


def _check_grid_unary(unary: ArrayLike, n_labels: int | None = None) -> FloatArray:
    u = as_float_array(unary, "unary", ndim=3, layout="(H, W, L)", dtype=np.float64)
    if n_labels is not None and u.shape[2] != n_labels:
        msg = (
            f"unary must be (H, W, {n_labels}), {n_labels} labels per pixel; "
            f"got shape {format_shape(u.shape)}"
        )
        raise ValueError(msg)
    return u.astype(np.float64, copy=False)


def _check_weights(
    smoothness: ArrayLike, shape: tuple[int, int], connectivity: int
) -> FloatArray:
    """Return the edge weights as a (H, W, C / 2) float64 array, all >= 0."""
    half = connectivity // 2
    arr = _as_array(smoothness, "smoothness")
    if arr.ndim == 0:
        value = arr.item() if isinstance(smoothness, np.ndarray) else smoothness
        lam = check_real(value, "smoothness", low=0.0)
        return np.full((*shape, half), lam)
    w = as_float_array(
        smoothness, "smoothness", ndim=3, layout="(H, W, C/2)", dtype=np.float64
    )
    if w.shape != (*shape, half):
        msg = (
            f"smoothness must be a number or (H, W, C/2) = ({shape[0]}, {shape[1]}, "
            f"{half}) edge weights for connectivity {connectivity}; got shape "
            f"{format_shape(w.shape)}"
        )
        raise ValueError(msg)
    if np.any(w < 0):
        msg = f"smoothness must be >= 0 everywhere; got minimum {float(w.min())}"
        raise ValueError(msg)
    return np.ascontiguousarray(w, dtype=np.float64)


def _check_grid_labels(
    labels: ArrayLike, shape: tuple[int, int], n_labels: int
) -> IntArray:
    arr = _as_array(labels, "labels")
    if arr.shape != shape:
        msg = (
            f"labels must be (H, W) = ({shape[0]}, {shape[1]}), one label per "
            f"pixel; got shape {format_shape(arr.shape)}"
        )
        raise ValueError(msg)
    if arr.dtype.kind not in "iub":
        msg = f"labels must be integers; got dtype {arr.dtype}"
        raise TypeError(msg)
    if arr.min() < 0 or arr.max() >= n_labels:
        msg = (
            f"labels must lie in 0..{n_labels - 1} (L = {n_labels}); "
            f"got {arr.min()}..{arr.max()}"
        )
        raise ValueError(msg)
    return arr.astype(np.intp)


def _pair_slices(
    shape: tuple[int, int], offset: tuple[int, int]
) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Slices of the pixels p and of their neighbours q = p + offset inside the grid."""
    h, w = shape
    dr, dc = offset
    p = (slice(0, h - dr), slice(max(0, -dc), w - max(0, dc)))
    q = (slice(dr, h), slice(max(0, dc), w - max(0, -dc)))
    return p, q


# --------------------------------------------------------------------------
# Grid structure and energies
# --------------------------------------------------------------------------


def grid_offsets(connectivity: int = 4) -> list[tuple[int, int]]:
    """Return the forward neighbour offsets ``(dr, dc)``: the layout of edge weights.

    Edge ``e`` joins pixel ``(r, c)`` to ``(r + dr, c + dc)``; the last axis of
    a ``smoothness`` array of :func:`grid_graph_cut` or :func:`alpha_expansion`
    follows this order.

    Parameters
    ----------
    connectivity : int, optional
        4 or 8 neighbours per pixel.

    Returns
    -------
    list of (int, int)

    Examples
    --------
    >>> from labcode.mrf import grid_offsets
    >>> grid_offsets(4), grid_offsets(8)
    ([(0, 1), (1, 0)], [(0, 1), (1, 0), (1, 1), (1, -1)])
    """
    return list(_FORWARD[_check_connectivity(connectivity)])


def grid_edges(shape: tuple[int, int], *, connectivity: int = 4) -> IntArray:
    """Edges ``(m, 2)`` of the grid, nodes numbered row by row.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    connectivity : int, optional
        4: horizontal and vertical neighbours; 8: diagonal ones too.

    Returns
    -------
    (m, 2) ndarray of int
        The edges of each offset of :func:`grid_offsets` in turn (horizontal
        first, then vertical, then the two diagonals), each block row by row.

    Examples
    --------
    >>> from labcode.mrf import grid_edges
    >>> grid_edges((2, 2)).tolist()
    [[0, 1], [2, 3], [0, 2], [1, 3]]
    >>> grid_edges((2, 2), connectivity=8)[4:].tolist()
    [[0, 3], [1, 2]]
    """
    given: object = shape  # checked as whatever the caller passed
    pair = isinstance(given, tuple | list) or (
        isinstance(given, np.ndarray) and given.ndim == 1
    )
    if not pair or len(given) != 2:  # type: ignore[arg-type]
        msg = f"shape must be a pair (H, W) of ints; got {given!r}"
        raise TypeError(msg)
    h = check_int(shape[0], "shape[0]", minimum=1)
    w = check_int(shape[1], "shape[1]", minimum=1)
    if h * w > _MAX_COSTS:
        msg = f"shape must have at most {_MAX_COSTS} pixels; got {h} x {w}"
        raise ValueError(msg)
    index = np.arange(h * w).reshape(h, w)
    blocks = []
    for offset in _FORWARD[_check_connectivity(connectivity)]:
        p, q = _pair_slices((h, w), offset)
        blocks.append(np.stack([index[p].ravel(), index[q].ravel()], axis=1))
    return np.concatenate(blocks).astype(np.intp)


def _distance_table(
    n_labels: int, pairwise: str, truncation: float | None
) -> FloatArray:
    k = np.arange(n_labels)
    gap: FloatArray = np.abs(k[:, None] - k[None, :]).astype(np.float64)
    if pairwise == "potts":
        potts: FloatArray = (gap > 0).astype(np.float64)
        return potts
    if truncation is None:
        msg = "truncation must be given for pairwise='truncated_linear'; got None"
        raise ValueError(msg)
    truncated: FloatArray = np.minimum(gap, truncation)
    return truncated


def _check_energy_range(u: FloatArray, w: FloatArray, table: FloatArray) -> None:
    """Refuse costs so large that an energy could overflow float64."""
    with np.errstate(over="ignore"):
        bound = float(np.abs(u).max(axis=2).sum()) + float(w.sum()) * float(
            table.max(initial=0.0)
        )
    if not bound <= _ENERGY_LIMIT:
        msg = (
            "unary and smoothness are too large: an energy could reach "
            f"{bound:.3g}, beyond 2**1018 (float64 overflows near 2**1024)"
        )
        raise ValueError(msg)


def _grid_energy(
    labels: IntArray, u: FloatArray, w: FloatArray, table: FloatArray
) -> float:
    total = float(np.take_along_axis(u, labels[..., None], axis=-1).sum())
    half = w.shape[2]
    for e, offset in enumerate(_FORWARD[2 * half]):
        p, q = _pair_slices(labels.shape, offset)
        total += float((w[p][..., e] * table[labels[p], labels[q]]).sum())
    return total


def grid_energy(
    labels: ArrayLike,
    unary: ArrayLike,
    smoothness: ArrayLike,
    *,
    pairwise: str = "potts",
    truncation: float | None = None,
    connectivity: int = 4,
) -> float:
    r"""Energy of a labelling of the grid with Potts or truncated-linear smoothness.

    .. math::

        E(x) = \sum_p \mathrm{unary}[p, x_p] + \sum_{p \sim q} w_{pq} V(x_p, x_q),
        \quad V(k, l) = [k \ne l] \text{ (Potts) or } \min(|k - l|, T).

    Parameters
    ----------
    labels : (H, W) array_like of int
    unary : (H, W, L) array_like
    smoothness : float or (H, W, K) array_like
        One weight :math:`w` for every edge, or one per edge in the layout of
        :func:`grid_offsets`, ``K = connectivity // 2`` (entries for edges
        leaving the grid are unused).
    pairwise : {'potts', 'truncated_linear'}, optional
    truncation : float, optional
        :math:`T > 0`, required for ``'truncated_linear'``.
    connectivity : int, optional
        4 or 8 neighbours per pixel.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mrf import grid_energy
    >>> unary = np.zeros((1, 3, 4))
    >>> grid_energy([[0, 1, 3]], unary, 2.0)  # two Potts breaks
    4.0
    >>> grid_energy(
    ...     [[0, 1, 3]], unary, 2.0, pairwise="truncated_linear", truncation=1.5
    ... )
    5.0
    """
    u = _check_grid_unary(unary)
    h, w, n_labels = u.shape
    conn = _check_connectivity(connectivity)
    weights = _check_weights(smoothness, (h, w), conn)
    lab = _check_grid_labels(labels, (h, w), n_labels)
    table = _distance_table(n_labels, *_check_pairwise(pairwise, truncation))
    _check_energy_range(u, weights, table)
    return _grid_energy(lab, u, weights, table)


def _check_pairwise(
    pairwise: str, truncation: float | None
) -> tuple[str, float | None]:
    kind = check_choice(pairwise, "pairwise", ("potts", "truncated_linear"))
    if truncation is not None:
        truncation = check_real(truncation, "truncation", low=0.0, low_inclusive=False)
    elif kind == "truncated_linear":
        msg = "truncation must be given for pairwise='truncated_linear'; got None"
        raise ValueError(msg)
    return kind, truncation


def contrast_weights(
    image: ArrayLike, *, sigma: float | None = None, connectivity: int = 4
) -> FloatArray:
    r"""Contrast-sensitive edge weights: cheap to cut where the image has an edge.

    .. math::

        w_{pq} = \frac{1}{\lVert p - q \rVert}
        \exp\!\left(-\frac{(I_p - I_q)^2}{2 \sigma^2}\right),

    the weights of interactive segmentation [6]_, in the layout of
    :func:`grid_offsets`; multiply by a smoothness :math:`\lambda`.

    Parameters
    ----------
    image : (H, W) array_like
        Grey levels.
    sigma : float, optional
        The contrast scale; by default the root mean square of the neighbour
        differences (their typical size).
    connectivity : int, optional
        4 or 8 neighbours per pixel.

    Returns
    -------
    (H, W, K) ndarray
        ``K = connectivity // 2``; zero for edges that leave the grid.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mrf import contrast_weights
    >>> w = contrast_weights([[0.0, 0.0, 1.0]], sigma=0.5)
    >>> np.round(w[0, :, 0], 3)  # right neighbours: equal, an edge, outside
    array([1.   , 0.135, 0.   ])
    """
    img = as_float_array(image, "image", ndim=2, layout="(H, W)", dtype=np.float64)
    conn = _check_connectivity(connectivity)
    if img.size and float(np.abs(img).max()) > 1e150:
        msg = f"image values must be at most 1e150 in size; got {np.abs(img).max():.3g}"
        raise ValueError(msg)
    diffs = []
    for offset in _FORWARD[conn]:
        p, q = _pair_slices(img.shape, offset)
        diffs.append((img[p] - img[q]).ravel())
    squares = np.concatenate(diffs) ** 2
    if sigma is None:
        mean = float(squares.mean()) if squares.size else 0.0
        s2 = mean if mean > 0 else 1.0
    else:
        s2 = check_real(sigma, "sigma", low=1e-150, high=1e150) ** 2
    out = np.zeros((*img.shape, conn // 2))
    for e, offset in enumerate(_FORWARD[conn]):
        p, q = _pair_slices(img.shape, offset)
        with np.errstate(over="ignore", under="ignore"):  # exp(-inf) = 0 is meant
            ratio = (img[p] - img[q]) ** 2 / (2 * s2)
            out[(*p, e)] = np.exp(-ratio) / np.hypot(*offset)
    return out


# --------------------------------------------------------------------------
# Binary energies: exact minimum by s-t minimum cut
# --------------------------------------------------------------------------

Solver = Callable[[FloatArray, FloatArray, FloatArray], IntArray]


def _solver(method: str) -> Solver:
    method = check_choice(method, "method", ("bk", "scipy"))
    # Imported here: the compiled solver loads numba (half a second), which
    # the rest of labcode.mrf does not need.
    from labcode.mrf import _maxflow  # noqa: PLC0415

    return _maxflow.min_cut_bk if method == "bk" else _maxflow.min_cut_scipy


def _scale_down(*arrays: FloatArray) -> tuple[FloatArray, ...]:
    """Scale huge costs by a power of two (exact) so that no sum overflows."""
    top = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    if top <= _HUGE:
        return arrays
    factor = 2.0 ** -(np.ceil(np.log2(top)) - 900)
    return tuple(a * factor for a in arrays)


def grid_graph_cut(
    unary: ArrayLike,
    smoothness: ArrayLike,
    *,
    connectivity: int = 4,
    method: str = "bk",
) -> IntArray:
    r"""Exact minimum of a binary energy with Potts smoothness on the grid, by min cut.

    .. math::

        E(x) = \sum_p \mathrm{unary}[p, x_p] + \sum_{p \sim q} w_{pq} [x_p \ne x_q],
        \qquad x_p \in \{0, 1\},\ w_{pq} \ge 0.

    Each pixel is a node joined to its neighbours by arcs of capacity
    :math:`w_{pq}` both ways, to the source by an arc of capacity
    ``unary[p, 1]`` and to the sink by one of capacity ``unary[p, 0]`` (less
    their minimum, a constant). Every s-t cut is a labelling (source side 0,
    sink side 1) whose capacity is its energy up to that constant, so the
    minimum cut is the minimum energy [2]_ [3]_.

    Parameters
    ----------
    unary : (H, W, 2) array_like
        Cost of label 0 and of label 1 at each pixel; any real numbers.
    smoothness : float or (H, W, K) array_like
        :math:`w \ge 0` for every edge, or one weight per edge in the layout
        of :func:`grid_offsets` (for example :func:`contrast_weights` times a
        constant).
    connectivity : int, optional
        Neighbours of a pixel: 4 (horizontal and vertical) or 8 (diagonals
        too); a weight array has ``K = connectivity // 2`` entries per pixel.
    method : {'bk', 'scipy'}, optional
        ``'bk'``: Boykov-Kolmogorov max-flow [7]_ on float64 capacities,
        compiled by numba (the first call in a fresh environment compiles it,
        a few seconds, and caches the machine code on disk). ``'scipy'``: the
        naive twin, ``scipy.sparse.csgraph.maximum_flow`` on a plainly built
        graph; it works on integers, so it is exact for integer costs (total
        below :math:`2^{30}`) and otherwise rounds costs scaled by a power of
        two, which makes the labelling only close to optimal.

    Returns
    -------
    (H, W) ndarray of int
        A labelling of least energy; where several have it, the one with the
        fewest pixels labelled 0 (the smallest source side), the same for both
        methods.

    Notes
    -----
    ``'bk'`` never rounds: an augmentation subtracts the bottleneck from the
    arcs of its path, which leaves the saturated arc at exactly zero, and the
    energy of the labelling agrees with the true minimum to rounding error
    (relative :math:`10^{-12}` in the tests), for costs of any size (costs
    beyond :math:`2^{900}` are scaled by a power of two first).

    Examples
    --------
    A single pixel that prefers 1, surrounded by pixels that prefer 0:

    >>> import numpy as np
    >>> from labcode.mrf import grid_graph_cut
    >>> unary = np.zeros((3, 3, 2))
    >>> unary[..., 1] = 1.0  # label 1 costs 1 everywhere...
    >>> unary[1, 1] = [3.0, 0.0]  # ...but the centre prefers it strongly
    >>> int(grid_graph_cut(unary, 0.5)[1, 1]), int(grid_graph_cut(unary, 1.0)[1, 1])
    (1, 0)
    """
    u = _check_grid_unary(unary, 2)
    conn = _check_connectivity(connectivity)
    h, w, _ = u.shape
    weights = _check_weights(smoothness, (h, w), conn)
    solve = _solver(method)
    u, weights = _scale_down(u, weights)
    return solve(u[..., 1] - u[..., 0], weights, weights)
