from typing import Any

import numpy as np
import pytest

from labcode._validation import (
    MAX_ELEMENTS,
    as_float_array,
    as_int_array,
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_ndim,
    check_real,
    check_rng,
    check_shape,
    check_size,
    float_dtype,
    format_shape,
)


def test_format_shape() -> None:
    assert format_shape((5,)) == "(5,)"
    assert format_shape((2, 3)) == "(2, 3)"
    assert format_shape(np.zeros((1, 2, 3)).shape) == "(1, 2, 3)"


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.float16, np.float64),
        (np.int8, np.float64),
        (np.int64, np.float64),
        (np.uint16, np.float64),
        (np.bool_, np.float64),
    ],
)
def test_float_dtype_policy(
    dtype: type[np.generic], expected: type[np.floating[Any]]
) -> None:
    assert float_dtype(np.dtype(dtype)) == np.dtype(expected)
    out = as_float_array(np.ones(3, dtype=dtype), "x")
    assert out.dtype == np.dtype(expected)


def test_as_float_array_keeps_float64_without_copy() -> None:
    x = np.arange(4.0)
    assert as_float_array(x, "x") is x


def test_as_float_array_forced_dtype() -> None:
    assert as_float_array([1, 2], "x", dtype=np.float32).dtype == np.float32


def test_as_float_array_rejects_strings_and_objects() -> None:
    with pytest.raises(TypeError, match=r"x must be a numeric array; got dtype <U"):
        as_float_array(["a", "b"], "x")
    with pytest.raises(TypeError, match="x must be a numeric array; got dtype object"):
        as_float_array(np.array([object()]), "x")


def test_as_float_array_rejects_complex() -> None:
    with pytest.raises(TypeError, match="x must be real; got complex dtype complex128"):
        as_float_array([1 + 2j], "x")


def test_as_float_array_rejects_ragged() -> None:
    with pytest.raises(
        ValueError, match="x must be a numeric array; could not convert"
    ):
        as_float_array([[1.0, 2.0], [3.0]], "x")


def test_as_float_array_ndim_message() -> None:
    with pytest.raises(ValueError, match=r"^X must be 2-D \(m, n\); got shape \(3,\)$"):
        as_float_array([1.0, 2.0, 3.0], "X", ndim=2, layout="(m, n)")
    with pytest.raises(
        ValueError, match=r"^y must be 1-D or 2-D; got shape \(1, 1, 1\)$"
    ):
        as_float_array(np.ones((1, 1, 1)), "y", ndim=(1, 2))


def test_as_float_array_empty() -> None:
    with pytest.raises(ValueError, match=r"x must not be empty; got shape \(0, 3\)"):
        as_float_array(np.zeros((0, 3)), "x")
    assert as_float_array(np.zeros((0, 3)), "x", allow_empty=True).shape == (0, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_as_float_array_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="x must contain only finite values"):
        as_float_array([1.0, bad], "x")
    assert np.isnan(as_float_array([np.nan], "x", finite=False)[0])


def test_check_ndim_accepts() -> None:
    check_ndim(np.zeros((2, 2)), "a", 2)
    check_ndim(np.zeros(2), "a", (1, 2))


def test_check_int() -> None:
    assert check_int(3, "n") == 3
    assert check_int(np.int64(4), "n", minimum=0) == 4
    with pytest.raises(
        TypeError, match=r"n must be an integer; got 2\.0 of type float"
    ):
        check_int(2.0, "n")
    with pytest.raises(TypeError, match="n must be an integer; got True of type bool"):
        check_int(True, "n")
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        check_int(0, "n", minimum=1)


def test_check_real() -> None:
    assert check_real(2, "lr") == 2.0
    assert check_real(np.float32(0.5), "lr", low=0.0, low_inclusive=False) == 0.5
    with pytest.raises(
        TypeError, match="lr must be a real number; got '1' of type str"
    ):
        check_real("1", "lr")
    with pytest.raises(TypeError, match="lr must be a real number"):
        check_real(False, "lr")
    with pytest.raises(ValueError, match="lr must be finite; got nan"):
        check_real(float("nan"), "lr")
    with pytest.raises(ValueError, match=r"lr must be > 0.0; got 0.0"):
        check_real(0.0, "lr", low=0.0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"lr must be >= 1.0; got 0.5"):
        check_real(0.5, "lr", low=1.0)
    with pytest.raises(ValueError, match=r"p must be <= 1.0; got 2.0"):
        check_real(2.0, "p", high=1.0)
    with pytest.raises(ValueError, match=r"p must be < 1.0; got 1.0"):
        check_real(1.0, "p", high=1.0, high_inclusive=False)


def test_check_choice() -> None:
    assert check_choice("fft", "method", ["direct", "fft"]) == "fft"
    with pytest.raises(
        ValueError, match="method must be one of 'direct', 'fft'; got 'FFT'"
    ):
        check_choice("FFT", "method", ["direct", "fft"])
    with pytest.raises(
        TypeError, match="method must be one of 'direct'; got 3 of type int"
    ):
        check_choice(3, "method", ["direct"])


def test_check_rng() -> None:
    gen = np.random.default_rng(1)
    assert check_rng(gen) is gen
    a = check_rng(5).random(3)
    b = np.random.default_rng(5).random(3)
    np.testing.assert_array_equal(a, b)
    assert isinstance(check_rng(None), np.random.Generator)
    with pytest.raises(
        TypeError,
        match=r"rng must be None, a non-negative int seed or a numpy\.random\.Generator",
    ):
        check_rng(np.random.RandomState(0))
    with pytest.raises(TypeError, match=r"got 1.5 of type float"):
        check_rng(1.5)
    with pytest.raises(TypeError, match="of type bool"):
        check_rng(True)
    with pytest.raises(ValueError, match=r"rng must be .*; got -1$"):
        check_rng(-1)
    with pytest.raises(ValueError, match=r"seed must be"):
        check_rng(-1, "seed")
    assert isinstance(check_rng(np.uint8(3)), np.random.Generator)


