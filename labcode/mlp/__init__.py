r"""A multilayer perceptron trained by minibatch SGD, with its maths made explicit.

For inputs :math:`X` (one sample per row) the network computes, layer by layer,

.. math::

    Z_k = H_{k-1} W_k + b_k, \qquad H_k = g(Z_k), \qquad H_0 = X,

with a hidden activation :math:`g` (tanh, ReLU or the logistic sigmoid) and a
softmax on the last pre-activation, :math:`P = \operatorname{softmax}(Z_{L})`. It
minimises the mean cross-entropy plus an L2 penalty on the weights,

.. math::

    J = -\frac{1}{N}\sum_{i} \log P_{i, y_i} + \frac{\lambda}{2}\sum_k \lVert W_k \rVert_F^2 .

Backpropagation starts from :math:`\partial J / \partial Z_L = (P - Y)/N` (``Y``
one-hot), then for each layer, from the top,

.. math::

    \frac{\partial J}{\partial W_k} = H_{k-1}^\top \Delta_k + \lambda W_k, \quad
    \frac{\partial J}{\partial b_k} = \mathbf{1}^\top \Delta_k, \quad
    \Delta_{k-1} = (\Delta_k W_k^\top) \odot g'(Z_{k-1}).

Weights start from the uniform distribution of Glorot and Bengio [1]_;
:func:`he_normal` gives the initialisation of He et al. [3]_ for ReLU layers.

The network, :class:`MLP`, is defined here; the functions it is built from sit
in private modules, whose public names this one re-exports: ``_functions``
(:func:`softmax`, :func:`cross_entropy`, the hidden activations) and
``_initialisation`` (:func:`glorot_uniform`, :func:`he_normal`).

References
----------
.. [1] Glorot, X. and Bengio, Y. (2010). Understanding the difficulty of training
       deep feedforward neural networks. *Proceedings of AISTATS*, 249-256.
.. [2] Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*,
       sections 4.3.4 and 5.3. Springer.
.. [3] He, K., Zhang, X., Ren, S. and Sun, J. (2015). Delving deep into
       rectifiers: surpassing human-level performance on ImageNet classification.
       *Proceedings of ICCV*, 1026-1034.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from labcode._validation import (
    MAX_ELEMENTS,
    FloatArray,
    as_float_array,
    as_numeric_array,
    check_choice,
    check_int,
    check_real,
    check_rng,
    check_size,
    format_shape,
)
from labcode.mlp._functions import (
    ACTIVATIONS,
    _activate,
    _activation_grad,
    _check_labels,
    cross_entropy,
    softmax,
)
from labcode.mlp._initialisation import glorot_uniform, he_normal

__all__ = [
    "MAX_EPOCHS",
    "MLP",
    "cross_entropy",
    "glorot_uniform",
    "he_normal",
    "softmax",
]

#: The most epochs :meth:`MLP.fit` runs in one call.
MAX_EPOCHS = 1_000_000


class MLP:
    """A fully connected network with softmax output, trained by minibatch SGD.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer from input to output, at least two entries, for example
        ``[2, 32, 32, 3]`` for 2 features, two hidden layers of 32, 3 classes.
    activation : {'tanh', 'relu', 'sigmoid'}, optional
        Activation of the hidden layers.
    l2 : float, optional
        Weight of the penalty ``(l2 / 2) * sum of squared weights`` (biases are
        not penalised), >= 0.
    rng : None, int or numpy.random.Generator, optional
        Randomness for the initial weights (Glorot uniform; biases start at 0).

    Attributes
    ----------
    weights : list of ndarray
        ``weights[k]`` has shape ``(layer_sizes[k], layer_sizes[k + 1])``.
    biases : list of ndarray
        ``biases[k]`` has shape ``(layer_sizes[k + 1],)``.

    Notes
    -----
    Parameters are float64 until :meth:`fit` sees float32 data: then they are
    converted once and training runs in float32 end to end. Inputs to
    :meth:`forward`, :meth:`loss` and :meth:`gradients` are computed in the
    parameters' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mlp import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR of the signs
    >>> net = MLP([2, 16, 2], activation="tanh", rng=1)
    >>> history = net.fit(X, y, epochs=200, lr=0.5, batch_size=20, rng=2)
    >>> bool(history[-1] < history[0]), net.score(X, y) > 0.95
    (True, True)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        activation: str = "tanh",
        l2: float = 0.0,
        rng: object = None,
    ) -> None:
        given: object = layer_sizes  # checked at run time: callers may pass anything
        if isinstance(given, np.ndarray) and given.ndim == 1:
            layer_sizes = given.tolist()  # a 1-D array of sizes is a sequence too
        if isinstance(layer_sizes, str | bytes) or not isinstance(
            layer_sizes, Sequence
        ):
            msg = f"layer_sizes must be a sequence of ints; got {type(layer_sizes).__name__}"
            raise TypeError(msg)
        if len(layer_sizes) < 2:
            msg = (
                "layer_sizes must list at least the input and output sizes; "
                f"got {list(layer_sizes)}"
            )
            raise ValueError(msg)
        sizes = [
            check_int(s, f"layer_sizes[{i}]", minimum=1)
            for i, s in enumerate(layer_sizes)
        ]
        if sizes[-1] < 2:
            msg = f"layer_sizes[-1] is the number of classes and must be >= 2; got {sizes[-1]}"
            raise ValueError(msg)
        check_size(
            sum(a * b for a, b in itertools.pairwise(sizes)),
            "layer_sizes",
            MAX_ELEMENTS,
            detail=f"{sizes} (weights)",
        )
        self.layer_sizes = sizes
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.l2 = check_real(l2, "l2", low=0.0)
        generator = check_rng(rng)
        self.weights: list[FloatArray] = [
            glorot_uniform(a, b, rng=generator) for a, b in itertools.pairwise(sizes)
        ]
        self.biases: list[FloatArray] = [np.zeros(b) for b in sizes[1:]]

    def __repr__(self) -> str:
        return (
            f"MLP({self.layer_sizes}, activation={self.activation!r}, l2={self.l2}, "
            f"dtype={self.dtype})"
        )

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the parameters (float64, or float32 after fitting float32 data)."""
        return self.weights[0].dtype

    # ---------------------------------------------------------------- checks
    def _check_x(self, x: ArrayLike, dtype: np.dtype[Any] | None = None) -> FloatArray:
        arr = as_float_array(
            x, "X", ndim=2, layout="(N, n_features)", dtype=dtype or self.dtype
        )
        if arr.shape[1] != self.layer_sizes[0]:
            msg = (
                f"X must have layer_sizes[0] = {self.layer_sizes[0]} columns (features); "
                f"got shape {format_shape(arr.shape)}"
            )
            raise ValueError(msg)
        return arr

    # ---------------------------------------------------------------- maths
    def _forward(self, x: FloatArray) -> tuple[list[FloatArray], FloatArray]:
        """Return the activations of every layer (input first) and the log-probabilities.

        Overflow is not warned about here: a non-finite result is checked by the
        callers (:meth:`_predict_log` for inputs, :meth:`fit` for training).
        """
        hs = [x]
        with np.errstate(over="ignore", invalid="ignore"):
            for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
                z = hs[-1] @ w
                z += b
                hs.append(_activate(z, self.activation))
            z = hs[-1] @ self.weights[-1]
            z += self.biases[-1]
            z -= np.max(z, axis=1, keepdims=True)  # log-softmax, stable
            z -= np.log(np.sum(np.exp(z), axis=1, keepdims=True))
        return hs, z

    def _predict_log(self, x: FloatArray) -> tuple[list[FloatArray], FloatArray]:
        """:meth:`_forward`, raising ValueError if the inputs overflow the network."""
        hs, log_probs = self._forward(x)
        if not np.all(np.isfinite(log_probs)):
            msg = (
                "X must be small enough for the network: its pre-activations "
                f"overflow {x.dtype} (largest |X| = {float(np.max(np.abs(x))):.3g}); "
                "scale the features"
            )
            raise ValueError(msg)
        return hs, log_probs

    def _penalty(self) -> float:
        if self.l2 == 0:
            return 0.0
        return 0.5 * self.l2 * float(sum(np.sum(w * w) for w in self.weights))

    def _backward(
        self, hs: list[FloatArray], log_probs: FloatArray, y: NDArray[np.intp]
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        n = y.shape[0]
        delta = np.exp(log_probs)  # P
        delta[np.arange(n), y] -= 1  # P - Y
        delta /= n
        d_weights: list[FloatArray] = [np.empty(0)] * len(self.weights)
        d_biases: list[FloatArray] = [np.empty(0)] * len(self.weights)
        for k in range(len(self.weights) - 1, -1, -1):
            d_weights[k] = hs[k].T @ delta
            if self.l2:
                d_weights[k] += self.l2 * self.weights[k]
            d_biases[k] = delta.sum(axis=0)
            if k:
                delta = _activation_grad(
                    hs[k], self.activation, delta @ self.weights[k].T
                )
        return d_weights, d_biases

    # ---------------------------------------------------------------- public API
    def forward(self, X: ArrayLike) -> FloatArray:
        """Class probabilities, one row per sample.

        Parameters
        ----------
        X : (N, layer_sizes[0]) array_like

        Returns
        -------
        (N, layer_sizes[-1]) ndarray
            Rows are positive and sum to 1.
        """
        _, log_probs = self._predict_log(self._check_x(X))
        return np.exp(log_probs)

    def loss(self, X: ArrayLike, y: ArrayLike) -> float:
        """Mean cross-entropy plus ``(l2 / 2) * sum of squared weights``.

        Parameters
        ----------
        X : (N, layer_sizes[0]) array_like
        y : (N,) array_like of int
            Classes in ``0..layer_sizes[-1] - 1``.

        Returns
        -------
        float
        """
        x = self._check_x(X)
        labels = _check_labels(y, x.shape[0], self.layer_sizes[-1])
        _, log_probs = self._predict_log(x)
        data = -float(np.mean(log_probs[np.arange(x.shape[0]), labels]))
        return data + self._penalty()

    def gradients(
        self, X: ArrayLike, y: ArrayLike
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """Exact gradients of :meth:`loss` by backpropagation.

        Parameters
        ----------
        X : (N, layer_sizes[0]) array_like
        y : (N,) array_like of int

        Returns
        -------
        d_weights, d_biases : list of ndarray
            Shaped like ``weights`` and ``biases``.
        """
        x = self._check_x(X)
        labels = _check_labels(y, x.shape[0], self.layer_sizes[-1])
        hs, log_probs = self._predict_log(x)
        return self._backward(hs, log_probs, labels)

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        epochs: int,
        lr: float,
        batch_size: int,
        rng: object = None,
    ) -> NDArray[np.float64]:
        """Train by minibatch stochastic gradient descent (no momentum).

        Each epoch shuffles the samples, cuts them into batches of `batch_size`
        (the last one may be smaller) and takes one step
        ``theta -= lr * gradient`` per batch. An epoch is a pass over the data,
        not a single step.

        Parameters
        ----------
        X : (N, layer_sizes[0]) array_like
            Training inputs; float32 data trains in float32.
        y : (N,) array_like of int
            Training classes.
        epochs : int
            Passes over the data, 1 <= epochs <= :data:`MAX_EPOCHS`.
        lr : float
            Step size, > 0. A step so large that training diverges (the loss or
            a parameter becomes infinite or NaN) raises ValueError naming `lr`;
            the parameters are then left as they were before the call.
        batch_size : int
            Samples per step, >= 1 (capped at N).
        rng : None, int or numpy.random.Generator, optional
            Randomness for the shuffling.

        Returns
        -------
        (epochs,) ndarray of float64
            The loss of each epoch: the mean of its batch losses, each computed
            before that batch's step (as ``sklearn.neural_network.MLPClassifier``
            reports ``loss_curve_``).
        """
        n_epochs = check_int(
            epochs,
            "epochs",
            minimum=1,
            maximum=MAX_EPOCHS,
            why="labcode.mlp.MAX_EPOCHS",
        )
        step = check_real(lr, "lr", low=0.0, low_inclusive=False)
        size = check_int(batch_size, "batch_size", minimum=1)
        generator = check_rng(rng)
        raw = as_numeric_array(X, "X")
        dtype = (
            np.dtype(np.float32) if raw.dtype == np.float32 else np.dtype(np.float64)
        )
        x = self._check_x(raw, dtype)
        labels = _check_labels(y, x.shape[0], self.layer_sizes[-1])
        if dtype != self.dtype:
            self.weights = [w.astype(dtype) for w in self.weights]
            self.biases = [b.astype(dtype) for b in self.biases]
        saved = ([w.copy() for w in self.weights], [b.copy() for b in self.biases])
        n = x.shape[0]
        size = min(size, n)
        history = np.empty(n_epochs)
        self._predict_log(x)  # inputs that overflow the network are X's fault, not lr's
        for epoch in range(n_epochs):
            with np.errstate(over="ignore", invalid="ignore"):
                order = generator.permutation(n)
                total = 0.0
                for start in range(0, n, size):
                    batch = order[start : start + size]
                    xb, yb = x[batch], labels[batch]
                    hs, log_probs = self._forward(xb)
                    total += -float(np.sum(log_probs[np.arange(len(batch)), yb]))
                    if self.l2:
                        total += self._penalty() * len(batch)
                    d_weights, d_biases = self._backward(hs, log_probs, yb)
                    for w, dw, b, db in zip(
                        self.weights, d_weights, self.biases, d_biases, strict=True
                    ):
                        np.multiply(dw, step, out=dw)
                        np.subtract(w, dw, out=w)
                        np.multiply(db, step, out=db)
                        np.subtract(b, db, out=b)
            history[epoch] = total / n
            if not (
                np.isfinite(history[epoch])
                and all(np.all(np.isfinite(w)) for w in self.weights)
                and all(np.all(np.isfinite(b)) for b in self.biases)
            ):
                self.weights, self.biases = saved
                msg = (
                    f"lr={step} makes training diverge: the loss or the parameters "
                    f"became infinite or NaN in epoch {epoch + 1}; use a smaller lr"
                )
                raise ValueError(msg)
        return history

    def predict(self, X: ArrayLike) -> NDArray[np.intp]:
        """Most probable class of each sample.

        Parameters
        ----------
        X : (N, layer_sizes[0]) array_like

        Returns
        -------
        (N,) ndarray of int
        """
        _, log_probs = self._predict_log(self._check_x(X))
        labels: NDArray[np.intp] = np.argmax(log_probs, axis=1).astype(np.intp)
        return labels

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Accuracy: the fraction of samples whose predicted class is right.

        Parameters
        ----------
        X : (N, layer_sizes[0]) array_like
        y : (N,) array_like of int

        Returns
        -------
        float
        """
        x = self._check_x(X)
        labels = _check_labels(y, x.shape[0], self.layer_sizes[-1])
        return float(np.mean(self.predict(x) == labels))
