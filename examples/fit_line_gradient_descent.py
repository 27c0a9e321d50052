# %% [markdown]
"""
# Fitting a line by gradient descent

Generate noisy points around a known line, fit them by gradient descent with
{func}`labcode.regression.gradient_descent`, and compare with the closed-form
least-squares solution from `numpy.linalg.lstsq`. Run it as
`python examples/fit_line_gradient_descent.py`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from labcode.regression import add_intercept, gradient_descent, stable_learning_rate

rng = np.random.default_rng(7)
x = rng.uniform(-3.0, 3.0, size=200)
y = 1.5 - 0.8 * x + rng.normal(0.0, 0.4, size=x.size)

X = add_intercept(x)  # (200, 2): a column of ones, then x
lr = 0.5 * stable_learning_rate(X)  # 1 / L, safely inside the bound 2 / L
theta, losses = gradient_descent(X, y, lr=lr, iterations=500, tol=1e-12)
theta_lstsq, *_ = np.linalg.lstsq(X, y, rcond=None)

print(f"step size lr = {lr:.4f}, steps taken = {losses.size - 1}")
print(f"gradient descent: intercept {theta[0]:+.6f}, slope {theta[1]:+.6f}")
print(f"numpy lstsq:      intercept {theta_lstsq[0]:+.6f}, slope {theta_lstsq[1]:+.6f}")
np.testing.assert_allclose(theta, theta_lstsq, rtol=1e-9)
# The step is inside the stability bound, and the loss falls at every step.
assert 0 < lr < stable_learning_rate(X)
assert np.all(np.diff(losses) <= 1e-15)

# %%
fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.5))
grid = np.linspace(-3.0, 3.0, 2)
ax_fit.scatter(x, y, s=8, color="0.5", label="data")
ax_fit.plot(grid, theta[0] + theta[1] * grid, lw=2, label="gradient descent fit")
ax_fit.set_xlabel("x")
ax_fit.set_ylabel("y")
ax_fit.legend(frameon=False)
ax_loss.semilogy(losses - losses[-1] + 1e-16, lw=2)
ax_loss.set_xlabel("step")
ax_loss.set_ylabel("loss minus final loss")
ax_loss.set_title("Convergence")
fig.tight_layout()
plt.show()
