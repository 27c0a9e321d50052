import numpy as np
import pytest

from labcode.datasets import grace_hopper, rgb_to_gray


def test_grace_hopper_gray_and_rgb():
    rgb = grace_hopper(gray=False)
    gray = grace_hopper()
    assert rgb.shape == (600, 512, 3)
    assert gray.shape == (600, 512)
    assert 0.0 <= gray.min() < gray.max() <= 1.0
    np.testing.assert_allclose(gray, rgb_to_gray(rgb), atol=1e-12)


def test_rgb_to_gray_weights_sum_to_one():
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
def test_rgb_to_gray_errors(image, message):
    with pytest.raises(ValueError, match=message):
        rgb_to_gray(image)
