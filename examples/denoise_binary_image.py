# %% [markdown]
"""
# Denoising a binary image with a Markov random field

Flip 10%, 20% and 30% of the pixels of a binary picture made in code, then
restore it with {func}`labcode.mrf.denoise_binary`: iterated conditional modes
(a local minimum) and the graph cut (the exact minimum of the Ising energy).
The data weight is the log-odds of the flip rate, so the energy is the negative
log-posterior. Run it as `python examples/denoise_binary_image.py`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from labcode.mrf import denoise_binary

size = 96
r, c = np.indices((size, size))
clean = (np.hypot(r - 48, c - 30) < 22).astype(int)
clean[10:40, 55:88] = 1
clean[60:86, 50:90] = np.hypot(r[60:86, 50:90] - 73, c[60:86, 50:90] - 70) > 8
rng = np.random.default_rng(4)

rows = []
print(f"{'flip rate':>9s}{'noisy':>8s}{'ICM':>8s}{'graph cut':>11s}   (pixel accuracy)")
for rate in (0.1, 0.2, 0.3):
    noisy = clean ^ (rng.random(clean.shape) < rate)
    beta = np.log((1 - rate) / rate)
    local = denoise_binary(noisy, data_weight=beta, smoothness=1.0, method="icm")
    exact = denoise_binary(noisy, data_weight=beta, smoothness=1.0)
    acc = [np.mean(x == clean) for x in (noisy, local, exact)]
    rows.append((rate, noisy, local, exact))
    print(f"{rate:9.1f}{acc[0]:8.3f}{acc[1]:8.3f}{acc[2]:11.3f}")
    assert acc[2] >= acc[1] > acc[0]

# %%
fig, axes = plt.subplots(3, 3, figsize=(7, 7), layout="constrained")
for row, (rate, *images) in zip(axes, rows, strict=True):
    for ax, image, title in zip(
        row, images, ("noisy", "ICM", "graph cut"), strict=True
    ):
        ax.imshow(image, cmap="gray")
        ax.set_title(f"{title}, {rate:.0%} flipped", fontsize=9)
        ax.set_axis_off()
plt.show()
