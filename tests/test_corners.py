from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import ndimage
from skimage import feature

from labcode.corners import (
    corner_peaks,
    harris_response,
    harris_response_naive,
    structure_tensor,
)
from labcode.datasets import grace_hopper

PHOTO = grace_hopper()[:256, 128:384]
RNG = np.random.default_rng(17)


def polygon_image() -> tuple[NDArray[np.float64], NDArray[np.int_]]:
    """Bright shapes on a dark background, with their corners."""
    image = np.zeros((120, 160))
    image[20:50, 20:70] = 1.0  # rectangle
    image[70:100, 90:140] = 0.6  # another, darker
    corners = [
        (20, 20),
        (20, 69),
        (49, 20),
        (49, 69),
        (70, 90),
        (70, 139),
        (99, 90),
        (99, 139),
    ]
    return image, np.array(corners)


def match(
    found: NDArray[np.int_], truth: NDArray[np.int_], tol: int = 2
) -> tuple[float, float]:
    distances = np.abs(found[:, None, :] - truth[None, :, :]).max(axis=2)
    recall = np.mean(distances.min(axis=0) <= tol)
    precision = np.mean(distances.min(axis=1) <= tol)
    return float(recall), float(precision)


# ------------------------------------------------------------------ against scikit-image
@pytest.mark.parametrize("method", ["harris", "noble"])
@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.5])
@pytest.mark.parametrize(
    "dtype",
    [np.float64, np.float32, np.uint8, np.int16, np.bool_],
    ids=lambda d: np.dtype(d).name,
)
def test_response_equals_skimage_exactly(
    method: str, sigma: float, dtype: type[np.generic]
) -> None:
    if dtype == np.bool_:
        image = PHOTO > 0.5
    elif np.dtype(dtype).kind in "iu":
        image = (PHOTO * np.iinfo(np.dtype(dtype)).max).astype(dtype)
    else:
        image = PHOTO.astype(dtype)
    ours = harris_response(image, sigma=sigma, method=method, k=0.04)
    theirs = feature.corner_harris(
        image, sigma=sigma, method="k" if method == "harris" else "eps", k=0.04
    )
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_structure_tensor_equals_skimage() -> None:
    ours = structure_tensor(PHOTO, sigma=1.5)
    theirs = feature.structure_tensor(PHOTO, sigma=1.5, order="rc")
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_gaussian_derivative_recipe() -> None:
    arr, arc, acc = structure_tensor(PHOTO, sigma=2.0, gradient="gaussian")
    i_r = ndimage.gaussian_filter(PHOTO, 2.0, order=(1, 0), mode="constant")
    i_c = ndimage.gaussian_filter(PHOTO, 2.0, order=(0, 1), mode="constant")
    np.testing.assert_allclose(
        arc, ndimage.gaussian_filter(i_r * i_c, 2.0, mode="constant"), atol=1e-15
    )
    np.testing.assert_allclose(
        arr, ndimage.gaussian_filter(i_r * i_r, 2.0, mode="constant"), atol=1e-15
    )
    np.testing.assert_allclose(
        acc, ndimage.gaussian_filter(i_c * i_c, 2.0, mode="constant"), atol=1e-15
    )


