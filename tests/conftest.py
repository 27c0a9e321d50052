"""Test configuration: Hypothesis explores freely on a developer's machine and
replays a fixed sequence of examples in CI (``CI=true``), so that a red CI
always means a change broke something, not that a new random example was drawn.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
