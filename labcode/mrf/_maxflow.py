r"""Minimum s-t cuts of grid graphs: Boykov-Kolmogorov max-flow in numba, and a naive twin.

A grid graph here is an ``H x W`` image of nodes, each joined to its 4 or 8
neighbours by two arcs (one each way, each with its own capacity) and to the two
terminals: ``tr[p] > 0`` is the residual capacity of the arc source -> p,
``tr[p] < 0`` that of p -> sink (the smaller of the two terminal capacities is
pushed at once, so only their difference is kept). The cut returned is the set
of nodes reachable from the source in the final residual graph (label 0); every
other node gets label 1. That is the minimum cut with the smallest source side,
unique, so the compiled solver and the scipy twin return the same labels
whenever their arithmetic is exact.

The compiled solver follows Kolmogorov's maxflow v3 (the library PyMaxflow
wraps) [1]_: two search trees grown from the terminals in breadth-first order
of active nodes, augmentation along the path where they touch, adoption of
orphans by the neighbour whose path to the terminal is shortest (timestamps and
distance marks), with nodes and arcs stored in flat arrays: the grid is padded
by one node on each side (padding nodes have no capacity, so no test for the
border is needed), a node has ``K`` arc slots (``K = 4`` or ``8``), and its
parent (the slot of the arc to it), tree, distance mark, timestamp and queue
link share one small record, so that following a path to the root touches one
cache line per node. Capacities are float64 and never rounded:
an augmentation subtracts the bottleneck, which leaves the saturated arc at
exactly zero.

References
----------
.. [1] Boykov, Y. and Kolmogorov, V. (2004). An experimental comparison of
       min-cut/max-flow algorithms for energy minimization in vision. *IEEE
       TPAMI*, 26(9), 1124-1137.
"""

from __future__ import annotations

# The numba kernels below pass their state as positional arrays (numba has no
# keyword-only arguments in compiled calls worth the cost) and keep the
# branches of maxflow.cpp in one loop, as the original does.
# ruff: noqa: PLR0912, PLR0915, PLR0917, PLR1714
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import scipy.sparse
from numba import njit
from numba.misc.special import literally
from numpy.typing import NDArray
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Forward neighbour offsets ``(dr, dc)`` of each connectivity: an edge joins
#: pixel ``(r, c)`` and ``(r + dr, c + dc)``; the other half are their opposites.
FORWARD_OFFSETS: dict[int, tuple[tuple[int, int], ...]] = {
    4: ((0, 1), (1, 0)),
    8: ((0, 1), (1, 0), (1, 1), (1, -1)),
}

# Arc slots of a node, in the order PyMaxflow's grids scan them (its arcs sit in
# a linked list, newest first): slot d and slot K - 1 - d are opposite arcs.
_SLOTS: dict[int, tuple[tuple[int, int], ...]] = {
    4: ((1, 0), (0, 1), (0, -1), (-1, 0)),
    8: ((1, 1), (1, 0), (1, -1), (0, 1), (0, -1), (-1, 1), (-1, 0), (-1, -1)),
}

_NONE = 255  # no parent: a free node
_TERMINAL = 254  # the parent is the terminal
_ORPHAN = 253  # lost its parent arc, waiting for adoption
_INFINITE_D = 1 << 30
_TIME_LIMIT = (1 << 31) - 1
# Columns of the per-node record (int32): parent arc slot (or _NONE, _TERMINAL,
# _ORPHAN), tree (1: sink), distance mark, timestamp of the mark, next active node.
_PARENT, _SINK, _DIST, _TS, _NEXT = 0, 1, 2, 3, 4

F = TypeVar("F", bound=Callable[..., Any])


def _jit(func: F) -> F:
    """Compile `func` with numba on its first call; cache the machine code on disk.

    numba keeps the cache in ``__pycache__`` beside this file or, where that is
    not writable (a read-only site-packages), in the user's cache directory
    (``~/.cache/numba``); the ``NUMBA_CACHE_DIR`` environment variable chooses
    another place. A fresh process then loads the code instead of compiling it.
    """
    return cast(F, njit(cache=True, nogil=True)(func))


