"""Input checks and result helpers shared by the moments modules."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from labcode._validation import (
    FloatArray,
    as_float_array,
    check_int,
)

__all__ = []


#: The largest moment order of the sample moments: higher orders are decided by
#: the largest sample alone, and float exponents lose their parity beyond 2**24.
MAX_ORDER = 1 << 20


def _sample(x: ArrayLike, axis: int | None) -> tuple[FloatArray, int]:
    """Validate a sample, move the reduction axis first; return it and ``n``."""
    arr = as_float_array(x, "x")
    if arr.ndim == 0:
        msg = "x must be an array of samples; got a scalar"
        raise ValueError(msg)
    if axis is None:
        arr = arr.reshape(-1)
        axis = 0
    axis_i = check_int(axis, "axis")
    if not -arr.ndim <= axis_i < arr.ndim:
        msg = f"axis must be in [{-arr.ndim}, {arr.ndim - 1}] for x of shape {arr.shape}; got {axis_i}"
        raise ValueError(msg)
    return np.moveaxis(arr, axis_i, 0), arr.shape[axis_i]


def _order(k: object, maximum: int = MAX_ORDER, why: str = "") -> int:
    """Check a moment order ``k``: an int in ``0..maximum``."""
    reason = why or "higher orders are decided by the largest sample alone"
    return check_int(k, "k", minimum=0, maximum=maximum, why=reason)


def _finite(values: FloatArray, what: str) -> FloatArray:
    """Return `values`, or raise ValueError naming `what` if any is not finite."""
    if not np.all(np.isfinite(values)):
        msg = f"{what} must give a result inside the float64 range; it overflows"
        raise ValueError(msg)
    return values


def _result(values: FloatArray) -> Any:
    """Return a 0-d result as a NumPy scalar, anything else as an array."""
    return values[()] if values.ndim == 0 else values
