"""A small REST API that follows its own advice: users, over HTTPS, with API keys.

One resource, ``/v1/users``. Conventions, each one a practice of REST design:

- plural nouns for collections, HTTP methods for actions (no verbs in URLs), the
  version in the path;
- JSON in and out, camelCase fields, times in ISO 8601 UTC ending in ``Z``, an
  ``href`` beside every ``id``;
- ``POST`` to the collection creates (201 with ``Location``); ``PUT`` replaces
  (every field required, idempotent); ``PATCH`` with a JSON merge patch
  (RFC 7396) changes some fields; ``DELETE`` removes (204);
- ``ETag`` on every user; ``If-None-Match`` answers 304, ``If-Match`` 412 on a
  mismatch, so clients cache and do not overwrite each other blindly;
- offset/limit paging with the total and RFC 8288 ``Link`` headers;
- errors described in the body as ``application/problem+json`` (RFC 9457), and
  ``Accept`` honoured (406 when the client accepts no JSON), ``Content-Type``
  checked (415);
- API keys, not passwords: ``Authorization: Bearer <key>``; a missing or unknown
  key is 401 (with ``WWW-Authenticate``), a read-only key trying to write is 403.

Keys come from ``LABCODE_API_KEYS="key1:write,key2:read"`` (or the `api_keys`
argument) and are kept only as SHA-256 digests, compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

__all__ = ["MAX_BODY_BYTES", "create_app", "parse_api_keys"]

#: Largest accepted request body; larger ones get 413.
MAX_BODY_BYTES = 64 * 1024
_PROBLEM_BASE = "https://labcode.invalid/problems/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELDS = ("name", "email")
_SCOPES = ("read", "write")


class ApiError(Exception):
    """An error answered as application/problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        kind: str,
        headers: Mapping[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind
        self.headers = dict(headers or {})
        self.errors = errors


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


def _now() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


class _Store:
    """SQLite storage behind one lock: simple, and no write is ever lost."""

    def __init__(self, path: str) -> None:
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        with self.lock:
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS users (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL
                )"""
            )

    def count(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT COUNT(*) FROM users").fetchone()[0])

    def page(self, offset: int, limit: int) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(
                "SELECT * FROM users ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()

    def get(self, user_id: int) -> sqlite3.Row | None:
        with self.lock:
            row: sqlite3.Row | None = self.db.execute(
                "SELECT * FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            return row

    def create(self, name: str, email: str) -> sqlite3.Row:
        now = _now()
        with self.lock:
            try:
                cur = self.db.execute(
                    "INSERT INTO users (name, email, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    (name, email, now, now),
                )
            except sqlite3.IntegrityError:
                raise _duplicate(email) from None
            row: sqlite3.Row = self.db.execute(
                "SELECT * FROM users WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
            return row

    def update(
        self, user_id: int, fields: dict[str, str], expected_etag: str | None
    ) -> sqlite3.Row:
        """Apply `fields` if the stored user still has `expected_etag` (when given)."""
        with self.lock:
            row = self._current(user_id, expected_etag)
            changed = {k: v for k, v in fields.items() if row[k] != v}
            if changed:  # an identical PUT changes nothing, not even updatedAt
                assignments = ", ".join(f"{k} = ?" for k in changed)
                try:
                    self.db.execute(
                        f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
                        (*changed.values(), _now(), user_id),
                    )
                except sqlite3.IntegrityError:
                    raise _duplicate(fields["email"]) from None
            updated: sqlite3.Row = self.db.execute(
                "SELECT * FROM users WHERE id = ?", (user_id,)
            ).fetchone()
            return updated

    def delete(self, user_id: int, expected_etag: str | None) -> None:
        with self.lock:
            self._current(user_id, expected_etag)
            self.db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    def _current(self, user_id: int, expected_etag: str | None) -> sqlite3.Row:
        """Return the stored user (404 if none) checked against If-Match (412); lock held."""
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM users WHERE id = ?", (user_id,)
        ).fetchone()
        if row is None:
            raise _not_found(user_id)
        if expected_etag is not None and expected_etag != _etag(_to_json(row)):
            raise _precondition_failed()
        return row


def _to_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def _etag(user: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(user, sort_keys=True).encode()).hexdigest()[:20]
    return f'"{digest}"'


def _not_found(user_id: int) -> ApiError:
    return ApiError(404, "Not Found", f"there is no user {user_id}", kind="not-found")


def _duplicate(email: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f"a user with email {email!r} already exists",
        kind="duplicate-email",
    )


def _precondition_failed() -> ApiError:
    return ApiError(
        412,
        "Precondition Failed",
        "the user has changed since the ETag in If-Match was issued; GET it again",
        kind="precondition-failed",
    )


def _field_problem(key: str, value: object) -> str | None:
    """Return what is wrong with one field's value, or None."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value) > 200:
        return "must be at most 200 characters"
    if key == "email" and not _EMAIL.match(value):
        return "must be an email address"
    return None


def _validate(data: object, *, partial: bool) -> dict[str, str]:
    """Check a body: a JSON object with name and email (all required unless partial)."""
    if not isinstance(data, dict):
        raise ApiError(
            422,
            "Unprocessable Content",
            "the body must be a JSON object",
            kind="validation",
        )
    errors = [
        {"field": key, "problem": "unknown field"} for key in data if key not in _FIELDS
    ]
    if not partial:
        errors += [
            {"field": k, "problem": "required"} for k in _FIELDS if k not in data
        ]
    fields: dict[str, str] = {}
    for key in (k for k in _FIELDS if k in data):
        problem = _field_problem(key, data[key])
        if problem:
            errors.append({"field": key, "problem": problem})
        else:
            fields[key] = data[key].strip()
    if errors:
        raise ApiError(
            422,
            "Unprocessable Content",
            "the request body has invalid fields",
            kind="validation",
            errors=errors,
        )
    return fields


def _empty(status: int) -> Response:
    """Build a response without a body, so without a Content-Type (204, 304)."""
    response = Response(status=status)
    del response.headers["Content-Type"]
    return response


def _json_response(body: object, status: int = 200, **headers: str) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers)
    return response


