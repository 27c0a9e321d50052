r"""Markov random fields with pairwise potentials: energies and MAP labellings.

A labelling :math:`x \in \{0, \dots, L-1\}^n` of the ``n`` nodes of a graph with
edges :math:`\mathcal{E}` has the energy

.. math::

    E(x) = \sum_{p} \theta_p(x_p) + \sum_{(p, q) \in \mathcal{E}} \theta_{pq}(x_p, x_q),

and the Gibbs distribution :math:`P(x) = e^{-E(x)} / Z` makes the most probable
labelling (MAP) the one of least energy. Conventions: ``unary`` is ``(n, L)``,
``edges`` is ``(m, 2)`` node pairs ``(p, q)``, ``pairwise`` is ``(m, L, L)`` or one
``(L, L)`` table shared by all edges, with ``pairwise[e][k, l]`` the cost of
``x_p = k, x_q = l`` on edge ``e``.

Exact minimisation is NP-hard in general. It is easy on a chain (min-sum dynamic
programming, [1]_) and for two labels with submodular pairwise terms, such as the
Potts model, by an s-t minimum cut [2]_ [3]_. Iterated conditional modes [4]_ only
finds a local minimum.

References
----------
.. [1] Bellman, R. (1957). *Dynamic Programming*. Princeton University Press.
.. [2] Greig, D. M., Porteous, B. T. and Seheult, A. H. (1989). Exact maximum a
       posteriori estimation for binary images. *Journal of the Royal Statistical
       Society B*, 51(2), 271-279.
.. [3] Kolmogorov, V. and Zabih, R. (2004). What energy functions can be
       minimized via graph cuts? *IEEE TPAMI*, 26(2), 147-159.
.. [4] Besag, J. (1986). On the statistical analysis of dirty pictures. *Journal
       of the Royal Statistical Society B*, 48(3), 259-302.
.. [5] Wainwright, M. J., Jaakkola, T. S. and Willsky, A. S. (2005). MAP
       estimation via agreement on trees: message-passing and linear programming.
       *IEEE Transactions on Information Theory*, 51(11), 3697-3717.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from labcode._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_real,
    format_shape,
)

__all__ = [
    "BRUTE_FORCE_LIMIT",
    "MAPResult",
    "brute_force_map",
    "chain_map",
    "denoise_binary",
    "energy",
    "grid_edges",
    "grid_graph_cut",
    "icm",
    "reparameterize",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: The largest number of labellings :func:`brute_force_map` enumerates.
BRUTE_FORCE_LIMIT = 1 << 20


class MAPResult(NamedTuple):
    """A labelling and its energy; unpacks as ``labels, energy``.

    Attributes
    ----------
    labels : (n,) ndarray of int
        One label per node.
    energy : float
        Its energy.
    """

    labels: IntArray
    energy: float


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _check_model(
    unary: ArrayLike, edges: ArrayLike, pairwise: ArrayLike
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Validate a model; return float64 unary, int edges, (m, L, L) pairwise."""
    u = as_float_array(unary, "unary", ndim=2, layout="(n, L)", dtype=np.float64)
    n, n_labels = u.shape
    e = _check_edges(edges, n)
    pw = as_float_array(
        pairwise,
        "pairwise",
        ndim=(2, 3),
        layout="(m, L, L) or (L, L)",
        allow_empty=True,  # a graph without edges
        dtype=np.float64,
    )
    if pw.ndim == 2:
        if pw.shape != (n_labels, n_labels):
            msg = (
                f"pairwise must be (L, L) = ({n_labels}, {n_labels}) to be shared by "
                f"all edges; got {format_shape(pw.shape)}"
            )
            raise ValueError(msg)
        pw = np.broadcast_to(pw, (e.shape[0], n_labels, n_labels))
    elif pw.shape != (e.shape[0], n_labels, n_labels):
        msg = (
            f"pairwise must be (m, L, L) = ({e.shape[0]}, {n_labels}, {n_labels}) for "
            f"{e.shape[0]} edges and {n_labels} labels; got {format_shape(pw.shape)}"
        )
        raise ValueError(msg)
    return u.astype(np.float64, copy=False), e, pw.astype(np.float64, copy=False)


