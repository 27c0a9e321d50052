"""Property tests of labcode.moments: scipy.stats, exact sums, hostile input."""

import math
import warnings
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from contract_helpers import SUITE, Entry, bounded, check_hostile, hostile_values
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray
from scipy import stats

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

RNG = np.random.default_rng(5)
SAMPLE = RNG.standard_normal((7, 2))


def _normal_mgf(t: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.exp(t**2 / 2)


def _evaluates(density: Callable[[NDArray[np.float64]], ArrayLike]) -> None:
    value = density(np.array([0.5, 1.5]))
    assert np.all(np.isfinite(value))


ENTRIES = [
    Entry("labcode.moments.raw_moment", raw_moment, {"x": SAMPLE, "k": 3, "axis": 0}),
    Entry(
        "labcode.moments.central_moment",
        central_moment,
        {"x": SAMPLE, "k": 2, "axis": None},
    ),
    Entry(
        "labcode.moments.standardized_moment",
        standardized_moment,
        {"x": SAMPLE, "k": 4, "axis": -1},
        nan_ok=True,  # documented: NaN where the variance is zero, as scipy
    ),
    Entry(
        "labcode.moments.skewness",
        skewness,
        {"x": SAMPLE, "axis": 0, "bias": False},
        nan_ok=True,
    ),
    Entry(
        "labcode.moments.kurtosis",
        kurtosis,
        {"x": SAMPLE, "axis": 0, "excess": True, "bias": False},
        nan_ok=True,
    ),
    Entry(
        "labcode.moments.pearson_median_skewness",
        pearson_median_skewness,
        {"x": SAMPLE, "axis": 0, "ddof": 1},
        nan_ok=True,
    ),
    Entry(
        "labcode.moments.empirical_mgf",
        empirical_mgf,
        {"x": SAMPLE[:, 0], "t": np.array([0.0, 0.5])},
    ),
    Entry(
        "labcode.moments.mgf_moment",
        mgf_moment,
        {"mgf": _normal_mgf, "k": 2, "h": None},
    ),
    Entry("labcode.moments.binomial_transform", binomial_transform, {"a": [1, 2, 3]}),
    Entry(
        "labcode.moments.inverse_binomial_transform",
        inverse_binomial_transform,
        {"b": [1.0, 2.0, 4.0]},
    ),
    Entry("labcode.moments.die_moments", die_moments, {"faces": 6}),
    Entry(
        "labcode.moments.transform_pdf",
        transform_pdf,
        {"pdf": stats.norm.pdf, "inverse": np.log, "inverse_derivative": np.reciprocal},
    ),
    Entry(
        "labcode.moments.transform_pdf_piecewise",
        transform_pdf_piecewise,
        {"pdf": stats.norm.pdf, "branches": [(np.sqrt, np.sqrt)]},
    ),
    Entry(
        "labcode.moments.transform_cdf",
        transform_cdf,
        {"cdf": stats.norm.cdf, "inverse": np.log, "increasing": True},
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


samples = st.builds(
    lambda seed, n, scale, shift: (
        np.random.default_rng(seed).standard_normal(n) * scale + shift
    ),
    st.integers(0, 2**32 - 1),
    st.integers(2, 30),
    st.sampled_from([1.0, 1e-150, 1e150]),
    st.sampled_from([0.0, 3.0]),
)


@pytest.mark.covers(
    "labcode.moments.central_moment",
    "labcode.moments.standardized_moment",
    "labcode.moments.skewness",
    "labcode.moments.kurtosis",
    "labcode.moments.raw_moment",
)
@SUITE
@given(samples, st.integers(0, 6), st.booleans())
def test_moments_equal_scipy_on_scaled_data(
    x: NDArray[np.float64], k: int, bias: bool
) -> None:
    scale = float(np.max(np.abs(x)))
    unit = x / scale
    size = k * math.log10(scale)
    if size > 310:  # the moment itself is beyond float64
        with pytest.raises(ValueError, match="x and k must give a result inside"):
            raw_moment(x, k)
        return
    if size > 306:  # too close to the edge to say which side
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about its own precision
        want = stats.moment(unit, k) * scale**k if k != 1 else 0.0
        g1 = stats.skew(unit, bias=bias)
        g2 = stats.kurtosis(unit, bias=bias)
        moment_2 = stats.moment(unit, 2)
        moment_k = stats.moment(unit, k)
    got = bounded(central_moment, x, k)
    if np.isfinite(want):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-12 * abs(scale**k))
    raw = bounded(raw_moment, x, k)
    np.testing.assert_allclose(raw, np.mean(unit**k) * scale**k, rtol=1e-9)
    s = bounded(skewness, x, bias=bias)
    c = bounded(kurtosis, x, bias=bias)
    if np.isfinite(g1):
        np.testing.assert_allclose(s, g1, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(c, g2, rtol=1e-7, atol=1e-9)
    else:
        assert np.isnan(s)
    if k >= 2 and np.isfinite(g1):
        m = bounded(standardized_moment, x, k)
        want_k = moment_k / moment_2 ** (k / 2)
        np.testing.assert_allclose(m, want_k, rtol=1e-7, atol=1e-9)


@pytest.mark.covers("labcode.moments.pearson_median_skewness")
@SUITE
@given(samples, st.integers(0, 1))
def test_pearson_skewness_is_bounded_and_scale_free(
    x: NDArray[np.float64], ddof: int
) -> None:
    p = bounded(pearson_median_skewness, x, ddof=ddof)
    if np.isnan(p):
        return
    assert -3.0 * math.sqrt(len(x)) <= p <= 3.0 * math.sqrt(len(x))
    np.testing.assert_allclose(
        pearson_median_skewness(x * 2.0, ddof=ddof), p, rtol=1e-9
    )
    unit = x / np.max(np.abs(x))
    want = 3 * (np.mean(unit) - np.median(unit)) / np.std(unit, ddof=ddof)
    np.testing.assert_allclose(p, want, rtol=1e-7, atol=1e-9)


@pytest.mark.covers("labcode.moments.empirical_mgf")
@SUITE
@given(samples, st.lists(st.floats(-5, 5), min_size=1, max_size=4))
def test_empirical_mgf_equals_the_mean_of_exponentials(
    x: NDArray[np.float64], ts: list[float]
) -> None:
    unit = x / np.max(np.abs(x))
    got = bounded(empirical_mgf, unit, np.array(ts))
    want = np.mean(np.exp(np.outer(ts, unit)), axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.covers("labcode.moments.mgf_moment")
@SUITE
@given(st.integers(0, 6), st.floats(0.5, 2.0))
def test_mgf_moment_of_a_normal(k: int, sd: float) -> None:
    got = bounded(mgf_moment, lambda t: np.exp((sd * t) ** 2 / 2), k, h=0.05 / sd)
    want = 0.0 if k % 2 else sd**k * math.prod(range(k - 1, 0, -2))
    assert math.isfinite(got)
    assert got == pytest.approx(want, rel=1e-3, abs=1e-3 * sd**k)


@pytest.mark.covers(
    "labcode.moments.binomial_transform", "labcode.moments.inverse_binomial_transform"
)
@SUITE
@given(st.lists(st.integers(-(10**30), 10**30), min_size=1, max_size=40))
def test_binomial_transforms_invert_each_other_exactly(a: list[int]) -> None:
    b = bounded(binomial_transform, a)
    assert inverse_binomial_transform(b.tolist()).tolist() == a
    floats = bounded(binomial_transform, np.array(a[:10], dtype=np.float64) / 1e30)
    np.testing.assert_allclose(
        floats, np.array([float(v) for v in b[:10]]) / 1e30, rtol=1e-9, atol=1e-6
    )


@pytest.mark.covers("labcode.moments.die_moments")
@SUITE
@given(st.integers(1, 300))
def test_die_moments_equal_the_sums(faces: int) -> None:
    mean, var = bounded(die_moments, faces)
    p = Fraction(1, faces)
    assert mean == sum(p * v for v in range(1, faces + 1))
    assert var == sum(p * (v - mean) ** 2 for v in range(1, faces + 1))


@pytest.mark.covers(
    "labcode.moments.transform_pdf",
    "labcode.moments.transform_pdf_piecewise",
    "labcode.moments.transform_cdf",
)
@SUITE
@given(st.floats(0.05, 20.0))
def test_transforms_equal_scipy_distributions(y: float) -> None:
    lognormal = transform_pdf(stats.norm.pdf, np.log, lambda v: 1 / v)
    assert bounded(lognormal, y) == pytest.approx(stats.lognorm(1).pdf(y), rel=1e-9)
    chi2 = transform_pdf_piecewise(
        stats.norm.pdf,
        [
            (np.sqrt, lambda v: 0.5 / np.sqrt(v)),
            (lambda v: -np.sqrt(v), lambda v: 0.5 / np.sqrt(v)),
        ],
    )
    assert bounded(chi2, y) == pytest.approx(stats.chi2(1).pdf(y), rel=1e-9)
    up = transform_cdf(stats.norm.cdf, np.log, increasing=True)
    assert up(y) == pytest.approx(stats.lognorm(1).cdf(y), rel=1e-9)
    down = transform_cdf(stats.expon.cdf, lambda v: 1 / v, increasing=False)
    assert down(y) == pytest.approx(1 - stats.expon.cdf(1 / y), rel=1e-9)
