"""MRFs on any graph: energies, reparameterization, brute force, chain DP, ICM.

Part of :mod:`labcode.mrf`, whose docstring states the conventions and references.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    as_float_array,
    check_int,
    format_shape,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: The largest number of labellings :func:`brute_force_map` enumerates.
BRUTE_FORCE_LIMIT = 1 << 20
# Energies must stay below this, far enough from float64's limit that sums of
# a few of them do not overflow either.
_ENERGY_LIMIT = 2.0**1018


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
    with np.errstate(over="ignore"):
        bound = float(np.abs(u).max(axis=1, initial=0.0).sum()) + float(
            np.abs(pw).max(axis=(1, 2), initial=0.0).sum()
        )
    if not bound <= _ENERGY_LIMIT:
        msg = (
            "unary and pairwise are too large: an energy could reach "
            f"{bound:.3g}, beyond 2**1018 (float64 overflows near 2**1024)"
        )
        raise ValueError(msg)
    return u.astype(np.float64, copy=False), e, pw.astype(np.float64, copy=False)


def _as_array(x: object, name: str) -> NDArray[Any]:
    """``np.asarray`` whose failure (a ragged nested list) names the parameter."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:
        msg = f"{name} must be an array; could not convert it: {exc}"
        raise ValueError(msg) from exc


def _check_edges(edges: ArrayLike, n: int) -> IntArray:
    arr = _as_array(edges, "edges")
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.intp)
    if arr.ndim != 2 or arr.shape[1] != 2:
        msg = f"edges must be (m, 2) node pairs; got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    if arr.dtype.kind not in "iuf":
        msg = f"edges must hold integer node indices; got dtype {arr.dtype}"
        raise TypeError(msg)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        msg = (
            f"edges must hold integer node indices; got non-integral {arr.dtype} values"
        )
        raise TypeError(msg)
    if arr.min() < 0 or arr.max() >= n:
        msg = (
            f"edges must index nodes 0..{n - 1} (n = {n} from unary); got indices "
            f"from {arr.min()} to {arr.max()}"
        )
        raise ValueError(msg)
    arr = arr.astype(np.intp)  # in range, so the cast is exact
    if np.any(arr[:, 0] == arr[:, 1]):
        bad = int(np.flatnonzero(arr[:, 0] == arr[:, 1])[0])
        msg = f"edges must join two different nodes; edge {bad} is {tuple(arr[bad].tolist())}"
        raise ValueError(msg)
    return arr


def _check_labels(
    labels: ArrayLike, n: int, n_labels: int, name: str = "labels"
) -> IntArray:
    arr = _as_array(labels, name)
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
        If ``L**n`` exceeds :data:`~labcode.mrf.BRUTE_FORCE_LIMIT` (about a million).

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
