r"""Densities and CDFs of transformed random variables (change of variables)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labcode._validation import (
    check_bool,
    check_callable,
)

__all__ = [
    "transform_cdf",
    "transform_pdf",
    "transform_pdf_piecewise",
]


Density = Callable[[Any], Any]


def transform_pdf(
    pdf: Density, inverse: Density, inverse_derivative: Density
) -> Density:
    r"""Return the density of ``Y = g(X)`` for a strictly monotone ``g``.

    With :math:`h = g^{-1}`, :math:`f_Y(y) = f_X(h(y))\,|h'(y)|`.

    Parameters
    ----------
    pdf : callable
        The density :math:`f_X` of X (vectorised over numpy arrays).
    inverse : callable
        :math:`h = g^{-1}`, defined on the range of g.
    inverse_derivative : callable
        :math:`h'`.

    Returns
    -------
    callable
        ``f_Y(y)``; zero outside the range of g is the caller's to supply
        through `pdf`, `inverse` and `inverse_derivative`.

    Examples
    --------
    ``Y = exp(X)`` of a standard normal is log-normal:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from labcode.moments import transform_pdf
    >>> f = transform_pdf(stats.norm.pdf, np.log, lambda y: 1 / y)
    >>> bool(np.isclose(f(2.0), stats.lognorm(1).pdf(2.0)))
    True
    """
    return _transform_pdf(
        pdf, inverse, inverse_derivative, ("pdf", "inverse", "inverse_derivative")
    )


def _transform_pdf(
    pdf: Density,
    inverse: Density,
    inverse_derivative: Density,
    names: tuple[str, str, str],
) -> Density:
    """Check and build :func:`transform_pdf`, naming the callables as given."""
    for f, name in zip((pdf, inverse, inverse_derivative), names, strict=True):
        check_callable(f, name)

    def density(y: Any) -> Any:
        return pdf(inverse(y)) * np.abs(inverse_derivative(y))

    return density


def transform_pdf_piecewise(
    pdf: Density, branches: Sequence[tuple[Density, Density]]
) -> Density:
    r"""Return the density of ``Y = g(X)`` for a piecewise strictly monotone ``g``.

    If the support splits into pieces :math:`A_i` on which g is strictly monotone
    with inverse :math:`h_i`, then :math:`f_Y(y) = \sum_i f_X(h_i(y))\,|h_i'(y)|`,
    summed over the pieces whose image contains y.

    Parameters
    ----------
    pdf : callable
        The density of X.
    branches : sequence of (inverse, inverse_derivative)
        One pair of callables per monotone piece; each must return values whose
        ``pdf`` is 0 (or the derivative 0) where y is outside that piece's image.

    Returns
    -------
    callable

    Examples
    --------
    ``Y = X**2`` of a standard normal is chi-square with one degree of freedom:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from labcode.moments import transform_pdf_piecewise
    >>> root = lambda y: np.sqrt(y)
    >>> slope = lambda y: 0.5 / np.sqrt(y)
    >>> f = transform_pdf_piecewise(
    ...     stats.norm.pdf, [(root, slope), (lambda y: -root(y), slope)]
    ... )
    >>> bool(np.isclose(f(1.5), stats.chi2(1).pdf(1.5)))
    True
    """
    given: object = branches  # checked at run time: callers may pass anything
    if isinstance(given, str | bytes) or not isinstance(given, Sequence):
        msg = (
            "branches must be a sequence of (inverse, inverse_derivative) pairs; "
            f"got {type(given).__name__}"
        )
        raise TypeError(msg)
    pieces: list[object] = list(given)
    if not pieces:
        msg = "branches must hold at least one (inverse, inverse_derivative) pair; got none"
        raise ValueError(msg)
    densities = []
    for i, piece in enumerate(pieces):
        if not isinstance(piece, tuple | list) or len(piece) != 2:
            msg = f"branches[{i}] must be a pair (inverse, inverse_derivative); got {piece!r}"
            raise TypeError(msg)
        inverse, derivative = piece
        densities.append(
            _transform_pdf(
                pdf,
                inverse,
                derivative,
                ("pdf", f"branches[{i}][0]", f"branches[{i}][1]"),
            )
        )

    def density(y: Any) -> Any:
        return sum(d(y) for d in densities)

    return density


def transform_cdf(cdf: Density, inverse: Density, *, increasing: bool) -> Density:
    r"""Return the CDF of ``Y = g(X)`` for a strictly monotone ``g``.

    :math:`F_Y(y) = F_X(g^{-1}(y))` when g increases and
    :math:`F_Y(y) = 1 - F_X(g^{-1}(y))` when g decreases. The second form holds
    for continuous X; in general it is :math:`P(X \ge g^{-1}(y))`.

    Parameters
    ----------
    cdf : callable
        The CDF of X.
    inverse : callable
        :math:`g^{-1}`.
    increasing : bool
        Whether g is increasing (keyword-only, there is no safe default).

    Returns
    -------
    callable

    Examples
    --------
    ``Y = -X`` of an exponential variable:

    >>> import numpy as np
    >>> from scipy import stats
    >>> from labcode.moments import transform_cdf
    >>> F = transform_cdf(stats.expon.cdf, lambda y: -y, increasing=False)
    >>> round(float(F(-1.0)), 6)  # P(-X <= -1) = P(X >= 1) = e^-1
    0.367879
    """
    check_callable(cdf, "cdf")
    check_callable(inverse, "inverse")
    if check_bool(increasing, "increasing"):

        def cdf_up(y: Any) -> Any:
            return cdf(inverse(y))

        return cdf_up

    def cdf_down(y: Any) -> Any:
        return 1.0 - cdf(inverse(y))

    return cdf_down
