r"""Harris and Noble corner detection: structure tensor, response, peaks.

Shifting a window :math:`w` by :math:`(u, v)` changes the image by the weighted
sum of squared differences

.. math::

    E(u, v) = \sum_{x, y} w(x, y)\,\bigl(I(x + u, y + v) - I(x, y)\bigr)^2
    \approx \begin{pmatrix} u & v \end{pmatrix} M \begin{pmatrix} u \\ v \end{pmatrix},
    \qquad
    M = \sum_{x, y} w \begin{pmatrix} I_x^2 & I_x I_y \\ I_x I_y & I_y^2 \end{pmatrix},

to first order in the shift (Taylor expansion of :math:`I`). The 2x2 *structure
tensor* :math:`M` has two eigenvalues: both small on a flat patch, one large on
an edge, both large at a corner. Harris and Stephens [1]_ score cornerness
without eigenvalues as :math:`R = \det M - k\,(\operatorname{tr} M)^2`; Noble
[2]_ as :math:`2 \det M / (\operatorname{tr} M + \varepsilon)`, the harmonic mean
of the two eigenvalues.

The default recipe is scikit-image's ``corner_harris`` [3]_: Sobel derivatives
with zero padding, a Gaussian window of standard deviation ``sigma`` (truncated
at 4 sigma) and zero padding again, so that the responses agree with it to
rounding. It is computed with fewer passes: the three products are filtered
side by side in one wide array, one vertical and one horizontal pass in all.

The code sits in private modules, and this one re-exports their public names:
``_filters`` (the image check, Sobel and the truncated Gaussian), ``_response``
(:func:`structure_tensor`, :func:`harris_response`), ``_peaks``
(:func:`corner_peaks`) and ``_naive`` (:func:`harris_response_naive`).

References
----------
.. [1] Harris, C. and Stephens, M. (1988). A combined corner and edge detector.
       *Proceedings of the Alvey Vision Conference*, 147-151.
.. [2] Noble, J. A. (1988). Finding corners. *Image and Vision Computing*, 6(2),
       121-128.
.. [3] van der Walt, S. et al. (2014). scikit-image: image processing in Python.
       *PeerJ* 2:e453.
"""

from __future__ import annotations

from labcode.corners._naive import harris_response_naive
from labcode.corners._peaks import corner_peaks
from labcode.corners._response import harris_response, structure_tensor

__all__ = [
    "corner_peaks",
    "harris_response",
    "harris_response_naive",
    "structure_tensor",
]
