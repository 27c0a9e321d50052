import math
import warnings
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, stats

from labcode.moments import (
    binomial_transform,
    central_moment,
    die_moments,
    empirical_mgf,
    inverse_binomial_transform,
    kurtosis,
    mgf_moment,
    pearson_median_skewness,
    raw_moment,
    skewness,
    standardized_moment,
    transform_cdf,
    transform_pdf,
    transform_pdf_piecewise,
)

RNG = np.random.default_rng(12345)
SAMPLES = {
    "normal": RNG.normal(size=500),
    "exponential": RNG.exponential(size=500),
    "student_t3": RNG.standard_t(3, size=500),
    "lognormal": RNG.lognormal(size=300),
    "tiny": np.array([1.0, 2.0, 7.0]),
    "four": np.array([0.0, 0.0, 1.0, 5.0]),
}

finite_floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


# What the checks compare: arrays, numbers and lists of numbers.
Close = NDArray[Any] | float | Sequence[float]


def close(a: Close, b: Close, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


# ---------------------------------------------------------------- against scipy.stats
@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("bias", [True, False])
def test_skew_and_kurtosis_match_scipy(name: str, bias: bool) -> None:
    x = SAMPLES[name]
    close(skewness(x, bias=bias), stats.skew(x, bias=bias))
    close(kurtosis(x, bias=bias), stats.kurtosis(x, bias=bias))
    close(
        kurtosis(x, excess=False, bias=bias), stats.kurtosis(x, fisher=False, bias=bias)
    )


@settings(max_examples=150, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 4)),
        elements=finite_floats,
    ),
    bias=st.booleans(),
    axis=st.sampled_from([0, 1, -1, None]),
)
def test_statistics_match_scipy_on_random_samples(
    x: NDArray[np.float64], bias: bool, axis: int | None
) -> None:
    # Skewness and kurtosis do not change with the scale of the data; scipy gets
    # them from raw powers, which underflow for data near 1e-100, so give it each
    # sample scaled to order 1 (labcode scales internally).
    def scipy_scaled(statistic: Callable[..., Any], **kwargs: object) -> Any:
        def one(sample: NDArray[np.float64]) -> Any:
            size = np.max(np.abs(sample))
            return statistic(sample / size if size > 0 else sample, **kwargs)

        if axis is None:
            return one(x.ravel())
        return np.apply_along_axis(one, axis, x)

    with np.errstate(all="ignore"), warnings.catch_warnings():
        # scipy warns about catastrophic cancellation on near-constant data
        warnings.simplefilter("ignore", RuntimeWarning)
        want_s = scipy_scaled(stats.skew, bias=bias)
        want_k = scipy_scaled(stats.kurtosis, bias=bias)
        want_kp = scipy_scaled(stats.kurtosis, fisher=False, bias=bias)
        want_m = [stats.moment(x, order=k, axis=axis) for k in range(5)]
    close(skewness(x, axis=axis, bias=bias), want_s, rtol=1e-7, atol=1e-9)
    close(kurtosis(x, axis=axis, bias=bias), want_k, rtol=1e-7, atol=1e-9)
    close(
        kurtosis(x, axis=axis, excess=False, bias=bias), want_kp, rtol=1e-7, atol=1e-9
    )
    for k in range(5):
        close(central_moment(x, k, axis=axis), want_m[k], rtol=1e-9, atol=1e-6)


