r"""Markov random fields with pairwise potentials: energies and MAP labellings.

A labelling :math:`x \in \{0, \dots, L-1\}^n` of the ``n`` nodes of a graph with
edges :math:`\mathcal{E}` has the energy

.. math::

    E(x) = \sum_{p} \theta_p(x_p) + \sum_{(p, q) \in \mathcal{E}} \theta_{pq}(x_p, x_q),

and the Gibbs distribution :math:`P(x) = e^{-E(x)} / Z` makes the most probable
labelling (MAP) the one of least energy. Conventions: ``unary`` is ``(n, L)``,
``edges`` is ``(m, 2)`` node pairs ``(p, q)``, ``pairwise`` is ``(m, L, L)`` or one
``(L, L)`` table shared by all edges, with ``pairwise[e][k, l]`` the cost of
``x_p = k, x_q = l`` on edge ``e``. On the image grid, ``unary`` is ``(H, W, L)``
and the smoothness is one weight per edge times a distance between labels.

Exact minimisation is NP-hard in general. It is easy on a chain (min-sum dynamic
programming, [1]_) and for two labels with submodular pairwise terms, such as the
Potts model, by an s-t minimum cut [2]_ [3]_, computed here by the
Boykov-Kolmogorov max-flow algorithm [7]_ compiled with numba. With more labels,
alpha-expansion [8]_ chains such cuts to a strong local minimum. Iterated
conditional modes [4]_ only finds a weak local minimum.

References
----------
.. [1] Bellman, R. (1957). *Dynamic Programming*. Princeton University Press.
.. [2] Greig, D. M., Porteous, B. T. and Seheult, A. H. (1989). Exact maximum a
       posteriori estimation for binary images. *Journal of the Royal Statistical
       Society B*, 51(2), 271-279.
.. [3] Kolmogorov, V. and Zabih, R. (2004). What energy functions can be
       minimized via graph cuts? *IEEE TPAMI*, 26(2), 147-159.
.. [4] Besag, J. (1986). On the statistical analysis of dirty pictures. *Journal
       of the Royal Statistical Society B*, 48(3), 259-302.
.. [5] Wainwright, M. J., Jaakkola, T. S. and Willsky, A. S. (2005). MAP
       estimation via agreement on trees: message-passing and linear programming.
       *IEEE Transactions on Information Theory*, 51(11), 3697-3717.
.. [6] Boykov, Y. and Jolly, M.-P. (2001). Interactive graph cuts for optimal
       boundary and region segmentation of objects in N-D images. *ICCV*, 105-112.
.. [7] Boykov, Y. and Kolmogorov, V. (2004). An experimental comparison of
       min-cut/max-flow algorithms for energy minimization in vision. *IEEE
       TPAMI*, 26(9), 1124-1137.
.. [8] Boykov, Y., Veksler, O. and Zabih, R. (2001). Fast approximate energy
       minimization via graph cuts. *IEEE TPAMI*, 23(11), 1222-1239.
"""

from __future__ import annotations

from labcode.mrf._denoise import denoise_binary, denoise_grey
from labcode.mrf._expansion import alpha_expansion
from labcode.mrf._general import (
    BRUTE_FORCE_LIMIT,
    MAPResult,
    brute_force_map,
    chain_map,
    energy,
    icm,
    reparameterize,
)
from labcode.mrf._grid import (
    contrast_weights,
    grid_edges,
    grid_energy,
    grid_graph_cut,
    grid_offsets,
)

__all__ = [
    "BRUTE_FORCE_LIMIT",
    "MAPResult",
    "alpha_expansion",
    "brute_force_map",
    "chain_map",
    "contrast_weights",
    "denoise_binary",
    "denoise_grey",
    "energy",
    "grid_edges",
    "grid_energy",
    "grid_graph_cut",
    "grid_offsets",
    "icm",
    "reparameterize",
]

# The functions live in private modules; present them (in the API reference, in
# tracebacks of doctests, in links from code) as members of labcode.mrf.
for _name in __all__:
    _obj = globals()[_name]
    if callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
