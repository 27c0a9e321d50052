"""Valid arguments spelled differently are accepted, and give the same result.

The other half of the contract: no valid input may be refused. Every argument of
every entry's valid call is respelled (numpy scalars for Python numbers, tuples
and arrays for lists, Fortran order, lists for arrays, float32/int32 arrays) and
the call must succeed with a finite result; exact respellings (the same values)
must give the same result as the original call (to rounding: another memory order
may sum in another order).
"""

import importlib

import numpy as np
import pytest
from contract_helpers import Entry, bounded, is_finite

MODULES = [
    "test_props_conv",
    "test_props_corners",
    "test_props_mlp",
    "test_props_regression",
    "test_props_moments",
    "test_props_small",
    "test_props_vm",
    "test_props_mrf",
]


def spellings(value: object) -> list[tuple[object, bool]]:
    """``(respelled value, exact)`` pairs for a valid argument."""
    if isinstance(value, bool):
        return [(np.bool_(value), True)]
    if isinstance(value, int):
        small = np.uint8(value) if 0 <= value < 256 else np.int16(value)
        return [(np.int64(value), True), (np.int32(value), True), (small, True)]
    if isinstance(value, float):
        other = int(value) if value == int(value) else np.float16(value)
        return [(np.float64(value), True), (np.float32(value), False), (other, False)]
    if isinstance(value, tuple):
        return [(list(value), True), (np.array(value), True)]
    if isinstance(value, list) and value and not isinstance(value[0], tuple):
        if callable(value[0]):
            return []
        return [(tuple(value), True), (np.array(value), True)]
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        narrow = value.astype(np.float32 if value.dtype.kind == "f" else np.int32)
        return [
            (value.tolist(), True),
            (np.asfortranarray(value), True),
            (narrow, False),
        ]
    return []


def _cases() -> list[pytest.ParameterSet]:
    cases: list[pytest.ParameterSet] = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for entry in module.ENTRIES:
            for param, value in entry.kwargs.items():
                for i, (spelled, exact) in enumerate(spellings(value)):
                    cases.append(
                        pytest.param(
                            entry, param, spelled, exact, id=f"{entry.name}-{param}-{i}"
                        )
                    )
    return cases


def _equal(a: object, b: object) -> bool:
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if callable(a) or callable(b):
        return True
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.dtype.kind == "O" or b_arr.dtype.kind == "O":
        return bool(a_arr.tolist() == b_arr.tolist())
    if a_arr.shape != b_arr.shape:
        return False
    if a_arr.dtype.kind in "fc":
        # Another memory order may sum in another order: equal to rounding.
        return bool(np.allclose(a_arr, b_arr, rtol=1e-12, atol=0.0, equal_nan=True))
    return bool(np.array_equal(a_arr, b_arr))


@pytest.mark.covers("labcode.mrf.energy")
@pytest.mark.parametrize(("entry", "param", "spelled", "exact"), _cases())
def test_valid_arguments_in_other_spellings_are_accepted(
    entry: Entry, param: str, spelled: object, exact: bool
) -> None:
    kwargs = dict(entry.kwargs)
    kwargs[param] = spelled
    result = bounded(entry.fn, **kwargs)
    assert is_finite(result) or entry.nan_ok or entry.infinite_ok
    if (
        exact
        and "rng" not in entry.kwargs
        and not entry.name.startswith("labcode.mlp.MLP")
    ):
        assert _equal(result, bounded(entry.fn, **entry.kwargs))
