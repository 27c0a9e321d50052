"""Property tests of labcode.conv: naive twins, scipy, and hostile input."""

from typing import Any, Literal

import numpy as np
import pytest
from contract_helpers import FEW, SUITE, Entry, bounded, check_hostile, hostile_values
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from labcode.conv import (
    best_match,
    conv_backward,
    conv_backward_naive,
    conv_forward,
    conv_forward_naive,
    correlate2d,
    correlate_method,
    match_template,
)

Floats = NDArray[np.floating[Any]]
# x, weights, bias, stride, pad
Layer = tuple[Floats, Floats, Floats, int, int]
F64 = NDArray[np.float64]
Mode = Literal["valid", "same", "full"]
MODES: tuple[Mode, ...] = ("valid", "same", "full")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 2, 5, 5))
W = RNG.standard_normal((3, 2, 3, 3))
DOUT = RNG.standard_normal((2, 3, 3, 3))
IMAGE = RNG.standard_normal((8, 9))
TEMPLATE = RNG.standard_normal((3, 2))


def _array(result: object) -> None:
    assert isinstance(result, np.ndarray)


ENTRIES = [
    Entry(
        "labcode.conv.conv_forward",
        conv_forward,
        {"x": X, "w": W, "b": np.zeros(3), "stride": 1, "pad": 0},
        _array,
    ),
    Entry(
        "labcode.conv.conv_forward_naive",
        conv_forward_naive,
        {"x": X, "w": W, "b": None, "stride": 1, "pad": 0},
        _array,
    ),
    Entry(
        "labcode.conv.conv_backward",
        conv_backward,
        {"dout": DOUT, "x": X, "w": W, "stride": 1, "pad": 0},
    ),
    Entry(
        "labcode.conv.conv_backward_naive",
        conv_backward_naive,
        {"dout": DOUT, "x": X, "w": W, "stride": 1, "pad": 0},
    ),
    Entry(
        "labcode.conv.correlate2d",
        correlate2d,
        {"image": IMAGE, "template": TEMPLATE, "mode": "valid", "method": "auto"},
        _array,
    ),
    Entry(
        "labcode.conv.correlate_method",
        correlate_method,
        {"image_shape": (8, 9), "template_shape": (3, 2), "mode": "full"},
        lambda r: r in ("direct", "fft") or pytest.fail(r),
    ),
    Entry(
        "labcode.conv.match_template",
        match_template,
        {"image": IMAGE, "template": TEMPLATE},
        _array,
    ),
    Entry("labcode.conv.best_match", best_match, {"scores": IMAGE}),
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
def layers(draw: st.DrawFn) -> Layer:
    n, c, f = (draw(st.integers(1, 2)) for _ in range(3))
    hh, ww = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, hh - 2 * pad), 6))
    w = draw(st.integers(max(1, ww - 2 * pad), 6))
    stride = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((f, c, hh, ww)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, wt, b, stride, pad


@pytest.mark.covers("labcode.conv.conv_forward", "labcode.conv.conv_forward_naive")
@SUITE
@given(layers())
def test_forward_fast_equals_naive(layer: Layer) -> None:
    x, w, b, stride, pad = layer
    fast = bounded(conv_forward, x, w, b, stride=stride, pad=pad)
    naive = bounded(conv_forward_naive, x, w, b, stride=stride, pad=pad)
    assert fast.dtype == naive.dtype == x.dtype
    assert np.all(np.isfinite(fast))
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fast, naive, rtol=tol, atol=tol)


@pytest.mark.covers("labcode.conv.conv_backward", "labcode.conv.conv_backward_naive")
@SUITE
@given(layers(), st.integers(0, 2**32 - 1))
def test_backward_fast_equals_naive(layer: Layer, seed: int) -> None:
    x, w, b, stride, pad = layer
    out = conv_forward(x, w, b, stride=stride, pad=pad)
    dout = np.random.default_rng(seed).standard_normal(out.shape).astype(x.dtype)
    fast = bounded(conv_backward, dout, x, w, stride=stride, pad=pad)
    naive = bounded(conv_backward_naive, dout, x, w, stride=stride, pad=pad)
    tol = 1e-4 if x.dtype == np.float32 else 1e-10
    for got, want in zip(fast, naive, strict=True):
        assert got.shape == want.shape
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@st.composite
def correlations(draw: st.DrawFn) -> tuple[F64, F64, Mode]:
    shape = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    t_shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    mode = draw(st.sampled_from(MODES))
    if mode == "valid":
        t_shape = (min(t_shape[0], shape[0]), min(t_shape[1], shape[1]))
    scale = draw(st.sampled_from([1.0, 1e-200, 1e150]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = rng.standard_normal(shape) * scale
    template = rng.standard_normal(t_shape)
    return image, template, mode


@pytest.mark.covers("labcode.conv.correlate2d", "labcode.conv.correlate_method")
@SUITE
@given(correlations(), st.sampled_from(["auto", "direct", "fft"]))
def test_correlate2d_equals_scipy(case: tuple[F64, F64, Mode], method: str) -> None:
    image, template, mode = case
    got = bounded(correlate2d, image, template, mode=mode, method=method)
    scale = float(np.max(np.abs(image)))
    want = signal.correlate2d(image / scale, template, mode=mode) * scale
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale)
    chosen = correlate_method(image.shape, template.shape, mode=mode)
    assert chosen in ("direct", "fft")


def _ncc_naive(image: F64, template: F64) -> F64:
    h, w = template.shape
    t = template - template.mean()
    out = np.zeros((image.shape[0] - h + 1, image.shape[1] - w + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            win = image[r : r + h, c : c + w]
            win = win - win.mean()
            den = np.sqrt(np.sum(win * win) * np.sum(t * t))
            out[r, c] = (
                0.0 if den < 1e-9 * np.sqrt(np.sum(t * t)) else np.sum(win * t) / den
            )
    return out


@pytest.mark.covers("labcode.conv.match_template", "labcode.conv.best_match")
@FEW
@given(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 1e-250, 1e250]))
def test_match_template_equals_naive_and_finds_the_cut(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    image = rng.random((9, 10))
    r, c = int(rng.integers(0, 6)), int(rng.integers(0, 6))
    template = image[r : r + 4, c : c + 4].copy()
    got = bounded(match_template, image * scale, template)
    assert np.all(np.isfinite(got))
    assert np.all(np.abs(got) <= 1.0)
    np.testing.assert_allclose(got, _ncc_naive(image, template), atol=1e-7)
    assert bounded(best_match, got) == (r, c)
    flat = np.unravel_index(int(np.argmax(got)), got.shape)
    assert best_match(got) == (int(flat[0]), int(flat[1]))