@pytest.mark.parametrize("min_distance", [1, 3, 10])
@pytest.mark.parametrize("threshold_rel", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("exclude_border", [True, False])
def test_corner_peaks_equals_skimage(
    min_distance: int, threshold_rel: float, exclude_border: bool
) -> None:
    response = harris_response(PHOTO)
    ours = corner_peaks(
        response,
        min_distance=min_distance,
        threshold_rel=threshold_rel,
        exclude_border=exclude_border,
    )
    theirs = feature.corner_peaks(
        response,
        min_distance=min_distance,
        threshold_rel=threshold_rel,
        exclude_border=exclude_border,
    )
    np.testing.assert_array_equal(ours, theirs)


def test_corner_peaks_plateaus_and_spacing() -> None:
    response = np.zeros((30, 30))
    response[10:13, 10:13] = (
        1.0  # a flat plateau: one corner, the first in row-major order
    )
    response[20, 25] = 0.5
    peaks = corner_peaks(response, min_distance=2, exclude_border=False)
    assert peaks.tolist() == [[10, 10], [20, 25]]
    np.testing.assert_array_equal(
        peaks,
        feature.corner_peaks(
            response, min_distance=2, threshold_rel=0.1, exclude_border=False
        ),
    )
    random = RNG.random((60, 60))
    peaks = corner_peaks(
        random, min_distance=4, threshold_rel=0.0, exclude_border=False
    )
    gaps = np.abs(peaks[:, None, :] - peaks[None, :, :]).max(axis=2)
    np.fill_diagonal(gaps, 99)
    assert gaps.min() > 4
    strengths = random[peaks[:, 0], peaks[:, 1]]
    assert np.all(np.diff(strengths) <= 0)  # strongest first


# ------------------------------------------------------------------ behaviour
@pytest.mark.parametrize("method", ["harris", "noble"])
def test_synthetic_corners_found(method: str) -> None:
    image, truth = polygon_image()
    found = corner_peaks(
        harris_response(image, method=method), min_distance=5, threshold_rel=0.05
    )
    recall, precision = match(found, truth)
    assert recall == 1.0
    assert precision == 1.0


def test_transposition_and_rotation_invariance() -> None:
    response = harris_response(PHOTO)
    np.testing.assert_allclose(
        harris_response(PHOTO.T), response.T, rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        harris_response(np.rot90(PHOTO)), np.rot90(response), rtol=1e-12, atol=1e-15
    )
    peaks = corner_peaks(response, min_distance=5)
    rotated = corner_peaks(harris_response(np.rot90(PHOTO)), min_distance=5)
    h = PHOTO.shape[1]
    expected = np.stack(
        [h - 1 - peaks[:, 1], peaks[:, 0]], axis=1
    )  # where rot90 sends (r, c)
    assert {tuple(p) for p in rotated.tolist()} == {tuple(p) for p in expected.tolist()}


@pytest.mark.parametrize("method", ["harris", "noble"])
def test_constant_image_has_no_corners(method: str) -> None:
    for image in (np.zeros((20, 20)), np.full((20, 20), 7.0, dtype=np.float32)):
        response = harris_response(image, method=method)
        assert np.all(np.isfinite(response))
        assert corner_peaks(response, min_distance=2).shape == (0, 2)


def test_edges_are_negative_and_corners_positive() -> None:
    image, _ = polygon_image()
    response = harris_response(image)
    assert response[20, 45] < 0  # middle of the top edge of the rectangle
    assert response[20, 20] > 0  # its corner
    assert abs(response[5, 100]) < 1e-12  # flat background


def test_float32_stays_float32_and_is_close_to_float64() -> None:
    r32 = harris_response(PHOTO.astype(np.float32))
    assert r32.dtype == np.float32
    assert structure_tensor(PHOTO.astype(np.float32))[0].dtype == np.float32
    np.testing.assert_allclose(
        r32, harris_response(PHOTO), atol=1e-5 * np.abs(r32).max()
    )


def test_structure_tensor_results_are_independent_arrays() -> None:
    a1 = structure_tensor(PHOTO)
    a2 = structure_tensor(PHOTO[::-1])
    np.testing.assert_array_equal(a1[0], feature.structure_tensor(PHOTO, order="rc")[0])
    assert a2[0] is not a1[0]


# ------------------------------------------------------------------ input checks
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: harris_response(np.zeros((8, 8, 3))),
            ValueError,
            r"image must be 2-D grayscale; got shape \(8, 8, 3\), which looks like RGB\(A\): convert it first",
        ),
        (
            lambda: harris_response(np.zeros(8)),
            ValueError,
            r"image must be 2-D grayscale \(H, W\); got shape \(8,\)",
        ),
        (
            lambda: harris_response(np.zeros((0, 4))),
            ValueError,
            r"image must not be empty",
        ),
        (
            lambda: harris_response(np.zeros((4, 4), dtype=complex)),
            TypeError,
            r"image must be real; got complex dtype",
        ),
        (
            lambda: harris_response(np.full((4, 4), np.nan)),
            ValueError,
            r"image must contain only finite values",
        ),
        (
            lambda: harris_response(np.zeros((4, 4)), sigma=0),
            ValueError,
            r"sigma must be > 0\.0; got 0\.0",
        ),
        (
            lambda: harris_response(np.zeros((4, 4)), k=0.3),
            ValueError,
            r"k must be < 0\.25; got 0\.3",
        ),
        (
            lambda: harris_response(np.zeros((4, 4)), k=-0.1),
            ValueError,
            r"k must be >= 0\.0",
        ),
        (
            lambda: harris_response(np.zeros((4, 4)), eps=0.0),
            ValueError,
            r"eps must be > 0\.0",
        ),
        (
            lambda: harris_response(np.zeros((4, 4)), method="k"),
            ValueError,
            r"method must be one of 'harris', 'noble'; got 'k'",
        ),
        (
            lambda: structure_tensor(np.zeros((4, 4)), gradient="scharr"),
            ValueError,
            r"gradient must be one of 'sobel', 'gaussian'",
        ),
        (
            lambda: corner_peaks(np.zeros((4, 4)), min_distance=0),
            ValueError,
            r"min_distance must be >= 1; got 0",
        ),
        (
            lambda: corner_peaks(np.zeros((4, 4)), threshold_rel=1.5),
            ValueError,
            r"threshold_rel must be <= 1\.0; got 1\.5",
        ),
        (
            lambda: corner_peaks(np.zeros((4, 4, 2))),
            ValueError,
            r"response must be 2-D \(H, W\); got shape \(4, 4, 2\)",
        ),
        (
            lambda: corner_peaks(np.zeros((4, 4)), exclude_border="yes"),  # type: ignore[arg-type]
            TypeError,
            r"exclude_border must be a bool",
        ),
        (
            lambda: corner_peaks(np.full((4, 4), np.inf)),
            ValueError,
            r"response must contain only finite values",
        ),
    ],
    ids=[
        "rgb",
        "1d",
        "empty",
        "complex",
        "nan",
        "sigma",
        "k-high",
        "k-negative",
        "eps",
        "method",
        "gradient",
        "min-distance",
        "threshold",
        "response-3d",
        "exclude-border",
        "response-inf",
    ],
)
def test_input_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("gradient", ["sobel", "gaussian"])
@pytest.mark.parametrize("method", ["harris", "noble"])
@pytest.mark.parametrize("sigma", [0.05, 0.7, 1.5, 3.0, 40.0])
def test_naive_twin_agrees(gradient: str, method: str, sigma: float) -> None:
    rng = np.random.default_rng(7)
    image = rng.random((9, 11))
    fast = harris_response(image, sigma=sigma, method=method, gradient=gradient)
    naive = harris_response_naive(image, sigma=sigma, method=method, gradient=gradient)
    # det M cancels to rounding where the image is flat: the noise there scales
    # with tr(M)**2 (Harris) or tr(M) (Noble), not with the response.
    a_rr, _, a_cc = structure_tensor(image, sigma=sigma, gradient=gradient)
    trace = float(np.max(a_rr + a_cc))
    scale = trace * trace if method == "harris" else trace
    np.testing.assert_allclose(fast, naive, rtol=1e-9, atol=1e-12 * scale)


