import itertools

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import maximum_flow

from labcode.mrf import (
    brute_force_map,
    chain_map,
    denoise_binary,
    energy,
    grid_edges,
    grid_graph_cut,
    icm,
    reparameterize,
)

POTTS = np.array([[0.0, 1.0], [1.0, 0.0]])


def random_model(rng, n, n_labels, m):
    unary = rng.normal(size=(n, n_labels))
    pairs = list(itertools.combinations(range(n), 2))
    chosen = rng.choice(len(pairs), size=min(m, len(pairs)), replace=False)
    edges = np.array([pairs[i] for i in chosen]).reshape(-1, 2)
    pairwise = rng.normal(size=(edges.shape[0], n_labels, n_labels))
    return unary, edges, pairwise


def grid_energy(labels, unary, lam):
    data = np.take_along_axis(unary, labels[..., None], axis=-1).sum()
    cuts = (labels[:, 1:] != labels[:, :-1]).sum() + (labels[1:] != labels[:-1]).sum()
    return data + lam * cuts


def test_energy_by_hand():
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
def test_reparameterization_keeps_every_energy(n, n_labels, m, seed):
    rng = np.random.default_rng(seed)
    unary, edges, pairwise = random_model(rng, n, n_labels, m)
    messages = rng.normal(size=(edges.shape[0], 2, n_labels))
    unary2, pairwise2 = reparameterize(unary, edges, pairwise, messages)
    assert pairwise2.shape == (edges.shape[0], n_labels, n_labels)
    for labels in itertools.product(range(n_labels), repeat=n):
        assert energy(labels, unary2, edges, pairwise2) == pytest.approx(
            energy(labels, unary, edges, pairwise), abs=1e-9
        )


def test_reparameterize_shared_table_and_repeated_nodes():
    unary = np.zeros((3, 2))
    edges = [[0, 1], [0, 2]]  # node 0 receives two messages
    messages = np.array([[[1.0, 2.0], [0.0, 0.0]], [[10.0, 20.0], [0.0, 0.0]]])
    unary2, pairwise2 = reparameterize(unary, edges, POTTS, messages)
    np.testing.assert_array_equal(unary2[0], [11.0, 22.0])
    np.testing.assert_array_equal(pairwise2[0], POTTS - [[1.0], [2.0]])


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 7), n_labels=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_chain_map_matches_brute_force(n, n_labels, seed):
    rng = np.random.default_rng(seed)
    unary = rng.normal(size=(n, n_labels))
    pairwise = rng.normal(size=(n - 1, n_labels, n_labels))
    edges = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    labels, e = chain_map(unary, pairwise)
    _, e_best = brute_force_map(unary, edges, pairwise)
    assert e == pytest.approx(e_best, abs=1e-9)
    assert energy(labels, unary, edges, pairwise) == pytest.approx(e, abs=1e-9)


def test_chain_map_shared_table_and_single_node():
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
def test_grid_graph_cut_matches_brute_force(h, w, lam, integer, seed):
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


def test_grid_graph_cut_beats_icm_on_a_noisy_image():
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
def test_icm_never_increases_energy_and_ends_in_a_local_minimum(n, n_labels, m, seed):
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


def test_icm_checkerboard_is_a_local_minimum_on_the_grid():
    rng = np.random.default_rng(8)
    noisy = (rng.random((10, 12)) < 0.3).astype(int)
    out = denoise_binary(noisy, data_weight=1.0, smoothness=0.6, method="icm")
    unary = np.stack([noisy == 1, noisy == 0], axis=-1).astype(float)
    e = grid_energy(out, unary, 0.6)
    for r, c in itertools.product(range(10), range(12)):
        moved = out.copy()
        moved[r, c] = 1 - moved[r, c]
        assert grid_energy(moved, unary, 0.6) >= e - 1e-12


def test_grid_graph_cut_non_integer_costs_close_to_optimal():
    rng = np.random.default_rng(2)
    unary = rng.random((3, 3, 2)) * 1e-3  # tiny costs: scaled before rounding
    labels = grid_graph_cut(unary, 2.5e-4)
    _, e_best = brute_force_map(
        unary.reshape(-1, 2), grid_edges((3, 3)), 2.5e-4 * POTTS
    )
    assert grid_energy(labels, unary, 2.5e-4) == pytest.approx(e_best, abs=1e-9)


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
        "denoise-not-binary",
        "denoise-1d",
        "denoise-beta",
        "denoise-lambda",
        "denoise-method",
    ],
)
def test_input_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_graph_cut_energy_equals_max_flow_on_larger_grids(seed):
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