def _problem_response(error: ApiError) -> Response:
    body: dict[str, Any] = {
        "type": _PROBLEM_BASE + error.kind,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if error.errors:
        body["errors"] = error.errors
    response = Response(
        json.dumps(body), status=error.status, mimetype="application/problem+json"
    )
    response.headers.update(error.headers)
    return response


def _http_error(error: HTTPException) -> Response:
    """Werkzeug's own errors (unknown path, wrong method, body too large) as problems."""
    status = error.code or 500
    kinds = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
    detail = {
        404: "no such resource; the API lives under /v1/users",
        405: f"{request.method} is not allowed here",
        413: f"the request body is larger than {MAX_BODY_BYTES} bytes",
    }.get(status, error.description or "")
    response = _problem_response(
        ApiError(status, error.name, detail, kind=kinds.get(status, "http-error"))
    )
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _acceptable() -> None:
    """Honour Accept: every answer is JSON (or a JSON problem), so say 406 otherwise."""
    if request.accept_mimetypes.provided and not request.accept_mimetypes.best_match(
        ["application/json", "application/problem+json"]
    ):
        raise ApiError(
            406,
            "Not Acceptable",
            f"this API answers in application/json; the request accepts only {request.headers['Accept']!r}",
            kind="not-acceptable",
        )


def _security_headers(response: Response) -> Response:
    response.headers["Strict-Transport-Security"] = (
        "max-age=31536000; includeSubDomains"
    )
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def _json_body(content_type: str) -> object:
    if request.mimetype != content_type:
        raise ApiError(
            415,
            "Unsupported Media Type",
            f"send the body as {content_type}; got {request.mimetype or 'no Content-Type'}",
            kind="unsupported-media-type",
        )
    try:
        return json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "Bad Request", f"malformed JSON: {exc}", kind="malformed-json"
        ) from None


def _query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d+", raw) or not low <= int(raw) <= high:
        raise ApiError(
            400,
            "Bad Request",
            f"{name} must be an integer from {low} to {high}; got {raw!r}",
            kind="bad-query",
        )
    return int(raw)


