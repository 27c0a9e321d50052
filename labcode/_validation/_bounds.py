"""Resource bounds: the limits on memory and loop steps, and the check of both.

Part of :mod:`labcode._validation`, whose docstring states the error contract
(point 5: resource bounds are stated and enforced before work starts).
"""

from __future__ import annotations

#: The most elements any array that labcode allocates may have (2**27, 1 GiB of
#: float64). Inputs whose work would need more are refused before allocating.
MAX_ELEMENTS = 1 << 27
#: The most Python-level loop iterations a naive twin (``*_naive``) runs: the
#: twins are for reading and checking on small inputs; bigger ones belong to
#: the fast path.
MAX_NAIVE_STEPS = 10**7


def check_size(
    count: int, name: str, limit: int, *, detail: str = "", unit: str = "elements"
) -> None:
    """Raise ValueError if `count` elements (or steps) exceed `limit`.

    Parameters
    ----------
    count : int
        The amount of work or memory the arguments ask for.
    name : str
        The parameter (or parameters) responsible.
    limit : int
        The most allowed.
    detail : str, optional
        What was passed, for example ``"sigma = 1e5 on a (10, 10) image"``.
    unit : str, optional
        What is counted: ``"elements"`` (memory) or ``"loop steps"`` (work).

    Examples
    --------
    >>> from labcode._validation import check_size
    >>> check_size(10**9, "x", 1000, detail="shape (1000000000,)")
    Traceback (most recent call last):
    ...
    ValueError: x must need at most 1000 elements; got shape (1000000000,) (1000000000 elements)
    """
    if count <= limit:
        return
    what = f"{detail} ({count} {unit})" if detail else f"{count} {unit}"
    msg = f"{name} must need at most {limit} {unit}; got {what}"
    raise ValueError(msg)
