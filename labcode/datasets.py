"""Images that need no download: photographs shipped inside matplotlib.

The pages and tests of labcode run offline, so every image comes from a file
installed with a dependency. matplotlib installs a few sample images with its
``mpl-data``; the portrait of Grace Hopper (600 x 512 pixels, RGB JPEG) is a real
photograph with edges, texture and flat regions, which makes it a fair test image
for filters, corners and template matching.
"""

from __future__ import annotations

import matplotlib.cbook
import matplotlib.image
import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    MAX_ELEMENTS,
    FloatArray,
    as_float_array,
    check_bool,
    check_int,
    check_real,
    check_rng,
    check_size,
    format_shape,
)

__all__ = ["MAX_NOISE", "MAX_TURNS", "grace_hopper", "rgb_to_gray", "spirals"]

# ITU-R BT.709 luma weights, the ones skimage.color.rgb2gray uses.
_LUMA = np.array([0.2125, 0.7154, 0.0721])


#: The most windings :func:`spirals` draws: beyond it neighbouring turns of one
#: arm are closer than float64 angles resolve.
MAX_TURNS = 1e6
#: The largest noise of :func:`spirals`, relative to the outer radius 1.
MAX_NOISE = 1e6


def rgb_to_gray(rgb: ArrayLike) -> FloatArray:
    """Convert an RGB image to grayscale with the ITU-R BT.709 luma weights.

    Parameters
    ----------
    rgb : (H, W, 3) or (H, W, 4) array_like
        An RGB or RGBA image; alpha is ignored. Integer images keep their scale
        (0-255 stays 0-255).

    Returns
    -------
    (H, W) ndarray
        ``0.2125 R + 0.7154 G + 0.0721 B``; float32 for float32 input, else float64.

    Examples
    --------
    >>> from labcode.datasets import rgb_to_gray
    >>> rgb_to_gray([[[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]])
    array([[1.    , 0.2125]])
    """
    arr = as_float_array(rgb, "rgb", ndim=3, layout="(H, W, 3)")
    if arr.shape[2] not in (3, 4):
        msg = f"rgb must have 3 or 4 channels (H, W, 3); got shape {format_shape(arr.shape)}"
        raise ValueError(msg)
    gray: FloatArray = arr[..., :3] @ _LUMA.astype(arr.dtype)
    return gray


def grace_hopper(*, gray: bool = True) -> NDArray[np.float64]:
    """Load the portrait of Grace Hopper that ships with matplotlib, in [0, 1].

    Parameters
    ----------
    gray : bool, optional
        Return the (600, 512) luma image (default) or the (600, 512, 3) RGB image.
        Only ``True`` or ``False``: other values are a TypeError.

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> from labcode.datasets import grace_hopper
    >>> image = grace_hopper()
    >>> image.shape, image.dtype, bool(0.0 <= image.min() < image.max() <= 1.0)
    ((600, 512), dtype('float64'), True)
    """
    want_gray = check_bool(gray, "gray")
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rgb = np.asarray(matplotlib.image.imread(path), dtype=np.float64) / 255.0
    if not want_gray:
        return rgb
    out: NDArray[np.float64] = np.clip(rgb @ _LUMA, 0.0, 1.0)
    return out


def spirals(
    n_per_class: int,
    *,
    classes: int = 2,
    turns: float = 1.5,
    noise: float = 0.1,
    rng: object = None,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Interleaved spiral arms in the plane, one arm per class.

    Arm ``c`` starts at the origin and winds ``turns`` times around it, rotated
    by ``2 pi c / classes``; Gaussian noise of standard deviation `noise` (relative
    to the outer radius 1) is added to each point. No straight line separates two
    arms, which makes the set a small test of a non-linear classifier.

    Parameters
    ----------
    n_per_class : int
        Points per arm, >= 1; ``classes * n_per_class`` is at most
        ``labcode._validation.MAX_ELEMENTS / 2``.
    classes : int, optional
        Number of arms, >= 2.
    turns : float, optional
        Windings of each arm, > 0 and at most :data:`MAX_TURNS`.
    noise : float, optional
        Standard deviation of the added noise, >= 0 and at most :data:`MAX_NOISE`.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    X : (classes * n_per_class, 2) ndarray of float64
    y : (classes * n_per_class,) ndarray of int
        Arm of each point, grouped by class.

    Examples
    --------
    >>> from labcode.datasets import spirals
    >>> X, y = spirals(100, classes=3, rng=0)
    >>> X.shape, y.shape, sorted(set(y.tolist()))
    ((300, 2), (300,), [0, 1, 2])
    """
    n = check_int(n_per_class, "n_per_class", minimum=1)
    k = check_int(classes, "classes", minimum=2)
    check_size(
        2 * k * n,
        "n_per_class and classes",
        MAX_ELEMENTS,
        detail=f"{k} classes of {n} points, 2 coordinates each",
    )
    windings = check_real(turns, "turns", low=0.0, high=MAX_TURNS, low_inclusive=False)
    sigma = check_real(noise, "noise", low=0.0, high=MAX_NOISE)
    generator = check_rng(rng)
    radius = np.sqrt(generator.uniform(0.0, 1.0, size=(k, n)))  # uniform along the area
    angle = 2 * np.pi * (windings * radius + np.arange(k)[:, None] / k)
    points = np.stack(
        [radius * np.cos(angle), radius * np.sin(angle)], axis=-1
    ).reshape(-1, 2)
    points += generator.normal(scale=sigma, size=points.shape)
    labels = np.repeat(np.arange(k), n).astype(np.intp)
    return points, labels