def test_tiny_and_huge_scales_do_not_lose_precision() -> None:
    # [a, 0, 0]: moment skewness 1/sqrt(2) and adjusted G1 = sqrt(3), for any a.
    for a in (1e-107, 1.0, 1e100):
        x = np.array([a, 0.0, 0.0])
        assert skewness(x) == pytest.approx(2**-0.5, rel=1e-12)
        assert skewness(x, bias=False) == pytest.approx(3**0.5, rel=1e-12)
        assert kurtosis(x, excess=False) == pytest.approx(1.5, rel=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_constant_data_is_nan_like_scipy(bias: bool) -> None:
    x = np.full(8, 3.0)
    with pytest.warns(RuntimeWarning):
        want = (stats.skew(x, bias=bias), stats.kurtosis(x, bias=bias))
    assert np.isnan(want).all()
    assert np.isnan(skewness(x, bias=bias))
    assert np.isnan(kurtosis(x, bias=bias))
    assert np.isnan(kurtosis(x, excess=False, bias=bias))
    assert np.isnan(standardized_moment(x, 3))
    assert np.isnan(pearson_median_skewness(x))
    # column-wise: only the constant column is NaN
    data = np.column_stack([np.full(5, 2.0), np.arange(5.0) ** 2])
    out = skewness(data, bias=bias)
    assert np.isnan(out[0])
    assert np.isfinite(out[1])


def test_too_few_samples_for_the_correction_falls_back_like_scipy() -> None:
    close(skewness([1.0, 2.0], bias=False), stats.skew([1.0, 2.0], bias=False))
    close(
        kurtosis([1.0, 2.0, 4.0], bias=False),
        stats.kurtosis([1.0, 2.0, 4.0], bias=False),
    )


def test_moments_by_hand_and_raw_moments() -> None:
    die = np.arange(1, 7)
    assert raw_moment(die, 0) == 1.0
    assert raw_moment(die, 1) == pytest.approx(3.5)
    assert raw_moment(die, 2) == pytest.approx(91 / 6)
    assert central_moment(die, 1) == 0.0
    assert central_moment(die, 2) == pytest.approx(35 / 12)
    assert standardized_moment(die, 0) == 1.0
    assert standardized_moment(die, 1) == 0.0
    assert standardized_moment(die, 2) == pytest.approx(1.0)
    assert standardized_moment(die, 4) == pytest.approx(kurtosis(die, excess=False))
    assert standardized_moment(die, 3) == pytest.approx(skewness(die))
    close(raw_moment(SAMPLES["normal"], 3), np.mean(SAMPLES["normal"] ** 3))


def test_axis_conventions() -> None:
    x = RNG.normal(size=(30, 3))
    close(skewness(x), [skewness(x[:, j]) for j in range(3)])
    close(skewness(x, axis=1), [skewness(row) for row in x])
    close(skewness(x, axis=None), skewness(x.ravel()))
    assert np.shape(kurtosis(x)) == (3,)
    assert np.ndim(kurtosis(x, axis=None)) == 0


def test_dtypes() -> None:
    x32 = SAMPLES["exponential"].astype(np.float32)
    assert skewness(x32).dtype == np.float32
    assert kurtosis(x32).dtype == np.float32
    close(skewness(x32), stats.skew(x32), rtol=1e-4)
    ints = np.array([1, 2, 2, 3, 9])
    assert skewness(ints).dtype == np.float64
    close(skewness(ints), stats.skew(ints.astype(float)))


def test_variance_of_affine_transform() -> None:
    x = SAMPLES["lognormal"]
    a, b = -2.5, 7.0
    close(central_moment(a * x + b, 2), a**2 * central_moment(x, 2))
    # skewness flips sign with a < 0, kurtosis is unchanged
    close(skewness(a * x + b), -skewness(x))
    close(kurtosis(a * x + b), kurtosis(x))


def test_die_moments_exact() -> None:
    assert die_moments() == (Fraction(7, 2), Fraction(35, 12))
    assert die_moments(1) == (Fraction(1), Fraction(0))
    mean, var = die_moments(20)
    assert mean == Fraction(21, 2)
    assert var == Fraction(399, 12)


# ---------------------------------------------------------------- Pearson median skewness
def test_pearson_median_skewness_definition_and_bound() -> None:
    x = SAMPLES["exponential"]
    want = 3 * (x.mean() - np.median(x)) / x.std()
    close(pearson_median_skewness(x), want)
    close(
        pearson_median_skewness(x, ddof=1),
        3 * (x.mean() - np.median(x)) / x.std(ddof=1),
    )
    for sample in SAMPLES.values():
        assert abs(pearson_median_skewness(sample)) <= 3.0


def test_pearson_and_moment_skewness_can_disagree_in_sign() -> None:
    # mean below median while the third moment is positive
    x = np.array([-3.0, -3.0, -1.0, 0.0, 0.0, 1.0, 4.0])
    assert skewness(x) > 0.5
    assert pearson_median_skewness(x) < -0.38


# ---------------------------------------------------------------- MGFs
def test_empirical_mgf() -> None:
    x = SAMPLES["normal"]
    t = np.array([-0.5, 0.0, 0.3])
    close(empirical_mgf(x, t), [np.mean(np.exp(ti * x)) for ti in t])
    assert empirical_mgf(x, 0.0) == pytest.approx(1.0)
    assert np.shape(empirical_mgf(x, np.zeros((2, 3)))) == (2, 3)
    # no overflow for large t * x: the value is huge but finite where it fits
    big = empirical_mgf([700.0, 0.0], 1.0)
    assert np.isfinite(big)
    close(big, np.exp(700.0) / 2)


@pytest.mark.parametrize(
    ("mgf", "moments"),
    [
        (lambda t: np.exp(t**2 / 2), [1, 0, 1, 0, 3, 0, 15]),  # standard normal
        (lambda t: 1 / (1 - t), [math.factorial(k) for k in range(6)]),  # Exp(1)
        (lambda t: np.exp(2.0 * (np.exp(t) - 1)), [1, 2, 6, 22, 94]),  # Poisson(2)
        (lambda t: (0.7 + 0.3 * np.exp(t)) ** 4, None),  # Binomial(4, 0.3)
    ],
)
def test_mgf_moment_known_distributions(
    mgf: Callable[[NDArray[np.float64]], ArrayLike], moments: Sequence[float] | None
) -> None:
    if moments is None:
        dist = stats.binom(4, 0.3)
        moments = [dist.moment(k) for k in range(5)]
    for k, want in enumerate(moments):
        assert mgf_moment(mgf, k) == pytest.approx(want, rel=1e-4, abs=1e-5)


def test_mgf_moment_of_empirical_mgf_is_the_raw_moment() -> None:
    x = RNG.uniform(-1, 1, size=200)
    for k in range(5):
        got = mgf_moment(lambda t: empirical_mgf(x, t), k)
        assert got == pytest.approx(raw_moment(x, k), rel=1e-5, abs=1e-7)


def test_mgf_moment_errors() -> None:
    with pytest.raises(TypeError, match="mgf must be callable"):
        mgf_moment(3.0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mgf must return one value per point"):
        mgf_moment(lambda t: 1.0, 1)
    with pytest.raises(ValueError, match="mgf is not finite near 0"):
        mgf_moment(lambda t: np.where(t > 0, np.inf, 1.0), 1)
    with pytest.raises(ValueError, match=r"h must be > 0\.0"):
        mgf_moment(np.exp, 1, h=0.0)


# ---------------------------------------------------------------- transformations
def test_change_of_variables_integral_from_the_post() -> None:
    # int_0^sqrt(pi/2) 2x cos(x^2) dx = int_0^(pi/2) cos y dy = 1
    lhs, _ = integrate.quad(lambda x: 2 * x * np.cos(x**2), 0.0, np.sqrt(np.pi / 2))
    rhs, _ = integrate.quad(np.cos, 0.0, np.pi / 2)
    assert lhs == pytest.approx(1.0, abs=1e-12)
    assert rhs == pytest.approx(1.0, abs=1e-12)


def test_transform_pdf_matches_monte_carlo_and_scipy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200_000)
    f = transform_pdf(stats.norm.pdf, np.log, lambda y: 1 / y)
    grid = np.linspace(0.2, 4.0, 9)
    close(f(grid), stats.lognorm(1).pdf(grid), rtol=1e-12)
    # Monte Carlo: the probability of an interval matches the integral of f
    a, b = 0.5, 2.0
    want = np.mean((np.exp(x) > a) & (np.exp(x) < b))
    got, _ = integrate.quad(f, a, b)
    assert got == pytest.approx(want, abs=4e-3)
    # the transformed density integrates to 1
    total, _ = integrate.quad(f, 0, np.inf)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_transform_cdf_increasing_and_decreasing_against_monte_carlo() -> None:
    rng = np.random.default_rng(4)
    x = rng.exponential(size=200_000)
    up = transform_cdf(stats.expon.cdf, np.sqrt, increasing=True)  # Y = X^2
    down = transform_cdf(
        stats.expon.cdf, lambda y: -np.log(y), increasing=False
    )  # Y = e^-X
    for y in (0.1, 0.5, 1.0, 3.0):
        assert up(y) == pytest.approx(np.mean(x**2 <= y), abs=4e-3)
    for y in (0.1, 0.5, 0.9):
        assert down(y) == pytest.approx(np.mean(np.exp(-x) <= y), abs=4e-3)
        assert down(y) == pytest.approx(y)  # e^-X of Exp(1) is uniform


def test_piecewise_square_of_normal_is_chi2() -> None:
    root = np.sqrt
    slope = lambda y: 0.5 / np.sqrt(y)
    f = transform_pdf_piecewise(
        stats.norm.pdf, [(root, slope), (lambda y: -np.sqrt(y), slope)]
    )
    grid = np.linspace(0.05, 6.0, 25)
    close(f(grid), stats.chi2(1).pdf(grid), rtol=1e-12)
    # one branch alone gives only half of the density
    half = transform_pdf_piecewise(stats.norm.pdf, [(root, slope)])
    close(half(grid), 0.5 * stats.chi2(1).pdf(grid), rtol=1e-12)


def test_transform_errors() -> None:
    with pytest.raises(TypeError, match=r"pdf must be callable; got 1.0 of type float"):
        transform_pdf(1.0, np.log, np.log)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="inverse_derivative must be callable"):
        transform_pdf(np.exp, np.log, None)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"increasing must be a bool \(True or False\); got 'yes'"
    ):
        transform_cdf(np.exp, np.log, increasing="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cdf must be callable"):
        transform_cdf("cdf", np.log, increasing=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="branches must hold at least one"):
        transform_pdf_piecewise(np.exp, [])
    with pytest.raises(TypeError, match=r"branches\[0\] must be a pair"):
        transform_pdf_piecewise(np.exp, [np.log])  # type: ignore[list-item]


