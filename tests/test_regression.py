from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray

from labcode.regression import (
    GradientDescentResult,
    add_intercept,
    gradient_descent,
    mse_gradient,
    mse_gradient_naive,
    mse_loss,
    stable_learning_rate,
)


def make_problem(
    seed: int,
    m: int = 40,
    n: int = 3,
    k: int | None = None,
    dtype: type[np.floating[Any]] = np.float64,
) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n)).astype(dtype)
    shape = (m,) if k is None else (m, k)
    y = rng.normal(size=shape).astype(dtype)
    return X, y


def lstsq(
    X: NDArray[np.floating[Any]], y: NDArray[np.floating[Any]]
) -> NDArray[np.float64]:
    return np.linalg.lstsq(X.astype(np.float64), y.astype(np.float64), rcond=None)[0]


def numerical_gradient(
    f: Callable[[NDArray[np.floating[Any]]], float],
    theta: NDArray[np.floating[Any]],
    h: float = 1e-6,
) -> NDArray[np.floating[Any]]:
    grad = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[idx] = h
        grad[idx] = (f(theta + step) - f(theta - step)) / (2 * h)
    return grad


# ---------------------------------------------------------------- add_intercept
def test_add_intercept_1d_and_2d() -> None:
    np.testing.assert_array_equal(add_intercept([2.0, 3.0]), [[1, 2], [1, 3]])
    out = add_intercept(np.arange(6).reshape(3, 2))
    assert out.shape == (3, 3)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[:, 0], 1.0)
    assert add_intercept(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_add_intercept_rejects_3d() -> None:
    with pytest.raises(
        ValueError, match=r"x must be 1-D or 2-D \(m,\) or \(m, n\); got shape"
    ):
        add_intercept(np.ones((2, 2, 2)))


# ---------------------------------------------------------------- loss and gradients
@pytest.mark.parametrize("k", [None, 1, 3])
def test_gradient_matches_naive_and_centred_differences(k: int | None) -> None:
    X, y = make_problem(0, m=12, n=4, k=k)
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(4,) if k is None else (4, k))
    fast = mse_gradient(X, y, theta)
    naive = mse_gradient_naive(X, y, theta)
    numeric = numerical_gradient(lambda t: mse_loss(X, y, t), theta)
    assert fast.shape == theta.shape
    np.testing.assert_allclose(fast, naive, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fast, numeric, rtol=1e-6, atol=1e-8)


def test_mse_loss_by_hand() -> None:
    # residuals (1 - 1, 2 - 3) = (0, -1) -> None: loss = 1 / (2 * 2)
    assert mse_loss([[1.0, 0.0], [1.0, 1.0]], [1.0, 3.0], [1.0, 1.0]) == 0.25


# ---------------------------------------------------------------- gradient descent
@pytest.mark.parametrize("k", [None, 1, 2])
def test_converges_to_lstsq(k: int | None) -> None:
    X, y = make_problem(2, m=60, n=3, k=k)
    lr = 0.5 * stable_learning_rate(X)
    theta, losses = gradient_descent(X, y, lr=lr, iterations=3000)
    expected = lstsq(X, y)
    assert theta.shape == expected.shape
    np.testing.assert_allclose(theta, expected, rtol=1e-9, atol=1e-11)
    assert losses.shape == (3001,)
    assert losses.dtype == np.float64
    assert np.all(np.diff(losses) <= 1e-15)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(2, 30),
    n=st.integers(1, 4),
    k=st.sampled_from([None, 1, 2]),
    fraction=st.floats(0.05, 0.99),
)
def test_any_step_inside_the_bound_converges_without_error(
    seed: int, m: int, n: int, k: int | None, fraction: float
) -> None:
    X, y = make_problem(seed, m=m, n=n, k=k)
    lr = fraction * stable_learning_rate(X)
    theta, losses = gradient_descent(X, y, lr=lr, iterations=200)
    # The loss never increases beyond round-off, and never rises above the start.
    assert losses[-1] <= losses[0] * (1 + 1e-12)
    assert np.all(np.isfinite(theta))


def test_result_is_a_named_tuple() -> None:
    X, y = make_problem(3)
    result = gradient_descent(X, y, lr=0.1, iterations=5)
    assert isinstance(result, GradientDescentResult)
    assert result.theta is result[0]
    assert result.losses is result[1]


def test_float32_stays_float32_and_ints_compute_in_float64() -> None:
    X, y = make_problem(4, dtype=np.float32)
    theta, losses = gradient_descent(
        X, y, lr=0.5 * stable_learning_rate(X), iterations=2000
    )
    assert theta.dtype == np.float32
    assert losses.dtype == np.float64
    np.testing.assert_allclose(theta, lstsq(X, y), rtol=1e-4, atol=1e-5)

    x_int = np.arange(5)
    X_int = np.column_stack([np.ones(5, dtype=np.int64), x_int])
    theta_i, _ = gradient_descent(X_int, 2 * x_int + 1, lr=0.05, iterations=5000)
    assert theta_i.dtype == np.float64
    np.testing.assert_allclose(theta_i, [1.0, 2.0], atol=1e-8)


