"""An accumulating matrix product (BLAS ``dgemm`` with ``beta = 1``), through scipy.

Private to :mod:`labcode.conv`. :func:`numpy.matmul` always overwrites its
output; a convolution split by kernel row (:class:`~labcode.conv._columns.RowColumns`)
needs ``C += A @ B`` on strided views instead, which is BLAS's own ``gemm``.
scipy exports its BLAS to compiled code as capsules
(``scipy.linalg.cython_blas.__pyx_capi__``, the table numba's
``get_cython_function_address`` reads); ctypes calls the function pointer with
the views' row strides as leading dimensions, so nothing is copied. ctypes
releases the GIL during the call, and the product obeys the thread limits set
for scipy's BLAS (``threadpoolctl`` sees it like numpy's).

Only float64: on this project's machine scipy's OpenBLAS (0.3.30) runs the
float32 product 1.35x slower than numpy's (0.3.31), and its float64 product as
fast (``nox -s bench`` measures the layer both ways).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from scipy.linalg import cython_blas

from labcode._validation import FloatArray

_Pointer = ctypes.c_void_p
# Fortran dgemm: (transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
# every argument by reference.
_Dgemm = ctypes.CFUNCTYPE(None, *(_Pointer,) * 13)


def _load() -> Any:
    try:
        capsule = cython_blas.__pyx_capi__["dgemm"]
    except (AttributeError, KeyError):  # pragma: no cover - a scipy without it
        return None
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return _Dgemm(get_pointer(capsule, get_name(capsule)))


_DGEMM = _load()


def available() -> bool:
    """Whether scipy's ``dgemm`` was found."""
    return _DGEMM is not None


def _leading(a: FloatArray, name: str) -> int:
    """Return the row stride of a 2-D float64 view with unit column stride."""
    if (
        a.ndim != 2
        or a.dtype != np.float64
        or a.strides[1] != a.itemsize
        or a.strides[0] % a.itemsize
        or a.strides[0] // a.itemsize < max(1, a.shape[1])
    ):
        msg = f"{name} must be a 2-D float64 view with rows of unit stride"
        raise ValueError(msg)
    return a.strides[0] // a.itemsize


class Gemm:
    """``c = a @ b`` or ``c += a @ b`` on row-major float64 views, in place.

    A row-major ``(M, N)`` view with row stride ``ld`` is, to column-major
    BLAS, the ``(N, M)`` matrix with leading dimension ``ld``; so ``c = a b``
    is called as ``c^T = b^T a^T`` with no transposition or copy.
    """

    def __init__(self) -> None:
        self._ints = [ctypes.c_int() for _ in range(6)]  # m, n, k, lda, ldb, ldc
        self._one, self._zero = ctypes.c_double(1.0), ctypes.c_double(0.0)
        self._no = ctypes.c_char(b"N")

    def __call__(
        self, a: FloatArray, b: FloatArray, c: FloatArray, *, accumulate: bool
    ) -> None:
        """Compute ``c = a @ b`` (or ``c += a @ b`` when `accumulate`)."""
        if _DGEMM is None:  # pragma: no cover - callers check available()
            msg = "scipy's dgemm is not available"
            raise RuntimeError(msg)
        m, k = a.shape
        if b.shape[0] != k or c.shape != (m, b.shape[1]):
            msg = f"shapes {a.shape} @ {b.shape} -> {c.shape} do not match"
            raise ValueError(msg)
        lda, ldb, ldc = _leading(a, "a"), _leading(b, "b"), _leading(c, "c")
        dims = (b.shape[1], m, k, ldb, lda, ldc)
        for holder, value in zip(self._ints, dims, strict=True):
            holder.value = value
        n_, m_, k_, ldb_, lda_, ldc_ = (ctypes.addressof(i) for i in self._ints)
        no = ctypes.addressof(self._no)
        beta = self._one if accumulate else self._zero
        _DGEMM(
            no,
            no,
            n_,
            m_,
            k_,
            ctypes.addressof(self._one),
            b.ctypes.data,
            ldb_,
            a.ctypes.data,
            lda_,
            ctypes.addressof(beta),
            c.ctypes.data,
            ldc_,
        )
