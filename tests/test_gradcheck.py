from typing import Any, Literal

import numpy as np
import pytest
from numpy.typing import NDArray

from labcode.gradcheck import numerical_gradient, relative_error


def test_gradient_of_a_quadratic_form() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = numerical_gradient(lambda v: float(v @ a @ v), x)
    np.testing.assert_allclose(grad, (a + a.T) @ x, rtol=1e-8)


def test_gradient_keeps_shape_and_does_not_touch_input() -> None:
    x = np.arange(6.0).reshape(2, 3)
    before = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert grad.shape == (2, 3)
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_function_may_modify_its_argument() -> None:
    def f(v: NDArray[np.float64]) -> float:
        v *= 2.0
        return float(np.sum(v))

    np.testing.assert_allclose(numerical_gradient(f, np.ones(3)), 2.0)


def test_centred_difference_error_is_second_order() -> None:
    # f = exp; error of the centred difference is h^2 / 6 * f''' = h^2 / 6 at 0.
    for h in (1e-2, 1e-3):
        got = numerical_gradient(lambda v: float(np.exp(v[0])), [0.0], h=h)[0]
        assert got - 1.0 == pytest.approx(h * h / 6.0, rel=1e-3)


@pytest.mark.parametrize(
    ("f", "kwargs", "error", "message"),
    [
        (42, {}, TypeError, "f must be callable; got 42 of type int"),
        (lambda v: v, {}, TypeError, "f must return a real scalar"),
        (lambda v: "x", {}, TypeError, "f must return a real scalar"),
        (lambda v: 0.0, {"h": 0.0}, ValueError, r"h must be > 0.0; got 0.0"),
        (lambda v: 0.0, {"x": []}, ValueError, "x must not be empty"),
        (lambda v: True, {}, TypeError, "f must return a real scalar"),
        (lambda v: float("nan"), {}, ValueError, "f must return a finite value"),
        (lambda v: 0.0, {"h": 1e-300}, ValueError, "h must be large enough to move x"),
        (lambda v: 0.0, {"h": 1e308}, ValueError, "h must keep x"),
        (
            lambda v: 1e308 if v[0] > 1.0 else -1e308,
            {},
            ValueError,
            "f must stay finite near x",
        ),
    ],
    ids=[
        "not-callable",
        "array-result",
        "string-result",
        "zero-step",
        "empty",
        "bool-result",
        "nan-result",
        "step-too-small",
        "step-overflows",
        "quotient-overflows",
    ],
)
def test_numerical_gradient_errors(
    f: object, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    args = {"x": [1.0, 2.0]} | kwargs
    with pytest.raises(error, match=message):
        numerical_gradient(f, **args)  # type: ignore[arg-type]


def test_relative_error() -> None:
    assert relative_error([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == 1.0
    assert relative_error(np.zeros((0,)), np.zeros((0,))) == 0.0
    assert relative_error([1e-20], [0.0]) < 1e-7  # below the floor: equal
    with pytest.raises(
        ValueError, match=r"a and b must have the same shape; got \(2,\) and \(3,\)"
    ):
        relative_error([1.0, 2.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("order", ["C", "F"])
def test_gradient_of_any_memory_order(order: Literal["C", "F"]) -> None:
    # A Fortran-ordered x once gave all zeros: reshape(-1) copied it.
    x = np.array(np.arange(6.0).reshape(2, 3), order=order)
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    strided = np.arange(12.0)[::2]
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), strided)
    np.testing.assert_allclose(grad, 2 * strided, rtol=1e-8)


def test_relative_error_near_the_float_limit() -> None:
    assert relative_error([1e308], [-1e308]) == 1.0
    assert relative_error([1e308, 1.0], [1e308, 1.0]) == 0.0