@_jit
def _bk_maxflow(tr: Any, rcap: Any, off: Any, k: int, labels: Any) -> None:
    """Run Boykov-Kolmogorov on the padded grid in place; write the cut to `labels`.

    `tr` and `rcap` (``n`` and ``n * k`` float64) end as residual capacities;
    ``labels[i]`` is 0 for nodes of the source tree, 1 for those of the sink
    tree and 2 for free nodes (on the sink side of the cut returned).

    One function without calls: a call that passes arrays costs numba two
    atomic reference-count operations per array, which took a third of the time
    when the steps below were helper functions. Arc ``(i, d)`` goes from node
    ``i`` to ``i + off[d]``; its reverse is ``(i + off[d], k - 1 - d)``.
    """
    k = literally(k)  # one compiled copy per connectivity: K is a constant
    n = tr.shape[0]
    # One record per node (see _PARENT...): following a path touches one cache line.
    node = np.zeros((n, 5), dtype=np.int32)
    node[:, _PARENT] = _NONE
    node[:, _NEXT] = -1
    stack = np.empty(n, dtype=np.int64)  # orphans of one augmentation
    orphans = np.empty(n, dtype=np.int64)  # the FIFO queue of one adoption
    # Active nodes: read from list 0, appended to list 1 (linked through _NEXT,
    # the last one pointing to itself); list 1 becomes list 0 when that empties.
    first0 = -1
    first1 = -1
    last1 = -1
    time = 0
    for i in range(n):
        if tr[i] != 0:
            node[i, _PARENT] = _TERMINAL
            node[i, _SINK] = 1 if tr[i] < 0 else 0
            node[i, _DIST] = 1
            if last1 >= 0:
                node[last1, _NEXT] = i
            else:
                first1 = i
            last1 = i
            node[i, _NEXT] = i

    current = -1
    while True:
        i = current
        if i >= 0:
            node[i, _NEXT] = -1
            if node[i, _PARENT] == _NONE:
                i = -1
        if i < 0:  # the next active node (one with a parent)
            while True:
                i = first0
                if i < 0:
                    first0 = first1
                    first1 = -1
                    last1 = -1
                    i = first0
                    if i < 0:
                        break
                first0 = -1 if node[i, _NEXT] == i else node[i, _NEXT]
                node[i, _NEXT] = -1
                if node[i, _PARENT] != _NONE:
                    break
            if i < 0:
                break

        # Growth: find an arc from the source tree to the sink tree.
        mid_v = -1
        mid_d = -1
        base = i * k
        ts_i = node[i, _TS]
        dist_i = node[i, _DIST]
        sink_i = node[i, _SINK] == 1
        for d in range(k):
            j = i + off[d]
            residual = rcap[j * k + k - 1 - d] if sink_i else rcap[base + d]
            if residual > 0:
                if node[j, _PARENT] == _NONE:
                    node[j, _SINK] = node[i, _SINK]
                    node[j, _PARENT] = k - 1 - d
                    node[j, _TS] = ts_i
                    node[j, _DIST] = dist_i + 1
                    if node[j, _NEXT] < 0:
                        if last1 >= 0:
                            node[last1, _NEXT] = j
                        else:
                            first1 = j
                        last1 = j
                        node[j, _NEXT] = j
                elif (node[j, _SINK] == 1) != sink_i:
                    if sink_i:
                        mid_v = j
                        mid_d = k - 1 - d
                    else:
                        mid_v = i
                        mid_d = d
                    break
                elif node[j, _TS] <= ts_i and node[j, _DIST] > dist_i:
                    # heuristic: a shorter path to the terminal through i
                    node[j, _PARENT] = k - 1 - d
                    node[j, _TS] = ts_i
                    node[j, _DIST] = dist_i + 1
        time += 1
        if time == _TIME_LIMIT:  # 32-bit timestamps: start a new epoch (marks only
            node[:, _TS] = 0  # guide the search; they never decide the cut)
            time = 1
        if mid_v < 0:
            current = -1
            continue
        node[i, _NEXT] = i  # stays active: it may touch the other tree again
        current = i

        # Augmentation along source -> ... -> v -> w -> ... -> sink.
        v = mid_v
        w = v + off[mid_d]
        a_mid = v * k + mid_d
        a_rev = w * k + k - 1 - mid_d
        bottleneck = rcap[a_mid]
        j = v
        while node[j, _PARENT] != _TERMINAL:
            a = node[j, _PARENT]
            p = j + off[a]
            bottleneck = min(bottleneck, rcap[p * k + k - 1 - a])
            j = p
        bottleneck = min(bottleneck, tr[j])
        j = w
        while node[j, _PARENT] != _TERMINAL:
            a = node[j, _PARENT]
            bottleneck = min(bottleneck, rcap[j * k + a])
            j += off[a]
        bottleneck = min(bottleneck, -tr[j])
        rcap[a_rev] += bottleneck
        rcap[a_mid] -= bottleneck
        n_stack = 0
        j = v
        while node[j, _PARENT] != _TERMINAL:
            a = node[j, _PARENT]
            p = j + off[a]
            rcap[j * k + a] += bottleneck
            rcap[p * k + k - 1 - a] -= bottleneck
            if rcap[p * k + k - 1 - a] == 0:
                node[j, _PARENT] = _ORPHAN
                stack[n_stack] = j
                n_stack += 1
            j = p
        tr[j] -= bottleneck
        if tr[j] == 0:
            node[j, _PARENT] = _ORPHAN
            stack[n_stack] = j
            n_stack += 1
        j = w
        while node[j, _PARENT] != _TERMINAL:
            a = node[j, _PARENT]
            p = j + off[a]
            rcap[p * k + k - 1 - a] += bottleneck
            rcap[j * k + a] -= bottleneck
            if rcap[j * k + a] == 0:
                node[j, _PARENT] = _ORPHAN
                stack[n_stack] = j
                n_stack += 1
            j = p
        tr[j] += bottleneck
        if tr[j] == 0:
            node[j, _PARENT] = _ORPHAN
            stack[n_stack] = j
            n_stack += 1

        # Adoption: each orphan of the augmentation, newest first, then the
        # orphans its failure creates, first in first out.
        while n_stack > 0:
            n_stack -= 1
            orphans[0] = stack[n_stack]
            head = 0
            tail = 1
            while head < tail:
                o = orphans[head]
                head += 1
                sink_o = node[o, _SINK] == 1
                base = o * k
                d_min = _INFINITE_D
                best = -1
                for d0 in range(k):
                    j = o + off[d0]
                    # the arc that carries flow towards o (source tree) or away (sink)
                    residual = rcap[base + d0] if sink_o else rcap[j * k + k - 1 - d0]
                    if (
                        residual > 0
                        and node[j, _PARENT] != _NONE
                        and (node[j, _SINK] == 1) == sink_o
                    ):
                        # distance from j to its terminal, unless its path meets an orphan
                        dd = 0
                        jj = j
                        while True:
                            if node[jj, _TS] == time:
                                dd += node[jj, _DIST]
                                break
                            a = node[jj, _PARENT]
                            dd += 1
                            if a == _TERMINAL:
                                node[jj, _TS] = time
                                node[jj, _DIST] = 1
                                break
                            if a == _ORPHAN:
                                dd = _INFINITE_D
                                break
                            jj += off[a]
                        if dd < _INFINITE_D:
                            if dd < d_min:
                                best = d0
                                d_min = dd
                            jj = j
                            while node[jj, _TS] != time:  # mark the path
                                node[jj, _TS] = time
                                node[jj, _DIST] = dd
                                dd -= 1
                                jj += off[node[jj, _PARENT]]
                if best >= 0:
                    node[o, _PARENT] = best
                    node[o, _TS] = time
                    node[o, _DIST] = d_min + 1
                    continue
                node[o, _PARENT] = _NONE  # o becomes free; its children, orphans
                for d0 in range(k):
                    j = o + off[d0]
                    a = node[j, _PARENT]
                    if a != _NONE and (node[j, _SINK] == 1) == sink_o:
                        residual = (
                            rcap[base + d0] if sink_o else rcap[j * k + k - 1 - d0]
                        )
                        if residual > 0 and node[j, _NEXT] < 0:
                            if last1 >= 0:
                                node[last1, _NEXT] = j
                            else:
                                first1 = j
                            last1 = j
                            node[j, _NEXT] = j
                        if a != _TERMINAL and a != _ORPHAN and j + off[a] == o:
                            node[j, _PARENT] = _ORPHAN
                            orphans[tail] = j
                            tail += 1
    for i in range(n):  # 0: source tree, 1: sink tree, 2: free
        labels[i] = 2 if node[i, _PARENT] == _NONE else node[i, _SINK]


