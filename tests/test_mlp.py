import itertools
from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from labcode.gradcheck import numerical_gradient, relative_error
from labcode.mlp import MLP, cross_entropy, glorot_uniform, he_normal, softmax

RNG = np.random.default_rng(7)


def two_blobs(
    n: int, rng: np.random.Generator, gap: float = 3.0
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2)) + gap * np.stack([y, y], axis=1)
    return x, y


# ------------------------------------------------------------------ softmax, CE, init
def test_softmax_rows_sum_to_one_and_match_the_definition() -> None:
    z = RNG.normal(size=(5, 4))
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))


def test_softmax_is_stable_for_huge_logits() -> None:
    p = softmax([[1e3, 0.0, -1e3], [1e3, 1e3, 1e3]])
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-300)
    np.testing.assert_allclose(softmax([1e3 + 1.0, 1e3]), softmax([1.0, 0.0]))


def test_softmax_invariant_to_shifts() -> None:
    z = RNG.normal(size=(3, 6))
    np.testing.assert_allclose(softmax(z), softmax(z + 123.4))


def test_cross_entropy_values() -> None:
    assert cross_entropy([[1.0, 0.0]], [0]) == 0.0
    assert cross_entropy([[0.25, 0.75]], [1]) == pytest.approx(-np.log(0.75))
    assert cross_entropy([[1.0, 0.0]], [1]) == np.inf


def test_softmax_cross_entropy_gradient_is_p_minus_onehot() -> None:
    z = RNG.normal(size=(6, 4))
    y = RNG.integers(0, 4, 6)
    grad = numerical_gradient(lambda v: cross_entropy(softmax(v), y) * 6, z)
    expected = softmax(z) - np.eye(4)[y]
    assert relative_error(grad, expected) < 1e-7


def test_glorot_uniform_bound_and_variance() -> None:
    w = glorot_uniform(400, 200, rng=np.random.default_rng(0))
    bound = np.sqrt(6 / 600)
    assert np.abs(w).max() <= bound
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)
    np.testing.assert_array_equal(
        glorot_uniform(3, 2, rng=5), glorot_uniform(3, 2, rng=5)
    )


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gradients_match_centred_differences(activation: str, l2: float) -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(9, 4))
    y = rng.integers(0, 3, 9)
    net = MLP([4, 6, 5, 3], activation=activation, l2=l2, rng=2)
    net.biases = [b + rng.normal(scale=0.1, size=b.shape) for b in net.biases]
    d_weights, d_biases = net.gradients(x, y)
    for k in range(3):

        def loss_w(v: NDArray[np.float64], k: int = k) -> float:
            saved = net.weights[k]
            net.weights[k] = v
            try:
                return net.loss(x, y)
            finally:
                net.weights[k] = saved

        def loss_b(v: NDArray[np.float64], k: int = k) -> float:
            saved = net.biases[k]
            net.biases[k] = v
            try:
                return net.loss(x, y)
            finally:
                net.biases[k] = saved

        assert (
            relative_error(d_weights[k], numerical_gradient(loss_w, net.weights[k]))
            < 1e-6
        )
        assert (
            relative_error(d_biases[k], numerical_gradient(loss_b, net.biases[k]))
            < 1e-6
        )


def test_loss_includes_the_l2_penalty_on_weights_only() -> None:
    x, y = two_blobs(20, np.random.default_rng(0))
    plain = MLP([2, 5, 2], rng=0)
    penalised = MLP([2, 5, 2], l2=0.5, rng=0)
    penalty = 0.25 * sum(np.sum(w * w) for w in plain.weights)
    assert penalised.loss(x, y) == pytest.approx(plain.loss(x, y) + penalty)
    probs = plain.forward(x)
    assert plain.loss(x, y) == pytest.approx(cross_entropy(probs, y))


# ------------------------------------------------------------------ training
def test_training_reaches_high_held_out_accuracy() -> None:
    rng = np.random.default_rng(3)
    x, y = two_blobs(600, rng)
    net = MLP([2, 16, 2], rng=4)
    history = net.fit(x[:400], y[:400], epochs=30, lr=0.2, batch_size=16, rng=5)
    assert history.shape == (30,)
    assert history[-1] < history[0]
    assert net.score(x[400:], y[400:]) > 0.97
    assert net.predict(x[400:]).shape == (200,)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_every_activation_learns_xor(activation: str) -> None:
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, size=(400, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    net = MLP([2, 24, 2], activation=activation, rng=9)
    lr = 1.0 if activation == "sigmoid" else 0.3
    net.fit(x, y, epochs=300, lr=lr, batch_size=20, rng=10)
    assert net.score(x, y) > 0.9


def test_float32_trains_in_float32() -> None:
    rng = np.random.default_rng(12)
    x, y = two_blobs(200, rng)
    net = MLP([2, 8, 2], rng=0)
    assert net.dtype == np.float64
    net.fit(x.astype(np.float32), y, epochs=5, lr=0.1, batch_size=32, rng=0)
    assert net.dtype == np.float32
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)
    assert net.forward(x).dtype == np.float32
    assert "float32" in repr(net)


