"""Many labels on the grid: alpha-expansion moves, each an exact minimum cut.

Part of :mod:`labcode.mrf`, whose docstring states the conventions and references.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from labcode._validation import check_int
from labcode.mrf._general import MAPResult
from labcode.mrf._grid import (
    _FORWARD,
    FloatArray,
    IntArray,
    Solver,
    _check_connectivity,
    _check_energy_range,
    _check_grid_labels,
    _check_grid_unary,
    _check_pairwise,
    _check_weights,
    _distance_table,
    _grid_energy,
    _pair_slices,
    _scale_down,
    _solver,
)

# --------------------------------------------------------------------------
# More than two labels: alpha-expansion
# --------------------------------------------------------------------------


def _expansion_move(
    labels: IntArray,
    alpha: int,
    u: FloatArray,
    w: FloatArray,
    *,
    table: FloatArray,
    solve: Solver,
) -> IntArray:
    """Return the best labelling where each pixel keeps its label or takes `alpha`."""
    h, wd = labels.shape
    keep_cost = np.take_along_axis(u, labels[..., None], axis=-1)[..., 0]
    # x_p = 1 means "take alpha"; E_p(1) - E_p(0) collects the unary change and
    # the linear parts of the pairwise terms.
    diff = u[..., alpha] - keep_cost
    diff[labels == alpha] = 0.0
    cap_fwd = np.zeros_like(w)  # arc p -> q, cut when x_p = 0 and x_q = 1
    cap_bwd = np.zeros_like(w)
    for e, offset in enumerate(_FORWARD[2 * w.shape[2]]):
        p, q = _pair_slices((h, wd), offset)
        lp, lq, we = labels[p], labels[q], w[p][..., e]
        a = we * table[lp, lq]  # E(0, 0): both keep
        b = we * table[lp, alpha]  # E(0, 1)
        c = we * table[alpha, lq]  # E(1, 0); E(1, 1) = 0
        # E = A + (C - A) x_p - C x_q + (B + C - A) (1 - x_p) x_q  [3]_
        diff[p] += c - a
        diff[q] -= c
        cap_fwd[(*p, e)] = np.maximum(b + c - a, 0.0)
    cut = solve(*_scale_down(diff, cap_fwd, cap_bwd))
    return np.where(cut == 1, alpha, labels)


def alpha_expansion(
    unary: ArrayLike,
    smoothness: ArrayLike,
    *,
    pairwise: str = "potts",
    truncation: float | None = None,
    connectivity: int = 4,
    labels: ArrayLike | None = None,
    max_cycles: int = 10,
    method: str = "bk",
) -> MAPResult:
    r"""Minimise a many-label grid energy by alpha-expansion moves [8]_.

    .. math::

        E(x) = \sum_p \mathrm{unary}[p, x_p] + \sum_{p \sim q} w_{pq} V(x_p, x_q),
        \quad V(k, l) = [k \ne l] \text{ or } \min(|k - l|, T).

    An expansion move for label :math:`\alpha` lets every pixel keep its label
    or switch to :math:`\alpha`; the best such move is a binary problem, and
    because :math:`V` is a metric it is submodular, so one minimum cut finds it
    exactly [3]_. A cycle tries every label once; the method stops after a
    cycle that lowers nothing (or after `max_cycles`). The result is a local
    minimum for expansion moves, within a factor :math:`2 \max V / \min_{V>0} V`
    of the global minimum (2 for Potts, :math:`2T` for truncated linear with
    :math:`T \ge 1`).

    Parameters
    ----------
    unary : (H, W, L) array_like
        ``unary[r, c, k]``: the cost of label ``k`` at pixel ``(r, c)``.
    smoothness : float or (H, W, K) array_like
        :math:`w \ge 0` for every edge, or one weight per edge (layout of
        :func:`grid_offsets`, ``K = connectivity // 2``).
    pairwise : {'potts', 'truncated_linear'}, optional
    truncation : float, optional
        :math:`T > 0`, required for ``'truncated_linear'``.
    connectivity : int, optional
        4 or 8 neighbours per pixel.
    labels : (H, W) array_like of int, optional
        The starting labelling; by default each pixel's cheapest label.
    max_cycles : int, optional
    method : {'bk', 'scipy'}, optional
        The min-cut solver of each move, as in :func:`grid_graph_cut`.

    Returns
    -------
    MAPResult
        ``labels`` of shape (H, W) and their energy.

    Examples
    --------
    Three grey levels, a noisy middle pixel, Potts smoothness:

    >>> import numpy as np
    >>> from labcode.mrf import alpha_expansion
    >>> observed = np.array([[0, 0, 2, 0, 1, 1]])
    >>> unary = np.abs(observed[..., None] - np.arange(3)).astype(float)
    >>> labels, e = alpha_expansion(unary, 1.5)
    >>> labels.tolist(), e
    ([[0, 0, 0, 0, 1, 1]], 3.5)
    """
    u = _check_grid_unary(unary)
    h, w, n_labels = u.shape
    conn = _check_connectivity(connectivity)
    weights = _check_weights(smoothness, (h, w), conn)
    table = _distance_table(n_labels, *_check_pairwise(pairwise, truncation))
    _check_energy_range(u, weights, table)
    cycles = check_int(max_cycles, "max_cycles", minimum=1)
    solve = _solver(method)
    if labels is None:
        current = np.argmin(u, axis=2).astype(np.intp)
    else:
        current = _check_grid_labels(labels, (h, w), n_labels)
    best = _grid_energy(current, u, weights, table)
    for _ in range(cycles):
        improved = False
        for alpha in range(n_labels):
            moved = _expansion_move(
                current, alpha, u, weights, table=table, solve=solve
            )
            e = _grid_energy(moved, u, weights, table)
            if e < best:
                current, best, improved = moved, e, True
        if not improved:
            break
    return MAPResult(current, best)