@_jit
def _fill_grid(
    unary_diff: Any,
    cap_fwd: Any,
    cap_bwd: Any,
    fwd_dr: Any,
    fwd_dc: Any,
    fwd_slot: Any,
    off: Any,
    tr: Any,
    rcap: Any,
) -> None:
    """Write the capacities of an H x W grid into the padded flat arrays."""
    h, w, half = cap_fwd.shape
    k = off.shape[0]
    width = w + 2
    for r in range(h):
        for c in range(w):
            p = (r + 1) * width + c + 1
            tr[p] = unary_diff[r, c]
            for e in range(half):
                rr = r + fwd_dr[e]
                cc = c + fwd_dc[e]
                if 0 <= rr < h and 0 <= cc < w:
                    d = fwd_slot[e]
                    rcap[p * k + d] = cap_fwd[r, c, e]
                    rcap[(p + off[d]) * k + k - 1 - d] = cap_bwd[r, c, e]


@_jit
def _solve_grid(
    unary_diff: Any,
    cap_fwd: Any,
    cap_bwd: Any,
    fwd_dr: Any,
    fwd_dc: Any,
    fwd_slot: Any,
    slot_dr: Any,
    slot_dc: Any,
    out: Any,
) -> None:
    """Build the padded graph, run the max-flow, write 0/1 labels to `out` (H, W)."""
    h, w, half = cap_fwd.shape
    k = 2 * half
    width = w + 2
    n = (h + 2) * width
    off = np.empty(k, dtype=np.int64)
    for d in range(k):
        off[d] = slot_dr[d] * width + slot_dc[d]
    tr = np.zeros(n, dtype=np.float64)
    rcap = np.zeros(n * k, dtype=np.float64)
    _fill_grid(unary_diff, cap_fwd, cap_bwd, fwd_dr, fwd_dc, fwd_slot, off, tr, rcap)
    labels = np.empty(n, dtype=np.uint8)
    if k == 4:  # literal arguments: the 4- and 8-connected copies
        _bk_maxflow(tr, rcap, off, 4, labels)
    else:
        _bk_maxflow(tr, rcap, off, 8, labels)
    for r in range(h):
        for c in range(w):
            out[r, c] = 1 if labels[(r + 1) * width + c + 1] > 0 else 0