def _check_edges(edges: ArrayLike, n: int) -> IntArray:
    arr = np.asarray(edges)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.intp)
    if arr.ndim != 2 or arr.shape[1] != 2:
        msg = f"edges must be (m, 2) node pairs; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.intp)
        else:
            msg = f"edges must hold integer node indices; got dtype {arr.dtype}"
            raise TypeError(msg)
    if arr.min() < 0 or arr.max() >= n:
        msg = (
            f"edges must index nodes 0..{n - 1} (n = {n} from unary); got indices "
            f"from {arr.min()} to {arr.max()}"
        )
        raise ValueError(msg)
    if np.any(arr[:, 0] == arr[:, 1]):
        bad = int(np.flatnonzero(arr[:, 0] == arr[:, 1])[0])
        msg = f"edges must join two different nodes; edge {bad} is {tuple(arr[bad].tolist())}"
        raise ValueError(msg)
    return arr.astype(np.intp, copy=False)


def _check_labels(
    labels: ArrayLike, n: int, n_labels: int, name: str = "labels"
) -> IntArray:
    arr = np.asarray(labels)
    if arr.shape != (n,):
        msg = f"{name} must be (n,) = ({n},), one label per node; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.dtype.kind not in "iub":
        msg = f"{name} must be integers; got dtype {arr.dtype}"
        raise TypeError(msg)
    if n and (arr.min() < 0 or arr.max() >= n_labels):
        msg = f"{name} must lie in 0..{n_labels - 1} (L = {n_labels}); got {arr.min()}..{arr.max()}"
        raise ValueError(msg)
    return arr.astype(np.intp)


# --------------------------------------------------------------------------
# Energy and reparameterization
# --------------------------------------------------------------------------


def _energy(labels: IntArray, u: FloatArray, e: IntArray, pw: FloatArray) -> float:
    total = u[np.arange(u.shape[0]), labels].sum()
    if e.shape[0]:
        total += pw[np.arange(e.shape[0]), labels[e[:, 0]], labels[e[:, 1]]].sum()
    return float(total)


def energy(
    labels: ArrayLike, unary: ArrayLike, edges: ArrayLike, pairwise: ArrayLike
) -> float:
    """Energy of a labelling: the sum of its unary and pairwise costs.

    Parameters
    ----------
    labels : (n,) array_like of int
        One label in ``0..L-1`` per node.
    unary : (n, L) array_like
        ``unary[p, k]``: the cost of label ``k`` at node ``p``.
    edges : (m, 2) array_like of int
        Node pairs ``(p, q)``.
    pairwise : (m, L, L) or (L, L) array_like
        ``pairwise[e][k, l]``: the cost of ``(x_p, x_q) = (k, l)`` on edge ``e``.

    Returns
    -------
    float

    Examples
    --------
    Two nodes, two labels, a Potts edge that charges 1 for disagreeing:

    >>> from labcode.mrf import energy
    >>> unary = [[0.0, 2.0], [1.0, 0.5]]
    >>> potts = [[0.0, 1.0], [1.0, 0.0]]
    >>> energy([0, 1], unary, [[0, 1]], potts)  # 0 + 0.5 + 1
    1.5
    """
    u, e, pw = _check_model(unary, edges, pairwise)
    lab = _check_labels(labels, u.shape[0], u.shape[1])
    return _energy(lab, u, e, pw)


