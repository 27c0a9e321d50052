# %% [markdown]
"""
# Training a small network on spirals

Train {class}`labcode.mlp.MLP` on two interleaved spirals with plain minibatch
SGD, compare the three hidden activations, and draw the decision regions of the
best one. The tanh and sigmoid networks start from Glorot's initialisation (the
default), the ReLU network from He's, {func}`labcode.mlp.he_normal`, made for
ReLU units. Run it as `python examples/train_mlp_on_spirals.py`.
"""

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np

from labcode.datasets import spirals
from labcode.mlp import MLP, he_normal

X, y = spirals(250, classes=2, turns=1.25, noise=0.06, rng=5)
order = np.random.default_rng(6).permutation(len(y))
train, test = order[:350], order[350:]

results = {}
for activation, lr in [("tanh", 0.1), ("relu", 0.2), ("sigmoid", 1.0)]:
    sizes = [2, 32, 32, 2]
    net = MLP(sizes, activation=activation, rng=7)
    if activation == "relu":
        init_rng = np.random.default_rng(7)
        net.weights = [
            he_normal(a, b, rng=init_rng) for a, b in itertools.pairwise(sizes)
        ]
    history = net.fit(X[train], y[train], epochs=600, lr=lr, batch_size=25, rng=8)
    results[activation] = (net, history, net.score(X[test], y[test]))
    print(
        f"{activation:8s} final loss {history[-1]:.4f}   held-out accuracy {results[activation][2]:.3f}"
    )

best = max(results, key=lambda name: results[name][2])
assert results[best][2] > 0.9

# %%
net, history, accuracy = results[best]
fig, (ax_l, ax_b) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, (_, h, _) in results.items():
    ax_l.semilogy(h, label=name)
ax_l.set(xlabel="epoch", ylabel="training loss", title="loss curves")
ax_l.legend()
grid = np.linspace(-1.3, 1.3, 250)
gx, gy = np.meshgrid(grid, grid)
regions = net.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
ax_b.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
ax_b.scatter(X[test, 0], X[test, 1], c=y[test], cmap="coolwarm", s=10)
ax_b.set(title=f"{best}: held-out accuracy {accuracy:.3f}", aspect="equal")
plt.show()