Int64Array = NDArray[np.int64]


def _geometry(
    k: int,
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array, Int64Array]:
    """Forward offsets, their slots, and the offsets of every slot, as arrays."""
    slots, forward = _SLOTS[k], FORWARD_OFFSETS[k]
    return (
        np.array([dr for dr, _ in forward], dtype=np.int64),
        np.array([dc for _, dc in forward], dtype=np.int64),
        np.array([slots.index(o) for o in forward], dtype=np.int64),
        np.array([dr for dr, _ in slots], dtype=np.int64),
        np.array([dc for _, dc in slots], dtype=np.int64),
    )


_GEOMETRY = {k: _geometry(k) for k in (4, 8)}


# --------------------------------------------------------------------------
# Entry points: the same problem, solved by the compiled solver or by scipy
# --------------------------------------------------------------------------


def min_cut_bk(
    unary_diff: FloatArray, cap_fwd: FloatArray, cap_bwd: FloatArray
) -> IntArray:
    """Minimum cut of a grid graph by the compiled Boykov-Kolmogorov solver.

    Parameters
    ----------
    unary_diff : (H, W) float64 ndarray
        Cost of label 1 minus cost of label 0 at each pixel: the capacity of
        source -> p when positive, of p -> sink when negative.
    cap_fwd, cap_bwd : (H, W, C / 2) float64 ndarray
        Capacity of the arc from ``(r, c)`` to its forward neighbour
        ``(r, c) + FORWARD_OFFSETS[C][e]`` and of the arc back (paid when the
        tail is labelled 0 and the head 1); ``C`` is 4 or 8. Arcs leaving the
        grid are ignored.

    Returns
    -------
    (H, W) ndarray of int
        0 on the source side of the cut (reachable from the source in the
        final residual graph), 1 elsewhere.
    """
    h, w, half = cap_fwd.shape
    fwd_dr, fwd_dc, fwd_slot, slot_dr, slot_dc = _GEOMETRY[2 * half]
    out = np.empty((h, w), dtype=np.intp)
    _solve_grid(
        np.ascontiguousarray(unary_diff, dtype=np.float64),
        np.ascontiguousarray(cap_fwd, dtype=np.float64),
        np.ascontiguousarray(cap_bwd, dtype=np.float64),
        fwd_dr,
        fwd_dc,
        fwd_slot,
        slot_dr,
        slot_dc,
        out,
    )
    return out


