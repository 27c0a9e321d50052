# %% [markdown]
"""
# Detecting corners in a photograph

Compute the Harris response of the Grace Hopper photograph that ships with
matplotlib, pick corners at two scales, and plot them. Run it as
`python examples/detect_corners.py`.
"""

# %%
import matplotlib.pyplot as plt

from labcode.corners import corner_peaks, harris_response
from labcode.datasets import grace_hopper

photo = grace_hopper()
results = {}
for sigma in (1.0, 3.0):
    response = harris_response(photo, sigma=sigma, k=0.05)
    corners = corner_peaks(response, min_distance=10, threshold_rel=0.02)
    results[sigma] = corners
    print(f"sigma {sigma}: {len(corners)} corners; strongest at {corners[0].tolist()}")

# A larger window smooths away fine texture: fewer corners.
assert len(results[3.0]) < len(results[1.0])

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 6), layout="constrained")
for ax, (sigma, corners) in zip(axes, results.items(), strict=True):
    ax.imshow(photo, cmap="gray")
    ax.plot(corners[:, 1], corners[:, 0], "+", color="tab:orange", ms=7, mew=1.5)
    ax.set_title(f"sigma = {sigma}: {len(corners)} corners")
    ax.set_axis_off()
plt.show()
