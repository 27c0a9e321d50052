"""Images that need no download: photographs shipped inside matplotlib.

The pages and tests of labcode run offline, so every image comes from a file
installed with a dependency. matplotlib installs a few sample images with its
``mpl-data``; the portrait of Grace Hopper (600 x 512 pixels, RGB JPEG) is a real
photograph with edges, texture and flat regions, which makes it a fair test image
for filters, corners and template matching.
"""

from __future__ import annotations

from typing import Any

import matplotlib.cbook
import matplotlib.image
import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import as_float_array, format_shape

__all__ = ["grace_hopper", "rgb_to_gray"]

# ITU-R BT.709 luma weights, the ones skimage.color.rgb2gray uses.
_LUMA = np.array([0.2125, 0.7154, 0.0721])


def rgb_to_gray(rgb: ArrayLike) -> NDArray[np.floating[Any]]:
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
    gray: NDArray[np.floating[Any]] = arr[..., :3] @ _LUMA.astype(arr.dtype)
    return gray


def grace_hopper(*, gray: bool = True) -> NDArray[np.float64]:
    """Load the portrait of Grace Hopper that ships with matplotlib, in [0, 1].

    Parameters
    ----------
    gray : bool, optional
        Return the (600, 512) luma image (default) or the (600, 512, 3) RGB image.

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
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rgb = np.asarray(matplotlib.image.imread(path), dtype=np.float64) / 255.0
    if not gray:
        return rgb
    out: NDArray[np.float64] = np.clip(rgb @ _LUMA, 0.0, 1.0)
    return out
