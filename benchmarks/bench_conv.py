"""Convolution layer and 2-D correlation against PyTorch and scipy (issues 3, 21).

Layer: N=8, C=16, H=W=64, F=32, 3x3 kernel, pad 1 (0.30 GFLOP forward), float64
and float32, with BLAS and torch both limited to 1 and then to 2 threads
(threadpoolctl and ``torch.set_num_threads``). ``conv_forward``,
``conv_backward`` and both together against ``torch.nn.functional.conv2d`` (and
autograd) on the CPU, and against a square matrix product with the same number
of floating-point operations: the practical limit of any method that computes
the layer by BLAS ("% of matmul peak"; the backward pass does twice the
forward's FLOPs). At 1 thread the clock is the calling thread's CPU time
(``time.thread_time``), which other processes on a shared machine cannot
inflate by holding the core; at 2 threads it is wall-clock time.

Where the time goes: the stages of the fast layer are re-enacted with plain
numpy operations on arrays of the same shapes and timed one by one; their sum
is printed beside the measured whole call, so the model can be checked. The
forward pass: the nine column copies (each a contiguous run of the flattened
sample), zeroing the columns that wrapped around a row end, the matrix product
with the bias row written into the output. The backward pass: the padding
copy, nine shifted column copies on the padded grid, laying ``dout`` on that
grid, the two products, the column scatter (col2im) and the crop into ``dx``.

Correlation: a 512x512 image and a 60x60 template,
``labcode.conv.correlate2d(method="auto")`` against
``scipy.signal.correlate(method="auto")``.

All numpy-side timings run before any torch timing, because torch's OpenMP
threads keep spinning for a while after each call and would steal the cores
that OpenBLAS uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import DTypeLike
from scipy import signal

from benchmarks._timing import measure, measure_interleaved, settle
from labcode.conv import conv_backward, conv_forward, correlate2d, correlate_method

Row = dict[str, Any]

GOALS = {
    # (dtype, threads, what): (kind, bound)
    ("float32", 1, "forward"): ("torch", 1.4),
    ("float32", 2, "forward"): ("torch", 1.8),
    ("float64", 1, "forward"): ("peak", 0.65),
    ("float32", 1, "backward"): ("peak", 0.50),
    ("float64", 1, "backward"): ("peak", 0.50),
}


def _pitch(width: int, itemsize: int) -> int:
    """Row length of a column buffer, as labcode.conv lays it out.

    A multiple of 64 bytes, moved off multiples of 4 KiB (which cost OpenBLAS's
    float32 product ~1.6x on this machine).
    """
    per_line = 64 // itemsize
    pitch = -(-width // per_line) * per_line
    return pitch + per_line if (pitch * itemsize) % 4096 == 0 else pitch


def _stages(
    shape: tuple[int, int, int, int], f: int, k: int, dtype: DTypeLike
) -> dict[str, dict[str, Callable[[], object]]]:
    """Plain-numpy re-enactments of each stage of the fast layer, per batch."""
    n, c, h, w = shape
    rng = np.random.default_rng(5)
    hp, wp = h + 2, w + 2
    rows = k * k * c
    length = (h - 1) * wp + w
    x = rng.standard_normal(shape).astype(dtype)
    padded = np.zeros((c, hp * wp), dtype=dtype)
    view = padded.reshape(c, hp, wp)
    cols = np.ones((rows + 1, hp * wp), dtype=dtype)
    wmat = rng.standard_normal((f, rows + 1)).astype(dtype)
    out = np.empty((n, f, h, w), dtype=dtype)
    dout = rng.standard_normal((n, f, h, w)).astype(dtype)
    d_grid = np.zeros((f, hp * wp), dtype=dtype)
    partial = np.empty((rows + 1, f), dtype=dtype)
    wmat_t = np.ascontiguousarray(wmat[:, :rows].T)
    dcols = np.empty((rows, hp * wp), dtype=dtype)
    dpad = np.zeros((c, hp * wp), dtype=dtype)
    dx = np.empty_like(x)

    def pad() -> None:
        for i in range(n):
            view[:, 1 : 1 + h, 1 : 1 + w] = x[i]

    def im2col() -> None:
        col = cols[:rows, :length].reshape(k, k, c, length)
        for _ in range(n):
            for i in range(k):
                for j in range(k):
                    col[i, j] = padded[:, i * wp + j : i * wp + j + length]

    # The forward pass: columns on the output grid, each kernel offset one
    # contiguous run of the flattened sample, wrapped columns zeroed, and the
    # product written into the output.
    size = h * w
    runs_cols = np.ones((rows + 1, _pitch(size, np.dtype(dtype).itemsize)), dtype=dtype)
    runs = runs_cols[:rows, :size].reshape(k, k, c, size)
    grid_cols = runs.reshape(k, k, c, h, w)
    half = k // 2
    flat_x = x.reshape(n, c, size)

    def runs_copy() -> None:
        for s in range(n):
            for i in range(k):
                for j in range(k):
                    shift = (i - half) * w + (j - half)
                    lo = max(max(0, half - i) * w, -shift)
                    hi = min(min(h, h + half - i) * w, size - shift)
                    runs[i, j, :, lo:hi] = flat_x[s, :, lo + shift : hi + shift]

    def wraps() -> None:
        for _ in range(n):
            for j in range(k):
                if j < half:
                    grid_cols[:, j, ..., : half - j] = 0
                elif j > half:
                    grid_cols[:, j, ..., w - (j - half) :] = 0

    def gemm_out() -> None:
        for s in range(n):
            np.matmul(wmat, runs_cols[:, :size], out=out[s].reshape(f, size))

    def grid() -> None:
        for i in range(n):
            d_grid.reshape(f, hp, wp)[:, :h, :w] = dout[i]

    def gemm_dw() -> None:
        for _ in range(n):
            np.matmul(cols[:, :length], d_grid[:, :length].T, out=partial)

    def gemm_dx() -> None:
        for _ in range(n):
            np.matmul(wmat_t, d_grid[:, :length], out=dcols[:, :length])

    def scatter() -> None:
        d = dcols[:, :length].reshape(k, k, c, length)
        for _ in range(n):
            dpad[...] = 0
            for i in range(k):
                for j in range(k):
                    dpad[:, i * wp + j : i * wp + j + length] += d[i, j]

    def crop_dx() -> None:
        for i in range(n):
            dx[i] = dpad.reshape(c, hp, wp)[:, 1 : 1 + h, 1 : 1 + w]

    return {
        "forward": {
            "im2col (9 contiguous runs)": runs_copy,
            "zero wrapped columns": wraps,
            "GEMM into the output (bias row folded in)": gemm_out,
        },
        "backward": {
            "pad copy": pad,
            "im2col (9 shifted copies)": im2col,
            "dout onto the grid": grid,
            "GEMM dw, db": gemm_dw,
            "GEMM dcols": gemm_dx,
            "col2im (9 shifted adds)": scatter,
            "crop into dx": crop_dx,
        },
    }


def _layer_rows(quick: bool) -> list[Row]:
    import torch
    from threadpoolctl import threadpool_limits

    n, c, h, w, f, k = (2, 4, 16, 16, 8, 3) if quick else (8, 16, 64, 64, 32, 3)
    flops = 2 * n * f * c * k * k * h * w
    side = round((flops / 2) ** (1 / 3))
    rng = np.random.default_rng(0)
    rows: list[Row] = []
    rounds = 3 if quick else 12
    for threads in (1, 2):
        clock = time.thread_time if threads == 1 else time.perf_counter
        ours: dict[str, dict[str, float]] = {}
        stages: dict[str, dict[str, dict[str, float]]] = {}
        data: dict[str, tuple[np.ndarray, ...]] = {}
        with threadpool_limits(limits=threads):
            for dtype in (np.float64, np.float32):
                name = np.dtype(dtype).name
                x = rng.standard_normal((n, c, h, w)).astype(dtype)
                wt = rng.standard_normal((f, c, k, k)).astype(dtype)
                b = rng.standard_normal(f).astype(dtype)
                dout = rng.standard_normal((n, f, h, w)).astype(dtype)
                a = rng.standard_normal((side, side)).astype(dtype)
                data[name] = (x, wt, b, dout)

                def both(
                    x: np.ndarray = x,
                    wt: np.ndarray = wt,
                    b: np.ndarray = b,
                    dout: np.ndarray = dout,
                ) -> None:
                    conv_forward(x, wt, b, pad=1)
                    conv_backward(dout, x, wt, pad=1)

                ours[name] = measure_interleaved(
                    {
                        "matmul": partial(np.matmul, a, a),
                        "forward": partial(conv_forward, x, wt, b, pad=1),
                        "backward": partial(conv_backward, dout, x, wt, pad=1),
                        "forward+backward": both,
                    },
                    rounds=rounds,
                    clock=clock,
                )
                # Scale the matmul to exactly the layer's FLOP count.
                ours[name]["matmul"] *= flops / (2 * side**3)
                if threads == 1:
                    stages[name] = {
                        what: measure_interleaved(
                            funcs, rounds=max(2, rounds // 3), clock=clock
                        )
                        for what, funcs in _stages((n, c, h, w), f, k, dtype).items()
                    }
        settle()
        torch.set_num_threads(threads)
        peer: dict[str, dict[str, float]] = {}
        for dtype in (np.float64, np.float32):
            name = np.dtype(dtype).name
            x, wt, b, dout = data[name]
            xt = torch.from_numpy(x).requires_grad_()
            wtt = torch.from_numpy(wt).requires_grad_()
            bt = torch.from_numpy(b).requires_grad_()
            dout_t = torch.from_numpy(dout)
            # Same numbers on both sides, checked before timing.
            reference = torch.nn.functional.conv2d(xt, wtt, bt, padding=1)
            reference.backward(dout_t)
            tol = 1e-3 if dtype == np.float32 else 1e-9
            np.testing.assert_allclose(
                conv_forward(x, wt, b, pad=1),
                reference.detach().numpy(),
                rtol=tol,
                atol=tol,
            )
            for got, want in zip(
                conv_backward(dout, x, wt, pad=1),
                (xt.grad, wtt.grad, bt.grad),
                strict=True,
            ):
                scale = float(np.abs(want.numpy()).max())
                np.testing.assert_allclose(
                    got, want.numpy(), rtol=tol, atol=tol * scale
                )

            def torch_forward(xt: Any = xt, wtt: Any = wtt, bt: Any = bt) -> None:
                with torch.no_grad():
                    torch.nn.functional.conv2d(xt, wtt, bt, padding=1)

            def torch_backward(
                xt: Any = xt, wtt: Any = wtt, dout_t: Any = dout_t
            ) -> None:
                # The kernel autograd calls for conv2d's dx, dw and db.
                with torch.no_grad():
                    torch.ops.aten.convolution_backward(
                        dout_t,
                        xt,
                        wtt,
                        [f],
                        [1, 1],
                        [1, 1],
                        [1, 1],
                        False,
                        [0, 0],
                        1,
                        [True, True, True],
                    )

            def torch_both(
                xt: Any = xt, wtt: Any = wtt, bt: Any = bt, dout_t: Any = dout_t
            ) -> None:
                xt.grad = wtt.grad = bt.grad = None
                torch.nn.functional.conv2d(xt, wtt, bt, padding=1).backward(dout_t)

            peer[name] = measure_interleaved(
                {
                    "forward": torch_forward,
                    "backward": torch_backward,
                    "forward+backward": torch_both,
                },
                rounds=rounds,
                clock=clock,
            )
        settle()
        for dtype in (np.float64, np.float32):
            name = np.dtype(dtype).name
            matmul = ours[name]["matmul"]
            for what, work in (
                ("forward", 1),
                ("backward", 2),
                ("forward+backward", 3),
            ):
                t = ours[name][what]
                fraction = work * matmul / t
                goal = GOALS.get((name, threads, what))
                ratio = t / peer[name][what]
                if goal is None:
                    goal_text, met = "", None
                elif goal[0] == "torch":
                    goal_text, met = f"<= {goal[1]}x torch", ratio <= goal[1]
                else:
                    goal_text = f">= {goal[1]:.0%} of matmul peak"
                    met = fraction >= goal[1]
                row: Row = {
                    "benchmark": "conv layer",
                    "case": f"{name} {what}, {threads} thread{'s' * (threads > 1)}",
                    "ours_ms": t * 1e3,
                    "peer": f"torch {torch.__version__} conv2d",
                    "peer_ms": peer[name][what] * 1e3,
                    "ratio": ratio,
                    "metric": f"{work * flops / t / 1e9:.1f} GFLOP/s = "
                    f"{100 * fraction:.0f}% of matmul peak "
                    f"({flops / matmul / 1e9:.1f} GFLOP/s)",
                    "goal": goal_text,
                    "met": met,
                    "threads": threads,
                    "dtype": name,
                    "peak_fraction": fraction,
                    "matmul_ms": work * matmul * 1e3,
                }
                if threads == 1 and what in stages[name]:
                    row["stages_ms"] = {
                        stage: v * 1e3 for stage, v in stages[name][what].items()
                    }
                    total = sum(row["stages_ms"].values())
                    row["metric"] += (
                        f"; stages: {total:.2f} ms in all ("
                        + ", ".join(
                            f"{stage} {v:.2f}" for stage, v in row["stages_ms"].items()
                        )
                        + ")"
                    )
                rows.append(row)
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
    chosen = correlate_method(image.shape, template.shape)  # what "auto" runs
    return [
        {
            "benchmark": "correlate2d",
            "case": f"{case}, auto (chose {chosen})",
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
