# %% [markdown]
"""
# Template matching under noise

Cut three patches out of a photograph, bury the photograph in more and more
Gaussian noise, and look for each patch again with
{func}`labcode.conv.match_template` (normalised cross-correlation) and with a
plain correlation of the mean-subtracted template. Run it as
`python examples/template_matching.py`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from labcode.conv import best_match, correlate2d, match_template
from labcode.datasets import grace_hopper

photo = grace_hopper()[:512, :512]
size = 48
patches = {"eye": (180, 165), "star": (75, 10), "cap badge": (55, 230)}
noise_levels = [0.0, 0.1, 0.2, 0.4]
rng = np.random.default_rng(3)

found = {}
found_plain = {}
print(f"{'patch':10s}{'noise':>7s}{'NCC finds':>14s}{'score':>7s}{'plain finds':>14s}")
for sigma in noise_levels:
    noisy = photo + rng.normal(scale=sigma, size=photo.shape)
    for name, (top, left) in patches.items():
        template = photo[top : top + size, left : left + size]
        scores = match_template(noisy, template)
        plain = correlate2d(noisy - noisy.mean(), template - template.mean())
        found[name, sigma] = best_match(scores)
        found_plain[name, sigma] = best_match(plain)
        print(
            f"{name:10s}{sigma:7.1f}{found[name, sigma]!s:>14s}"
            f"{scores.max():7.2f}{found_plain[name, sigma]!s:>14s}"
        )

# Normalised cross-correlation finds every patch at every noise level here.
for (name, sigma), where in found.items():
    assert where == patches[name], (name, sigma, where)
# Plain correlation misses the eye at every noise level, even without noise:
# its score is the NCC times the window's contrast, and a high-contrast window
# elsewhere wins (see the convolution page).
assert all(found_plain["eye", sigma] != patches["eye"] for sigma in noise_levels)

# %% [markdown]
"""
The photograph at the strongest noise level, with the true patches (orange) and
the positions found (cyan crosses, at each patch's top-left corner).
"""

# %%
fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
ax.imshow(noisy, cmap="gray", vmin=0, vmax=1)
for name, (top, left) in patches.items():
    ax.add_patch(Rectangle((left, top), size, size, fill=False, ec="tab:orange", lw=2))
    row, col = found[name, noise_levels[-1]]
    ax.plot(col, row, "c+", ms=16, mew=2)
    ax.annotate(name, (left, top - 6), color="tab:orange", fontsize=11)
ax.set_title(f"noise sigma = {noise_levels[-1]} on a 0-1 scale")
ax.set_axis_off()
plt.show()