def _user_id(raw: str) -> int:
    if not re.fullmatch(r"[1-9]\d{0,17}", raw):
        raise ApiError(404, "Not Found", f"there is no user {raw!r}", kind="not-found")
    return int(raw)


def _user_body(row: sqlite3.Row) -> dict[str, Any]:
    user = _to_json(row)
    return {**user, "href": request.host_url.rstrip("/") + f"/v1/users/{user['id']}"}


class _Api:
    """The views, bound to one store and one set of keys."""

    def __init__(self, store: _Store, keys: dict[str, str]) -> None:
        self.store, self.keys = store, keys

    def authorize(self, *, write: bool) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        scope = None
        if scheme.lower() == "bearer" and token:
            digest = hashlib.sha256(token.strip().encode()).hexdigest()
            for (
                known,
                known_scope,
            ) in self.keys.items():  # compare_digest: constant time
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

    def users(self) -> Response:
        if request.method == "POST":
            self.authorize(write=True)
            fields = _validate(_json_body("application/json"), partial=False)
            row = self.store.create(fields["name"], fields["email"])
            body = _user_body(row)
            return _json_response(
                body, 201, Location=body["href"], ETag=_etag(_to_json(row))
            )
        self.authorize(write=False)
        offset = _query_int("offset", 0, 0, 10**12)
        limit = _query_int("limit", 20, 1, 100)
        total = self.store.count()
        items = [_user_body(row) for row in self.store.page(offset, limit)]
        base = request.host_url.rstrip("/") + "/v1/users"
        links = []
        if offset + limit < total:
            links.append(f'<{base}?offset={offset + limit}&limit={limit}>; rel="next"')
        if offset > 0:
            links.append(
                f'<{base}?offset={max(offset - limit, 0)}&limit={limit}>; rel="prev"'
            )
        headers = {"Cache-Control": "private, no-cache"}
        if links:
            headers["Link"] = ", ".join(links)
        body = {"items": items, "offset": offset, "limit": limit, "total": total}
        return _json_response(body, 200, **headers)

    def user(self, raw_id: str) -> Response:
        user_id = _user_id(raw_id)
        if request.method == "GET":
            self.authorize(write=False)
            row = self.store.get(user_id)
            if row is None:
                raise _not_found(user_id)
            tag = _etag(_to_json(row))
            cache = {"ETag": tag, "Cache-Control": "private, no-cache"}
            if tag in [
                t.strip() for t in request.headers.get("If-None-Match", "").split(",")
            ]:
                response = _empty(304)
                response.headers.update(cache)
                return response
            return _json_response(_user_body(row), 200, **cache)
        self.authorize(write=True)
        expected = request.headers.get("If-Match")
        if request.method == "DELETE":
            self.store.delete(user_id, expected)
            return _empty(204)
        if request.method == "PUT":
            fields = _validate(_json_body("application/json"), partial=False)
        else:
            fields = _validate(_json_body("application/merge-patch+json"), partial=True)
        row = self.store.update(user_id, fields, expected)
        return _json_response(_user_body(row), 200, ETag=_etag(_to_json(row)))


def create_app(
    *, db: str = ":memory:", api_keys: str | Mapping[str, str] | None = None
) -> Flask:
    """Build the Flask application.

    Parameters
    ----------
    db : str, optional
        SQLite database path; ``":memory:"`` (the default) keeps users in memory.
    api_keys : str or mapping, optional
        ``"key1:write,key2:read"`` or a mapping key -> scope; by default the
        ``LABCODE_API_KEYS`` environment variable.

    Returns
    -------
    flask.Flask

    Raises
    ------
    ValueError
        If no API key is configured or the specification is malformed.

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
    api = _Api(_Store(db), keys)
    app = Flask("labcode.web")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.register_error_handler(ApiError, _problem_response)
    app.register_error_handler(HTTPException, _http_error)
    app.before_request(_acceptable)
    app.after_request(_security_headers)
    app.add_url_rule("/v1/users", "users", api.users, methods=["GET", "POST"])
    app.add_url_rule(
        "/v1/users/<raw_id>",
        "user",
        api.user,
        methods=["GET", "PUT", "PATCH", "DELETE"],
    )
    return app
