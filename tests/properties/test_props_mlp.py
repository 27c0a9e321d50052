"""Property tests of labcode.mlp: scipy, centred differences, hostile input."""

from typing import Any

import numpy as np
import pytest
from contract_helpers import FEW, SUITE, Entry, bounded, check_hostile, hostile_values
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import special

from labcode.gradcheck import numerical_gradient, relative_error
from labcode.mlp import MLP, cross_entropy, glorot_uniform, he_normal, softmax

RNG = np.random.default_rng(2)
X = RNG.standard_normal((6, 3))
Y = np.array([0, 1, 2, 0, 1, 2])
PROBS = softmax(RNG.standard_normal((6, 3)))


def _net() -> MLP:
    return MLP([3, 4, 3], activation="tanh", rng=0)


ENTRIES = [
    Entry("labcode.mlp.softmax", softmax, {"z": X}),
    Entry("labcode.mlp.cross_entropy", cross_entropy, {"probs": PROBS, "y": Y}),
    Entry(
        "labcode.mlp.glorot_uniform",
        glorot_uniform,
        {"fan_in": 3, "fan_out": 2, "rng": 0},
    ),
    Entry("labcode.mlp.he_normal", he_normal, {"fan_in": 3, "fan_out": 2, "rng": 0}),
    Entry(
        "labcode.mlp.MLP",
        MLP,
        {"layer_sizes": [3, 4, 3], "activation": "relu", "l2": 0.01, "rng": 1},
    ),
    Entry(
        "labcode.mlp.MLP.fit",
        lambda X, y, epochs, lr, batch_size, rng: _net().fit(
            X, y, epochs=epochs, lr=lr, batch_size=batch_size, rng=rng
        ),
        {"X": X, "y": Y, "epochs": 2, "lr": 0.1, "batch_size": 4, "rng": 0},
    ),
    Entry("labcode.mlp.MLP.forward", lambda X: _net().forward(X), {"X": X}),
    Entry("labcode.mlp.MLP.predict", lambda X: _net().predict(X), {"X": X}),
    Entry("labcode.mlp.MLP.loss", lambda X, y: _net().loss(X, y), {"X": X, "y": Y}),
    Entry(
        "labcode.mlp.MLP.gradients",
        lambda X, y: _net().gradients(X, y),
        {"X": X, "y": Y},
    ),
    Entry("labcode.mlp.MLP.score", lambda X, y: _net().score(X, y), {"X": X, "y": Y}),
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


logits = st.builds(
    lambda seed, n, k, scale: (
        np.random.default_rng(seed).standard_normal((n, k)) * scale
    ),
    st.integers(0, 2**32 - 1),
    st.integers(1, 5),
    st.integers(1, 5),
    st.sampled_from([1.0, 1e3, 1e300]),
)


@pytest.mark.covers("labcode.mlp.softmax", "labcode.mlp.cross_entropy")
@SUITE
@given(logits, st.integers(0, 2**32 - 1))
def test_softmax_and_cross_entropy_equal_scipy(
    z: NDArray[np.float64], seed: int
) -> None:
    p = bounded(softmax, z)
    np.testing.assert_allclose(p, special.softmax(z, axis=1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    y = np.random.default_rng(seed).integers(0, z.shape[1], size=z.shape[0])
    want = -np.mean(special.log_softmax(z, axis=1)[np.arange(z.shape[0]), y])
    got = bounded(cross_entropy, p, y)
    if np.all(p[np.arange(z.shape[0]), y] > 0):
        np.testing.assert_allclose(got, want, rtol=1e-9)
    else:
        assert got == np.inf  # documented: a true class with probability 0


@pytest.mark.covers("labcode.mlp.glorot_uniform", "labcode.mlp.he_normal")
@SUITE
@given(st.integers(1, 50), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_initialisations_bound_scale_and_determinism(
    fan_in: int, fan_out: int, seed: int
) -> None:
    w = bounded(glorot_uniform, fan_in, fan_out, rng=seed)
    assert w.shape == (fan_in, fan_out)
    assert np.all(np.abs(w) <= np.sqrt(6.0 / (fan_in + fan_out)))
    np.testing.assert_array_equal(w, glorot_uniform(fan_in, fan_out, rng=seed))
    h = bounded(he_normal, fan_in, fan_out, rng=seed)
    assert h.shape == (fan_in, fan_out)
    assert np.all(np.isfinite(h))
    np.testing.assert_array_equal(h, he_normal(fan_in, fan_out, rng=seed))
    # The same draws as numpy's normal of standard deviation sqrt(2 / fan_in).
    want = np.random.default_rng(seed).normal(
        0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)
    )
    np.testing.assert_allclose(h, want, rtol=1e-15)


nets = st.builds(
    lambda sizes, activation, l2, seed: MLP(
        sizes, activation=activation, l2=l2, rng=seed
    ),
    st.lists(st.integers(1, 4), min_size=1, max_size=3).map(lambda s: [2, *s[:-1], 3]),
    st.sampled_from(["tanh", "sigmoid"]),
    st.sampled_from([0.0, 0.1]),
    st.integers(0, 2**32 - 1),
)


@pytest.mark.covers(
    "labcode.mlp.MLP", "labcode.mlp.MLP.gradients", "labcode.mlp.MLP.loss"
)
@FEW
@given(nets, st.integers(0, 2**32 - 1))
def test_gradients_equal_centred_differences(net: MLP, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 2))
    y = rng.integers(0, 3, size=5)
    d_weights, d_biases = bounded(net.gradients, x, y)
    for params, grads in ((net.weights, d_weights), (net.biases, d_biases)):
        for p, g in zip(params, grads, strict=True):

            def loss_at(
                v: NDArray[np.float64], p: NDArray[np.floating[Any]] = p
            ) -> float:
                saved = p.copy()
                p[...] = v
                value = net.loss(x, y)
                p[...] = saved
                return value

            numeric = numerical_gradient(loss_at, p.copy())
            assert relative_error(g, numeric) < 1e-6


@pytest.mark.covers(
    "labcode.mlp.MLP.fit",
    "labcode.mlp.MLP.forward",
    "labcode.mlp.MLP.predict",
    "labcode.mlp.MLP.score",
)
@FEW
@given(nets, st.integers(0, 2**32 - 1), st.sampled_from([np.float64, np.float32]))
def test_fit_is_finite_and_predictions_agree(
    net: MLP, seed: int, dtype: type[np.floating[Any]]
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((12, 2)).astype(dtype)
    y = rng.integers(0, 3, size=12)
    history = bounded(net.fit, x, y, epochs=3, lr=0.5, batch_size=5, rng=seed)
    assert history.shape == (3,)
    assert np.all(np.isfinite(history))
    probs = net.forward(x)
    assert probs.dtype == dtype
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(x), np.argmax(probs, axis=1))
    assert net.score(x, y) == np.mean(net.predict(x) == y)