@pytest.mark.parametrize("sigma", [1e5, 1e308])
def test_huge_sigma_is_bounded_and_finite(sigma: float) -> None:
    rng = np.random.default_rng(0)
    image = rng.random((8, 8))
    response = harris_response(image, sigma=sigma)
    assert response.shape == (8, 8)
    assert np.all(np.isfinite(response))
    if sigma == 1e5:
        naive = harris_response_naive(image, sigma=sigma)
        np.testing.assert_allclose(
            response, naive, rtol=1e-9, atol=1e-12 * float(np.max(np.abs(naive)))
        )
    for gradient in ("sobel", "gaussian"):
        tensor = structure_tensor(image, sigma=sigma, gradient=gradient)
        assert all(np.all(np.isfinite(t)) for t in tensor)


def test_sigma_just_above_the_image_size_matches_skimage() -> None:
    skimage_feature = pytest.importorskip("skimage.feature")
    rng = np.random.default_rng(1)
    image = rng.random((6, 7))
    for sigma in (1.7, 2.0, 5.0):  # radius 7, 8 and 20: around and beyond the image
        np.testing.assert_allclose(
            harris_response(image, sigma=sigma, k=0.05),
            skimage_feature.corner_harris(image, sigma=sigma, k=0.05),
            rtol=1e-10,
            atol=1e-15,
        )


@pytest.mark.parametrize("sigma", [1e-3, 1e-100, 1e-320])
def test_tiny_sigma_is_no_window(sigma: float) -> None:
    image = np.zeros((5, 5))
    image[2:, 2:] = 1.0
    for gradient in ("sobel", "gaussian"):
        response = harris_response(image, sigma=sigma, gradient=gradient)
        assert np.all(np.isfinite(response))
    np.testing.assert_allclose(
        harris_response(image, sigma=sigma), harris_response(image, sigma=0.1)
    )


def test_constant_image_as_documented() -> None:
    sigma = 1.0
    border = 1 + int(4 * sigma + 0.5)
    image = np.full((16, 16), 0.7)
    response = harris_response(image, sigma=sigma)
    inner = response[border:-border, border:-border]
    np.testing.assert_array_equal(inner, 0.0)
    assert np.any(response != 0.0)  # the border is an edge of the zero padding
    np.testing.assert_array_equal(harris_response(np.zeros((8, 8))), 0.0)


def test_overflowing_image_raises() -> None:
    image = np.zeros((6, 6))
    image[3:, 3:] = 1e200
    with pytest.raises(ValueError, match="image must have values small enough"):
        harris_response(image)
    with pytest.raises(ValueError, match="image must have values small enough"):
        structure_tensor(image)
    image[3:, 3:] = 1e100
    with pytest.raises(ValueError, match=r"response \(fourth powers"):
        harris_response(image)


def test_corner_peaks_huge_min_distance_and_bool() -> None:
    r = np.zeros((9, 9))
    r[2, 2], r[6, 6] = 5.0, 3.0
    far = corner_peaks(r, min_distance=10**12, exclude_border=False)
    assert far.tolist() == [[2, 2]]
    assert corner_peaks(r, min_distance=10**12).shape == (0, 2)
    flags = r > 0
    assert corner_peaks(flags, min_distance=1, exclude_border=False).tolist() == [
        [2, 2],
        [6, 6],
    ]
    with pytest.raises(TypeError, match="exclude_border must be a bool"):
        corner_peaks(r, exclude_border=None)  # type: ignore[arg-type]


def test_naive_twin_bounds_its_loops() -> None:
    with pytest.raises(
        ValueError, match="image and sigma must need at most 10000000 loop"
    ):
        harris_response_naive(np.zeros((200, 200)), sigma=3.0)