def test_fit_is_reproducible_with_seeds() -> None:
    x, y = two_blobs(100, np.random.default_rng(1))
    a, b = MLP([2, 4, 2], rng=3), MLP([2, 4, 2], rng=3)
    ha = a.fit(x, y, epochs=3, lr=0.1, batch_size=7, rng=4)
    hb = b.fit(x, y, epochs=3, lr=0.1, batch_size=7, rng=4)
    np.testing.assert_array_equal(ha, hb)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])


def test_one_full_batch_step_is_gradient_descent() -> None:
    x, y = two_blobs(30, np.random.default_rng(2))
    net = MLP([2, 3, 2], l2=0.1, rng=0)
    d_weights, d_biases = net.gradients(x, y)
    expected = [w - 0.5 * dw for w, dw in zip(net.weights, d_weights, strict=True)]
    expected_b = [b - 0.5 * db for b, db in zip(net.biases, d_biases, strict=True)]
    loss_before = net.loss(x, y)
    history = net.fit(x, y, epochs=1, lr=0.5, batch_size=30, rng=0)
    assert history[0] == pytest.approx(loss_before)
    for got, want in zip(net.weights + net.biases, expected + expected_b, strict=True):
        np.testing.assert_allclose(got, want)


# ------------------------------------------------------------------ input checks
X = np.zeros((4, 3))
Y = np.array([0, 1, 2, 1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: MLP([3]),
            ValueError,
            r"layer_sizes must list at least the input and output",
        ),
        (
            lambda: MLP("34"),  # type: ignore[arg-type]
            TypeError,
            r"layer_sizes must be a sequence of ints; got str",
        ),
        (lambda: MLP([3, 0, 2]), ValueError, r"layer_sizes\[1\] must be >= 1; got 0"),
        (
            lambda: MLP([3, 1]),
            ValueError,
            r"layer_sizes\[-1\] is the number of classes",
        ),
        (lambda: MLP([3, 2.5]), TypeError, r"layer_sizes\[1\] must be an integer"),  # type: ignore[list-item]
        (
            lambda: MLP([3, 2], activation="softplus"),
            ValueError,
            r"activation must be one of 'tanh', 'relu', 'sigmoid'",
        ),
        (lambda: MLP([3, 2], l2=-1.0), ValueError, r"l2 must be >= 0\.0"),
        (
            lambda: MLP([3, 4, 3]).forward(np.zeros(3)),
            ValueError,
            r"X must be 2-D \(N, n_features\); got shape \(3,\)",
        ),
        (
            lambda: MLP([3, 4, 3]).forward(np.zeros((4, 5))),
            ValueError,
            r"X must have layer_sizes\[0\] = 3 columns",
        ),
        (
            lambda: MLP([3, 4, 3]).loss(X, [0, 1, 2]),
            ValueError,
            r"y must have one label per sample: X or probs has 4 rows, y has 3",
        ),
        (
            lambda: MLP([3, 4, 3]).loss(X, [0, 1, 3, 1]),
            ValueError,
            r"y must hold class labels \(3 classes\) in 0\.\.2; got values from 0 to 3",
        ),
        (
            lambda: MLP([3, 4, 3]).loss(X, [0, 1, -1, 1]),
            ValueError,
            r"y must hold class labels \(3 classes\) in 0\.\.2",
        ),
        (
            lambda: MLP([3, 4, 3]).loss(X, [0.5, 1, 2, 1]),
            TypeError,
            r"y must hold integer class labels",
        ),
        (
            lambda: MLP([3, 4, 3]).loss(X, np.zeros((4, 1), int)),
            ValueError,
            r"y must be 1-D",
        ),
        (
            lambda: MLP([3, 4, 3]).fit(X, Y, epochs=0, lr=0.1, batch_size=2),
            ValueError,
            r"epochs must be >= 1",
        ),
        (
            lambda: MLP([3, 4, 3]).fit(X, Y, epochs=1, lr=0.0, batch_size=2),
            ValueError,
            r"lr must be > 0\.0",
        ),
        (
            lambda: MLP([3, 4, 3]).fit(X, Y, epochs=1, lr=0.1, batch_size=0),
            ValueError,
            r"batch_size must be >= 1",
        ),
        (
            lambda: MLP([3, 4, 3]).fit(
                np.full((4, 3), np.nan), Y, epochs=1, lr=0.1, batch_size=2
            ),
            ValueError,
            r"X must contain only finite values",
        ),
        (
            lambda: cross_entropy([[0.5, 0.6]], [0]),
            ValueError,
            r"probs must hold probabilities",
        ),
        (lambda: softmax(np.zeros((2, 2, 2))), ValueError, r"z must be 1-D or 2-D"),
        (lambda: glorot_uniform(0, 3), ValueError, r"fan_in must be >= 1"),
        (
            lambda: glorot_uniform(3, 3, rng=np.random.RandomState(0)),
            TypeError,
            r"rng must be None, a non-negative int seed or a numpy\.random\.Generator",
        ),
    ],
    ids=[
        "one-layer",
        "string-sizes",
        "zero-units",
        "one-class",
        "float-size",
        "activation",
        "negative-l2",
        "x-1d",
        "x-columns",
        "y-length",
        "y-too-big",
        "y-negative",
        "y-float",
        "y-2d",
        "epochs",
        "lr",
        "batch",
        "nan",
        "not-probabilities",
        "softmax-3d",
        "fan-in",
        "legacy-rng",
    ],
)
def test_input_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_diverging_training_raises_naming_lr_and_keeps_parameters() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    net = MLP([2, 8, 2], activation="relu", rng=1)
    before = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match=r"lr=1e\+308 makes training diverge"):
        net.fit(X, y, epochs=5, lr=1e308, batch_size=8, rng=2)
    for w, w0 in zip(net.weights, before, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_inputs_that_overflow_the_network_raise_naming_X() -> None:
    net = MLP([2, 4, 2], activation="relu", rng=0)
    net.weights[0][...] = 10.0
    X = np.full((3, 2), 1e308)
    for call in (net.forward, net.predict):
        with pytest.raises(ValueError, match="X must be small enough for the network"):
            call(X)
    with pytest.raises(ValueError, match="X must be small enough for the network"):
        net.fit(X, [0, 1, 0], epochs=1, lr=0.1, batch_size=3)


def test_size_limits() -> None:
    with pytest.raises(ValueError, match="layer_sizes must need at most"):
        MLP([10**6, 10**6, 2])
    with pytest.raises(ValueError, match="fan_in and fan_out must need at most"):
        glorot_uniform(10**6, 10**6)
    net = MLP([2, 2], rng=0)
    with pytest.raises(ValueError, match=r"epochs must be <= 1000000"):
        net.fit([[0.0, 1.0]], [1], epochs=10**12, lr=0.1, batch_size=1)


# ------------------------------------------------------------------ He initialisation
def test_he_normal_variance_is_two_over_fan_in_whatever_the_fan_out() -> None:
    for fan_in, fan_out in [(400, 50), (100, 800)]:
        w = he_normal(fan_in, fan_out, rng=np.random.default_rng(3))
        assert w.shape == (fan_in, fan_out)
        assert w.dtype == np.float64
        assert w.mean() == pytest.approx(0.0, abs=0.01 * np.sqrt(2 / fan_in))
        assert w.var() == pytest.approx(2 / fan_in, rel=0.02)
    np.testing.assert_array_equal(he_normal(3, 2, rng=5), he_normal(3, 2, rng=5))


def test_he_normal_keeps_the_second_moment_through_a_deep_relu_stack() -> None:
    # The property it is built for: E[z^2] of the pre-activations stays put
    # through 12 ReLU layers of changing width, where LeCun's 1/fan_in halves
    # it at every layer (a brute-force simulation, not the formula).
    rng = np.random.default_rng(0)
    widths = [300, 500, 200, 400, 300, 600, 250, 350, 300, 450, 200, 300, 400]
    x = rng.normal(size=(2000, widths[0]))
    h_he, h_lecun = x, x
    m_he, m_lecun = [], []
    for a, b in itertools.pairwise(widths):
        w = he_normal(a, b, rng=rng)
        z_he = h_he @ w
        z_lecun = h_lecun @ (w / np.sqrt(2))  # N(0, 1/fan_in)
        m_he.append(np.mean(z_he**2))
        m_lecun.append(np.mean(z_lecun**2))
        h_he, h_lecun = np.maximum(z_he, 0), np.maximum(z_lecun, 0)
    assert max(m_he) / min(m_he) < 1.5
    assert m_lecun[-1] / m_lecun[0] < 2.0**-10


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: he_normal(0, 3), ValueError, r"fan_in must be >= 1"),
        (lambda: he_normal(3, 0), ValueError, r"fan_out must be >= 1"),
        (lambda: he_normal(2.5, 3), TypeError, r"fan_in"),  # type: ignore[arg-type]
        (lambda: he_normal(3, 3, rng="seed"), TypeError, r"rng"),
        (
            lambda: he_normal(10**6, 10**6),
            ValueError,
            "fan_in and fan_out must need at most",
        ),
    ],
    ids=["fan-in", "fan-out", "float-fan-in", "bad-rng", "too-large"],
)
def test_he_normal_input_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
