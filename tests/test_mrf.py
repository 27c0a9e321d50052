import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.sparse.csgraph import maximum_flow

from labcode.mrf import (
    MAPResult,
    alpha_expansion,
    brute_force_map,
    chain_map,
    contrast_weights,
    denoise_binary,
    denoise_grey,
    energy,
    grid_edges,
    grid_energy,
    grid_graph_cut,
    grid_offsets,
    icm,
    reparameterize,
)

POTTS = np.array([[0.0, 1.0], [1.0, 0.0]])


def random_model(
    rng: np.random.Generator, n: int, n_labels: int, m: int
) -> tuple[NDArray[np.float64], NDArray[np.int_], NDArray[np.float64]]:
    unary = rng.normal(size=(n, n_labels))
    pairs = list(itertools.combinations(range(n), 2))
    chosen = rng.choice(len(pairs), size=min(m, len(pairs)), replace=False)
    edges = np.array([pairs[i] for i in chosen]).reshape(-1, 2)
    pairwise = rng.normal(size=(edges.shape[0], n_labels, n_labels))
    return unary, edges, pairwise


def test_energy_by_hand() -> None:
    unary = [[1.0, 2.0, 0.0], [0.5, 0.0, 3.0], [2.0, 1.0, 1.0]]
    edges = [[0, 1], [1, 2]]
    pairwise = [
        [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]],  # |k - l|
        [[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]],  # 5 [k == l]
    ]
    # x = (2, 0, 0): unary 0 + 0.5 + 2 = 2.5; edges |2 - 0| = 2 and 5 [0 == 0] = 5.
    assert energy([2, 0, 0], unary, edges, pairwise) == pytest.approx(9.5)
    # A shared table is the same as one copy per edge.
    # A shared (L, L) table counts once per edge: 1 + 0 + 1 unary, 1 + 1 pairwise.
    assert energy([0, 1, 1], unary, edges, np.ones((3, 3))) == pytest.approx(4.0)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 5),
    n_labels=st.integers(1, 3),
    m=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_reparameterization_keeps_every_energy(
    n: int, n_labels: int, m: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    unary, edges, pairwise = random_model(rng, n, n_labels, m)
    messages = rng.normal(size=(edges.shape[0], 2, n_labels))
    unary2, pairwise2 = reparameterize(unary, edges, pairwise, messages)
    assert pairwise2.shape == (edges.shape[0], n_labels, n_labels)
    for labels in itertools.product(range(n_labels), repeat=n):
        assert energy(labels, unary2, edges, pairwise2) == pytest.approx(
            energy(labels, unary, edges, pairwise), abs=1e-9
        )


def test_reparameterize_shared_table_and_repeated_nodes() -> None:
    unary = np.zeros((3, 2))
    edges = [[0, 1], [0, 2]]  # node 0 receives two messages
    messages = np.array([[[1.0, 2.0], [0.0, 0.0]], [[10.0, 20.0], [0.0, 0.0]]])
    unary2, pairwise2 = reparameterize(unary, edges, POTTS, messages)
    np.testing.assert_array_equal(unary2[0], [11.0, 22.0])
    np.testing.assert_array_equal(pairwise2[0], POTTS - [[1.0], [2.0]])


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 7), n_labels=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_chain_map_matches_brute_force(n: int, n_labels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    unary = rng.normal(size=(n, n_labels))
    pairwise = rng.normal(size=(n - 1, n_labels, n_labels))
    edges = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    labels, e = chain_map(unary, pairwise)
    _, e_best = brute_force_map(unary, edges, pairwise)
    assert e == pytest.approx(e_best, abs=1e-9)
    assert energy(labels, unary, edges, pairwise) == pytest.approx(e, abs=1e-9)


def test_chain_map_shared_table_and_single_node() -> None:
    labels, e = chain_map([[3.0, 1.0, 2.0]], np.zeros((3, 3)))
    assert labels.tolist() == [1]
    assert e == 1.0
    labels, e = chain_map([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], 5 * POTTS)
    assert labels.tolist() == [0, 0, 0]
    assert e == 1.0


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 3),
    w=st.integers(1, 4),
    lam=st.one_of(st.integers(0, 4).map(float), st.floats(0.0, 3.0)),
    integer=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_grid_graph_cut_matches_brute_force(
    h: int, w: int, lam: float, integer: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    unary = (
        rng.integers(0, 6, size=(h, w, 2)).astype(float)
        if integer
        else rng.random((h, w, 2)) * 3
    )
    labels = grid_graph_cut(unary, lam)
    assert labels.shape == (h, w)
    _, e_best = brute_force_map(unary.reshape(-1, 2), grid_edges((h, w)), lam * POTTS)
    assert grid_energy(labels, unary, lam) == pytest.approx(e_best, abs=1e-6)


def test_grid_graph_cut_beats_icm_on_a_noisy_image() -> None:
    rng = np.random.default_rng(5)
    clean = np.zeros((24, 24), dtype=int)
    clean[6:18, 4:20] = 1
    noisy = clean ^ (rng.random(clean.shape) < 0.2)
    exact = denoise_binary(noisy, data_weight=1.0, smoothness=0.8)
    local = denoise_binary(noisy, data_weight=1.0, smoothness=0.8, method="icm")
    unary = np.stack([noisy == 1, noisy == 0], axis=-1).astype(float)
    assert grid_energy(exact, unary, 0.8) <= grid_energy(local, unary, 0.8)
    assert grid_energy(local, unary, 0.8) <= grid_energy(noisy, unary, 0.8)
    assert np.mean(exact == clean) > np.mean(noisy == clean)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 8),
    n_labels=st.integers(1, 3),
    m=st.integers(0, 12),
    seed=st.integers(0, 2**32 - 1),
)
def test_icm_never_increases_energy_and_ends_in_a_local_minimum(
    n: int, n_labels: int, m: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    unary, edges, pairwise = random_model(rng, n, n_labels, m)
    start = rng.integers(0, n_labels, size=n)
    labels, e = icm(unary, edges, pairwise, start)
    assert e <= energy(start, unary, edges, pairwise) + 1e-12
    assert e == pytest.approx(energy(labels, unary, edges, pairwise))
    for p in range(n):
        for k in range(n_labels):
            moved = labels.copy()
            moved[p] = k
            assert energy(moved, unary, edges, pairwise) >= e - 1e-9


def test_icm_checkerboard_is_a_local_minimum_on_the_grid() -> None:
    rng = np.random.default_rng(8)
    noisy = (rng.random((10, 12)) < 0.3).astype(int)
    out = denoise_binary(noisy, data_weight=1.0, smoothness=0.6, method="icm")
    unary = np.stack([noisy == 1, noisy == 0], axis=-1).astype(float)
    e = grid_energy(out, unary, 0.6)
    for r, c in itertools.product(range(10), range(12)):
        moved = out.copy()
        moved[r, c] = 1 - moved[r, c]
        assert grid_energy(moved, unary, 0.6) >= e - 1e-12


# ------------------------------------------------------------------ input checks
U = np.zeros((3, 2))
E = np.array([[0, 1], [1, 2]])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: energy([0, 1], U, E, POTTS),
            ValueError,
            r"labels must be \(n,\) = \(3,\)",
        ),
        (
            lambda: energy([0, 1, 2], U, E, POTTS),
            ValueError,
            r"labels must lie in 0\.\.1 \(L = 2\); got 0\.\.2",
        ),
        (
            lambda: energy([0.5, 1, 0], U, E, POTTS),
            TypeError,
            r"labels must be integers",
        ),
        (
            lambda: energy([0, 1, 0], U, [[0, 3]], POTTS),
            ValueError,
            r"edges must index nodes 0\.\.2 \(n = 3 from unary\)",
        ),
        (
            lambda: energy([0, 1, 0], U, [[0, 1, 2]], POTTS),
            ValueError,
            r"edges must be \(m, 2\) node pairs",
        ),
        (
            lambda: energy([0, 1, 0], U, [[1, 1]], POTTS),
            ValueError,
            r"edges must join two different nodes; edge 0 is \(1, 1\)",
        ),
        (
            lambda: energy([0, 1, 0], U, [["a", "b"]], POTTS),
            TypeError,
            r"edges must hold integer node indices",
        ),
        (
            lambda: energy([0, 1, 0], U, E, np.zeros((3, 3))),
            ValueError,
            r"pairwise must be \(L, L\) = \(2, 2\)",
        ),
        (
            lambda: energy([0, 1, 0], U, E, np.zeros((3, 2, 2))),
            ValueError,
            r"pairwise must be \(m, L, L\) = \(2, 2, 2\)",
        ),
        (
            lambda: energy([0, 1, 0], np.zeros(3), E, POTTS),
            ValueError,
            r"unary must be 2-D \(n, L\)",
        ),
        (
            lambda: reparameterize(U, E, POTTS, np.zeros((2, 2, 3))),
            ValueError,
            r"messages must be \(m, 2, L\) = \(2, 2, 2\)",
        ),
        (
            lambda: brute_force_map(np.zeros((21, 2)), [], POTTS),
            ValueError,
            r"brute force would try L\*\*n = 2\*\*21",
        ),
        (
            lambda: icm(U, E, POTTS, [0, 0, 0], max_sweeps=0),
            ValueError,
            r"max_sweeps must be >= 1",
        ),
        (
            lambda: chain_map(U, np.zeros((3, 2, 2))),
            ValueError,
            r"pairwise must be \(m, L, L\) = \(2, 2, 2\)",
        ),
        (
            lambda: grid_graph_cut(np.zeros((3, 3, 3)), 1.0),
            ValueError,
            r"unary must be \(H, W, 2\)",
        ),
        (
            lambda: grid_graph_cut(np.zeros((3, 3, 2)), -1.0),
            ValueError,
            r"smoothness must be >= 0\.0; got -1\.0",
        ),
        (
            lambda: grid_graph_cut(np.zeros((3, 3, 2)), 1.0, connectivity=6),
            ValueError,
            r"connectivity must be 4 or 8; got 6",
        ),
        (
            lambda: grid_graph_cut(np.zeros((3, 3, 2)), np.ones((3, 3, 4))),
            ValueError,
            r"smoothness must be a number or \(H, W, C/2\) = \(3, 3, 2\)",
        ),
        (
            lambda: grid_graph_cut(np.zeros((3, 3, 2)), -np.ones((3, 3, 2))),
            ValueError,
            r"smoothness must be >= 0 everywhere; got minimum -1\.0",
        ),
        (
            lambda: grid_graph_cut(np.zeros((3, 3, 2)), 1.0, method="dinic"),
            ValueError,
            r"method must be one of 'bk', 'scipy'; got 'dinic'",
        ),
        (
            lambda: grid_graph_cut(np.full((2, 2, 2), np.inf), 1.0),
            ValueError,
            r"unary must contain only finite values",
        ),
        (
            lambda: alpha_expansion(
                np.zeros((2, 2, 3)), 1.0, pairwise="truncated_linear"
            ),
            ValueError,
            r"truncation must be given for pairwise='truncated_linear'",
        ),
        (
            lambda: alpha_expansion(np.zeros((2, 2, 3)), 1.0, pairwise="linear"),
            ValueError,
            r"pairwise must be one of 'potts', 'truncated_linear'",
        ),
        (
            lambda: alpha_expansion(np.zeros((2, 2, 3)), 1.0, labels=[[0, 1], [2, 3]]),
            ValueError,
            r"labels must lie in 0\.\.2 \(L = 3\); got 0\.\.3",
        ),
        (
            lambda: alpha_expansion(np.zeros((2, 2, 3)), 1.0, labels=np.zeros((2, 3))),
            ValueError,
            r"labels must be \(H, W\) = \(2, 2\)",
        ),
        (
            lambda: alpha_expansion(np.zeros((2, 2, 3)), 1.0, max_cycles=0),
            ValueError,
            r"max_cycles must be >= 1",
        ),
        (
            lambda: grid_energy(
                np.zeros((2, 2), int),
                np.zeros((2, 2, 2)),
                1.0,
                pairwise="truncated_linear",
                truncation=0.0,
            ),
            ValueError,
            r"truncation must be > 0\.0; got 0\.0",
        ),
        (
            lambda: contrast_weights(np.zeros((2, 2, 3))),
            ValueError,
            r"image must be 2-D \(H, W\)",
        ),
        (
            lambda: denoise_grey(
                [[0, -1]], data_weight=1.0, smoothness=1.0, truncation=2.0
            ),
            ValueError,
            r"noisy must hold grey levels >= 0; got minimum -1",
        ),
        (
            lambda: denoise_grey(
                [[0, 0.5]], data_weight=1.0, smoothness=1.0, truncation=2.0
            ),
            ValueError,
            r"noisy must be an image of integer grey levels",
        ),
        (
            lambda: denoise_grey(
                [[0, 4]], data_weight=1.0, smoothness=1.0, truncation=2.0, n_levels=3
            ),
            ValueError,
            r"n_levels must be >= 5; got 3",
        ),
        (
            lambda: energy([0, 1, 0], U, [[0, 1], [1]], POTTS),
            ValueError,
            r"edges must be an array; could not convert it",
        ),
        (
            lambda: energy([0, 1, 0], U, [[1.0, np.inf]], POTTS),
            TypeError,
            r"edges must hold integer node indices; got non-integral float64",
        ),
        (
            lambda: brute_force_map(U, E, [[1e308, 1.0], [1.0, 0.0]]),
            ValueError,
            r"unary and pairwise are too large: an energy could reach",
        ),
        (
            lambda: grid_edges(None),  # type: ignore[arg-type]
            TypeError,
            r"shape must be a pair \(H, W\) of ints; got None",
        ),
        (
            lambda: grid_graph_cut(np.zeros((2, 2, 2)), [[1.0], [1.0, 2.0]]),
            ValueError,
            r"smoothness must be an array; could not convert it",
        ),
        (
            lambda: alpha_expansion(np.zeros((2, 2, 3)), 1e308),
            ValueError,
            r"unary and smoothness are too large: an energy could reach inf",
        ),
        (
            lambda: contrast_weights(np.zeros((2, 2)), sigma=1e-320),
            ValueError,
            r"sigma must be >= 1e-150",
        ),
        (
            lambda: denoise_grey(
                [[0, 1]], data_weight=1e308, smoothness=1.0, truncation=2.0, n_levels=9
            ),
            ValueError,
            r"data_weight is too large",
        ),
        (
            lambda: denoise_grey(
                [[0, 1]],
                data_weight=1.0,
                smoothness=1.0,
                truncation=2.0,
                n_levels=2**63,
            ),
            ValueError,
            r"n_levels must be <= 65536",
        ),
        (
            lambda: denoise_grey(
                np.full((2, 2), 1e308), data_weight=1.0, smoothness=1.0, truncation=2.0
            ),
            ValueError,
            r"noisy must be an image of integer grey levels below 65536",
        ),
        (
            lambda: denoise_binary(
                np.zeros((2, 2)),
                data_weight=1.0,
                smoothness=1.0,
                max_sweeps="a",  # type: ignore[arg-type]
            ),
            TypeError,
            r"max_sweeps must be an integer",
        ),
        (
            lambda: denoise_binary(np.full((3, 3), 2), data_weight=1.0, smoothness=1.0),
            ValueError,
            r"noisy must be a binary image",
        ),
        (
            lambda: denoise_binary(np.zeros(3), data_weight=1.0, smoothness=1.0),
            ValueError,
            r"noisy must be 2-D",
        ),
        (
            lambda: denoise_binary(np.zeros((3, 3)), data_weight=0.0, smoothness=1.0),
            ValueError,
            r"data_weight must be > 0\.0",
        ),
        (
            lambda: denoise_binary(np.zeros((3, 3)), data_weight=1.0, smoothness=-0.1),
            ValueError,
            r"smoothness must be >= 0\.0",
        ),
        (
            lambda: denoise_binary(
                np.zeros((3, 3)), data_weight=1.0, smoothness=1.0, method="bp"
            ),
            ValueError,
            r"method must be one of 'graphcut', 'icm'",
        ),
    ],
    ids=[
        "labels-shape",
        "labels-range",
        "labels-float",
        "edge-range",
        "edge-shape",
        "self-loop",
        "edge-strings",
        "shared-table-shape",
        "table-per-edge-shape",
        "unary-1d",
        "messages-shape",
        "too-big",
        "sweeps",
        "chain-pairwise",
        "gc-labels",
        "gc-negative",
        "gc-connectivity",
        "gc-weights-shape",
        "gc-weights-negative",
        "gc-method",
        "gc-infinite",
        "ae-no-truncation",
        "ae-pairwise",
        "ae-label-range",
        "ae-label-shape",
        "ae-cycles",
        "energy-truncation",
        "contrast-ndim",
        "grey-negative",
        "grey-fraction",
        "grey-levels",
        "edges-ragged",
        "edges-inf",
        "energy-overflow",
        "grid-edges-shape",
        "gc-weights-ragged",
        "ae-energy-overflow",
        "contrast-sigma-tiny",
        "grey-beta-overflow",
        "grey-levels-huge",
        "grey-values-huge",
        "denoise-sweeps-type",
        "denoise-not-binary",
        "denoise-1d",
        "denoise-beta",
        "denoise-lambda",
        "denoise-method",
    ],
)
def test_input_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_graph_cut_energy_equals_max_flow_on_larger_grids(seed: int) -> None:
    # Independent check on 30 x 40 grids: the minimum energy equals the value of a
    # maximum flow (computed here on a plainly built graph, without the greedy
    # start) plus the constant sum of min(unary).
    rng = np.random.default_rng(seed)
    h, w, lam = 30, 40, 2
    unary = rng.integers(0, 7, size=(h, w, 2))
    labels = grid_graph_cut(unary, lam)
    low = unary.min(axis=2)
    n = h * w
    edges = grid_edges((h, w))
    rows = np.concatenate([np.full(n, n), np.arange(n), edges[:, 0], edges[:, 1]])
    cols = np.concatenate([np.arange(n), np.full(n, n + 1), edges[:, 1], edges[:, 0]])
    caps = np.concatenate(
        [
            (unary[..., 1] - low).ravel(),
            (unary[..., 0] - low).ravel(),
            np.full(2 * len(edges), lam),
        ]
    )
    graph = scipy.sparse.csr_array(
        (caps.astype(np.int32), (rows, cols)), shape=(n + 2, n + 2)
    )
    flow_value = maximum_flow(graph, n, n + 1).flow_value
    assert grid_energy(labels, unary, lam) == flow_value + low.sum()


