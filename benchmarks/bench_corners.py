"""Harris response and corner peaks against scikit-image and OpenCV (issue 4).

512x512 crop of the Grace Hopper photograph (float64):
``labcode.corners.harris_response`` against ``skimage.feature.corner_harris``
(identical output, checked) and ``cv2.cornerHarris`` (float32, 3x3 Sobel with a
3x3 box window: a different recipe, timed for scale only); ``corner_peaks``
against ``skimage.feature.corner_peaks`` on the same response (identical
output, checked).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks._timing import measure_interleaved
from labcode.corners import corner_peaks, harris_response
from labcode.datasets import grace_hopper

Row = dict[str, Any]


def run(quick: bool = False) -> list[Row]:
    """Return one row per comparison."""
    import cv2
    from skimage import feature

    size = 128 if quick else 512
    image = np.ascontiguousarray(grace_hopper()[:size, :size])
    image32 = image.astype(np.float32)
    ours = harris_response(image)
    theirs = feature.corner_harris(image)
    if not np.array_equal(ours, theirs):
        msg = "harris_response differs from skimage.feature.corner_harris"
        raise AssertionError(msg)
    peaks = corner_peaks(ours, min_distance=10, threshold_rel=0.1)
    if not np.array_equal(
        peaks, feature.corner_peaks(ours, min_distance=10, threshold_rel=0.1)
    ):
        msg = "corner_peaks differs from skimage.feature.corner_peaks"
        raise AssertionError(msg)
    t = measure_interleaved(
        {
            "ours": lambda: harris_response(image),
            "skimage": lambda: feature.corner_harris(image),
            "cv2": lambda: cv2.cornerHarris(image32, 3, 3, 0.05),
            "ours peaks": lambda: corner_peaks(
                ours, min_distance=10, threshold_rel=0.1
            ),
            "skimage peaks": lambda: feature.corner_peaks(
                ours, min_distance=10, threshold_rel=0.1
            ),
        }
    )
    case = f"{size}x{size} photograph, float64, sigma 1"
    return [
        {
            "benchmark": "Harris response",
            "case": case,
            "ours_ms": t["ours"] * 1e3,
            "peer": "skimage.feature.corner_harris",
            "peer_ms": t["skimage"] * 1e3,
            "ratio": t["ours"] / t["skimage"],
            "metric": "identical output",
            "goal": "<= 0.5x scikit-image",
            "met": t["ours"] / t["skimage"] <= 0.5,
        },
        {
            "benchmark": "Harris response",
            "case": f"{case} (cv2: float32, 3x3 box window)",
            "ours_ms": t["ours"] * 1e3,
            "peer": f"cv2.cornerHarris {cv2.__version__}",
            "peer_ms": t["cv2"] * 1e3,
            "ratio": t["ours"] / t["cv2"],
            "metric": "a different recipe, for scale",
            "goal": "",
            "met": None,
        },
        {
            "benchmark": "corner peaks",
            "case": f"{case}, min_distance 10, {len(peaks)} corners",
            "ours_ms": t["ours peaks"] * 1e3,
            "peer": "skimage.feature.corner_peaks",
            "peer_ms": t["skimage peaks"] * 1e3,
            "ratio": t["ours peaks"] / t["skimage peaks"],
            "metric": "identical output",
            "goal": "<= 1x scikit-image",
            "met": t["ours peaks"] <= t["skimage peaks"],
        },
    ]
