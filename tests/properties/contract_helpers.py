"""Shared machinery of the property suite.

Two kinds of property, for every public function:

- **valid input** (written per function, in ``test_props_<module>.py``): the
  result is finite and agrees with the naive twin or an outside reference;
- **hostile input** (:func:`check_hostile`, driven by the :class:`Entry` tables):
  one argument of a valid call is replaced by a generated hostile value (wrong
  type, NaN, infinity, huge or tiny, empty, ragged, wrong shape, wrong memory
  order, ...). The call must then either raise ``ValueError``/``TypeError`` whose
  message names a parameter of the function, or return a result that passes the
  entry's check (finite, the right kind); any other exception, a non-finite
  result, or a call slower than the time bound fails the test.

Every call runs under :func:`time_bound` (a SIGALRM timer): a hang fails the test
with ``CallTooSlow`` instead of stalling the suite.
"""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: Seconds any single call of a labcode function may take in this suite.
CALL_SECONDS = 10.0

#: Hypothesis settings of the suite: a modest number of examples, no deadline
#: (the machine is shared and slow; hangs are caught by time_bound instead).
SUITE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: For valid-input properties that call slow references.
FEW = settings(SUITE, max_examples=15)


class CallTooSlow(AssertionError):
    """A call took longer than its time bound (a hang, or work that is unbounded)."""


