# %% [markdown]
"""
# Skewness and kurtosis of four distributions

Draw samples from four distributions with known shape, estimate their skewness
and excess kurtosis with {mod}`labcode.moments`, and compare the estimates with
the exact values and with `scipy.stats`. Run it as
`python examples/skewness_and_kurtosis.py`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from labcode.moments import kurtosis, pearson_median_skewness, skewness

rng = np.random.default_rng(11)
dists = {
    "normal": stats.norm(),
    "uniform": stats.uniform(),
    "exponential": stats.expon(),
    "Laplace": stats.laplace(),
}
samples = {
    name: dist.rvs(size=100_000, random_state=rng) for name, dist in dists.items()
}

print(
    f"{'distribution':14s}{'skew':>9s}{'exact':>9s}{'ex. kurt':>10s}{'exact':>9s}{'Pearson':>9s}"
)
for name, dist in dists.items():
    x = samples[name]
    _, _, exact_skew, exact_kurt = (float(v) for v in dist.stats(moments="mvsk"))
    g1, g2 = skewness(x, bias=False), kurtosis(x, bias=False)
    np.testing.assert_allclose(g1, stats.skew(x, bias=False), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        g2, stats.kurtosis(x, bias=False), rtol=1e-10, atol=1e-12
    )
    print(
        f"{name:14s}{g1:9.3f}{exact_skew:9.3f}{g2:10.3f}{exact_kurt:9.3f}"
        f"{pearson_median_skewness(x):9.3f}"
    )
    # 100 000 draws: the estimates are close to the exact values.
    assert abs(g1 - exact_skew) < 0.1, name
    assert abs(g2 - exact_kurt) < 0.5, name

# Pearson's median skewness is a different statistic: 3 (1 - ln 2) for the
# exponential, not its moment skewness 2.
assert abs(pearson_median_skewness(samples["exponential"]) - 3 * (1 - np.log(2))) < 0.05

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 2.8))
for ax, (name, x) in zip(axes, samples.items(), strict=True):
    ax.hist(x, bins=80, density=True, color="0.7")
    ax.set_title(
        f"{name}\nskew {skewness(x):.2f}, excess kurt {kurtosis(x):.2f}", fontsize=9
    )
    ax.set_yticks([])
fig.tight_layout()
plt.show()
