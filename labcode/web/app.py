"""A small REST API that follows its own advice: users, over HTTPS, with API keys.

One resource, ``/v1/users``. Conventions, each one a practice of REST design:

- plural nouns for collections, HTTP methods for actions (no verbs in URLs), the
  version in the path;
- JSON in and out, camelCase fields, times in ISO 8601 UTC ending in ``Z``, an
  ``href`` beside every ``id``;
- ``POST`` to the collection creates (201 with ``Location``); ``PUT`` replaces
  (every field required, idempotent); ``PATCH`` with a JSON merge patch
  (RFC 7396) changes some fields; ``DELETE`` removes (204); ``HEAD`` is ``GET``
  without the body and never changes anything; ``OPTIONS`` answers 204 with
  ``Allow``;
- ``ETag`` on every user and on the collection; ``If-Match`` and
  ``If-None-Match`` (with ``*`` or lists of tags) evaluated as RFC 9110
  section 13 says: 304 for reads, 412 for writes, after authentication and
  after a 404, before the body is looked at;
- offset/limit paging with the total and RFC 8288 ``Link`` headers;
- every error, including 404 and 405, described as ``application/problem+json``
  (RFC 9457); ``Accept`` honoured (406), ``Content-Type`` checked (415);
- API keys, not passwords: ``Authorization: Bearer <key>``; a missing or unknown
  key is 401 (with ``WWW-Authenticate``), a read-only key trying to write is 403.

Input rules: ids, ``offset`` and ``limit`` are ASCII digits only; other query
parameters are refused (400) rather than ignored; names and
emails are strings of 1 to 200 characters with no control characters and no
lone surrogates; a body is at most :data:`MAX_BODY_BYTES` bytes whatever its
transfer coding (413) and nests at most :data:`MAX_JSON_DEPTH` levels (400).
Only the host names in `allowed_hosts` are served (400 otherwise); links in
responses are built from `public_url`, or from the validated ``Host``.
Database faults answer 503: with ``Retry-After`` when retrying can help (a
locked database, a full disk), without it for a read-only database.

Keys come from ``LABCODE_API_KEYS="key1:write,key2:read"`` (or the `api_keys`
argument) and are kept only as SHA-256 digests, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from labcode.web import _requests
from labcode.web._problems import (
    ApiError,
    bad_request,
    duplicate,
    http_error,
    internal_error,
    not_found,
    precondition_failed,
    problem_response,
)
from labcode.web._requests import (
    acceptable,
    canonical_path,
    finish,
    json_body,
    json_response,
    known_query,
    not_modified,
    parse_user_id,
    preconditions,
    query_int,
    validate,
)
from labcode.web._store import (
    Store,
    collection_etag,
    etag,
    get_row,
    revision,
    to_json,
    utc_now,
)
from labcode.web.openapi import openapi_description

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "create_app",
    "parse_api_keys",
]

#: Largest accepted request body, whatever its transfer coding; larger ones get 413.
MAX_BODY_BYTES = _requests.MAX_BODY_BYTES
#: Deepest accepted nesting of JSON arrays and objects in a body; deeper is 400.
MAX_JSON_DEPTH = _requests.MAX_JSON_DEPTH
#: Host names served when no others are configured.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")

_HOST = re.compile(
    r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::[0-9]{1,5})?",
    re.ASCII,
)
_SCOPES = ("read", "write")


def parse_api_keys(spec: str | Mapping[str, str]) -> dict[str, str]:
    """Parse ``"key1:write,key2:read"`` (or a mapping) into {sha256 hex digest: scope}.

    Parameters
    ----------
    spec : str or mapping
        Comma-separated ``key:scope`` pairs, scope ``read`` or ``write``, or a
        mapping from key to scope.

    Returns
    -------
    dict
        Digests of the keys to their scopes: the keys themselves are not kept.

    Raises
    ------
    ValueError
        If a pair is malformed, a key is empty or a scope unknown.

    Examples
    --------
    >>> from labcode.web.app import parse_api_keys
    >>> sorted(parse_api_keys("alpha:write, beta:read").values())
    ['read', 'write']
    """
    pairs: list[tuple[str, str]]
    if isinstance(spec, str):
        pairs = []
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, scope = item.rpartition(":")
            if not sep:
                msg = f"API key entries must look like key:scope; got {item!r}"
                raise ValueError(msg)
            pairs.append((key.strip(), scope.strip()))
    else:
        pairs = list(spec.items())
    keys = {}
    for key, scope in pairs:
        if not key:
            msg = "API keys must not be empty"
            raise ValueError(msg)
        if scope not in _SCOPES:
            msg = f"API key scope must be 'read' or 'write'; got {scope!r}"
            raise ValueError(msg)
        keys[hashlib.sha256(key.encode()).hexdigest()] = scope
    return keys


# ------------------------------------------------------------------ views
class _Api:
    """The views, bound to one store, one set of keys and the host configuration."""

    def __init__(
        self,
        store: Store,
        keys: dict[str, str],
        allowed_hosts: Sequence[str],
        public_url: str | None,
    ) -> None:
        self.store, self.keys = store, keys
        self.allowed_hosts = {h.lower().strip("[]") for h in allowed_hosts}
        self.public_url = public_url.rstrip("/") if public_url else None

    # -- host
    def check_host(self) -> None:
        """RFC 9112 3.2: one valid Host, naming a configured host, else 400."""
        raw = request.environ.get("HTTP_HOST")
        if raw is None:
            if request.environ.get("SERVER_PROTOCOL") == "HTTP/1.0":
                return
            msg = "the request has no Host header"
            raise bad_request(msg, "bad-host")
        match = _HOST.fullmatch(raw)
        name = match.group("name").lower().strip("[]") if match else None
        if name not in self.allowed_hosts:
            msg = (
                f"Host {raw!r} is not one this server answers for "
                f"(allowed: {', '.join(sorted(self.allowed_hosts))})"
            )
            raise bad_request(
                msg,
                "bad-host",
            )

    def base(self) -> str:
        """Return the URL prefix of links: configured, else the validated Host."""
        if self.public_url:
            return self.public_url
        scheme = "https" if request.is_secure else "http"
        host = request.environ.get("HTTP_HOST") or min(self.allowed_hosts)
        return f"{scheme}://{host}"

    def user_body(self, row: sqlite3.Row) -> dict[str, Any]:
        user = to_json(row)
        return {**user, "href": f"{self.base()}/v1/users/{user['id']}"}

    # -- auth
    def authorize(self, *, write: bool) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        scope = None
        if scheme.lower() == "bearer" and token:
            digest = hashlib.sha256(token.strip().encode()).hexdigest()
            for known, known_scope in self.keys.items():  # constant-time compare
                if hmac.compare_digest(digest, known):
                    scope = known_scope
        if scope is None:
            raise ApiError(
                401,
                "Unauthorized",
                "send an API key as 'Authorization: Bearer <key>'",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="labcode"'},
            )
        if write and scope != "write":
            raise ApiError(
                403, "Forbidden", "this API key may only read", kind="forbidden"
            )

    # -- /v1/users
    def users(self) -> Response:
        if request.method == "POST":
            return self.create()
        self.authorize(write=False)
        known_query("offset", "limit")
        offset = query_int("offset", 0, 0, 10**12)
        limit = query_int("limit", 20, 1, 100)
        with self.store.reading() as db:
            tag = collection_etag(revision(db))
            outcome = preconditions(tag)
            total = int(db.execute("SELECT COUNT(*) FROM users").fetchone()[0])
            rows = db.execute(
                "SELECT * FROM users ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        if outcome == 304:
            return not_modified(headers)
        if outcome == 412:
            raise precondition_failed()
        base = self.base() + "/v1/users"
        links = []
        if offset + limit < total:
            links.append(f'<{base}?offset={offset + limit}&limit={limit}>; rel="next"')
        if offset > 0:
            links.append(
                f'<{base}?offset={max(offset - limit, 0)}&limit={limit}>; rel="prev"'
            )
        if links:
            headers["Link"] = ", ".join(links)
        items = [self.user_body(row) for row in rows]
        body = {"items": items, "offset": offset, "limit": limit, "total": total}
        return json_response(body, 200, **headers)

    def create(self) -> Response:
        self.authorize(write=True)
        known_query()
        fields: dict[str, str] = {}
        try:
            with self.store.writing() as db:
                if preconditions(collection_etag(revision(db))) is not None:
                    raise precondition_failed()
                fields = validate(json_body("application/json"), partial=False)
                now = utc_now()
                cursor = db.execute(
                    "INSERT INTO users (name, email, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    (fields["name"], fields["email"], now, now),
                )
                row = db.execute(
                    "SELECT * FROM users WHERE id = ?", (cursor.lastrowid,)
                ).fetchone()
                body, tag = self.user_body(row), etag(row)
        except sqlite3.IntegrityError:
            raise duplicate(fields["email"]) from None
        return json_response(body, 201, Location=body["href"], ETag=tag)

    # -- /v1/users/<id>
    def user(self, raw_id: str) -> Response:
        user_id = parse_user_id(raw_id)
        if request.method in ("GET", "HEAD"):
            return self.read(user_id)
        self.authorize(write=True)
        known_query()
        fields: dict[str, str] = {}
        try:
            with self.store.writing() as db:
                row = get_row(db, user_id)
                if row is None:  # a 404 makes the preconditions moot (RFC 9110 13.2.1)
                    raise not_found(user_id)
                if preconditions(etag(row)) is not None:
                    raise precondition_failed()
                if request.method == "DELETE":
                    db.execute("DELETE FROM users WHERE id = ?", (user_id,))
                    row = None
                else:
                    if request.method == "PUT":
                        body = json_body("application/json")
                    else:
                        body = json_body("application/merge-patch+json")
                    fields = validate(body, partial=request.method == "PATCH")
                    changed = {k: v for k, v in fields.items() if row[k] != v}
                    if changed:  # an identical PUT changes nothing, not even updatedAt
                        sets = ", ".join(f"{k} = ?" for k in changed)
                        db.execute(
                            f"UPDATE users SET {sets}, updated_at = ? WHERE id = ?",
                            (*changed.values(), utc_now(), user_id),
                        )
                    row = get_row(db, user_id)
        except sqlite3.IntegrityError:
            raise duplicate(fields.get("email", "")) from None
        if row is None:
            response = Response(status=204)
            del response.headers["Content-Type"]
            return response
        return json_response(self.user_body(row), 200, ETag=etag(row))

    def read(self, user_id: int) -> Response:
        self.authorize(write=False)
        known_query()
        with self.store.reading() as db:
            row = get_row(db, user_id)
        if row is None:
            raise not_found(user_id)
        tag = etag(row)
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        outcome = preconditions(tag)
        if outcome == 304:
            return not_modified(headers)
        if outcome == 412:
            raise precondition_failed()
        return json_response(self.user_body(row), 200, **headers)


def create_app(
    *,
    db: str = ":memory:",
    api_keys: str | Mapping[str, str] | None = None,
    allowed_hosts: Sequence[str] = DEFAULT_ALLOWED_HOSTS,
    public_url: str | None = None,
) -> Flask:
    """Build the Flask application.

    Parameters
    ----------
    db : str, optional
        SQLite database path, or a ``file:`` URI (``file:users.db?mode=ro``);
        ``":memory:"`` (the default) keeps users in memory.
    api_keys : str or mapping, optional
        ``"key1:write,key2:read"`` or a mapping key -> scope; by default the
        ``LABCODE_API_KEYS`` environment variable.
    allowed_hosts : sequence of str, optional
        Host names (without port) that requests may name in ``Host``; others
        get 400. Default: ``localhost``, ``127.0.0.1`` and ``::1``.
    public_url : str, optional
        Prefix of the links in responses (``https://api.example.org``); by
        default the scheme and the validated ``Host`` of each request.

    Returns
    -------
    flask.Flask

    Raises
    ------
    ValueError
        If no API key is configured, the specification is malformed, no host
        is allowed, or the database cannot be opened (a missing directory,
        a file that is not a database).

    Examples
    --------
    >>> from labcode.web import create_app
    >>> client = create_app(api_keys="secret:write").test_client()
    >>> r = client.post(
    ...     "/v1/users",
    ...     json={"name": "Ada", "email": "ada@example.org"},
    ...     headers={"Authorization": "Bearer secret"},
    ... )
    >>> r.status_code, r.headers["Location"], r.json["name"]
    (201, 'http://localhost/v1/users/1', 'Ada')
    >>> client.get("/v1/users/1").status_code  # no key
    401
    """
    spec = api_keys if api_keys is not None else os.environ.get("LABCODE_API_KEYS", "")
    keys = parse_api_keys(spec)
    if not keys:
        msg = "no API keys: pass api_keys or set LABCODE_API_KEYS='key:write,key2:read'"
        raise ValueError(msg)
    given: list[object] = (
        [allowed_hosts] if isinstance(allowed_hosts, str) else list(allowed_hosts)
    )
    hosts = [h for h in given if isinstance(h, str) and h.strip()]
    if not hosts or len(hosts) != len(given):
        msg = f"allowed_hosts must be a non-empty list of host names; got {given!r}"
        raise ValueError(msg)
    if public_url is not None and not re.fullmatch(r"https?://[^/?#\s]+", public_url):
        msg = f"public_url must look like https://host[:port]; got {public_url!r}"
        raise ValueError(msg)
    api = _Api(Store(db), keys, hosts, public_url)
    app = Flask("labcode.web", static_folder=None)
    app.extensions["labcode.web.store"] = api.store
    app.url_map.merge_slashes = False  # //v1/users is 404, not a redirect to HTML
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.register_error_handler(ApiError, problem_response)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, internal_error)
    app.before_request(api.check_host)
    app.before_request(canonical_path)
    app.before_request(acceptable)
    app.after_request(finish)
    app.add_url_rule("/v1/users", "users", api.users, methods=["GET", "POST"])
    app.add_url_rule(
        "/v1/users/<raw_id>",
        "user",
        api.user,
        methods=["GET", "PUT", "PATCH", "DELETE"],
    )
    description = json.dumps(openapi_description())
    app.add_url_rule(
        "/v1/openapi.json",
        "openapi",
        lambda: Response(description, mimetype="application/json"),
        methods=["GET"],
    )
    return app
