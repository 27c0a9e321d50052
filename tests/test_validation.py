import numpy as np
import pytest

from labcode._validation import (
    as_float_array,
    check_choice,
    check_int,
    check_ndim,
    check_real,
    check_rng,
    float_dtype,
    format_shape,
)


def test_format_shape():
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
def test_float_dtype_policy(dtype, expected):
    assert float_dtype(np.dtype(dtype)) == np.dtype(expected)
    out = as_float_array(np.ones(3, dtype=dtype), "x")
    assert out.dtype == np.dtype(expected)


def test_as_float_array_keeps_float64_without_copy():
    x = np.arange(4.0)
    assert as_float_array(x, "x") is x


def test_as_float_array_forced_dtype():
    assert as_float_array([1, 2], "x", dtype=np.float32).dtype == np.float32


def test_as_float_array_rejects_strings_and_objects():
    with pytest.raises(TypeError, match=r"x must be a numeric array; got dtype <U"):
        as_float_array(["a", "b"], "x")
    with pytest.raises(TypeError, match="x must be a numeric array; got dtype object"):
        as_float_array(np.array([object()]), "x")


def test_as_float_array_rejects_complex():
    with pytest.raises(TypeError, match="x must be real; got complex dtype complex128"):
        as_float_array([1 + 2j], "x")


def test_as_float_array_rejects_ragged():
    with pytest.raises(
        ValueError, match="x must be a numeric array; could not convert"
    ):
        as_float_array([[1.0, 2.0], [3.0]], "x")


def test_as_float_array_ndim_message():
    with pytest.raises(ValueError, match=r"^X must be 2-D \(m, n\); got shape \(3,\)$"):
        as_float_array([1.0, 2.0, 3.0], "X", ndim=2, layout="(m, n)")
    with pytest.raises(
        ValueError, match=r"^y must be 1-D or 2-D; got shape \(1, 1, 1\)$"
    ):
        as_float_array(np.ones((1, 1, 1)), "y", ndim=(1, 2))


def test_as_float_array_empty():
    with pytest.raises(ValueError, match=r"x must not be empty; got shape \(0, 3\)"):
        as_float_array(np.zeros((0, 3)), "x")
    assert as_float_array(np.zeros((0, 3)), "x", allow_empty=True).shape == (0, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_as_float_array_non_finite(bad):
    with pytest.raises(ValueError, match="x must contain only finite values"):
        as_float_array([1.0, bad], "x")
    assert np.isnan(as_float_array([np.nan], "x", finite=False)[0])


def test_check_ndim_accepts():
    check_ndim(np.zeros((2, 2)), "a", 2)
    check_ndim(np.zeros(2), "a", (1, 2))


def test_check_int():
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


def test_check_real():
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


def test_check_choice():
    assert check_choice("fft", "method", ["direct", "fft"]) == "fft"
    with pytest.raises(
        ValueError, match="method must be one of 'direct', 'fft'; got 'FFT'"
    ):
        check_choice("FFT", "method", ["direct", "fft"])
    with pytest.raises(ValueError, match="got 3"):
        check_choice(3, "method", ["direct"])


def test_check_rng():
    gen = np.random.default_rng(1)
    assert check_rng(gen) is gen
    a = check_rng(5).random(3)
    b = np.random.default_rng(5).random(3)
    np.testing.assert_array_equal(a, b)
    assert isinstance(check_rng(None), np.random.Generator)
    with pytest.raises(
        TypeError, match=r"rng must be None, an int seed or a numpy\.random\.Generator"
    ):
        check_rng(np.random.RandomState(0))
    with pytest.raises(TypeError, match="got float"):
        check_rng(1.5)
