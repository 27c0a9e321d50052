"""MLP training time against scikit-learn and PyTorch (issue 5).

Same architecture, data, batch size, learning rate and number of epochs on every
side, plain SGD without momentum, tanh hidden layers, softmax cross-entropy:

- small, overhead-bound: 64-64-10 on scikit-learn's digits (1797 samples,
  shipped with scikit-learn), batch 32; against
  ``MLPClassifier(solver="sgd", momentum=0)``;
- large, matrix-bound: 784-256-256-10, 8192 synthetic samples, batch 128, in
  float32 and float64; against a plain torch CPU MLP with ``torch.optim.SGD``.

Reported per epoch: the time of a whole ``fit`` divided by the epochs.
"""

from __future__ import annotations

import itertools
import warnings
from functools import partial
from typing import Any

import numpy as np

from benchmarks._timing import measure_interleaved, settle
from labcode.mlp import MLP

Row = dict[str, Any]


def _ours_fit(
    x: np.ndarray, y: np.ndarray, sizes: list[int], epochs: int, lr: float, batch: int
) -> None:
    """A fresh labcode MLP trained the way the peers are (one call, one model)."""
    MLP(sizes, rng=0).fit(x, y, epochs=epochs, lr=lr, batch_size=batch, rng=0)


def _torch_fit(
    x: np.ndarray, y: np.ndarray, sizes: list[int], epochs: int, lr: float, batch: int
) -> Any:
    import torch

    dtype = torch.float32 if x.dtype == np.float32 else torch.float64
    layers: list[torch.nn.Module] = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(a, b, dtype=dtype))
        if k < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    n = xt.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model


def _sklearn_fit(
    x: np.ndarray,
    y: np.ndarray,
    hidden: tuple[int, ...],
    epochs: int,
    lr: float,
    batch: int,
) -> Any:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        nesterovs_momentum=False,
        learning_rate="constant",
        learning_rate_init=lr,
        alpha=0.0,
        batch_size=batch,
        max_iter=epochs,
        shuffle=True,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x, y)
    return clf


def _small(quick: bool) -> list[Row]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float64)
    y = digits.target.astype(np.intp)
    epochs = 2 if quick else 20
    lr, batch = 0.05, 32

    def ours() -> None:
        MLP([64, 64, 10], rng=0).fit(
            x, y, epochs=epochs, lr=lr, batch_size=batch, rng=0
        )

    # Both reach a similar training accuracy with these settings (checked once).
    net = MLP([64, 64, 10], rng=0)
    net.fit(x, y, epochs=epochs, lr=lr, batch_size=batch, rng=0)
    clf = _sklearn_fit(x, y, (64,), epochs, lr, batch)
    acc_ours, acc_sk = net.score(x, y), clf.score(x, y)
    t = measure_interleaved(
        {"ours": ours, "sklearn": lambda: _sklearn_fit(x, y, (64,), epochs, lr, batch)},
        rounds=3,
    )
    return [
        {
            "benchmark": "MLP training",
            "case": "64-64-10 tanh, digits, batch 32, float64",
            "ours_ms": t["ours"] / epochs * 1e3,
            "peer": "sklearn MLPClassifier(sgd, momentum=0)",
            "peer_ms": t["sklearn"] / epochs * 1e3,
            "ratio": t["ours"] / t["sklearn"],
            "metric": f"ms per epoch; training accuracy labcode {acc_ours:.3f}, sklearn {acc_sk:.3f}",
            "goal": "<= 0.5x scikit-learn",
            "met": t["ours"] / t["sklearn"] <= 0.5,
        }
    ]


def _large(quick: bool) -> list[Row]:
    import torch

    n = 1024 if quick else 8192
    sizes = [784, 256, 256, 10]
    epochs, lr, batch = (1, 0.05, 128) if quick else (3, 0.05, 128)
    rng = np.random.default_rng(0)
    x64 = rng.normal(size=(n, 784))
    teacher = rng.normal(size=(784, 10))
    y = np.argmax(x64 @ teacher, axis=1).astype(np.intp)
    rows: list[Row] = []
    ours_t: dict[str, float] = {}
    for dtype in (np.float32, np.float64):
        x = x64.astype(dtype)
        ours_t[np.dtype(dtype).name] = measure_interleaved(
            {"ours": partial(_ours_fit, x, y, sizes, epochs, lr, batch)},
            rounds=2,
            min_time=0.0,
        )["ours"]
    settle()
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        x = x64.astype(dtype)
        torch.manual_seed(0)
        peer = measure_interleaved(
            {"torch": partial(_torch_fit, x, y, sizes, epochs, lr, batch)},
            rounds=2,
            min_time=0.0,
        )["torch"]
        ours = ours_t[name]
        goal = 1.1 if dtype == np.float32 else 1.0
        rows.append(
            {
                "benchmark": "MLP training",
                "case": f"784-256-256-10 tanh, {n} samples, batch 128, {name}",
                "ours_ms": ours / epochs * 1e3,
                "peer": f"torch {torch.__version__} nn.Sequential + optim.SGD",
                "peer_ms": peer / epochs * 1e3,
                "ratio": ours / peer,
                "metric": "ms per epoch",
                "goal": f"<= {goal}x torch",
                "met": ours / peer <= goal,
            }
        )
        settle()
    return rows


def run(quick: bool = False) -> list[Row]:
    """Return one row per comparison."""
    return _small(quick) + _large(quick)