def test_mixed_float32_float64_promotes() -> None:
    X, y = make_problem(5, dtype=np.float32)
    theta, _ = gradient_descent(X, y.astype(np.float64), lr=0.1, iterations=3)
    assert theta.dtype == np.float64


def test_zero_iterations_and_theta0_not_modified() -> None:
    X, y = make_problem(6)
    theta0 = np.ones(3)
    theta, losses = gradient_descent(X, y, lr=0.1, iterations=0, theta0=theta0)
    np.testing.assert_array_equal(theta, theta0)
    assert losses.shape == (1,)
    assert losses[0] == pytest.approx(mse_loss(X, y, theta0))
    theta, _ = gradient_descent(X, y, lr=0.1, iterations=10, theta0=theta0)
    np.testing.assert_array_equal(theta0, np.ones(3))
    assert theta is not theta0


def test_tol_stops_early() -> None:
    X, y = make_problem(7)
    lr = 0.5 * stable_learning_rate(X)
    theta, losses = gradient_descent(X, y, lr=lr, iterations=100_000, tol=1e-8)
    assert losses.size < 100_001
    assert np.max(np.abs(mse_gradient(X, y, theta))) <= 1e-8


def test_exact_fit_example() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    theta, losses = gradient_descent(
        add_intercept(x), 1 + 2 * x, lr=0.3, iterations=500
    )
    np.testing.assert_allclose(theta, [1.0, 2.0], atol=1e-7)
    assert losses[-1] < 1e-12


def test_stable_learning_rate() -> None:
    assert stable_learning_rate([[1.0, 0.0], [0.0, 2.0]]) == pytest.approx(1.0)
    assert stable_learning_rate(np.zeros((3, 2))) == float("inf")
    X, _ = make_problem(8)
    lam = np.linalg.eigvalsh(X.T @ X / X.shape[0]).max()
    assert stable_learning_rate(X) == pytest.approx(2 / lam)


@pytest.mark.parametrize("factor", [1.01, 1.5, 10.0, 1e6])
def test_divergent_step_raises(factor: float) -> None:
    X, y = make_problem(9)
    limit = stable_learning_rate(X)
    with pytest.raises(
        ValueError, match=r"lr=.* makes gradient descent diverge"
    ) as info:
        gradient_descent(X, y, lr=factor * limit, iterations=5000)
    assert f"{limit:.6g}" in str(info.value)


# ---------------------------------------------------------------- validation
def test_X_one_dimensional_explains_the_reshape() -> None:
    with pytest.raises(
        ValueError,
        match=r"X must be 2-D \(m, n\); got shape \(5,\); .*reshape\(-1, 1\)",
    ):
        gradient_descent(np.arange(5.0), np.arange(5.0), lr=0.1, iterations=1)


def test_X_three_dimensional() -> None:
    with pytest.raises(
        ValueError, match=r"X must be 2-D \(m, n\); got shape \(2, 2, 2\)$"
    ):
        gradient_descent(np.ones((2, 2, 2)), np.ones(2), lr=0.1, iterations=1)


def test_y_rows_mismatch() -> None:
    with pytest.raises(
        ValueError,
        match=r"y must have one row per row of X, shape \(4,\) or \(4, k\); got shape \(3,\)",
    ):
        gradient_descent(np.ones((4, 2)), np.ones(3), lr=0.1, iterations=1)


def test_y_row_vector_hint() -> None:
    with pytest.raises(
        ValueError, match=r"got shape \(1, 4\); y looks like a row vector"
    ):
        gradient_descent(np.ones((4, 2)), np.ones((1, 4)), lr=0.1, iterations=1)


def test_y_three_dimensional() -> None:
    with pytest.raises(
        ValueError, match=r"y must be 1-D or 2-D \(m,\) or \(m, k\); got shape"
    ):
        gradient_descent(np.ones((4, 2)), np.ones((4, 1, 1)), lr=0.1, iterations=1)


