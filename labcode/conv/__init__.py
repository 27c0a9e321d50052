r"""Convolution layers, 2-D cross-correlation and template matching.

A convolution layer of a CNN slides each of ``F`` filters ``w[f]`` of shape
``(C, HH, WW)`` over a zero-padded input ``x`` of shape ``(N, C, H, W)`` and takes
dot products; strictly, that is a *cross-correlation* (the kernel is not flipped):

.. math::

    \mathrm{out}[n, f, r, c] = b_f + \sum_{k, i, j}
        w[f, k, i, j]\; x_{\mathrm{pad}}[n, k, s r + i, s c + j],

with stride :math:`s`, and an output of height
:math:`H' = 1 + \lfloor (H + 2p - HH) / s \rfloor` (width likewise), the floor
rule PyTorch uses. The gradients of :math:`\sum \mathrm{out} \odot \mathrm{dout}`
are a correlation of the input with ``dout`` (for ``dw``), a sum (for ``db``) and
a *full convolution* of ``dout`` with ``w``, which is a correlation with the
flipped kernel (for ``dx``) [1]_.

Naive loop versions sit beside the fast ones. The fast versions turn the layer
into one matrix product per sample (im2col [2]_; small samples are grouped):
for stride 1 the columns are contiguous slices of the flattened padded image,
so building them is nine memory copies for a 3x3 kernel, the bias rides along
as a row of ones, and the product runs in BLAS.

The package has two modules, and this one re-exports their public names:
``labcode.conv.layer`` (the layer's forward and backward passes, naive and fast)
and ``labcode.conv.correlate`` (:func:`correlate2d`, :func:`correlate_method`,
:func:`match_template`, :func:`best_match`).

References
----------
.. [1] Dumoulin, V. and Visin, F. (2016). A guide to convolution arithmetic for
       deep learning. arXiv:1603.07285.
.. [2] Chellapilla, K., Puri, S. and Simard, P. (2006). High performance
       convolutional neural networks for document processing. *Tenth
       International Workshop on Frontiers in Handwriting Recognition*.
.. [3] Lewis, J. P. (1995). Fast normalized cross-correlation. *Vision
       Interface*, 120-123.
"""

from labcode.conv.correlate import (
    MAX_DIRECT_TERMS,
    best_match,
    correlate2d,
    correlate_method,
    match_template,
)
from labcode.conv.layer import (
    conv_backward,
    conv_backward_naive,
    conv_forward,
    conv_forward_naive,
)

__all__ = [
    "MAX_DIRECT_TERMS",
    "best_match",
    "conv_backward",
    "conv_backward_naive",
    "conv_forward",
    "conv_forward_naive",
    "correlate2d",
    "correlate_method",
    "match_template",
]