def reparameterize(
    unary: ArrayLike, edges: ArrayLike, pairwise: ArrayLike, messages: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    r"""Move costs between unary and pairwise terms without changing any energy.

    For edge ``e = (p, q)`` and messages ``m = messages[e]``:

    .. math::

        \theta'_p(k) = \theta_p(k) + m_0(k), \quad
        \theta'_q(l) = \theta_q(l) + m_1(l), \quad
        \theta'_{pq}(k, l) = \theta_{pq}(k, l) - m_0(k) - m_1(l).

    What is added to a node is taken from the edge for the same label, so every
    labelling keeps its energy; message passing algorithms (max-product, TRW
    [5]_) are sequences of such moves.

    Parameters
    ----------
    unary : (n, L) array_like
    edges : (m, 2) array_like of int
    pairwise : (m, L, L) or (L, L) array_like
    messages : (m, 2, L) array_like
        ``messages[e, 0]`` moves to node ``p``, ``messages[e, 1]`` to node ``q``.

    Returns
    -------
    unary2 : (n, L) ndarray
    pairwise2 : (m, L, L) ndarray
        Always one table per edge.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mrf import energy, reparameterize
    >>> unary, edges, potts = (
    ...     [[0.0, 2.0], [1.0, 0.5]],
    ...     [[0, 1]],
    ...     [[0.0, 1.0], [1.0, 0.0]],
    ... )
    >>> u2, p2 = reparameterize(unary, edges, potts, [[[0.5, -1.0], [0.0, 3.0]]])
    >>> u2
    array([[0.5, 1. ],
           [1. , 3.5]])
    >>> [
    ...     energy(x, unary, edges, potts) == energy(x, u2, edges, p2)
    ...     for x in ([0, 0], [0, 1], [1, 0], [1, 1])
    ... ]
    [True, True, True, True]
    """
    u, e, pw = _check_model(unary, edges, pairwise)
    m, n_labels = e.shape[0], u.shape[1]
    msg_arr = as_float_array(
        messages,
        "messages",
        ndim=3,
        layout="(m, 2, L)",
        allow_empty=True,
        dtype=np.float64,
    )
    if msg_arr.shape != (m, 2, n_labels):
        msg = (
            f"messages must be (m, 2, L) = ({m}, 2, {n_labels}); "
            f"got {format_shape(msg_arr.shape)}"
        )
        raise ValueError(msg)
    unary2 = u.copy()
    np.add.at(unary2, e[:, 0], msg_arr[:, 0, :])
    np.add.at(unary2, e[:, 1], msg_arr[:, 1, :])
    pairwise2 = pw - msg_arr[:, 0, :, None] - msg_arr[:, 1, None, :]
    return unary2, pairwise2


# --------------------------------------------------------------------------
# Exact minimisation: brute force and chains
# --------------------------------------------------------------------------


def brute_force_map(
    unary: ArrayLike, edges: ArrayLike, pairwise: ArrayLike
) -> MAPResult:
    """Find the exact minimum by trying all ``L**n`` labellings (tiny problems only).

    Parameters
    ----------
    unary : (n, L) array_like
    edges : (m, 2) array_like of int
    pairwise : (m, L, L) or (L, L) array_like

    Returns
    -------
    MAPResult
        The first labelling of least energy in lexicographic order.

    Raises
    ------
    ValueError
        If ``L**n`` exceeds :data:`BRUTE_FORCE_LIMIT` (about a million).

    Examples
    --------
    >>> from labcode.mrf import brute_force_map
    >>> labels, e = brute_force_map(
    ...     [[0.0, 2.0], [1.0, 0.5]], [[0, 1]], [[0, 1], [1, 0]]
    ... )
    >>> labels.tolist(), e
    ([0, 0], 1.0)
    """
    u, e, pw = _check_model(unary, edges, pairwise)
    n, n_labels = u.shape
    if n_labels**n > BRUTE_FORCE_LIMIT:
        msg = (
            f"brute force would try L**n = {n_labels}**{n} labellings, more than "
            f"{BRUTE_FORCE_LIMIT}; use chain_map, grid_graph_cut or icm"
        )
        raise ValueError(msg)
    all_labels = np.array(
        list(itertools.product(range(n_labels), repeat=n)), dtype=np.intp
    )
    totals = u[np.arange(n), all_labels].sum(axis=1)
    for k in range(e.shape[0]):
        totals += pw[k][all_labels[:, e[k, 0]], all_labels[:, e[k, 1]]]
    best = int(np.argmin(totals))
    return MAPResult(all_labels[best].copy(), float(totals[best]))


def chain_map(unary: ArrayLike, pairwise: ArrayLike) -> MAPResult:
    r"""Find the exact minimum on a chain ``0 - 1 - ... - (n-1)`` by dynamic programming.

    The forward pass keeps, for each label of node ``p``, the least energy of
    nodes ``0..p`` ending in that label:

    .. math::

        V_0(k) = \theta_0(k), \qquad
        V_p(l) = \theta_p(l) + \min_k \bigl(V_{p-1}(k) + \theta_{p-1,p}(k, l)\bigr),

    and backtracking the minimisers recovers the labelling, in
    :math:`O(n L^2)` time (min-sum, or Viterbi, algorithm [1]_).

    Parameters
    ----------
    unary : (n, L) array_like
    pairwise : (n - 1, L, L) or (L, L) array_like
        Edge ``p`` joins nodes ``p`` and ``p + 1``.

    Returns
    -------
    MAPResult

    Examples
    --------
    Smoothing a noisy 0/1 sequence: the single 1 costs less to overrule than
    the two boundary changes it would take to keep it.

    >>> import numpy as np
    >>> from labcode.mrf import chain_map
    >>> observed = np.array([0, 0, 1, 0, 0, 1, 1, 1])
    >>> unary = np.stack([observed == 1, observed == 0], axis=1).astype(float)
    >>> labels, e = chain_map(unary, 0.8 * (1 - np.eye(2)))
    >>> labels.tolist(), round(e, 6)
    ([0, 0, 0, 0, 0, 1, 1, 1], 1.8)
    """
    u = as_float_array(unary, "unary", ndim=2, layout="(n, L)", dtype=np.float64)
    n = u.shape[0]
    edges = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    u, _, pw = _check_model(u, edges, pairwise)
    n_labels = u.shape[1]
    back = np.empty((max(n - 1, 0), n_labels), dtype=np.intp)
    value = u[0].copy()
    for p in range(1, n):
        candidates = value[:, None] + pw[p - 1]  # (k, l)
        back[p - 1] = np.argmin(candidates, axis=0)
        value = u[p] + candidates[back[p - 1], np.arange(n_labels)]
    labels = np.empty(n, dtype=np.intp)
    labels[-1] = int(np.argmin(value))
    for p in range(n - 1, 0, -1):
        labels[p - 1] = back[p - 1, labels[p]]
    return MAPResult(labels, float(value[labels[-1]]))


# --------------------------------------------------------------------------
# Iterated conditional modes
# --------------------------------------------------------------------------


def icm(
    unary: ArrayLike,
    edges: ArrayLike,
    pairwise: ArrayLike,
    labels: ArrayLike,
    *,
    max_sweeps: int = 100,
) -> MAPResult:
    """Run iterated conditional modes: relabel one node at a time, greedily.

    Each sweep visits the nodes in order and gives each the label of least
    energy with all other labels fixed. The energy never increases, and the
    method stops after a sweep that changes nothing: a local minimum with respect
    to single-node changes, usually not the global one [4]_.

    Parameters
    ----------
    unary : (n, L) array_like
    edges : (m, 2) array_like of int
    pairwise : (m, L, L) or (L, L) array_like
    labels : (n,) array_like of int
        The starting labelling (not modified).
    max_sweeps : int, optional
        Stop after this many sweeps even if labels still change.

    Returns
    -------
    MAPResult

    Examples
    --------
    Three nodes in a chain that each prefer label 1 a little, with a strong
    smoothness: from all zeros, every single change breaks an edge and costs
    more than it saves, so ICM stays there while the minimum is all ones.

    >>> from labcode.mrf import icm, brute_force_map
    >>> unary, edges = [[0.3, 0.0]] * 3, [[0, 1], [1, 2]]
    >>> potts = [[0.0, 1.0], [1.0, 0.0]]
    >>> stuck = icm(unary, edges, potts, [0, 0, 0])
    >>> stuck.labels.tolist(), round(stuck.energy, 6)
    ([0, 0, 0], 0.9)
    >>> brute_force_map(unary, edges, potts)
    MAPResult(labels=array([1, 1, 1]), energy=0.0)
    """
    u, e, pw = _check_model(unary, edges, pairwise)
    n, n_labels = u.shape
    lab = _check_labels(labels, n, n_labels).copy()
    sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
    # Incident edges of each node, in CSR form: (edge index, is the node p?).
    ends = np.concatenate([e[:, 0], e[:, 1]])
    order = np.argsort(ends, kind="stable")
    starts = np.searchsorted(ends[order], np.arange(n + 1))
    edge_of = order % max(e.shape[0], 1)
    node_is_p = order < e.shape[0]
    other = np.where(node_is_p, e[edge_of, 1], e[edge_of, 0]) if e.shape[0] else order
    for _ in range(sweeps):
        changed = False
        for p in range(n):
            lo, hi = starts[p], starts[p + 1]
            cost = u[p].copy()
            for k in range(lo, hi):
                table = pw[edge_of[k]]
                cost += (
                    table[:, lab[other[k]]] if node_is_p[k] else table[lab[other[k]], :]
                )
            best = int(np.argmin(cost))
            if cost[best] < cost[lab[p]]:
                lab[p] = best
                changed = True
        if not changed:
            break
    return MAPResult(lab, _energy(lab, u, e, pw))


# --------------------------------------------------------------------------
# Binary Potts model on a grid: exact minimum by s-t minimum cut
# --------------------------------------------------------------------------

# scipy's maximum_flow takes int32 capacities; keep the total well inside it.
_CAPACITY_BUDGET = 2**30


def _to_integers(
    cap_source: FloatArray, cap_sink: FloatArray, lam: float, n_edges: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Scale the capacities to integers whose total stays below the budget.

    Integer costs are kept as they are. Others are multiplied by the largest power
    of two (an exact scaling) that keeps the total inside the budget, then rounded.
    """
    total = float(cap_source.sum() + cap_sink.sum()) + 2.0 * n_edges * lam
    integral = lam == round(lam) and bool(
        np.all(cap_source == np.round(cap_source))
        and np.all(cap_sink == np.round(cap_sink))
    )
    scale = 1.0
    if total > 0 and (not integral or total >= _CAPACITY_BUDGET):
        exponent = min(np.floor(np.log2(_CAPACITY_BUDGET) - np.log2(total)), 1000.0)
        scale = float(2.0**exponent)
    return (
        np.round(cap_source * scale).astype(np.int64),
        np.round(cap_sink * scale).astype(np.int64),
        round(lam * scale),
    )


def _push_two_step_paths(
    src: NDArray[np.int64],
    sink: NDArray[np.int64],
    links: dict[str, NDArray[np.int64]],
) -> None:
    """Greedily push flow along the paths source -> p -> neighbour q -> sink.

    A cheap start for the maximum flow, done in place on residual capacities:
    pixels that prefer label 1 next to pixels that prefer label 0 (most of an
    isolated noise pixel's flow) are settled here. Each pass pairs pixels of one
    parity along one axis, so no two paths of a pass share a pixel.
    """
    right, left, down, up = links["right"], links["left"], links["down"], links["up"]
    h, w = src.shape
    for parity in (0, 1):
        p, q = (
            slice(parity, w - 1, 2),
            slice(parity + 1, w, 2),
        )  # p = (r, c), q = (r, c + 1)
        f = np.minimum(np.minimum(src[:, p], right[:, p]), sink[:, q])
        src[:, p] -= f
        right[:, p] -= f
        left[:, p] += f
        sink[:, q] -= f
        f = np.minimum(np.minimum(src[:, q], left[:, p]), sink[:, p])
        src[:, q] -= f
        left[:, p] -= f
        right[:, p] += f
        sink[:, p] -= f
        p, q = (
            slice(parity, h - 1, 2),
            slice(parity + 1, h, 2),
        )  # p = (r, c), q = (r + 1, c)
        f = np.minimum(np.minimum(src[p], down[p]), sink[q])
        src[p] -= f
        down[p] -= f
        up[p] += f
        sink[q] -= f
        f = np.minimum(np.minimum(src[q], up[p]), sink[p])
        src[q] -= f
        up[p] -= f
        down[p] += f
        sink[p] -= f


def _grid_graph(
    src: NDArray[np.int64], sink: NDArray[np.int64], links: dict[str, NDArray[np.int64]]
) -> scipy.sparse.csr_array:
    """Build the s-t graph in CSR form, row by row, with every reverse edge present.

    Pixel ``p`` (row-major index) has the row ``[p - W, p - 1, p + 1, p + W, s, t]``
    (neighbours that exist, then the zero-capacity reverse of ``s -> p``, then
    ``p -> t``); the source ``s = n`` links to every pixel, the sink ``t = n + 1``
    has zero-capacity reverse edges to every pixel. With all reverse edges present,
    scipy's flow matrix has exactly this sparsity structure.
    """
    h, w = src.shape
    n = h * w
    index = np.arange(n).reshape(h, w)
    columns = np.empty((h, w, 6), dtype=np.int64)
    caps = np.zeros((h, w, 6), dtype=np.int64)
    present = np.zeros((h, w, 6), dtype=bool)
    columns[..., 0], present[1:, :, 0], caps[1:, :, 0] = index - w, True, links["up"]
    columns[..., 1], present[:, 1:, 1], caps[:, 1:, 1] = index - 1, True, links["left"]
    columns[..., 2], present[:, :-1, 2], caps[:, :-1, 2] = (
        index + 1,
        True,
        links["right"],
    )
    columns[..., 3], present[:-1, :, 3], caps[:-1, :, 3] = (
        index + w,
        True,
        links["down"],
    )
    columns[..., 4], present[..., 4] = n, True
    columns[..., 5], present[..., 5], caps[..., 5] = n + 1, True, sink
    indptr = np.zeros(n + 3, dtype=np.int64)
    np.cumsum(present.sum(axis=2).ravel(), out=indptr[1 : n + 1])
    indptr[n + 1] = indptr[n] + n
    indptr[n + 2] = indptr[n + 1] + n
    pixels = np.arange(n)
    indices = np.concatenate([columns[present], pixels, pixels]).astype(np.int32)
    data = np.concatenate([caps[present], src.ravel(), np.zeros(n, dtype=np.int64)])
    return scipy.sparse.csr_array(
        (data.astype(np.int32), indices, indptr), shape=(n + 2, n + 2)
    )


def grid_graph_cut(unary: ArrayLike, smoothness: float) -> NDArray[np.intp]:
    r"""Exact minimum of a binary Potts energy on the 4-neighbour grid, by min cut.

    .. math::

        E(x) = \sum_p \mathrm{unary}[p, x_p] + \lambda \sum_{p \sim q} [x_p \ne x_q],
        \qquad x_p \in \{0, 1\}.

    Each pixel is a node joined to its neighbours by edges of capacity
    :math:`\lambda` in both directions, to the source by an edge of capacity
    ``unary[p, 1]`` and to the sink by one of capacity ``unary[p, 0]`` (less their
    minimum, a constant). Every s-t cut is a labelling (source side 0, sink side
    1) whose capacity is its energy up to that constant, so the minimum cut is
    the minimum energy [2]_. Flow is first pushed greedily along the two-step
    paths source, pixel, neighbour, sink; ``scipy.sparse.csgraph.maximum_flow``
    (Dinic's algorithm) completes it. scipy returns the flow but not the cut: the
    source side is what a breadth-first search reaches in the residual graph.

    Parameters
    ----------
    unary : (H, W, 2) array_like
        Cost of label 0 and of label 1 at each pixel.
    smoothness : float
        :math:`\lambda \ge 0`, the cost of each pair of disagreeing neighbours.

    Returns
    -------
    (H, W) ndarray of int
        A labelling of least energy; where several have it, the one with the
        fewest pixels labelled 0 (the smallest source side).

    Notes
    -----
    The maximum-flow solver works on integers. Integer costs (whose total stays
    below :math:`2^{30}`) are used as they are and the result is exact. Other
    costs are multiplied by the largest power of two :math:`s` that keeps the
    total below :math:`2^{30}`, and rounded to integers: the labelling is exact
    for the rounded energy, and its true energy exceeds the true minimum by at
    most one rounding error per term of the two labellings, at most
    :math:`(H W + |\mathcal{E}|) / s` in all, negligible for costs of ordinary
    size (for a 256 x 256 image with costs near 1, :math:`s = 2^{11}` and the bound
    is about 100 when the energy is about :math:`10^5`; in practice the rounding
    errors cancel and the minimum is found).

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
    u = as_float_array(unary, "unary", ndim=3, layout="(H, W, 2)", dtype=np.float64)
    if u.shape[2] != 2:
        msg = f"unary must be (H, W, 2), two labels per pixel; got shape {format_shape(u.shape)}"
        raise ValueError(msg)
    lam = check_real(smoothness, "smoothness", low=0.0)
    h, w, _ = u.shape
    n = h * w
    low = np.minimum(u[..., 0], u[..., 1])
    n_edges = h * (w - 1) + (h - 1) * w
    src, sink, lam_int = _to_integers(u[..., 1] - low, u[..., 0] - low, lam, n_edges)
    links = {
        "right": np.full((h, w - 1), lam_int, dtype=np.int64),  # (r, c) -> (r, c + 1)
        "left": np.full((h, w - 1), lam_int, dtype=np.int64),  # (r, c + 1) -> (r, c)
        "down": np.full((h - 1, w), lam_int, dtype=np.int64),  # (r, c) -> (r + 1, c)
        "up": np.full((h - 1, w), lam_int, dtype=np.int64),  # (r + 1, c) -> (r, c)
    }
    _push_two_step_paths(src, sink, links)
    graph = _grid_graph(src, sink, links)
    flow = maximum_flow(graph, n, n + 1, method="dinic").flow
    if np.array_equal(flow.indptr, graph.indptr) and np.array_equal(
        flow.indices, graph.indices
    ):
        residual = scipy.sparse.csr_array(
            (
                ((graph.data - flow.data) > 0).astype(np.int8),
                graph.indices,
                graph.indptr,
            ),
            shape=graph.shape,
        )
    else:  # a scipy that stores the flow differently: subtract as sparse matrices
        residual = scipy.sparse.csr_array((graph - flow) > 0).astype(np.int8)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, n, directed=True, return_predecessors=False)
    labels = np.ones(n, dtype=np.intp)
    labels[reached[reached < n]] = 0
    return labels.reshape(h, w)


def grid_edges(shape: tuple[int, int]) -> IntArray:
    """Edges ``(m, 2)`` of the 4-neighbour grid, nodes numbered row by row.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.

    Returns
    -------
    (H (W - 1) + (H - 1) W, 2) ndarray of int
        Horizontal edges first, then vertical ones.

    Examples
    --------
    >>> from labcode.mrf import grid_edges
    >>> grid_edges((2, 2)).tolist()
    [[0, 1], [2, 3], [0, 2], [1, 3]]
    """
    h = check_int(shape[0], "shape[0]", minimum=1)
    w = check_int(shape[1], "shape[1]", minimum=1)
    index = np.arange(h * w).reshape(h, w)
    p = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    q = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    return np.stack([p, q], axis=1).astype(np.intp)


def denoise_binary(
    noisy: ArrayLike,
    *,
    data_weight: float,
    smoothness: float,
    method: str = "graphcut",
    max_sweeps: int = 20,
) -> NDArray[np.intp]:
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
    >>> denoise_binary(noisy, data_weight=1.0, smoothness=0.5).sum()
    np.int64(0)
    """
    arr = np.asarray(noisy)
    if arr.ndim != 2:
        msg = f"noisy must be 2-D (H, W); got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.size == 0:
        msg = f"noisy must not be empty; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
        msg = "noisy must be a binary image of 0 and 1 (or booleans)"
        raise ValueError(msg)
    y = arr.astype(np.intp)
    beta = check_real(data_weight, "data_weight", low=0.0, low_inclusive=False)
    lam = check_real(smoothness, "smoothness", low=0.0)
    method = check_choice(method, "method", ("graphcut", "icm"))
    unary = np.stack([beta * (y == 1), beta * (y == 0)], axis=-1).astype(np.float64)
    if method == "graphcut":
        return grid_graph_cut(unary, lam)
    sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
    x = y.copy()
    rows, cols = np.indices(y.shape)
    colours = [(rows + cols) % 2 == c for c in (0, 1)]
    for _ in range(sweeps):
        before = x.copy()
        for colour in colours:
            padded = np.pad(x, 1, mode="constant", constant_values=-1)
            ones = sum(
                (
                    padded[1 + dr : 1 + dr + y.shape[0], 1 + dc : 1 + dc + y.shape[1]]
                    == 1
                )
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
            )
            zeros = sum(
                (
                    padded[1 + dr : 1 + dr + y.shape[0], 1 + dc : 1 + dc + y.shape[1]]
                    == 0
                )
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
            )
            cost0 = unary[..., 0] + lam * ones
            cost1 = unary[..., 1] + lam * zeros
            keep_current = np.where(x == 0, cost0 <= cost1, cost1 <= cost0)
            new = np.where(keep_current, x, 1 - x)
            x = np.where(colour, new, x)
        if np.array_equal(x, before):
            break
    return x