# scipy's maximum_flow takes int32 capacities; keep the total well inside it.
_CAPACITY_BUDGET = 2**30


def _integer_scale(caps: FloatArray) -> float:
    """Return the power of two that makes all capacities integers summing below 2**30.

    Integer capacities with a small enough total keep scale 1 (the cut is
    exact); others are scaled by the largest power of two that keeps the total
    inside the budget, then rounded (the cut is exact for the rounded problem).
    """
    total = float(caps.sum())
    if total == 0:
        return 1.0
    if total < _CAPACITY_BUDGET and bool(np.all(caps == np.round(caps))):
        return 1.0
    exponent = np.floor(np.log2(_CAPACITY_BUDGET) - np.log2(total))
    return float(2.0 ** min(exponent, 1000.0))


def min_cut_scipy(
    unary_diff: FloatArray, cap_fwd: FloatArray, cap_bwd: FloatArray
) -> IntArray:
    """Solve as :func:`min_cut_bk` does, naively: scipy's maximum_flow on the same graph.

    The graph is built plainly (one sparse matrix of every arc), scipy's
    Dinic maximum flow runs on integer capacities, and the source side is what a
    breadth-first search reaches in the residual graph. Exact for integer
    capacities whose total is below 2**30; other capacities are scaled by a
    power of two and rounded, so the cut is only close to minimal.
    """
    h, w, half = cap_fwd.shape
    n = h * w
    index = np.arange(n).reshape(h, w)
    tails, heads, caps = [], [], []
    for e, (dr, dc) in enumerate(FORWARD_OFFSETS[2 * half]):
        rows = slice(0, h - dr)
        cols = slice(max(0, -dc), w - max(0, dc))
        p = index[rows, cols].ravel()
        q = index[dr:, max(0, dc) : w - max(0, -dc)].ravel()
        tails += [p, q]
        heads += [q, p]
        caps += [cap_fwd[rows, cols, e].ravel(), cap_bwd[rows, cols, e].ravel()]
    diff = unary_diff.ravel()
    tails += [np.full(n, n), index.ravel()]  # source -> p, p -> sink
    heads += [index.ravel(), np.full(n, n + 1)]
    caps += [np.maximum(diff, 0.0), np.maximum(-diff, 0.0)]
    cap = np.concatenate(caps)
    scale = _integer_scale(cap)
    graph = scipy.sparse.csr_array(
        (
            np.round(cap * scale).astype(np.int32),
            (np.concatenate(tails), np.concatenate(heads)),
        ),
        shape=(n + 2, n + 2),
    )
    flow = maximum_flow(graph, n, n + 1, method="dinic").flow
    residual = scipy.sparse.csr_array((graph - flow) > 0).astype(np.int8)
    reached = breadth_first_order(residual, n, directed=True, return_predecessors=False)
    labels = np.ones(n, dtype=np.intp)
    labels[reached[reached < n]] = 0
    return labels.reshape(h, w)