@contextmanager
def time_bound(seconds: float = CALL_SECONDS) -> Iterator[None]:
    """Fail with CallTooSlow if the body runs longer than `seconds` (main thread)."""

    def expire(signum: int, frame: Any) -> None:
        msg = f"call took longer than {seconds} s"
        raise CallTooSlow(msg)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def bounded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` under :func:`time_bound`."""
    with time_bound():
        return fn(*args, **kwargs)


def is_finite(value: Any) -> bool:
    """Whether every number inside `value` (arrays, tuples, lists, dicts) is finite."""
    if value is None or isinstance(value, str | bool | Fraction):
        return True
    if isinstance(value, int | np.integer):
        return True
    if isinstance(value, float | np.floating):
        return math.isfinite(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuO":
            return True
        return bool(np.all(np.isfinite(value)))
    if isinstance(value, dict):
        return all(is_finite(v) for v in value.values())
    if isinstance(value, tuple | list):
        return all(is_finite(v) for v in value)
    if callable(value):
        return True
    return is_finite(np.asarray(value))


def names_a_parameter(message: str, params: list[str]) -> bool:
    """Whether `message` names one of `params` as a word."""
    return any(re.search(rf"(?<![\w.]){re.escape(p)}(?!\w)", message) for p in params)


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque object>"


def _hostile_constants() -> list[Any]:
    nan, inf = float("nan"), float("inf")
    return [
        None,
        True,
        False,
        0,
        1,
        -1,
        3,
        10**30,
        -(10**30),
        2**63,
        0.0,
        0.5,
        -0.5,
        2.0,
        1e-320,
        1e308,
        -1e308,
        nan,
        inf,
        -inf,
        1j,
        "x",
        "",
        b"x",
        [],
        [[]],
        [1, [2]],
        [[1.0, 2.0], [3.0]],
        _Opaque(),
        {},
        (3,),
        (2, 2),
        np.float64(nan),
        np.int64(-5),
        np.True_,
        np.array(2.0),
        np.array([]),
        np.zeros((0, 3)),
        np.ones(3),
        np.ones((2, 2)),
        np.ones((1, 1, 1, 1)),
        np.ones((2, 3, 4)),
        np.full((3, 3), 1e308),
        np.full((3, 3), 1e-320),
        np.full((3, 3), np.nan),
        np.array([[1.0, np.inf], [0.0, 1.0]]),
        np.array(["a", "b"]),
        np.ones((2, 2), dtype=complex),
        np.ones((3, 3), dtype=bool),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.arange(20.0)[::3],
        np.full((2, 2), 3e38, dtype=np.float32),
        np.arange(9, dtype=np.int8).reshape(3, 3),
        np.array([[0, 255], [255, 0]], dtype=np.uint8),
        np.array([object()]),
        lambda *args, **kwargs: 0.0,
        len,
    ]


HOSTILE = _hostile_constants()


def hostile_values() -> st.SearchStrategy[Any]:
    """Hostile arguments: the constants above and a few generated arrays."""
    arrays = hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
    )
    return st.one_of(st.sampled_from(HOSTILE), arrays)


class Entry:
    """One public function and a valid call of it, for the hostile-input property.

    Parameters
    ----------
    name : str
        The public name, for example ``"labcode.conv.correlate2d"``.
    fn : callable
        The function (or a lambda calling a method).
    kwargs : dict
        A valid call: every parameter that hostile values may replace.
    check : callable, optional
        Applied to a result that came back: must not raise.
    allowed : tuple of exception types, optional
        Documented exceptions other than ValueError/TypeError (for example a
        step limit), accepted as an outcome.
    skip_if : dict, optional
        ``{param: predicate}``: hostile values for which ``predicate(value)`` is
        true are not tried for that parameter, because they expose a known
        defect tested separately (a strict xfail, owned by another branch).
    extra_names : list of str, optional
        More names a message may name (besides the keys of `kwargs`).
    infinite_ok : bool, optional
        The function documents an infinite result (for example "no bound");
        NaN is still refused.
    nan_ok : bool, optional
        The function documents NaN where its value is undefined (zero variance,
        as scipy.stats does), so that one degenerate column of a batch does not
        fail the others.
    """

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        kwargs: dict[str, Any],
        check: Callable[[Any], object] | None = None,
        *,
        allowed: tuple[type[BaseException], ...] = (),
        skip_if: dict[str, Callable[[Any], bool]] | None = None,
        extra_names: list[str] | None = None,
        infinite_ok: bool = False,
        nan_ok: bool = False,
    ) -> None:
        self.name = name
        self.fn = fn
        self.kwargs = kwargs
        self.check = check or (lambda result: None)
        self.allowed = allowed
        self.skip_if = skip_if or {}
        self.extra_names = extra_names or []
        self.infinite_ok = infinite_ok
        self.nan_ok = nan_ok

    def __repr__(self) -> str:
        return f"Entry({self.name})"


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return (
            a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=True))
        )
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - any comparison failure means different
        return False


def check_hostile(
    entry: Entry, param: str, value: Any, *, honour_skips: bool = True
) -> str:
    """Call `entry` with `param` replaced by `value`; assert the contract.

    Returns the outcome, ``"raised"`` or ``"returned"``, for statistics.
    """
    if honour_skips and param in entry.skip_if and entry.skip_if[param](value):
        return "skipped"
    kwargs = dict(entry.kwargs)
    kwargs[param] = value
    names = [*entry.kwargs, *entry.extra_names]
    before = value.copy() if isinstance(value, np.ndarray) else None
    refused: BaseException | None = None
    try:
        with time_bound():
            result = entry.fn(**kwargs)
    except (ValueError, TypeError) as exc:
        refused = exc
    except entry.allowed:
        return "raised"
    except CallTooSlow:
        raise
    except Exception as exc:
        msg = (
            f"{entry.name}({param}={value!r:.80}) raised {type(exc).__name__}: "
            f"{exc!s:.200} (expected ValueError/TypeError naming a parameter)"
        )
        raise AssertionError(msg) from exc
    if refused is not None:
        message = str(refused)
        assert names_a_parameter(message, names), (
            f"{entry.name}({param}={value!r:.80}) raised {type(refused).__name__} "
            f"whose message names no parameter of {names}: {message!r}"
        )
        return "raised"
    if before is not None:
        assert _same(before, value), (
            f"{entry.name}({param}=...) modified its argument in place"
        )
    if entry.infinite_ok and isinstance(result, float) and math.isinf(result):
        return "returned"
    if entry.nan_ok:
        values = np.asarray(result, dtype=np.float64)
        assert not np.any(np.isinf(values)), f"{entry.name} returned infinity"
        return "returned"
    assert is_finite(result), (
        f"{entry.name}({param}={value!r:.80}) returned a non-finite result: "
        f"{result!r:.200}"
    )
    entry.check(result)
    return "returned"


# Predicates for ``Entry.skip_if``: classes of hostile values.


def ragged(value: Any) -> bool:
    """A nested list that numpy cannot make rectangular."""
    if not isinstance(value, list):
        return False
    try:
        np.asarray(value, dtype=float)
    except (ValueError, TypeError):
        return True
    return False


def extreme_array(value: Any) -> bool:
    """A numeric array with NaN, infinity or magnitudes beyond 2**62."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        return False
    if value.dtype.kind in "iu":
        return bool(value.size) and bool(
            np.any(np.abs(value.astype(np.float64)) >= 2.0**62)
        )
    with np.errstate(all="ignore"):
        return bool(np.any(~np.isfinite(value)) or np.any(np.abs(value) > 2.0**62))


def extreme_number(value: Any) -> bool:
    """A number beyond 1e300 or int64, or a positive one below 1e-300."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return abs(int(value)) >= 2**62
    if isinstance(value, float | np.floating):
        return abs(float(value)) > 1e300 or 0 < abs(float(value)) < 1e-300
    return False


def non_numeric_array(value: Any) -> bool:
    """An array of strings, objects or complex numbers."""
    return isinstance(value, np.ndarray) and value.dtype.kind not in "biuf"


def not_a_pair_of_ints(value: Any) -> bool:
    """Anything but a 2-sequence of ints."""
    return not (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | np.integer) for v in value)
    )


def any_of(*predicates: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """The predicate true when any of `predicates` is."""
    return lambda value: any(p(value) for p in predicates)
