"""Initial weights: Glorot's uniform (tanh layers) and He's normal (ReLU layers).

Part of :mod:`labcode.mlp`, whose docstring states the maths and the references.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from labcode._validation import MAX_ELEMENTS, check_int, check_rng, check_size


def _layer_init(
    fan_in: object, fan_out: object, rng: object
) -> tuple[int, int, np.random.Generator]:
    """Check the fans (>= 1, within MAX_ELEMENTS together) and the generator."""
    n_in = check_int(fan_in, "fan_in", minimum=1)
    n_out = check_int(fan_out, "fan_out", minimum=1)
    check_size(
        n_in * n_out, "fan_in and fan_out", MAX_ELEMENTS, detail=f"{n_in} x {n_out}"
    )
    return n_in, n_out, check_rng(rng)


def glorot_uniform(
    fan_in: int, fan_out: int, *, rng: object = None
) -> NDArray[np.float64]:
    r"""Weights drawn from :math:`U(-b, b)`, :math:`b = \sqrt{6 / (n_{in} + n_{out})}`.

    Glorot and Bengio [1]_ chose the bound so that the variance of the weights,
    :math:`b^2/3 = 2/(n_{in} + n_{out})`, keeps the variance of the activations
    (forward) and of the gradients (backward) roughly constant across layers of a
    tanh network.

    Parameters
    ----------
    fan_in, fan_out : int
        Units in the layer below and above, >= 1.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    (fan_in, fan_out) ndarray of float64

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mlp import glorot_uniform
    >>> w = glorot_uniform(300, 100, rng=0)
    >>> w.shape, bool(np.abs(w).max() <= np.sqrt(6 / 400))
    ((300, 100), True)
    """
    n_in, n_out, generator = _layer_init(fan_in, fan_out, rng)
    bound = np.sqrt(6.0 / (n_in + n_out))
    return generator.uniform(-bound, bound, size=(n_in, n_out))


def he_normal(fan_in: int, fan_out: int, *, rng: object = None) -> NDArray[np.float64]:
    r"""Weights drawn from :math:`N(0, 2 / n_{in})`, the initialisation for ReLU layers.

    A ReLU passes half of a symmetric input and zeroes the rest, so it halves
    the second moment of what goes through it. He et al. [3]_ compensate with
    twice the variance of LeCun's :math:`1 / n_{in}`: then
    :math:`E[z^2]` of the pre-activations stays the same from layer to layer in
    a deep ReLU network (forward). Only the fan-in enters; the backward pass
    would ask for :math:`2 / n_{out}` instead.

    Parameters
    ----------
    fan_in, fan_out : int
        Units in the layer below and above, >= 1.
    rng : None, int or numpy.random.Generator, optional
        Source of randomness.

    Returns
    -------
    (fan_in, fan_out) ndarray of float64

    See Also
    --------
    glorot_uniform : the compromise of fan-in and fan-out, for tanh layers.

    Examples
    --------
    >>> import numpy as np
    >>> from labcode.mlp import he_normal
    >>> w = he_normal(500, 400, rng=0)
    >>> w.shape, round(float(w.var() * 500 / 2), 2)  # Var(W) = 2 / fan_in
    ((500, 400), 1.0)
    """
    n_in, n_out, generator = _layer_init(fan_in, fan_out, rng)
    return generator.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