# ---------------------------------------------------------------- binomial transform
def test_binomial_transform_known_sequences() -> None:
    assert binomial_transform([1] * 8).tolist() == [2**n for n in range(8)]
    fib = [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
    assert binomial_transform(fib[:7]).tolist() == fib[0:13:2]
    bell = [1, 1, 2, 5, 15, 52, 203, 877]
    assert binomial_transform(bell[:-1]).tolist() == bell[1:]
    # integers past 64 bits stay exact whatever their neighbours
    assert binomial_transform([0, 2**63 + 1]).tolist() == [0, 2**63 + 1]
    assert binomial_transform([2**70, -(2**70)]).tolist() == [2**70, 0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(10**30), 10**30), min_size=1, max_size=25))
def test_binomial_transform_round_trip_exact(seq: list[int]) -> None:
    forward = binomial_transform(seq)
    assert inverse_binomial_transform(forward).tolist() == seq
    assert binomial_transform(inverse_binomial_transform(seq)).tolist() == seq
    assert all(isinstance(v, int) for v in forward.tolist())


def test_binomial_transform_floats() -> None:
    a = np.array([0.5, 1.5, -2.0, 0.25])
    b = binomial_transform(a)
    assert b.dtype == np.float64
    close(inverse_binomial_transform(b), a)
    close(b, [sum(math.comb(n, k) * a[k] for k in range(n + 1)) for n in range(4)])


