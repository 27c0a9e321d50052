"""labcode: the algorithms behind the labcode executable notes.

One module per algorithm family; each is documented by an executed page of the
site. Import the module you need, for example::

    from labcode.regression import gradient_descent
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labcode")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
