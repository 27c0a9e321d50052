"""The network's functions: softmax, cross-entropy and the hidden activations.

Part of :mod:`labcode.mlp`, whose docstring states the maths and the references.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import FloatArray, as_float_array, as_int_array

ACTIVATIONS = ("tanh", "relu", "sigmoid")


def softmax(z: ArrayLike) -> FloatArray:
    r"""Row-wise softmax, :math:`e^{z_c} / \sum_j e^{z_j}`, stable for large logits.

    The row maximum is subtracted first (the result does not change, since it
    cancels between numerator and denominator), so no exponential overflows.

    Parameters
    ----------
    z : (K,) or (N, K) array_like
        Logits; a 1-D input is one row.

    Returns
    -------
    ndarray
        Same shape; each row is positive and sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mlp import softmax
    >>> softmax([0.0, np.log(3.0)])
    array([0.25, 0.75])
    >>> softmax([[1000.0, 1000.0]])  # a naive exp(1000) overflows
    array([[0.5, 0.5]])
    """
    arr = as_float_array(z, "z", ndim=(1, 2), layout="(K,) or (N, K)")
    shifted: FloatArray = arr - np.max(arr, axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= np.sum(shifted, axis=-1, keepdims=True)
    return shifted


def _check_labels(y: ArrayLike, n: int, n_classes: int) -> NDArray[np.intp]:
    arr = as_int_array(
        y,
        "y",
        ndim=1,
        layout="(N,) integer class labels",
        allow_empty=True,
        minimum=0,
        maximum=n_classes - 1,
        what=f"class labels ({n_classes} classes)",
    )
    if arr.shape[0] != n:
        msg = f"y must have one label per sample: X or probs has {n} rows, y has {arr.shape[0]}"
        raise ValueError(msg)
    return arr


def cross_entropy(probs: ArrayLike, y: ArrayLike) -> float:
    r"""Mean negative log-likelihood of the true classes, :math:`-\frac1N\sum_i \log p_{i,y_i}`.

    Parameters
    ----------
    probs : (N, K) array_like
        Predicted class probabilities, each row summing to 1.
    y : (N,) array_like of int
        True classes in ``0..K-1``.

    Returns
    -------
    float
        ``inf`` if a true class has probability 0.

    Raises
    ------
    ValueError
        If `probs` is not 2-D, has entries outside [0, 1] or rows that do not
        sum to 1, or if `y` does not match.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mlp import cross_entropy
    >>> round(
    ...     cross_entropy([[0.5, 0.5], [0.9, 0.1]], [1, 0]), 6
    ... )  # (log 2 - log 0.9) / 2
    0.399254
    """
    p = as_float_array(probs, "probs", ndim=2, layout="(N, K)")
    if np.any(p < 0) or np.any(p > 1) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        msg = "probs must hold probabilities: entries in [0, 1], each row summing to 1"
        raise ValueError(msg)
    labels = _check_labels(y, p.shape[0], p.shape[1])
    picked = p[np.arange(p.shape[0]), labels]
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(picked)))


def _activate(z: FloatArray, name: str) -> FloatArray:
    """Apply the activation in place and return `z`."""
    if name == "tanh":
        np.tanh(z, out=z)
    elif name == "relu":
        np.maximum(z, 0, out=z)
    else:  # numerically stable logistic: 1 / (1 + exp(-z)) = (1 + tanh(z/2)) / 2
        z *= 0.5
        np.tanh(z, out=z)
        z += 1
        z *= 0.5
    return z


def _activation_grad(h: FloatArray, name: str, upstream: FloatArray) -> FloatArray:
    """Multiply `upstream` in place by g'(z), written in terms of h = g(z)."""
    if name == "tanh":
        upstream *= 1 - h * h
    elif name == "relu":
        upstream *= h > 0
    else:
        upstream *= h * (1 - h)
    return upstream
