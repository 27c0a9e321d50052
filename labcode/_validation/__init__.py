"""The error contract of labcode: every input check, in one place.

Every public function of labcode checks its arguments with the helpers of this
module before it does any work. A newcomer needs to know only this page to know
how labcode fails.

The contract
------------
1. **Bad input raises, early, with our message.** A wrong *type* (a string
   where a number belongs, a float where an int belongs, ``None`` or ``1`` where
   a bool belongs, a complex or object array, an object that is not callable)
   raises ``TypeError``. A right type with a wrong *value* (a shape, a range,
   NaN or infinity, an unknown choice, a limit exceeded) raises ``ValueError``.
   No other exception type escapes an input check (no ``IndexError``,
   ``OverflowError``, ``ZeroDivisionError`` or numpy's own messages), and no
   check is an ``assert`` (asserts vanish under ``python -O``).
2. **One message pattern**: the parameter's name, what was expected, what came::

       X must be 2-D (m, n); got shape (5,)
       sigma must be > 0.0; got -1.0
       gray must be a bool (True or False); got 1 of type int
       method must be one of 'direct', 'fft', 'auto'; got 'FFT'
       faces must be <= 10000000 (the sums are exact, one term per face); got 10**12

   The message is built first and then raised (``msg = ...; raise ValueError(msg)``).
3. **No truthiness.** Flags are checked with :func:`check_bool`: only ``True``,
   ``False`` and numpy bools pass; ``None``, ``0``, ``1`` and ``"yes"`` are a
   ``TypeError``. Integers (:func:`check_int`) refuse bools and floats, even
   ``2.0``; reals (:func:`check_real`) refuse bools, strings and complex numbers.
4. **Arrays** (:func:`as_float_array`, :func:`as_int_array`) must be real
   numeric: bool, int, uint or float dtypes, never strings, objects or complex
   numbers. float32 stays float32 and everything else computes in float64
   (:func:`float_dtype`). Their number of dimensions, emptiness and finiteness
   are checked (NaN and infinity are refused unless a function documents
   otherwise) and, on request, their total size (``max_size``) and memory order
   (``contiguous=True`` returns a C-ordered array, so ``reshape(-1)`` is a view
   and writes through it reach the array; Fortran-ordered or strided input is
   copied).
5. **Resource bounds are stated and enforced before work starts.** A parameter
   that sets the amount of work or memory (iterations, window sizes, die faces,
   moment orders, program sizes) has a documented limit or an algorithm that
   does not blow up. Hitting a limit is a ``ValueError`` that says the limit
   (``maximum=`` of :func:`check_int`, :func:`check_size`). :data:`MAX_ELEMENTS`
   bounds the elements of any temporary array labcode allocates, and
   :data:`MAX_NAIVE_STEPS` the loop iterations of a naive twin.
6. **Results are finite for finite input, or the call raises.** Arithmetic that
   could overflow is done in a safe form (scaled norms, log space), and where a
   computation diverges (gradient descent or training with too large a step) the
   error names the parameter to change, for example ``lr``.
7. **Generators**: ``rng`` is ``None`` (fresh entropy), a non-negative int seed or
   a ``numpy.random.Generator`` (:func:`check_rng`); the legacy
   ``numpy.random.RandomState``, floats, bools and negative seeds are refused with
   our message.
8. **Choices** (:func:`check_choice`): a string from a fixed set, matched exactly
   (``'FFT'`` is not ``'fft'``); a non-string is a ``TypeError``.

Types
-----
:data:`FloatArray` and :data:`IntArray` are the array aliases every module of
labcode annotates with; they are defined once, in this package.

Modules
-------
The helpers sit in three private modules and are imported from here:
``_arrays`` (array checks and the aliases), ``_scalars`` (bools, numbers,
choices, callables, generators) and ``_bounds`` (:data:`MAX_ELEMENTS`,
:data:`MAX_NAIVE_STEPS`, :func:`check_size`).
"""

from __future__ import annotations

from labcode._validation._arrays import (
    FloatArray,
    IntArray,
    as_float_array,
    as_int_array,
    as_numeric_array,
    check_ndim,
    check_shape,
    float_dtype,
    format_shape,
)
from labcode._validation._bounds import MAX_ELEMENTS, MAX_NAIVE_STEPS, check_size
from labcode._validation._scalars import (
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_real,
    check_rng,
)

__all__ = [
    "MAX_ELEMENTS",
    "MAX_NAIVE_STEPS",
    "FloatArray",
    "IntArray",
    "as_float_array",
    "as_int_array",
    "as_numeric_array",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_int",
    "check_ndim",
    "check_real",
    "check_rng",
    "check_shape",
    "check_size",
    "float_dtype",
    "format_shape",
]
