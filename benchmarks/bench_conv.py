"""Convolution layer and 2-D correlation against PyTorch and scipy (issue 3).

Layer: N=8, C=16, H=W=64, F=32, 3x3 kernel, pad 1, float64 and float32.
``conv_forward`` and ``conv_forward + conv_backward`` against
``torch.nn.functional.conv2d`` (and autograd) on the CPU, and against a plain
square matrix product with the same number of floating-point operations, the
practical limit of any method that computes the layer by BLAS.

Correlation: a 512x512 image and a 60x60 template,
``labcode.conv.correlate2d(method="auto")`` against
``scipy.signal.correlate(method="auto")``.

All numpy-side timings run before any torch timing, because torch's OpenMP
threads keep spinning for a while after each call and would steal the cores
that OpenBLAS uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal

from benchmarks._timing import measure, measure_interleaved, settle
from labcode.conv import conv_backward, conv_forward, correlate2d

Row = dict[str, Any]


def _layer_rows(quick: bool) -> list[Row]:
    import torch

    n, c, h, w, f, k = (2, 4, 16, 16, 8, 3) if quick else (8, 16, 64, 64, 32, 3)
    flops = 2 * n * f * c * k * k * h * w
    side = round((flops / 2) ** (1 / 3))
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    ours: dict[str, dict[str, float]] = {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        wt = rng.standard_normal((f, c, k, k)).astype(dtype)
        b = rng.standard_normal(f).astype(dtype)
        out = conv_forward(x, wt, b, pad=1)
        dout = rng.standard_normal(out.shape).astype(dtype)
        a = rng.standard_normal((side, side)).astype(dtype)
        m = rng.standard_normal((side, side)).astype(dtype)

        def forward_backward(x=x, wt=wt, b=b, dout=dout):
            conv_forward(x, wt, b, pad=1)
            conv_backward(dout, x, wt, pad=1)

        ours[name] = measure_interleaved(
            {
                "matmul": lambda a=a, m=m: a @ m,
                "forward": lambda x=x, wt=wt, b=b: conv_forward(x, wt, b, pad=1),
                "forward+backward": forward_backward,
            }
        )
        # Scale the matmul to exactly the layer's FLOP count.
        ours[name]["matmul"] *= flops / (2 * side**3)
    settle()
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        wt = rng.standard_normal((f, c, k, k)).astype(dtype)
        b = rng.standard_normal(f).astype(dtype)
        xt = torch.from_numpy(x).requires_grad_()
        wtt = torch.from_numpy(wt).requires_grad_()
        bt = torch.from_numpy(b).requires_grad_()
        # Same numbers on both sides, checked before timing.
        with torch.no_grad():
            reference = torch.nn.functional.conv2d(xt, wtt, bt, padding=1).numpy()
        tol = 1e-3 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(
            conv_forward(x, wt, b, pad=1), reference, rtol=tol, atol=tol
        )
        dout_t = torch.from_numpy(rng.standard_normal(reference.shape).astype(dtype))

        def torch_forward(xt=xt, wtt=wtt, bt=bt):
            with torch.no_grad():
                torch.nn.functional.conv2d(xt, wtt, bt, padding=1)

        def torch_forward_backward(xt=xt, wtt=wtt, bt=bt, dout_t=dout_t):
            xt.grad = wtt.grad = bt.grad = None
            torch.nn.functional.conv2d(xt, wtt, bt, padding=1).backward(dout_t)

        peer = measure_interleaved(
            {"forward": torch_forward, "forward+backward": torch_forward_backward}
        )
        matmul = ours[name]["matmul"]
        fwd = ours[name]["forward"]
        rows.append(
            {
                "benchmark": "conv layer",
                "case": f"{name} forward vs matmul",
                "ours_ms": fwd * 1e3,
                "peer": "square matmul, same FLOPs",
                "peer_ms": matmul * 1e3,
                "ratio": fwd / matmul,
                "metric": f"{flops / fwd / 1e9:.1f} GFLOP/s = "
                f"{100 * matmul / fwd:.0f}% of matmul's {flops / matmul / 1e9:.1f}",
                "goal": "float64: >= 50% of matmul GFLOP/s"
                if name == "float64"
                else "",
                "met": (matmul / fwd >= 0.5) if name == "float64" else None,
            }
        )
        for what in ("forward", "forward+backward"):
            rows.append(
                {
                    "benchmark": "conv layer",
                    "case": f"{name} {what} vs torch",
                    "ours_ms": ours[name][what] * 1e3,
                    "peer": f"torch {torch.__version__} conv2d",
                    "peer_ms": peer[what] * 1e3,
                    "ratio": ours[name][what] / peer[what],
                    "metric": f"{flops * (3 if '+' in what else 1) / ours[name][what] / 1e9:.1f}"
                    " GFLOP/s",
                    "goal": "float32 forward: <= 1.25x torch"
                    if (name, what) == ("float32", "forward")
                    else "",
                    "met": (ours[name][what] / peer[what] <= 1.25)
                    if (name, what) == ("float32", "forward")
                    else None,
                }
            )
        settle()
    return rows


def _correlation_rows(quick: bool) -> list[Row]:
    size, t_size = (128, 16) if quick else (512, 60)
    rng = np.random.default_rng(1)
    image = rng.standard_normal((size, size))
    template = image[40 : 40 + t_size, 50 : 50 + t_size].copy()
    np.testing.assert_allclose(
        correlate2d(image, template),
        signal.correlate(image, template, mode="valid"),
        atol=1e-8,
    )
    auto = measure_interleaved(
        {
            "ours": lambda: correlate2d(image, template),
            "scipy": lambda: signal.correlate(image, template, mode="valid"),
        }
    )
    ours, peer = auto["ours"], auto["scipy"]
    direct = measure(
        lambda: correlate2d(image, template, method="direct"), max_repeats=3
    ).best
    scipy_direct = measure(
        lambda: signal.correlate2d(image, template, mode="valid"), max_repeats=3
    ).best
    case = f"{size}x{size} image, {t_size}x{t_size} template"
    return [
        {
            "benchmark": "correlate2d",
            "case": f"{case}, auto",
            "ours_ms": ours * 1e3,
            "peer": "scipy.signal.correlate auto",
            "peer_ms": peer * 1e3,
            "ratio": ours / peer,
            "metric": "",
            "goal": "<= 1x scipy",
            "met": ours <= peer,
        },
        {
            "benchmark": "correlate2d",
            "case": f"{case}, direct",
            "ours_ms": direct * 1e3,
            "peer": "scipy.signal.correlate2d (direct)",
            "peer_ms": scipy_direct * 1e3,
            "ratio": direct / scipy_direct,
            "metric": f"auto is {scipy_direct / ours:.0f}x faster than scipy's direct",
            "goal": "",
            "met": None,
        },
    ]


def run(quick: bool = False) -> list[Row]:
    """Return one row per comparison."""
    return _layer_rows(quick) + _correlation_rows(quick)