# ------------------------------------------------------------------ the exact cut
def edge_weights(
    weights: NDArray[np.float64], shape: tuple[int, int], connectivity: int
) -> NDArray[np.float64]:
    """Per-edge weights in the order of grid_edges, read from an (H, W, C/2) array."""
    h, w = shape
    out = []
    for e, (dr, dc) in enumerate(grid_offsets(connectivity)):
        for r in range(h):
            for c in range(w):
                if 0 <= r + dr < h and 0 <= c + dc < w:
                    out.append(weights[r, c, e])
    return np.array(out)


def test_grid_offsets_give_the_order_of_grid_edges() -> None:
    for conn in (4, 8):
        edges = grid_edges((3, 4), connectivity=conn)
        weights = np.zeros((3, 4, conn // 2))
        assert len(edge_weights(weights, (3, 4), conn)) == len(edges)
        steps = {(int(q // 4 - p // 4), int(q % 4 - p % 4)) for p, q in edges}
        assert steps == set(grid_offsets(conn))


def brute_force_grid(
    unary: NDArray[np.float64],
    weights: NDArray[np.float64],
    connectivity: int,
    table: NDArray[np.float64],
) -> MAPResult:
    h, w, n_labels = unary.shape
    edges = grid_edges((h, w), connectivity=connectivity)
    pairwise = edge_weights(weights, (h, w), connectivity)[:, None, None] * table
    return brute_force_map(unary.reshape(-1, n_labels), edges, pairwise)


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 3),
    w=st.integers(1, 4),
    connectivity=st.sampled_from([4, 8]),
    scale=st.sampled_from([1e-6, 1.0, 1e6, 1e300]),
    seed=st.integers(0, 2**32 - 1),
)
def test_bk_cut_is_exact_for_real_costs(
    h: int, w: int, connectivity: int, scale: float, seed: int
) -> None:
    # Real-valued costs of any sign and size, one weight per edge: the energy of
    # the cut equals the brute-force minimum to 1e-9 relative.
    rng = np.random.default_rng(seed)
    unary = rng.normal(size=(h, w, 2)) * scale
    weights = rng.random((h, w, connectivity // 2)) * scale
    labels = grid_graph_cut(unary, weights, connectivity=connectivity)
    best = brute_force_grid(unary, weights, connectivity, POTTS)
    got = grid_energy(labels, unary, weights, connectivity=connectivity)
    assert got == pytest.approx(best.energy, rel=1e-9, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    connectivity=st.sampled_from([4, 8]),
    seed=st.integers(0, 2**32 - 1),
)
def test_bk_and_scipy_twins_give_the_same_labels_for_integer_costs(
    h: int, w: int, connectivity: int, seed: int
) -> None:
    # Both return the minimum cut with the smallest source side, which is unique.
    rng = np.random.default_rng(seed)
    unary = rng.integers(-6, 7, size=(h, w, 2)).astype(float)
    weights = rng.integers(0, 4, size=(h, w, connectivity // 2)).astype(float)
    bk = grid_graph_cut(unary, weights, connectivity=connectivity)
    naive = grid_graph_cut(unary, weights, connectivity=connectivity, method="scipy")
    np.testing.assert_array_equal(bk, naive)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_bk_and_scipy_twins_agree_on_a_noisy_image(connectivity: int) -> None:
    rng = np.random.default_rng(3)
    clean = np.zeros((60, 70), dtype=int)
    clean[15:45, 10:50] = 1
    noisy = clean ^ (rng.random(clean.shape) < 0.25)
    unary = np.stack([3 * (noisy == 1), 3 * (noisy == 0)], axis=-1).astype(float)
    weights = rng.integers(1, 5, size=(60, 70, connectivity // 2)).astype(float)
    bk = grid_graph_cut(unary, weights, connectivity=connectivity)
    naive = grid_graph_cut(unary, weights, connectivity=connectivity, method="scipy")
    np.testing.assert_array_equal(bk, naive)
    assert np.mean(bk == clean) > np.mean(noisy == clean)


def test_bk_is_exact_where_integer_rounding_is_not() -> None:
    # A cost of 2**40 makes the scipy twin scale everything by 2**-21 and round:
    # the small costs below vanish and its labelling is wrong; the float64 cut
    # is not scaled at all and finds the minimum.
    unary = np.zeros((1, 3, 2))
    unary[0, 0] = [0.0, 2.0**40]  # pixel 0 must be 0
    unary[0, 1] = [0.6, 0.0]  # prefers 1 by 0.6...
    unary[0, 2] = [0.0, 0.3]  # ...and pixel 2 prefers 0 by 0.3
    lam = 0.25
    best = brute_force_grid(unary, np.full((1, 3, 2), lam), 4, POTTS)
    bk = grid_graph_cut(unary, lam)
    naive = grid_graph_cut(unary, lam, method="scipy")
    assert grid_energy(bk, unary, lam) == best.energy
    assert grid_energy(naive, unary, lam) > best.energy
    assert bk.tolist() == [[0, 1, 0]]


@pytest.mark.parametrize("exponent", [-1000, -60, 60, 1000])
def test_scaling_by_a_power_of_two_changes_no_label(exponent: int) -> None:
    # Multiplying every cost by 2**k is exact in floating point (also past 2**900,
    # where the solver scales back down), so the cut is the same.
    rng = np.random.default_rng(11)
    unary = rng.normal(size=(20, 30, 2))
    weights = rng.random((20, 30, 4))
    base = grid_graph_cut(unary, weights, connectivity=8)
    scaled = grid_graph_cut(
        unary * 2.0**exponent, weights * 2.0**exponent, connectivity=8
    )
    np.testing.assert_array_equal(base, scaled)


def test_contrast_weights_layout_and_values() -> None:
    image = np.array([[0.0, 0.0, 3.0], [0.0, 1.0, 3.0]])
    w = contrast_weights(image, sigma=1.0, connectivity=8)
    assert w.shape == (2, 3, 4)
    assert w[0, 0, 0] == 1.0  # (0,0)-(0,1): equal
    assert w[0, 1, 0] == pytest.approx(np.exp(-4.5))  # 0 -> 3
    assert w[0, 0, 2] == pytest.approx(np.exp(-0.5) / np.sqrt(2))  # diagonal to 1
    assert w[0, 1, 3] == pytest.approx(1 / np.sqrt(2))  # (0,1)-(1,0)
    assert w[:, 2, 0].tolist() == [0.0, 0.0]  # no right neighbour
    assert w[1, :, 1:].tolist() == [[0.0] * 3] * 3  # no row below
    assert w[0, 0, 3] == 0.0  # no down-left neighbour
    # The default sigma is the root mean square difference.
    ref = contrast_weights(image, connectivity=4)
    d4 = np.array([0, 3, 1, 2, 0, 1, 0])  # 4 horizontal, 3 vertical differences
    assert ref[0, 1, 0] == pytest.approx(np.exp(-9 / (2 * np.mean(d4**2))))


def test_segmentation_with_contrast_weights_follows_the_edge() -> None:
    # A bright square on a dark background, weak data terms: contrast-sensitive
    # weights let the cut follow the square's border exactly.
    rng = np.random.default_rng(2)
    image = np.zeros((40, 40))
    image[10:30, 12:32] = 1.0
    noisy = image + 0.3 * rng.normal(size=image.shape)
    unary = np.stack([(noisy - 0.0) ** 2, (noisy - 1.0) ** 2], axis=-1)
    weights = 2.0 * contrast_weights(noisy, connectivity=8)
    labels = grid_graph_cut(unary, weights, connectivity=8)
    assert np.mean(labels == image) > 0.99
    naive = grid_graph_cut(unary, weights, connectivity=8, method="scipy")
    assert grid_energy(labels, unary, weights, connectivity=8) <= grid_energy(
        naive, unary, weights, connectivity=8
    ) + 1e-9 * abs(grid_energy(naive, unary, weights, connectivity=8))


# ------------------------------------------------------------------ alpha-expansion
def test_grid_energy_matches_the_general_energy() -> None:
    rng = np.random.default_rng(4)
    unary = rng.normal(size=(3, 4, 5))
    weights = rng.random((3, 4, 4))
    labels = rng.integers(0, 5, size=(3, 4))
    table = np.minimum(np.abs(np.arange(5)[:, None] - np.arange(5)), 2.5)
    edges = grid_edges((3, 4), connectivity=8)
    pairwise = edge_weights(weights, (3, 4), 8)[:, None, None] * table
    expected = energy(labels.ravel(), unary.reshape(-1, 5), edges, pairwise)
    got = grid_energy(
        labels,
        unary,
        weights,
        pairwise="truncated_linear",
        truncation=2.5,
        connectivity=8,
    )
    assert got == pytest.approx(expected, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 2),
    w=st.integers(1, 3),
    n_labels=st.integers(2, 4),
    kind=st.sampled_from(["potts", "truncated_linear"]),
    connectivity=st.sampled_from([4, 8]),
    seed=st.integers(0, 2**32 - 1),
)
def test_alpha_expansion_is_an_expansion_local_minimum_within_the_bound(
    h: int, w: int, n_labels: int, kind: str, connectivity: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    unary = rng.random((h, w, n_labels)) * 3
    weights = rng.random((h, w, connectivity // 2)) * 2
    trunc = 2.0 if kind == "truncated_linear" else None
    result = alpha_expansion(
        unary, weights, pairwise=kind, truncation=trunc, connectivity=connectivity
    )
    kw: dict[str, Any] = {
        "pairwise": kind,
        "truncation": trunc,
        "connectivity": connectivity,
    }
    assert result.energy == pytest.approx(
        grid_energy(result.labels, unary, weights, **kw)
    )
    # No expansion move (tried here by brute force) lowers the energy.
    for alpha in range(n_labels):
        for mask in itertools.product([False, True], repeat=h * w):
            moved = np.where(np.reshape(mask, (h, w)), alpha, result.labels)
            assert grid_energy(moved, unary, weights, **kw) >= result.energy - 1e-9
    # Within 2 max V / min V of the global minimum (2 for Potts, 2 T here).
    table = np.abs(np.arange(n_labels)[:, None] - np.arange(n_labels)).astype(float)
    table = (table > 0).astype(float) if kind == "potts" else np.minimum(table, 2.0)
    best = brute_force_grid(unary, weights, connectivity, table)
    factor = 2.0 * table.max() / table[table > 0].min()
    assert best.energy - 1e-9 <= result.energy <= factor * best.energy + 1e-9


@pytest.mark.parametrize("kind", ["potts", "truncated_linear"])
def test_alpha_expansion_twins_agree_and_beat_the_start(kind: str) -> None:
    rng = np.random.default_rng(9)
    unary = rng.integers(0, 8, size=(12, 15, 5)).astype(float)
    start = rng.integers(0, 5, size=(12, 15))
    kw: dict[str, Any] = {
        "pairwise": kind,
        "truncation": 2.0 if kind != "potts" else None,
    }
    bk = alpha_expansion(unary, 3.0, labels=start, **kw)
    naive = alpha_expansion(unary, 3.0, labels=start, method="scipy", **kw)
    np.testing.assert_array_equal(bk.labels, naive.labels)
    assert bk.energy == naive.energy
    assert bk.energy < grid_energy(start, unary, 3.0, **kw)


def test_denoise_grey_restores_a_staircase() -> None:
    rng = np.random.default_rng(1)
    clean = np.repeat(np.arange(8), 6)[None, :].repeat(30, axis=0)  # 8 levels, steps
    noisy = clean.copy()
    hit = rng.random(clean.shape) < 0.2
    noisy[hit] = rng.integers(0, 8, size=hit.sum())
    out = denoise_grey(noisy, data_weight=1.0, smoothness=1.5, truncation=2.0)
    assert out.dtype.kind == "i"
    assert out.min() >= 0
    assert out.max() <= 7
    assert np.mean(out == clean) > 0.95 > np.mean(noisy == clean)


def test_huge_costs_give_the_cut_of_the_scaled_problem() -> None:
    # Costs near the top of float64 are scaled by a power of two before the cut;
    # the labels are those of the same problem at ordinary size.
    rng = np.random.default_rng(12)
    unary = rng.normal(size=(8, 9, 2))
    weights = rng.random((8, 9, 2))
    expected = grid_graph_cut(unary, weights)
    scale = 2.0**1020
    np.testing.assert_array_equal(
        grid_graph_cut(unary * scale, weights * scale), expected
    )


@pytest.mark.slow
def test_compiled_solver_is_cached_on_disk_and_reused(tmp_path: Path) -> None:
    # A fresh process compiles the solver and writes numba's cache where
    # NUMBA_CACHE_DIR points (the place used when site-packages is read-only is
    # the same mechanism with the user's cache directory); a second fresh process
    # loads it instead of compiling: no new cache file, same labels.
    code = (
        "import numpy as np; from labcode.mrf import grid_graph_cut;"
        "u = np.zeros((4, 5, 2)); u[..., 1] = 1.0; u[1, 2] = [3.0, 0.0];"
        "print(grid_graph_cut(u, 0.5).sum(), grid_graph_cut(u, 0.5, connectivity=8).sum())"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    first = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert any(name.endswith(".nbi") for name in files)
    assert any(name.endswith(".nbc") for name in files)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    second = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # The centre flips to 1 against 4 neighbours (cost 2 < 3), not against 8 (4 > 3).
    assert second.stdout == first.stdout == "1 0\n"
    assert {
        p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()
    } == stamps