def test_flat_theta0_with_column_y_is_refused() -> None:
    X = np.ones((4, 2))
    with pytest.raises(
        ValueError,
        match=r"theta0 must have shape \(2, 1\) to match y of shape \(4, 1\); got shape \(2,\)",
    ):
        gradient_descent(X, np.ones((4, 1)), lr=0.1, iterations=1, theta0=np.zeros(2))
    with pytest.raises(
        ValueError,
        match=r"theta0 must have shape \(2,\) to match y of shape \(4,\); got shape \(2, 1\)",
    ):
        gradient_descent(X, np.ones(4), lr=0.1, iterations=1, theta0=np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"theta must have shape"):
        mse_loss(X, np.ones(4), np.zeros(3))


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"lr": 0.0, "iterations": 1}, ValueError, r"lr must be > 0.0; got 0.0"),
        ({"lr": -1, "iterations": 1}, ValueError, r"lr must be > 0.0; got -1.0"),
        ({"lr": "0.1", "iterations": 1}, TypeError, r"lr must be a real number"),
        ({"lr": float("inf"), "iterations": 1}, ValueError, r"lr must be finite"),
        ({"lr": 0.1, "iterations": 1.5}, TypeError, r"iterations must be an integer"),
        ({"lr": 0.1, "iterations": -1}, ValueError, r"iterations must be >= 0; got -1"),
        ({"lr": 0.1, "iterations": 1, "tol": -1.0}, ValueError, r"tol must be >= 0.0"),
    ],
)
def test_bad_options(
    kwargs: dict[str, Any], exc: type[Exception], pattern: str
) -> None:
    X, y = make_problem(10)
    with pytest.raises(exc, match=pattern):
        gradient_descent(X, y, **kwargs)


@pytest.mark.parametrize(
    ("X", "y", "exc", "pattern"),
    [
        (
            np.full((3, 2), np.nan),
            np.ones(3),
            ValueError,
            "X must contain only finite values",
        ),
        (
            np.ones((3, 2)),
            [1.0, np.inf, 0.0],
            ValueError,
            "y must contain only finite values",
        ),
        ([["a", "b"]], [1.0], TypeError, "X must be a numeric array"),
        (np.ones((3, 2)) * 1j, np.ones(3), TypeError, "X must be real"),
        (np.ones((0, 2)), np.ones(0), ValueError, "X must not be empty"),
        (np.ones((2, 0)), np.ones(2), ValueError, "X must not be empty"),
    ],
)
def test_bad_data(
    X: ArrayLike, y: ArrayLike, exc: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc, match=pattern):
        gradient_descent(X, y, lr=0.1, iterations=1)


def test_huge_iterations_do_not_preallocate() -> None:
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    theta, losses = gradient_descent(X, [1.0, 2.0], lr=1.0, iterations=10**7, tol=0.0)
    np.testing.assert_allclose(theta, [1.0, 2.0])
    assert losses.size < 100
    with pytest.raises(ValueError, match=r"iterations must be <= 10000000 \(labcode"):
        gradient_descent(X, [1.0, 2.0], lr=1.0, iterations=10**12)


def test_history_grows_past_its_first_block() -> None:
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    _, losses = gradient_descent(X, [1.0, 2.0], lr=0.01, iterations=3000)
    assert losses.shape == (3001,)
    assert np.all(np.diff(losses) <= 0)


def test_stable_learning_rate_for_huge_and_tiny_X() -> None:
    base = np.array([[1.0, 0.0], [0.0, 2.0]])
    rate = stable_learning_rate(base)
    assert stable_learning_rate(base * 1e100) == pytest.approx(rate * 1e-200)
    assert stable_learning_rate(base * 1e-100) == pytest.approx(rate * 1e200)
    assert stable_learning_rate(base * 1e300) == 0.0
    assert stable_learning_rate(base * 1e-300) == np.inf


def test_overflowing_loss_and_gradient_raise() -> None:
    X = np.array([[1e100, 0.0], [0.0, 1e100]])
    with pytest.raises(ValueError, match="must have a squared norm inside float64"):
        mse_loss(X, [0.0, 0.0], [1e100, 0.0])
    with pytest.raises(ValueError, match=r"X @ theta - y must be finite"):
        mse_loss(X, [0.0, 0.0], [1e300, 0.0])
    with pytest.raises(ValueError, match="must give a finite gradient"):
        mse_gradient(X, [0.0, 0.0], [1e200, 0.0])
    # Near the limit the loss is still exact: squaring 1e150 alone would not be.
    assert mse_loss(np.eye(2), [0.0, 0.0], [1e150, 0.0]) == pytest.approx(1e300 / 4)


def test_huge_lr_raises_naming_lr() -> None:
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"lr=1e\+308 makes gradient descent diverge"):
        gradient_descent(X, [1.0, 2.0], lr=1e308, iterations=10)


def test_naive_gradient_overflow_raises() -> None:
    X = np.array([[1e300, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="must give a finite gradient"):
        mse_gradient_naive(X, [0.0, 0.0], [1e10, 0.0])


def test_naive_gradient_bounds_its_loops() -> None:
    with pytest.raises(ValueError, match="X and theta must need at most 10000000 loop"):
        mse_gradient_naive(np.zeros((10**5, 200)), np.zeros(10**5), np.zeros(200))
