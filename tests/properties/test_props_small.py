"""Property tests of labcode.gradcheck and labcode.datasets, and hostile input."""

import numpy as np
import pytest
from contract_helpers import SUITE, Entry, bounded, check_hostile, hostile_values
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from labcode.datasets import grace_hopper, rgb_to_gray, spirals
from labcode.gradcheck import numerical_gradient, relative_error

RNG = np.random.default_rng(4)
RGB = RNG.random((3, 4, 3))


def _quadratic(v: NDArray[np.float64]) -> float:
    return float(np.sum(v * v))


ENTRIES = [
    Entry(
        "labcode.gradcheck.numerical_gradient",
        numerical_gradient,
        {"f": _quadratic, "x": np.ones((2, 3)), "h": 1e-5},
    ),
    Entry(
        "labcode.gradcheck.relative_error",
        relative_error,
        {"a": np.ones(3), "b": np.arange(3.0)},
    ),
    Entry("labcode.datasets.rgb_to_gray", rgb_to_gray, {"rgb": RGB}),
    Entry("labcode.datasets.grace_hopper", grace_hopper, {"gray": True}),
    Entry(
        "labcode.datasets.spirals",
        spirals,
        {"n_per_class": 5, "classes": 3, "turns": 1.5, "noise": 0.1, "rng": 0},
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


points = st.builds(
    lambda seed, shape, order, scale: np.array(
        np.random.default_rng(seed).standard_normal(shape) * scale, order=order
    ),
    st.integers(0, 2**32 - 1),
    st.sampled_from([(3,), (2, 3), (2, 2, 2)]),
    st.sampled_from(["C", "F"]),
    st.sampled_from([1.0, 1e-3, 1e3]),
)


@pytest.mark.covers("labcode.gradcheck.numerical_gradient")
@SUITE
@given(points, st.integers(0, 2**32 - 1))
def test_numerical_gradient_of_a_quadratic_form(
    x: NDArray[np.float64], seed: int
) -> None:
    a = np.random.default_rng(seed).standard_normal((x.size, x.size))

    def f(v: NDArray[np.float64]) -> float:
        flat = v.reshape(-1)
        return float(flat @ a @ flat)

    got = bounded(numerical_gradient, f, x)
    want = ((a + a.T) @ x.reshape(-1)).reshape(x.shape)
    scale = float(np.max(np.abs(a))) * max(1.0, float(np.max(np.abs(x))))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * scale)


finite = st.floats(-1e308, 1e308, allow_nan=False)


@pytest.mark.covers("labcode.gradcheck.relative_error")
@SUITE
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=6))
def test_relative_error_is_symmetric_and_bounded(
    pairs: list[tuple[float, float]],
) -> None:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    e = bounded(relative_error, a, b)
    assert 0.0 <= e <= 1.0
    assert e == relative_error(b, a)
    assert relative_error(a, a) == 0.0


@pytest.mark.covers("labcode.datasets.spirals")
@SUITE
@given(
    st.integers(1, 50),
    st.integers(2, 5),
    st.floats(1e-3, 1e6),
    st.floats(0.0, 1e6),
    st.integers(0, 2**32 - 1),
)
def test_spirals_shapes_labels_and_determinism(
    n: int, classes: int, turns: float, noise: float, seed: int
) -> None:
    X, y = bounded(spirals, n, classes=classes, turns=turns, noise=noise, rng=seed)
    assert X.shape == (n * classes, 2)
    assert np.all(np.isfinite(X))
    assert np.array_equal(np.bincount(y), np.full(classes, n))
    X2, _ = spirals(n, classes=classes, turns=turns, noise=noise, rng=seed)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.covers("labcode.datasets.rgb_to_gray", "labcode.datasets.grace_hopper")
@SUITE
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([3, 4]),
    st.sampled_from([np.float64, np.float32, np.uint8]),
)
def test_rgb_to_gray_equals_skimage(
    seed: int, channels: int, dtype: type[np.generic]
) -> None:
    color = pytest.importorskip("skimage.color")
    rgb = np.random.default_rng(seed).random((4, 5, channels))
    if dtype == np.uint8:
        rgb = (rgb * 255).astype(np.uint8)
        want = color.rgb2gray(rgb[..., :3].astype(np.float64))
    else:
        rgb = rgb.astype(dtype)
        want = color.rgb2gray(rgb[..., :3].astype(np.float64))
    got = bounded(rgb_to_gray, rgb)
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    photo = grace_hopper(gray=False)
    np.testing.assert_allclose(
        bounded(grace_hopper), np.clip(rgb_to_gray(photo), 0, 1), atol=1e-12
    )
