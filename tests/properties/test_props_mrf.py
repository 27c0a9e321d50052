"""Property tests of labcode.mrf (owned by i21, who extends these entries).

Exact algorithms must equal brute force on tiny models, reparameterizations must
leave every energy unchanged, ICM must never increase the energy; hostile
arguments must give ValueError/TypeError naming a parameter.
"""

import itertools

import numpy as np
import pytest
from contract_helpers import (
    FEW,
    SUITE,
    Entry,
    bounded,
    check_hostile,
    hostile_values,
)
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from labcode.mrf import (
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

# The max-flow is compiled by numba on first use (seconds, cached on disk after):
# compile it here, outside the per-call time bound.
grid_graph_cut(np.zeros((2, 2, 2)), 0.5)
alpha_expansion(np.zeros((2, 2, 3)), 0.5)

RNG = np.random.default_rng(6)
UNARY = RNG.random((4, 2))
EDGES = np.array([[0, 1], [1, 2], [2, 3]])
POTTS = np.array([[0.0, 1.0], [1.0, 0.0]])
GRID_UNARY = RNG.random((3, 4, 2))
GREY_UNARY = RNG.random((3, 4, 3))
NOISY = (RNG.random((4, 5)) > 0.5).astype(int)

# Every hostile value is fuzzed; the ones that once exposed defects are also
# replayed by test_fixed_defects below.
ENTRIES = [
    Entry(
        "labcode.mrf.energy",
        energy,
        {"labels": [0, 1, 1, 0], "unary": UNARY, "edges": EDGES, "pairwise": POTTS},
    ),
    Entry(
        "labcode.mrf.reparameterize",
        reparameterize,
        {
            "unary": UNARY,
            "edges": EDGES,
            "pairwise": POTTS,
            "messages": np.zeros((3, 2, 2)),
        },
    ),
    Entry(
        "labcode.mrf.brute_force_map",
        brute_force_map,
        {"unary": UNARY, "edges": EDGES, "pairwise": POTTS},
    ),
    Entry("labcode.mrf.chain_map", chain_map, {"unary": UNARY, "pairwise": POTTS}),
    Entry(
        "labcode.mrf.icm",
        icm,
        {
            "unary": UNARY,
            "edges": EDGES,
            "pairwise": POTTS,
            "labels": [0, 0, 0, 0],
            "max_sweeps": 5,
        },
    ),
    Entry(
        "labcode.mrf.grid_graph_cut",
        grid_graph_cut,
        {"unary": GRID_UNARY, "smoothness": 0.5, "connectivity": 4, "method": "bk"},
    ),
    Entry(
        "labcode.mrf.grid_edges",
        grid_edges,
        {"shape": (3, 4), "connectivity": 8},
    ),
    Entry("labcode.mrf.grid_offsets", grid_offsets, {"connectivity": 4}),
    Entry(
        "labcode.mrf.grid_energy",
        grid_energy,
        {
            "labels": np.zeros((3, 4), dtype=int),
            "unary": GREY_UNARY,
            "smoothness": 1.0,
            "pairwise": "truncated_linear",
            "truncation": 1.5,
            "connectivity": 4,
        },
    ),
    Entry(
        "labcode.mrf.alpha_expansion",
        alpha_expansion,
        {
            "unary": GREY_UNARY,
            "smoothness": 0.5,
            "pairwise": "potts",
            "truncation": None,
            "connectivity": 4,
            "labels": None,
            "max_cycles": 3,
            "method": "bk",
        },
    ),
    Entry(
        "labcode.mrf.contrast_weights",
        contrast_weights,
        {"image": RNG.random((3, 4)), "sigma": 0.5, "connectivity": 4},
    ),
    Entry(
        "labcode.mrf.denoise_binary",
        denoise_binary,
        {
            "noisy": NOISY,
            "data_weight": 1.0,
            "smoothness": 0.5,
            "method": "graphcut",
            "max_sweeps": 5,
        },
    ),
    Entry(
        "labcode.mrf.denoise_grey",
        denoise_grey,
        {
            "noisy": np.array([[0, 0, 5], [0, 9, 5]]),
            "data_weight": 1.0,
            "smoothness": 1.5,
            "truncation": 2.0,
            "n_levels": None,
            "method": "bk",
        },
    ),
]
NAMES = [e.name for e in ENTRIES]


@pytest.mark.covers(*NAMES)
@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
@SUITE
@given(data=st.data())
def test_hostile_arguments(entry: Entry, data: st.DataObject) -> None:
    param = data.draw(st.sampled_from(sorted(entry.kwargs)), label="param")
    value = data.draw(hostile_values(), label="value")
    check_hostile(entry, param, value)


# unary costs (n, labels), chain edges (n - 1, 2), pairwise costs (labels, labels)
Chain = tuple[NDArray[np.float64], NDArray[np.int_], NDArray[np.float64]]


@st.composite
def chains(draw: st.DrawFn) -> Chain:
    n, n_labels = draw(st.integers(1, 6)), draw(st.integers(2, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    unary = rng.random((n, n_labels)) * 4
    pairwise = rng.random((n_labels, n_labels)) * 2
    edges = np.array([[i, i + 1] for i in range(n - 1)], dtype=int).reshape(-1, 2)
    return unary, edges, pairwise


@pytest.mark.covers(
    "labcode.mrf.chain_map",
    "labcode.mrf.brute_force_map",
    "labcode.mrf.energy",
    "labcode.mrf.icm",
)
@SUITE
@given(chains())
def test_chain_dp_equals_brute_force_and_icm_descends(model: Chain) -> None:
    unary, edges, pairwise = model
    labels, e = bounded(chain_map, unary, pairwise)
    _, best = bounded(brute_force_map, unary, edges, pairwise)
    assert e == pytest.approx(best, abs=1e-9)
    assert bounded(energy, labels, unary, edges, pairwise) == pytest.approx(e, abs=1e-9)
    start = np.zeros(unary.shape[0], dtype=int)
    result = bounded(icm, unary, edges, pairwise, start)
    assert result.energy <= energy(start, unary, edges, pairwise) + 1e-12
    assert result.energy >= best - 1e-9


@pytest.mark.covers("labcode.mrf.reparameterize")
@SUITE
@given(chains(), st.integers(0, 2**32 - 1))
def test_reparameterization_keeps_every_energy(model: Chain, seed: int) -> None:
    unary, edges, pairwise = model
    n_labels = unary.shape[1]
    messages = np.random.default_rng(seed).standard_normal(
        (edges.shape[0], 2, n_labels)
    )
    u2, p2 = bounded(reparameterize, unary, edges, pairwise, messages)
    for labels in itertools.islice(
        itertools.product(range(n_labels), repeat=unary.shape[0]), 50
    ):
        assert energy(labels, unary, edges, pairwise) == pytest.approx(
            energy(labels, u2, edges, p2), abs=1e-9
        )


@st.composite
def grids(draw: st.DrawFn) -> tuple[NDArray[np.float64], float]:
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.random((h, w, 2)) * 3, float(draw(st.sampled_from([0.0, 0.3, 1.0, 2.5])))


@pytest.mark.covers(
    "labcode.mrf.grid_graph_cut",
    "labcode.mrf.grid_edges",
    "labcode.mrf.grid_offsets",
    "labcode.mrf.grid_energy",
)
@SUITE
@given(grids(), st.sampled_from([4, 8]))
def test_graph_cut_equals_brute_force_on_tiny_grids(
    grid: tuple[NDArray[np.float64], float], connectivity: int
) -> None:
    unary, smoothness = grid
    h, w, _ = unary.shape
    labels = bounded(grid_graph_cut, unary, smoothness, connectivity=connectivity)
    edges = bounded(grid_edges, (h, w), connectivity=connectivity)
    assert len(bounded(grid_offsets, connectivity)) == connectivity // 2
    _, best = brute_force_map(unary.reshape(-1, 2), edges, smoothness * (1 - np.eye(2)))
    got = bounded(grid_energy, labels, unary, smoothness, connectivity=connectivity)
    assert got == pytest.approx(best, abs=1e-9)


@pytest.mark.covers(
    "labcode.mrf.alpha_expansion",
    "labcode.mrf.denoise_grey",
    "labcode.mrf.denoise_binary",
    "labcode.mrf.contrast_weights",
)
@FEW
@given(st.integers(0, 2**32 - 1))
def test_expansion_and_denoising_are_finite_and_in_range(seed: int) -> None:
    rng = np.random.default_rng(seed)
    unary = rng.random((3, 3, 3)) * 3
    labels, e = bounded(alpha_expansion, unary, 0.7)
    assert labels.shape == (3, 3)
    assert np.isfinite(e)
    assert e == pytest.approx(grid_energy(labels, unary, 0.7), abs=1e-9)
    noisy = rng.integers(0, 4, size=(4, 4))
    grey = bounded(denoise_grey, noisy, data_weight=1.0, smoothness=1.0, truncation=2.0)
    assert grey.shape == noisy.shape
    assert grey.min() >= 0
    assert grey.max() <= noisy.max()
    binary = bounded(denoise_binary, noisy % 2, data_weight=1.0, smoothness=0.5)
    assert set(np.unique(binary).tolist()) <= {0, 1}
    weights = bounded(contrast_weights, rng.random((3, 4)), sigma=0.5)
    assert np.all(np.isfinite(weights))
    assert np.all((weights >= 0) & (weights <= 1))


BY_NAME = {e.name: e for e in ENTRIES}
RAGGED = [[1.0, 2.0], [3.0]]
FIXED_DEFECTS = [
    (
        "brute_force_map",
        "pairwise",
        np.array([[1e308, 1.0], [1.0, 0.0]]),
        "RuntimeWarning overflow in add",
    ),
    ("energy", "edges", RAGGED, "numpy's message for ragged edges"),
    ("energy", "labels", RAGGED, "numpy's message for ragged labels"),
    (
        "energy",
        "edges",
        np.array([[1.0, np.inf], [0.0, 1.0]]),
        "RuntimeWarning casting inf edges",
    ),
    ("reparameterize", "edges", RAGGED, "numpy's message for ragged edges"),
    ("brute_force_map", "edges", RAGGED, "numpy's message for ragged edges"),
    (
        "icm",
        "edges",
        np.full((2, 2), 3e38, dtype=np.float32),
        "RuntimeWarning casting huge edges",
    ),
    ("icm", "labels", RAGGED, "numpy's message for ragged labels"),
    ("grid_graph_cut", "smoothness", RAGGED, "numpy's message for ragged smoothness"),
    ("grid_edges", "shape", None, "TypeError 'NoneType' object is not subscriptable"),
    ("grid_edges", "shape", "", "IndexError for shape=''"),
    ("grid_edges", "shape", {}, "KeyError for shape={}"),
    ("grid_edges", "shape", (3,), "IndexError for shape=(3,) (named in issue 17)"),
    ("grid_energy", "labels", RAGGED, "numpy's message for ragged labels"),
    ("grid_energy", "smoothness", RAGGED, "numpy's message for ragged smoothness"),
    ("alpha_expansion", "labels", RAGGED, "numpy's message for ragged labels"),
    ("alpha_expansion", "smoothness", 1e308, "RuntimeWarning overflow in reduce"),
    ("contrast_weights", "sigma", 1e-320, "RuntimeWarning divide by zero"),
    ("contrast_weights", "sigma", 1e308, "OverflowError"),
    ("denoise_binary", "noisy", RAGGED, "numpy's message for ragged noisy"),
    ("denoise_binary", "max_sweeps", np.array(["a", "b"]), "numpy's isnan TypeError"),
    ("denoise_grey", "noisy", np.full((3, 3), 1e308), "RuntimeWarning invalid cast"),
    ("denoise_grey", "data_weight", 1e308, "RuntimeWarning overflow"),
    ("denoise_grey", "smoothness", 1e308, "RuntimeWarning overflow"),
    ("denoise_grey", "n_levels", 10**30, "numpy's 'Maximum allowed size exceeded'"),
    ("denoise_grey", "n_levels", 2**63, "message names unary, not n_levels"),
    (
        "contrast_weights",
        "image",
        np.arange(12.0).reshape(3, 4) * 1e299,
        "RuntimeWarning in square (i17a's second sweep)",
    ),
    (
        "denoise_grey",
        "noisy",
        np.full((2, 3), np.iinfo(np.int64).max),
        "message named unary, not noisy (i17a's second sweep)",
    ),
]


@pytest.mark.covers("labcode.mrf.energy")
@pytest.mark.parametrize(
    ("name", "param", "value"),
    [
        pytest.param(name, param, value, id=f"{name}-{param}-{i}")
        for i, (name, param, value, _why) in enumerate(FIXED_DEFECTS)
    ],
)
def test_fixed_defects(name: str, param: str, value: object) -> None:
    # Hostile values the fuzz found when each gave numpy's message, a warning or
    # a crash: each must now raise ValueError/TypeError naming its parameter.
    check_hostile(BY_NAME[f"labcode.mrf.{name}"], param, value, honour_skips=False)


@pytest.mark.covers("labcode.mrf.chain_map")
def test_fixed_defect_chain_map_with_huge_unary_and_pairwise() -> None:
    # Found by i17a's pair sweep (two hostile arguments at once, once a
    # RuntimeWarning overflow in add) -> None: now refused naming unary and pairwise.
    huge = np.full((3, 3), 1e308)
    entry = Entry(
        "labcode.mrf.chain_map", chain_map, {"unary": huge, "pairwise": UNARY[:2]}
    )
    check_hostile(entry, "pairwise", huge, honour_skips=False)
