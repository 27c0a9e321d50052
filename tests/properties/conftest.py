"""The property suite: every public function of labcode under generated input.

``contract_helpers`` (beside this file) holds the shared machinery; this conftest
puts it on ``sys.path`` and registers the ``covers`` marker with which each test
declares the public functions it exercises (``test_api_coverage.py`` reads the
markers and fails when a public function has none).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "covers(*names): the public labcode callables a property test exercises",
    )
