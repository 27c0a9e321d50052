r"""Moments of samples, skewness and kurtosis, MGFs and transformed densities.

For a sample :math:`x_1, \dots, x_n` with mean :math:`\bar x`,

.. math::

    m'_k = \frac{1}{n}\sum_i x_i^k, \qquad
    m_k = \frac{1}{n}\sum_i (x_i - \bar x)^k, \qquad
    g_1 = \frac{m_3}{m_2^{3/2}}, \qquad
    g_2 = \frac{m_4}{m_2^{2}} - 3,

the raw and central sample moments, the (biased) moment skewness and the excess
kurtosis. The bias-corrected versions are the "adjusted Fisher-Pearson"
estimators :math:`G_1` and :math:`G_2` of Joanes and Gill [1]_, the same as
``scipy.stats.skew(..., bias=False)`` and ``scipy.stats.kurtosis(..., bias=False)``.
Statistics reduce along ``axis=0`` by default, as in ``scipy.stats``;
``axis=None`` flattens the input first.

The change-of-variables rule for a strictly monotone :math:`g` with inverse
:math:`h = g^{-1}` gives the density :math:`f_Y(y) = f_X(h(y))\,|h'(y)|`
and the CDF :math:`F_Y(y) = F_X(h(y))` for increasing :math:`g`,
:math:`1 - F_X(h(y))` for decreasing :math:`g` (continuous :math:`X`) [2]_.

The package has three modules, and this one re-exports their public names:
``labcode.moments.sample`` (sample moments, skewness, kurtosis),
``labcode.moments.generating`` (MGFs, binomial transforms, die moments) and
``labcode.moments.transforms`` (transformed densities and CDFs).

References
----------
.. [1] Joanes, D. N. and Gill, C. A. (1998). Comparing measures of sample
       skewness and kurtosis. *Journal of the Royal Statistical Society D*,
       47(1), 183-189.
.. [2] Casella, G. and Berger, R. L. (2002). *Statistical Inference*, 2nd ed.,
       sections 2.1-2.3. Duxbury.
"""

from labcode.moments.generating import (
    MAX_MGF_ORDER,
    MAX_SEQUENCE,
    binomial_transform,
    die_moments,
    empirical_mgf,
    inverse_binomial_transform,
    mgf_moment,
)
from labcode.moments.sample import (
    MAX_ORDER,
    central_moment,
    kurtosis,
    pearson_median_skewness,
    raw_moment,
    skewness,
    standardized_moment,
)
from labcode.moments.transforms import (
    transform_cdf,
    transform_pdf,
    transform_pdf_piecewise,
)

__all__ = [
    "MAX_MGF_ORDER",
    "MAX_ORDER",
    "MAX_SEQUENCE",
    "binomial_transform",
    "central_moment",
    "die_moments",
    "empirical_mgf",
    "inverse_binomial_transform",
    "kurtosis",
    "mgf_moment",
    "pearson_median_skewness",
    "raw_moment",
    "skewness",
    "standardized_moment",
    "transform_cdf",
    "transform_pdf",
    "transform_pdf_piecewise",
]