def test_signed_transform_is_an_involution_relation() -> None:
    a = [3, 1, 4, 1, 5, 9, 2, 6]
    signed = [
        sum((-1) ** k * math.comb(n, k) * a[k] for k in range(n + 1))
        for n in range(len(a))
    ]
    inv = inverse_binomial_transform(a).tolist()
    assert signed == [(-1) ** n * v for n, v in enumerate(inv)]


def test_binomial_transform_errors() -> None:
    with pytest.raises(
        ValueError,
        match=r"a must be a non-empty 1-D sequence \(n,\); got shape \(2, 2\)",
    ):
        binomial_transform([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="a must not be empty"):
        binomial_transform([])
    with pytest.raises(TypeError, match="a must hold integers or floats"):
        binomial_transform(np.array([1, "x"], dtype=object))
    with pytest.raises(ValueError, match="b must contain only finite values"):
        inverse_binomial_transform([1.0, np.nan])


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: raw_moment([], 2),
            ValueError,
            r"x must not be empty; got shape \(0,\)",
        ),
        (
            lambda: skewness([1.0, np.nan]),
            ValueError,
            "x must contain only finite values",
        ),
        (
            lambda: kurtosis([1.0, np.inf]),
            ValueError,
            "x must contain only finite values; got",
        ),
        (lambda: raw_moment([1.0], -1), ValueError, "k must be >= 0; got -1"),
        (
            lambda: central_moment([1.0], 2.5),  # type: ignore[arg-type]
            TypeError,
            "k must be an integer; got 2.5",
        ),
        (lambda: standardized_moment([1.0], 2.0), TypeError, "k must be an integer"),  # type: ignore[arg-type]
        (lambda: skewness(["a", "b"]), TypeError, "x must be a numeric array"),
        (
            lambda: skewness(3.0),
            ValueError,
            "x must be an array of samples; got a scalar",
        ),
        (
            lambda: skewness(np.ones((3, 2)), axis=2),
            ValueError,
            r"axis must be in \[-2, 1\]",
        ),
        (lambda: kurtosis([1.0, 2.0], axis=0.5), TypeError, "axis must be an integer"),  # type: ignore[arg-type]
        (
            lambda: pearson_median_skewness([1.0, 2.0], ddof=2),
            ValueError,
            "ddof must be smaller",
        ),
        (lambda: empirical_mgf([[1.0]], 0.0), ValueError, r"x must be 1-D \(n,\)"),
        (
            lambda: empirical_mgf([1.0], np.nan),
            ValueError,
            "t must contain only finite values",
        ),
        (lambda: die_moments(0), ValueError, "faces must be >= 1; got 0"),
    ],
)
def test_validation(
    call: Callable[[], object], exc: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("faces", [1, 2, 6, 7, 20, 101])
def test_die_moments_closed_form_equals_the_sums(faces: int) -> None:
    p = Fraction(1, faces)
    mean = sum((p * v for v in range(1, faces + 1)), Fraction(0))
    var = sum((p * (v - mean) ** 2 for v in range(1, faces + 1)), Fraction(0))
    assert die_moments(faces) == (mean, var)


def test_die_moments_of_a_huge_die_is_instant() -> None:
    mean, var = die_moments(10**12)
    assert mean == Fraction(10**12 + 1, 2)
    assert var == Fraction(10**24 - 1, 12)


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        (
            lambda: skewness([1.0, 2.0, 4.0], bias=None),  # type: ignore[arg-type]
            TypeError,
            "bias must be a bool",
        ),
        (
            lambda: kurtosis([1.0, 2.0, 4.0], bias=0),  # type: ignore[arg-type]
            TypeError,
            "bias must be a bool .*0",
        ),
        (lambda: kurtosis([1.0, 2.0, 4.0], excess="yes"), TypeError, "excess must be"),  # type: ignore[arg-type]
        (
            lambda: transform_cdf(np.exp, np.log, increasing=1),  # type: ignore[arg-type]
            TypeError,
            "increasing must be a bool",
        ),
        (
            lambda: mgf_moment(lambda t: np.exp(t**2 / 2), 171),
            ValueError,
            r"k must be <= 8 \(finite differences",
        ),
        (
            lambda: mgf_moment(lambda t: np.exp(t**2 / 2), 2, h=1e-300),
            ValueError,
            "h must be large enough",
        ),
        (lambda: mgf_moment(lambda t: "x", 2), TypeError, "mgf must return real"),
        (lambda: raw_moment([1e300, 1e300], 2), ValueError, "x and k must give"),
        (lambda: raw_moment([1.0], 2**40), ValueError, r"k must be <= 1048576"),
        (lambda: empirical_mgf([1000.0], 1.0), ValueError, "t must keep mean"),
        (lambda: binomial_transform([1.0] * 2000), ValueError, "at most 1024"),
        (lambda: binomial_transform([1] * 2000), ValueError, "a must have at most"),
        (lambda: binomial_transform([1e307] * 10), ValueError, "a must give a result"),
    ],
)
def test_limits_and_flags(
    call: Callable[[], object], exc: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc, match=pattern):
        call()


def test_moments_of_huge_data_do_not_overflow() -> None:
    x = np.array([1e300, -1e300, 3e300, 0.0])
    scaled = x / 1e300
    assert float(raw_moment(x, 1)) == pytest.approx(float(np.mean(scaled)) * 1e300)
    assert float(central_moment(x, 1)) == 0.0
    assert float(central_moment(x / 1e160, 2)) == pytest.approx(
        float(np.var(scaled)) * 1e280
    )
    assert float(pearson_median_skewness(x)) == pytest.approx(
        float(pearson_median_skewness(scaled))
    )
    assert raw_moment(np.array([1e30, 2e30], dtype=np.float32), 1) == pytest.approx(
        1.5e30
    )
    with pytest.raises(ValueError, match="x and k must give a result"):
        raw_moment(np.array([1e30], dtype=np.float32), 2)
