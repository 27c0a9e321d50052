from typing import Any

import numpy as np
import pytest

from labcode.datasets import grace_hopper, rgb_to_gray, spirals


def test_grace_hopper_gray_and_rgb() -> None:
    rgb = grace_hopper(gray=False)
    gray = grace_hopper()
    assert rgb.shape == (600, 512, 3)
    assert gray.shape == (600, 512)
    assert 0.0 <= gray.min() < gray.max() <= 1.0
    np.testing.assert_allclose(gray, rgb_to_gray(rgb), atol=1e-12)


def test_rgb_to_gray_weights_sum_to_one() -> None:
    white = np.ones((2, 3, 3), dtype=np.float32)
    out = rgb_to_gray(white)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)
    rgba = np.concatenate([white, np.zeros((2, 3, 1), dtype=np.float32)], axis=2)
    np.testing.assert_allclose(rgb_to_gray(rgba), out)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4)), r"rgb must be 3-D \(H, W, 3\); got shape \(4, 4\)"),
        (
            np.zeros((4, 4, 2)),
            r"rgb must have 3 or 4 channels \(H, W, 3\); got shape \(4, 4, 2\)",
        ),
    ],
    ids=["2d", "two-channels"],
)
def test_rgb_to_gray_errors(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rgb_to_gray(image)


def test_spirals_shapes_and_reproducibility() -> None:
    x, y = spirals(50, classes=3, noise=0.0, rng=1)
    assert x.shape == (150, 2)
    assert np.bincount(y).tolist() == [50, 50, 50]
    assert np.all(np.hypot(x[:, 0], x[:, 1]) <= 1.0 + 1e-12)
    x2, _ = spirals(50, classes=3, noise=0.0, rng=1)
    np.testing.assert_array_equal(x, x2)
    # Without noise, a point of arm c at radius r sits at angle 2 pi (1.5 r + c / 3).
    r = np.hypot(x[:, 0], x[:, 1])
    expected = 2 * np.pi * (1.5 * r + y / 3)
    gap = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - expected)))
    np.testing.assert_allclose(gap, 0.0, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_per_class": 0}, "n_per_class must be >= 1"),
        ({"classes": 1}, "classes must be >= 2"),
        ({"turns": 0.0}, r"turns must be > 0\.0"),
        ({"noise": -1.0}, r"noise must be >= 0\.0"),
    ],
    ids=["n", "classes", "turns", "noise"],
)
def test_spirals_errors(kwargs: dict[str, Any], message: str) -> None:
    args = {"n_per_class": 10} | kwargs
    with pytest.raises(ValueError, match=message):
        spirals(**args)


@pytest.mark.parametrize("bad", [None, 0, 1, "no", 1.0])
def test_grace_hopper_gray_is_a_bool(bad: object) -> None:
    with pytest.raises(
        TypeError, match=r"^gray must be a bool \(True or False\); got "
    ):
        grace_hopper(gray=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_per_class": 10**9}, "n_per_class and classes must need at most"),
        ({"n_per_class": 10, "classes": 10**9}, "n_per_class and classes must need"),
        ({"n_per_class": 10, "turns": 1e300}, r"turns must be <= 1000000.0"),
        ({"n_per_class": 10, "noise": 1e300}, r"noise must be <= 1000000.0"),
        ({"n_per_class": 10, "rng": -1}, r"rng must be None, a non-negative int seed"),
    ],
)
def test_spirals_limits(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spirals(**kwargs)


def test_spirals_at_the_limits_are_finite() -> None:
    X, _ = spirals(50, turns=1e6, noise=1e6, rng=0)
    assert np.all(np.isfinite(X))
