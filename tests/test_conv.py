from collections.abc import Callable
from typing import Any, Literal, TypedDict

import numpy as np
import pytest
from hypothesis import given, settings
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
from labcode.datasets import grace_hopper
from labcode.gradcheck import numerical_gradient, relative_error

RNG = np.random.default_rng(2024)

Floats = NDArray[np.floating[Any]]
# x, w, b, stride, pad
Layer = tuple[Floats, Floats, Floats, int, int]


class Tolerance(TypedDict):
    rtol: float
    atol: float


def scipy_conv_forward(
    x: Floats, w: Floats, b: Floats, stride: int, pad: int
) -> Floats:
    """The layer from scipy.signal.correlate: one 3-D 'valid' correlation per (n, f)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    rows = []
    for sample in xp:
        maps = [
            signal.correlate(sample, filt, mode="valid")[0, ::stride, ::stride] + bias
            for filt, bias in zip(w, b, strict=True)
        ]
        rows.append(maps)
    return np.array(rows)


@st.composite
def layer_problems(draw: st.DrawFn) -> Layer:
    n = draw(st.integers(1, 3))
    c = draw(st.integers(1, 3))
    f = draw(st.integers(1, 3))
    h = draw(st.integers(1, 7))
    w = draw(st.integers(1, 7))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    hh = draw(st.integers(1, h + 2 * pad))
    ww = draw(st.integers(1, w + 2 * pad))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    kernel = rng.standard_normal((f, c, hh, ww)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    return x, kernel, bias, stride, pad


def tolerance(dtype: np.dtype[Any]) -> Tolerance:
    return (
        {"rtol": 1e-4, "atol": 1e-4}
        if dtype == np.float32
        else {"rtol": 1e-10, "atol": 1e-11}
    )


# ------------------------------------------------------------------ forward
@settings(max_examples=120, deadline=None)
@given(problem=layer_problems())
def test_forward_fast_naive_and_scipy_agree(problem: Layer) -> None:
    x, w, b, stride, pad = problem
    fast = conv_forward(x, w, b, stride=stride, pad=pad)
    naive = conv_forward_naive(x, w, b, stride=stride, pad=pad)
    reference = scipy_conv_forward(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride, pad
    )
    h_out = 1 + (x.shape[2] + 2 * pad - w.shape[2]) // stride
    w_out = 1 + (x.shape[3] + 2 * pad - w.shape[3]) // stride
    assert fast.shape == naive.shape == (x.shape[0], w.shape[0], h_out, w_out)
    assert fast.dtype == naive.dtype == x.dtype
    np.testing.assert_allclose(fast, naive, **tolerance(x.dtype))
    np.testing.assert_allclose(fast, reference, **tolerance(x.dtype))


def test_forward_large_batch_uses_blocks_and_agrees() -> None:
    # 70 samples of 12x12 with 4 channels: several blocks, the last one partial.
    x = RNG.standard_normal((70, 4, 12, 12))
    w = RNG.standard_normal((6, 4, 3, 3))
    b = RNG.standard_normal(6)
    for stride in (1, 2):
        got = conv_forward(x, w, b, stride=stride, pad=1)
        want = scipy_conv_forward(x, w, b, stride, 1)
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize(
    ("kernel", "pad"),
    [
        ((3, 3), 1),  # "same": each kernel offset is one contiguous run
        ((5, 5), 2),  # two wrapped columns on each side
        ((1, 1), 0),
        ((3, 5), 2),  # W' = W (runs) but H' = H + 2: rows of pure padding
        ((5, 3), 1),  # W' = W, H' = H - 2
        ((3, 3), 0),  # W' < W: rectangles
        ((2, 2), 1),  # even kernel, W' = W + 1: rectangles
    ],
)
@pytest.mark.parametrize("shape", [(3, 16, 40, 40), (9, 3, 7, 6)])
def test_forward_column_layouts_agree_with_naive(
    kernel: tuple[int, int], pad: int, shape: tuple[int, int, int, int]
) -> None:
    # The fast forward pass copies each kernel offset either as one contiguous
    # run of the flattened image (stride 1, W' = W; the wrapped-around columns
    # zeroed afterwards) or as a rectangle; samples of 16x40x40 get one product
    # each, written into the output, and 9 small samples share blocks (the last
    # one partial). x is also given as a non-contiguous view.
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal((4, shape[1], *kernel))
    b = RNG.standard_normal(4)
    want = conv_forward_naive(x, w, b, pad=pad)
    np.testing.assert_allclose(
        conv_forward(x, w, b, pad=pad), want, rtol=1e-10, atol=1e-11
    )
    x_t = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    assert not x_t.flags.c_contiguous
    np.testing.assert_allclose(
        conv_forward(x_t, w, b, pad=pad), want, rtol=1e-10, atol=1e-11
    )
    # Calls reuse nothing: a second call on other data is not polluted by the first.
    y = RNG.standard_normal(shape)
    np.testing.assert_allclose(
        conv_forward(y, w, b, pad=pad),
        conv_forward_naive(y, w, b, pad=pad),
        rtol=1e-10,
        atol=1e-11,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_one_sample_blocks_agree_with_naive(
    dtype: type[np.floating[Any]], stride: int
) -> None:
    # Samples this large (16 channels, 40x40) get one matrix product each; for
    # stride > 1 the product is written straight into the output array.
    x = RNG.standard_normal((3, 16, 40, 40)).astype(dtype)
    w = RNG.standard_normal((5, 16, 3, 3)).astype(dtype)
    b = RNG.standard_normal(5).astype(dtype)
    got = conv_forward(x, w, b, stride=stride, pad=1)
    want = conv_forward_naive(x, w, b, stride=stride, pad=1)
    assert got.dtype == dtype
    tol: Tolerance = (
        {"rtol": 1e-4, "atol": 1e-3}
        if dtype == np.float32
        else {"rtol": 1e-10, "atol": 1e-11}
    )
    np.testing.assert_allclose(got, want, **tol)
    dout = RNG.standard_normal(got.shape).astype(dtype)
    fast = conv_backward(dout, x, w, stride=stride, pad=1)
    naive = conv_backward_naive(dout, x, w, stride=stride, pad=1)
    for g, n in zip(fast, naive, strict=True):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, n, **tol)
    # db (taken from the product with the columns' row of ones) is the plain sum.
    np.testing.assert_allclose(
        fast[2],
        dout.astype(np.float64).sum(axis=(0, 2, 3)),
        rtol=1e-4 if dtype == np.float32 else 1e-12,
    )


def test_forward_without_bias_is_bias_zero() -> None:
    x = RNG.standard_normal((2, 3, 5, 5))
    w = RNG.standard_normal((4, 3, 3, 3))
    np.testing.assert_array_equal(conv_forward(x, w), conv_forward(x, w, np.zeros(4)))


def test_forward_is_cross_correlation_not_convolution() -> None:
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # an impulse
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    out = conv_forward(x, w, pad=1)[0, 0]
    # The impulse response of a correlation is the kernel flipped both ways.
    np.testing.assert_array_equal(out, w[0, 0, ::-1, ::-1])


@pytest.mark.parametrize(
    ("x_dtype", "w_dtype", "expected"),
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float32, np.float64),
        (np.int64, np.int64, np.float64),
        (np.uint8, np.float32, np.float64),
    ],
    ids=["f32", "mixed", "int", "uint8"],
)
def test_dtypes(
    x_dtype: type[np.generic], w_dtype: type[np.generic], expected: type[np.generic]
) -> None:
    x = np.ones((1, 2, 4, 4), dtype=x_dtype)
    w = np.ones((3, 2, 2, 2), dtype=w_dtype)
    assert conv_forward(x, w).dtype == expected
    dx, dw, db = conv_backward(np.ones((1, 3, 3, 3), dtype=x_dtype), x, w)
    assert dx.dtype == dw.dtype == db.dtype == expected
    np.testing.assert_array_equal(conv_forward(x, w), 8.0)


# ------------------------------------------------------------------ backward
@settings(max_examples=120, deadline=None)
@given(problem=layer_problems())
def test_backward_fast_and_naive_agree(problem: Layer) -> None:
    x, w, b, stride, pad = problem
    out = conv_forward(x, w, b, stride=stride, pad=pad)
    dout = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    fast = conv_backward(dout, x, w, stride=stride, pad=pad)
    naive = conv_backward_naive(dout, x, w, stride=stride, pad=pad)
    for got, want, like in zip(fast, naive, (x, w, b), strict=True):
        assert got.shape == want.shape == like.shape
        assert got.dtype == x.dtype
        np.testing.assert_allclose(got, want, **tolerance(x.dtype))


@settings(max_examples=60, deadline=None)
@given(problem=layer_problems())
def test_adjoint_identity(problem: Layer) -> None:
    # <conv(x), dout> = <x, dx> + <b, db>: the layer is affine in x, and dx is
    # exactly the adjoint of the linear part applied to dout.
    x, w, b, stride, pad = problem
    x, w, b = (a.astype(np.float64) for a in (x, w, b))
    out = conv_forward(x, w, stride=stride, pad=pad)
    dout = np.random.default_rng(1).standard_normal(out.shape)
    dx, dw, db = conv_backward(dout, x, w, stride=stride, pad=pad)
    lhs = np.sum(out * dout)
    assert lhs == pytest.approx(np.sum(x * dx), rel=1e-10, abs=1e-10)
    assert lhs == pytest.approx(np.sum(w * dw), rel=1e-10, abs=1e-10)  # linear in w too
    assert np.sum(
        conv_forward(x, w, b, stride=stride, pad=pad) * dout
    ) == pytest.approx(lhs + np.sum(b * db), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize(("stride", "pad"), [(1, 0), (1, 1), (2, 1), (3, 2)])
def test_gradients_match_centred_differences(stride: int, pad: int) -> None:
    rng = np.random.default_rng(stride * 10 + pad)
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    dout = rng.standard_normal(conv_forward(x, w, b, stride=stride, pad=pad).shape)

    def loss(x_: Floats, w_: Floats, b_: Floats) -> float:
        return float(np.sum(conv_forward(x_, w_, b_, stride=stride, pad=pad) * dout))

    dx, dw, db = conv_backward(dout, x, w, stride=stride, pad=pad)
    assert relative_error(dx, numerical_gradient(lambda v: loss(v, w, b), x)) < 1e-7
    assert relative_error(dw, numerical_gradient(lambda v: loss(x, v, b), w)) < 1e-7
    assert relative_error(db, numerical_gradient(lambda v: loss(x, w, v), b)) < 1e-7


def test_dx_is_full_convolution_with_the_flipped_kernel() -> None:
    # Stride 1: dx = conv_forward(dout, w flipped and with F and C swapped, pad=HH-1-pad).
    x = RNG.standard_normal((2, 3, 8, 9))
    w = RNG.standard_normal((5, 3, 3, 4))
    for pad in (0, 1, 2):
        dout = RNG.standard_normal(conv_forward(x, w, pad=pad).shape)
        dx, _, _ = conv_backward(dout, x, w, pad=pad)
        w_flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        full = np.pad(dout, ((0, 0), (0, 0), (2 - pad, 2 - pad), (3 - pad, 3 - pad)))
        via_forward = conv_forward(full, w_flipped)
        np.testing.assert_allclose(dx, via_forward, rtol=1e-11, atol=1e-11)


def test_backward_large_batch_agrees_with_naive() -> None:
    x = RNG.standard_normal((40, 2, 9, 9))
    w = RNG.standard_normal((3, 2, 3, 3))
    for stride in (1, 2):
        dout = RNG.standard_normal(conv_forward(x, w, stride=stride, pad=1).shape)
        fast = conv_backward(dout, x, w, stride=stride, pad=1)
        naive = conv_backward_naive(dout, x, w, stride=stride, pad=1)
        for got, want in zip(fast, naive, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ layer input checks
X = np.zeros((2, 3, 5, 5))
W = np.zeros((4, 3, 3, 3))


@pytest.mark.parametrize(
    "func", [conv_forward, conv_forward_naive], ids=["fast", "naive"]
)
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"x": np.zeros((3, 5, 5))},
            ValueError,
            r"x must be 4-D \(N, C, H, W\); got shape \(3, 5, 5\)",
        ),
        ({"w": np.zeros((3, 3, 3))}, ValueError, r"w must be 4-D \(F, C, HH, WW\)"),
        (
            {"w": np.zeros((4, 2, 3, 3))},
            ValueError,
            r"w must have as many channels as x",
        ),
        (
            {"b": np.zeros(3)},
            ValueError,
            r"b must have shape \(F,\) = \(4,\); got \(3,\)",
        ),
        ({"stride": 0}, ValueError, r"stride must be >= 1; got 0"),
        ({"stride": 1.5}, TypeError, r"stride must be an integer"),
        ({"pad": -1}, ValueError, r"pad must be >= 0; got -1"),
        (
            {"w": np.zeros((4, 3, 8, 3))},
            ValueError,
            r"kernel 8x3 is larger than the padded input 5x5",
        ),
        ({"x": np.zeros((0, 3, 5, 5))}, ValueError, r"x must not be empty"),
        ({"x": np.zeros((2, 3, 5, 5), dtype=complex)}, TypeError, r"x must be real"),
        ({"x": [["a"]]}, TypeError, r"x must be a numeric array; got dtype <U1"),
    ],
    ids=[
        "x-3d",
        "w-3d",
        "channels",
        "bias",
        "stride-0",
        "stride-float",
        "pad-negative",
        "kernel-too-big",
        "empty",
        "complex",
        "strings",
    ],
)
def test_forward_input_errors(
    func: Callable[..., Floats],
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    args = {"x": X, "w": W, "b": None, "stride": 1, "pad": 0} | kwargs
    with pytest.raises(error, match=message):
        func(args.pop("x"), args.pop("w"), args.pop("b"), **args)


@pytest.mark.parametrize(
    "func", [conv_backward, conv_backward_naive], ids=["fast", "naive"]
)
def test_backward_input_errors(func: Callable[..., object]) -> None:
    with pytest.raises(
        ValueError,
        match=r"dout must have the output's shape .* \(2, 4, 3, 3\); got \(2, 4, 3, 2\)",
    ):
        func(np.zeros((2, 4, 3, 2)), X, W)
    with pytest.raises(ValueError, match=r"dout must be 4-D"):
        func(np.zeros((4, 3, 3)), X, W)
    with pytest.raises(ValueError, match=r"pad must be >= 0"):
        func(np.zeros((2, 4, 3, 3)), X, W, pad=-2)


def test_kernel_fits_only_with_padding() -> None:
    x = np.ones((1, 1, 2, 2))
    w = np.ones((1, 1, 4, 4))
    with pytest.raises(ValueError, match="larger than the padded input 2x2"):
        conv_forward(x, w)
    np.testing.assert_array_equal(conv_forward(x, w, pad=1), [[[[4.0]]]])


# ------------------------------------------------------------------ correlate2d
@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    t_shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    mode=st.sampled_from(["valid", "same", "full"]),
    method=st.sampled_from(["direct", "fft", "auto"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_correlate2d_matches_scipy(
    shape: tuple[int, int],
    t_shape: tuple[int, int],
    mode: Literal["valid", "same", "full"],
    method: str,
    seed: int,
) -> None:
    if mode == "valid" and (t_shape[0] > shape[0] or t_shape[1] > shape[1]):
        return
    rng = np.random.default_rng(seed)
    image = rng.standard_normal(shape)
    template = rng.standard_normal(t_shape)
    got = correlate2d(image, template, mode=mode, method=method)
    want = signal.correlate2d(image, template, mode=mode)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_correlate2d_large_image(method: str) -> None:
    image = RNG.standard_normal((130, 97))
    template = RNG.standard_normal((21, 14))
    for mode in ("valid", "same", "full"):
        got = correlate2d(image, template, mode=mode, method=method)
        np.testing.assert_allclose(
            got, signal.correlate2d(image, template, mode=mode), atol=1e-9
        )


def test_correlate2d_float32_stays_float32() -> None:
    image = RNG.standard_normal((40, 40)).astype(np.float32)
    template = RNG.standard_normal((9, 9)).astype(np.float32)
    for method in ("direct", "fft"):
        got = correlate2d(image, template, method=method)
        assert got.dtype == np.float32
        np.testing.assert_allclose(
            got, signal.correlate2d(image, template, mode="valid"), rtol=1e-4, atol=1e-4
        )
    assert correlate2d(image.astype(int), template.astype(int)).dtype == np.float64


def test_correlate2d_auto_picks_by_size() -> None:
    # A 3x3 template on a small image: direct; a 60x60 template on 512x512: FFT.
    assert correlate_method((32, 32), (3, 3)) == "direct"
    assert correlate_method((512, 512), (60, 60)) == "fft"
    assert correlate_method((512, 512), (60, 60), mode="full") == "fft"
    # auto computes what correlate_method says, to rounding.
    rng = np.random.default_rng(0)
    image, template = rng.standard_normal((40, 40)), rng.standard_normal((5, 5))
    chosen = correlate_method(image.shape, template.shape)
    np.testing.assert_array_equal(
        correlate2d(image, template), correlate2d(image, template, method=chosen)
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "pattern"),
    [
        (((0, 3), (1, 1)), {}, ValueError, r"image_shape\[0\] must be >= 1"),
        (((3,), (1, 1)), {}, TypeError, "image_shape must be a pair"),
        (((3, 3), (1.0, 1)), {}, TypeError, r"template_shape\[0\] must be an integer"),
        (((3, 3), (4, 4)), {}, ValueError, "template must be no larger than image"),
        (((3, 3), (1, 1)), {"mode": "wrap"}, ValueError, "mode must be one of"),
        (
            ((10**6, 10**6), (1, 1)),
            {},
            ValueError,
            "image and template must need at most",
        ),
    ],
)
def test_correlate_method_checks(
    args: tuple[Any, ...], kwargs: dict[str, Any], exc: type[Exception], pattern: str
) -> None:
    with pytest.raises(exc, match=pattern):
        correlate_method(*args, **kwargs)


def test_correlate2d_does_not_overflow_on_the_way() -> None:
    rng = np.random.default_rng(3)
    image = rng.standard_normal((30, 30))
    template = rng.standard_normal((20, 20))
    want = correlate2d(image, template)
    for method in ("direct", "fft"):
        got = correlate2d(image * 1e300, template * 1e-300, method=method)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="image and template must have a correlation"):
        correlate2d(image * 1e300, template * 1e300)


def test_correlate2d_limits() -> None:
    with pytest.raises(
        ValueError, match="method='direct' with this image and template"
    ):
        correlate2d(np.zeros((2000, 2000)), np.ones((1000, 1000)), method="direct")


def test_match_template_scale_free() -> None:
    rng = np.random.default_rng(4)
    image = rng.standard_normal((40, 40))
    template = image[5:30, 7:32].copy()
    want = match_template(image, template)
    for a, b in ((1e300, 1.0), (1e-300, 1e300), (1.0, 1e-300)):
        got = match_template(image * a, template * b)
        np.testing.assert_allclose(got, want, atol=1e-9)
    assert best_match(want) == (5, 7)


def test_layer_memory_bounds() -> None:
    with pytest.raises(ValueError, match="pad must need at most"):
        conv_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 1, 1)), pad=10**6)
    with pytest.raises(ValueError, match="pad must need at most"):
        conv_backward_naive(
            np.zeros((1, 1, 1, 1)),
            np.zeros((1, 1, 2, 2)),
            np.zeros((1, 1, 1, 1)),
            pad=10**6,
        )


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (
            (np.zeros(5), np.ones((2, 2))),
            {},
            ValueError,
            r"image must be 2-D \(H, W\); got shape \(5,\)",
        ),
        (
            (np.zeros((5, 5)), np.ones((2, 2, 2))),
            {},
            ValueError,
            r"template must be 2-D",
        ),
        (
            (np.zeros((3, 3)), np.ones((4, 2))),
            {},
            ValueError,
            r"template must be no larger than image in mode 'valid'",
        ),
        (
            (np.zeros((3, 3)), np.ones((2, 2))),
            {"mode": "wrap"},
            ValueError,
            r"mode must be one of 'valid', 'same', 'full'; got 'wrap'",
        ),
        (
            (np.zeros((3, 3)), np.ones((2, 2))),
            {"method": "fast"},
            ValueError,
            r"method must be one of",
        ),
        (
            (np.full((3, 3), np.nan), np.ones((2, 2))),
            {},
            ValueError,
            r"image must contain only finite values",
        ),
        (
            (np.zeros((0, 3)), np.ones((2, 2))),
            {},
            ValueError,
            r"image must not be empty",
        ),
        (
            (np.zeros((3, 3)), np.ones((2, 2), dtype=complex)),
            {},
            TypeError,
            r"template must be real",
        ),
    ],
    ids=[
        "image-1d",
        "template-3d",
        "too-big",
        "mode",
        "method",
        "nan",
        "empty",
        "complex",
    ],
)
def test_correlate2d_errors(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        correlate2d(*args, **kwargs)


# ------------------------------------------------------------------ template matching
def naive_ncc(
    image: NDArray[np.float64], template: NDArray[np.float64]
) -> NDArray[np.float64]:
    h, w = template.shape
    t = template - template.mean()
    out = np.zeros((image.shape[0] - h + 1, image.shape[1] - w + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            win = image[r : r + h, c : c + w]
            win = win - win.mean()
            denom = np.sqrt(np.sum(win * win) * np.sum(t * t))
            out[r, c] = np.sum(win * t) / denom if denom > 1e-12 else 0.0
    return out


def test_match_template_matches_naive_ncc() -> None:
    image = RNG.standard_normal((30, 25))
    template = RNG.standard_normal((7, 5))
    np.testing.assert_allclose(
        match_template(image, template), naive_ncc(image, template), atol=1e-10
    )


def test_match_template_is_invariant_to_affine_changes() -> None:
    image = RNG.standard_normal((20, 20))
    template = image[5:11, 3:9].copy()
    scores = match_template(image, template)
    assert best_match(scores) == (5, 3)
    assert scores[5, 3] == pytest.approx(1.0)
    np.testing.assert_allclose(
        match_template(3.0 * image + 7.0, template), scores, atol=1e-10
    )
    assert match_template(image, -template)[5, 3] == pytest.approx(-1.0)


def test_match_template_flat_windows_score_zero() -> None:
    image = np.zeros((10, 10))
    image[6:, 6:] = RNG.standard_normal((4, 4))
    scores = match_template(image, RNG.standard_normal((3, 3)))
    assert np.all(np.isfinite(scores))
    assert np.all(scores[:3, :3] == 0.0)
    assert np.all(np.abs(scores) <= 1.0)


def test_match_template_finds_a_patch_of_a_photograph_under_noise() -> None:
    photo = grace_hopper()[:512, :512]
    top, left = 180, 210
    template = photo[top : top + 60, left : left + 60].copy()
    noisy = photo + np.random.default_rng(7).normal(scale=0.2, size=photo.shape)
    scores = match_template(noisy, template)
    assert scores.shape == (453, 453)
    assert best_match(scores) == (top, left)
    assert scores[top, left] > 0.5


def test_match_template_dtype_and_errors() -> None:
    image = RNG.standard_normal((12, 12)).astype(np.float32)
    assert match_template(image, image[2:5, 2:6]).dtype == np.float32
    with pytest.raises(ValueError, match="template must not be constant"):
        match_template(image, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"template must be no larger than image"):
        match_template(image, np.ones((13, 3)))
    with pytest.raises(ValueError, match=r"scores must be 2-D"):
        best_match([1.0, 2.0])


@pytest.mark.parametrize(
    "layer",
    [conv_forward, conv_forward_naive],
)
def test_layer_overflow_from_finite_inputs_raises(layer: Callable[..., Floats]) -> None:
    x = np.full((1, 1, 3, 3), 1e200)
    w = np.full((1, 1, 2, 2), 1e200)
    with pytest.raises(ValueError, match="x, w, b must be small enough"):
        layer(x, w)
    # NaN in the input propagates, as documented, without a warning.
    x[0, 0, 0, 0] = np.nan
    out = layer(x / 1e200, w / 1e200)
    assert np.isnan(out[0, 0, 0, 0])
    assert np.isfinite(out[0, 0, 1, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", [conv_forward, conv_forward_naive])
def test_overflow_check_near_the_float_limit(
    layer: Callable[..., Floats], dtype: type[np.floating[Any]]
) -> None:
    # 8 filters on 1 channel of 6x6, values scaled towards the float limit: a
    # finite result is returned exactly as float64 computes it, an overflowing
    # one raises, NaN propagates.
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 1, 6, 6)).astype(dtype)
    w = rng.uniform(-1, 1, (8, 1, 3, 3)).astype(dtype)
    b = rng.uniform(-1, 1, 8).astype(dtype)
    fmax = float(np.finfo(dtype).max)
    # 9 products of magnitude at most scale^2 (plus the bias) per value
    for scale in (np.sqrt(fmax / 1e4), np.sqrt(fmax / 40)):
        xs, ws, bs = (a * dtype(scale) for a in (x, w, b))
        got = layer(xs, ws, bs, pad=1)
        want = conv_forward_naive(*(a.astype(np.float64) for a in (xs, ws, bs)), pad=1)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(
            got, want, rtol=1e-4 if dtype == np.float32 else 1e-10
        )
    big = np.full_like(x, np.sqrt(fmax) / 2)
    with pytest.raises(ValueError, match="x, w, b must be small enough"):
        layer(big, np.full_like(w, np.sqrt(fmax) / 2), b, pad=1)
    # NaN propagates, as documented, without an error or a warning.
    x_nan = x.copy()
    x_nan[0, 0, 2, 2] = np.nan
    out = layer(x_nan, w, b, pad=1)
    assert np.isnan(out[0, 0, 2, 2])
    assert np.isfinite(out[1]).all()


@pytest.mark.parametrize("layer", [conv_backward, conv_backward_naive])
def test_backward_overflow_from_finite_inputs_raises(
    layer: Callable[..., object],
) -> None:
    x = np.ones((1, 1, 3, 3))
    w = np.full((1, 1, 2, 2), 1e200)
    with pytest.raises(ValueError, match="dout, x, w must be small enough"):
        layer(np.full((1, 1, 2, 2), 1e200), x, w)


def test_naive_layers_bound_their_loops() -> None:
    x, w = np.zeros((2, 1, 2000, 2000)), np.zeros((2, 1, 1, 1))
    with pytest.raises(ValueError, match="x and w must need at most 10000000 loop"):
        conv_forward_naive(x, w)
    with pytest.raises(ValueError, match="x and w must need at most 10000000 loop"):
        conv_backward_naive(np.zeros((2, 2, 2000, 2000)), x, w)
