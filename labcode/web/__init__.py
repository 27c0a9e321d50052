"""The labcode REST service: users over HTTPS with API keys (the optional `web` extra).

Install with ``pip install "labcode[web]"``; run with ``python -m labcode.web``.

Modules: :mod:`~labcode.web.app` (the views and
:func:`~labcode.web.app.create_app`),
:mod:`~labcode.web.server` (the production server), :mod:`~labcode.web.tls`
(certificates), :mod:`~labcode.web.openapi` (the description served at
``/v1/openapi.json``); private helpers: ``_problems`` (RFC 9457 errors),
``_requests`` (body limits, input rules, conditional requests) and ``_store``
(SQLite).
"""

from __future__ import annotations

from labcode.web.app import create_app

__all__ = ["create_app"]
