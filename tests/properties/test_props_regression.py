"""Property tests of labcode.regression: naive twin, numpy, hostile input."""

import numpy as np
import pytest
from contract_helpers import SUITE, Entry, bounded, check_hostile, hostile_values
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from labcode.regression import (
    add_intercept,
    gradient_descent,
    mse_gradient,
    mse_gradient_naive,
    mse_loss,
    stable_learning_rate,
)

RNG = np.random.default_rng(3)
X = RNG.standard_normal((6, 2))
Y = RNG.standard_normal(6)
THETA = RNG.standard_normal(2)

ENTRIES = [
    Entry("labcode.regression.add_intercept", add_intercept, {"x": X}),
    Entry("labcode.regression.mse_loss", mse_loss, {"X": X, "y": Y, "theta": THETA}),
    Entry(
        "labcode.regression.mse_gradient",
        mse_gradient,
        {"X": X, "y": Y, "theta": THETA},
    ),
    Entry(
        "labcode.regression.mse_gradient_naive",
        mse_gradient_naive,
        {"X": X, "y": Y, "theta": THETA},
    ),
    Entry(
        "labcode.regression.stable_learning_rate",
        stable_learning_rate,
        {"X": X},
        infinite_ok=True,  # documented: no bound (X zero or tiny)
    ),
    Entry(
        "labcode.regression.gradient_descent",
        gradient_descent,
        {"X": X, "y": Y, "lr": 0.1, "iterations": 20, "theta0": None, "tol": None},
    ),
]
NAMES = [e.name for e in ENTRIES]


@pytest.mark.covers(*NAMES)
@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
@SUITE
@given(data=st.data())
def test_hostile_arguments(entry: Entry, data: st.DataObject) -> None:
    param = data.draw(st.sampled_from(sorted(entry.kwargs)), label="param")
    value = data.draw(hostile_values(), label="value")
    check_hostile(entry, param, value)


@st.composite
def problems(
    draw: st.DrawFn,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    m, n = draw(st.integers(1, 8)), draw(st.integers(1, 4))
    k = draw(st.sampled_from([None, 1, 2]))
    scale = draw(st.sampled_from([1.0, 1e-150, 1e100]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((m, n)) * scale
    y = rng.standard_normal(m if k is None else (m, k))
    theta = rng.standard_normal(n if k is None else (n, k))
    return X, y, theta


@pytest.mark.covers(
    "labcode.regression.mse_gradient",
    "labcode.regression.mse_gradient_naive",
    "labcode.regression.mse_loss",
    "labcode.regression.add_intercept",
)
@SUITE
@given(problems())
def test_gradient_equals_naive_and_loss_equals_numpy(
    problem: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
) -> None:
    X, y, theta = problem
    if float(np.max(np.abs(X))) > 1e50:  # the documented overflow refusal
        with pytest.raises(ValueError, match="overflows"):
            bounded(mse_gradient, X, y, theta * 1e250)
    fast = bounded(mse_gradient, X, y, theta)
    naive = bounded(mse_gradient_naive, X, y, theta)
    assert fast.shape == theta.shape
    scale = float(np.max(np.abs(X))) ** 2 * max(1.0, float(np.max(np.abs(theta))))
    np.testing.assert_allclose(fast, naive, rtol=1e-9, atol=1e-12 * scale)
    loss = bounded(mse_loss, X, y, theta)
    r = X @ theta - y
    size = max(float(np.max(np.abs(r))), 1e-300)
    assert np.isfinite(loss)
    np.testing.assert_allclose(
        loss, np.sum((r / size) ** 2) / (2 * X.shape[0]) * size * size, rtol=1e-9
    )
    design = bounded(add_intercept, X)
    np.testing.assert_array_equal(design[:, 0], 1.0)
    np.testing.assert_array_equal(design[:, 1:], X)


@pytest.mark.covers(
    "labcode.regression.gradient_descent", "labcode.regression.stable_learning_rate"
)
@SUITE
@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.integers(1, 3))
def test_gradient_descent_reaches_least_squares(seed: int, m: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m + n, n))
    y = rng.standard_normal(m + n)
    bound = bounded(stable_learning_rate, X)
    eig = np.linalg.eigvalsh(X.T @ X / X.shape[0]).max()
    np.testing.assert_allclose(bound, 2 / eig, rtol=1e-9)
    want = np.linalg.lstsq(X, y, rcond=None)[0]
    cond = np.linalg.cond(X)
    if cond > 1e3:
        return
    theta, losses = bounded(
        gradient_descent, X, y, lr=0.5 * bound, iterations=200_000, tol=1e-12
    )
    assert np.all(np.isfinite(losses))
    assert np.all(np.diff(losses) <= 1e-12 * (1 + losses[0]))
    np.testing.assert_allclose(theta, want, atol=1e-8 * cond)
    with pytest.raises(ValueError, match=r"lr=.* makes gradient descent diverge"):
        gradient_descent(X, y, lr=2.5 * bound, iterations=10_000)
