"""The labcode REST service: users over HTTPS with API keys (the optional `web` extra).

Install with ``pip install "labcode[web]"``; run with ``python -m labcode.web``.
"""

from __future__ import annotations

from labcode.web.app import create_app

__all__ = ["create_app"]