def test_check_real_huge_int_is_not_finite() -> None:
    with pytest.raises(ValueError, match=r"lr must be finite; got 1000"):
        check_real(10**400, "lr")
    with pytest.raises(TypeError, match="lr must be a real number; got 1j"):
        check_real(1j, "lr")
    with pytest.raises(TypeError, match=r"np.True_ of type bool"):
        check_real(np.True_, "lr")
    with pytest.raises(ValueError, match=r"s must be <= 2.0 \(why\); got 3.0"):
        check_real(3, "s", high=2.0, why="why")


def test_check_int_maximum() -> None:
    assert check_int(5, "n", maximum=5) == 5
    with pytest.raises(ValueError, match=r"^n must be <= 5 \(a reason\); got 6$"):
        check_int(6, "n", maximum=5, why="a reason")
    with pytest.raises(ValueError, match=r"^n must be <= 5; got 6$"):
        check_int(6, "n", maximum=5)
    with pytest.raises(TypeError, match=r"np.True_ of type bool"):
        check_int(np.True_, "n")
    with pytest.raises(TypeError, match="n must be an integer; got None"):
        check_int(None, "n")


@pytest.mark.parametrize("ok", [True, False, np.True_, np.False_])
def test_check_bool_accepts(ok: bool | np.bool_) -> None:
    assert check_bool(ok, "flag") is bool(ok)


@pytest.mark.parametrize("bad", [None, 0, 1, 1.0, "yes", np.array([True])])
def test_check_bool_refuses_truthiness(bad: object) -> None:
    with pytest.raises(
        TypeError, match=r"^flag must be a bool \(True or False\); got "
    ):
        check_bool(bad, "flag")


def test_check_callable() -> None:
    check_callable(len, "f")
    with pytest.raises(TypeError, match=r"^f must be callable; got 'x' of type str$"):
        check_callable("x", "f")


def test_check_shape_and_size() -> None:
    check_shape(np.zeros((2, 3)), "a", (2, 3))
    with pytest.raises(
        ValueError, match=r"^a must have shape \(2, 3\); got shape \(3,\)$"
    ):
        check_shape(np.zeros(3), "a", (2, 3))
    check_size(10, "x", 10)
    with pytest.raises(
        ValueError, match=r"^x must need at most 10 elements; got 11 elements$"
    ):
        check_size(11, "x", 10)
    with pytest.raises(
        ValueError, match=r"x must need at most 3 elements; got shape \(4,\)"
    ):
        as_float_array(np.zeros(4), "x", max_size=3)
    assert MAX_ELEMENTS == 1 << 27


def test_as_float_array_contiguous() -> None:
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    out = as_float_array(f, "x", contiguous=True)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, f)
    c = np.arange(6.0).reshape(2, 3)
    assert as_float_array(c, "x", contiguous=True) is c
    strided = np.arange(10.0)[::2]
    assert as_float_array(strided, "x", contiguous=True).flags.c_contiguous


def test_as_float_array_overflowing_ints() -> None:
    with pytest.raises(TypeError, match="x must be a numeric array; got dtype object"):
        as_float_array([10**400], "x")


def test_as_int_array() -> None:
    out = as_int_array([0, 2, 1], "y", ndim=1, minimum=0, maximum=2)
    assert out.dtype == np.intp
    assert out.tolist() == [0, 2, 1]
    assert as_int_array([0.0, 3.0], "y").tolist() == [0, 3]
    assert as_int_array([True, False], "y").tolist() == [1, 0]
    assert as_int_array([], "y", allow_empty=True).shape == (0,)
    with pytest.raises(
        TypeError, match="y must hold integer values; got dtype float64"
    ):
        as_int_array([0.5], "y")
    with pytest.raises(TypeError, match="y must hold integer values"):
        as_int_array([np.nan], "y")
    with pytest.raises(
        ValueError, match=r"^y must hold values in 0\.\.2; got values from -1 to 1$"
    ):
        as_int_array([-1, 1], "y", minimum=0, maximum=2)
    with pytest.raises(ValueError, match=r"^y must hold values >= 0"):
        as_int_array([-1], "y", minimum=0)
    with pytest.raises(ValueError, match=r"^y must hold values <= 0"):
        as_int_array([1], "y", maximum=0)
    with pytest.raises(ValueError, match="y must be 1-D"):
        as_int_array([[1]], "y", ndim=1)
    with pytest.raises(ValueError, match="y must not be empty"):
        as_int_array([], "y")
    with pytest.raises(ValueError, match="fit in"):
        as_int_array([1e300], "y")
    with pytest.raises(ValueError, match="fit in"):
        as_int_array(np.array([2**64 - 1], dtype=np.uint64), "y")
    with pytest.raises(TypeError, match="y must be a numeric array"):
        as_int_array(["a"], "y")


def test_as_int_array_float16_labels_without_warning() -> None:
    out = as_int_array(np.array([0.0, 2.0], dtype=np.float16), "y")
    assert out.tolist() == [0, 2]


def test_check_size_units() -> None:
    with pytest.raises(
        ValueError,
        match=r"^x must need at most 5 loop steps; got a loop \(6 loop steps\)$",
    ):
        check_size(6, "x", 5, detail="a loop", unit="loop steps")
