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

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from labcode.web.openapi import openapi_description

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "create_app",
    "parse_api_keys",
]

#: Largest accepted request body, whatever its transfer coding; larger ones get 413.
MAX_BODY_BYTES = 64 * 1024
#: Deepest accepted nesting of JSON arrays and objects in a body; deeper is 400.
MAX_JSON_DEPTH = 32
#: Host names served when no others are configured.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")

_PROBLEM_BASE = "https://labcode.invalid/problems/"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_HOST = re.compile(
    r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::[0-9]{1,5})?",
    re.ASCII,
)
_ETAG_ITEM = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')
_FIELDS = ("name", "email")
_SCOPES = ("read", "write")
_log = logging.getLogger("labcode.web")


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


# ------------------------------------------------------------------ storage
def _db_fault(exc: sqlite3.Error) -> ApiError:
    """Describe a database failure as a 503 problem; Retry-After when it may pass."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_READONLY"):
        return ApiError(
            503,
            "Service Unavailable",
            "the database is read-only: writes are refused until an operator makes "
            "it writable (reads still work)",
            kind="database-read-only",
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ApiError(
            503,
            "Service Unavailable",
            "the database is locked by another writer; retry shortly",
            kind="database-locked",
            headers={"Retry-After": "1"},
        )
    if name.startswith("SQLITE_FULL"):
        return ApiError(
            503,
            "Service Unavailable",
            "the disk holding the database is full; nothing was written",
            kind="storage-full",
            headers={"Retry-After": "60"},
        )
    return ApiError(
        503,
        "Service Unavailable",
        f"the database failed ({name or type(exc).__name__}); nothing was written",
        kind="database-error",
        headers={"Retry-After": "30"},
    )


class _Store:
    """SQLite storage behind one lock; each write is one transaction.

    A ``revision`` row counts the writes: it is the collection's ETag, and it
    lives in the database so that every process serving the file agrees on it.
    """

    def __init__(self, path: str) -> None:
        uri = path.startswith("file:")  # e.g. file:users.db?mode=ro
        if path != ":memory:":
            file = path.removeprefix("file:").partition("?")[0] if uri else path
            folder = Path(file).expanduser().resolve().parent
            if not folder.is_dir():
                msg = f"db {path!r}: the directory {str(folder)!r} does not exist"
                raise ValueError(msg)
        self.lock = threading.Lock()
        try:
            self.db = sqlite3.connect(
                path,
                check_same_thread=False,
                isolation_level=None,
                timeout=2.0,
                uri=uri,
            )
            self.db.row_factory = sqlite3.Row
            self._schema()
        except sqlite3.Error as exc:
            msg = f"db {path!r} cannot be used: {exc}"
            raise ValueError(msg) from None

    def _schema(self) -> None:
        tables = {
            row[0]
            for row in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        }
        if {"users", "revision"} <= tables:
            return  # nothing to write: a read-only database still serves reads
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    """CREATE TABLE IF NOT EXISTS users (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL
                    )"""
                )
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS revision "
                    "(id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)"
                )
                self.db.execute("INSERT OR IGNORE INTO revision VALUES (1, 0)")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the connection (before a fork: it must not be shared)."""
        with self.lock:
            self.db.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a consistent read; database failures become 503."""
        with self.lock:
            try:
                yield self.db
            except sqlite3.Error as exc:
                raise _db_fault(exc) from None

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed whole, or rolled back whole on any error."""
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _db_fault(exc) from None
            try:
                yield self.db
                self.db.execute("UPDATE revision SET value = value + 1 WHERE id = 1")
                self.db.execute("COMMIT")
            except BaseException as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise
                if isinstance(exc, sqlite3.Error):
                    raise _db_fault(exc) from None
                raise


def _revision(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT value FROM revision WHERE id = 1").fetchone()[0])


def _row(db: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM users WHERE id = ?", (user_id,)
    ).fetchone()
    return row


def _to_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "email": row["email"],
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
    }


def _etag(row: sqlite3.Row) -> str:
    text = json.dumps(_to_json(row), sort_keys=True)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def _collection_etag(revision: int) -> str:
    return f'"users-r{revision}"'


# ------------------------------------------------------------------ problems
def _not_found(user_id: int | str) -> ApiError:
    return ApiError(404, "Not Found", f"there is no user {user_id}", kind="not-found")


def _duplicate(email: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f"a user with email {email!r} already exists",
        kind="duplicate-email",
    )


def _bad_request(detail: str, kind: str) -> ApiError:
    return ApiError(400, "Bad Request", detail, kind=kind)


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
    kinds = {
        400: "bad-request",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
    }
    detail = {
        404: "no such resource; the API lives under /v1/users",
        405: f"{request.method} is not allowed here",
        413: f"the request body is larger than {MAX_BODY_BYTES} bytes",
    }.get(status, error.description or error.name)
    response = _problem_response(
        ApiError(status, error.name, detail, kind=kinds.get(status, "http-error"))
    )
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def _internal_error(error: Exception) -> Response:
    _log.exception("unhandled error", exc_info=error)
    return _problem_response(
        ApiError(
            500,
            "Internal Server Error",
            "the server failed to answer this request; it has been logged",
            kind="internal",
        )
    )


# ------------------------------------------------------------------ request checks
def _acceptable() -> None:
    """Honour Accept: every answer is JSON (or a JSON problem), so say 406 otherwise."""
    if request.accept_mimetypes.provided and not request.accept_mimetypes.best_match(
        ["application/json", "application/problem+json"]
    ):
        raise ApiError(
            406,
            "Not Acceptable",
            "this API answers in application/json; the request accepts only "
            f"{request.headers['Accept']!r}",
            kind="not-acceptable",
        )


def _canonical_path() -> None:
    """Empty path segments (``//v1/users``) name nothing: 404, not a redirect."""
    path = request.environ.get("PATH_INFO", "")
    if "//" in path:
        raise ApiError(
            404,
            "Not Found",
            f"{path!r} has an empty segment; the API lives under /v1/users",
            kind="not-found",
        )


def _finish(response: Response) -> Response:
    response.headers["Server"] = "labcode"
    response.headers["Strict-Transport-Security"] = (
        "max-age=31536000; includeSubDomains"
    )
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if request.method == "OPTIONS" and response.status_code == 200:
        response.status_code = 204  # Flask's automatic answer, without its HTML type
        response.set_data(b"")
        del response.headers["Content-Type"]
        allowed = response.headers.get("Allow", "").replace(" ", "").split(",")
        response.headers["Allow"] = ", ".join(sorted(filter(None, allowed)))
    return response


def _read_body() -> bytes:
    """Read the body, at most MAX_BODY_BYTES whatever the transfer coding, else 413."""
    too_large = ApiError(
        413,
        "Content Too Large",
        f"the request body is larger than {MAX_BODY_BYTES} bytes",
        kind="too-large",
    )
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise too_large
    stream = request.environ["wsgi.input"]
    if length is None and not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and no terminated stream: no body (RFC 9112 6.3)
    want = MAX_BODY_BYTES + 1 if length is None else length
    parts, got = [], 0
    while got < want:
        chunk = stream.read(min(want - got, 16384))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    if got > MAX_BODY_BYTES:
        raise too_large
    return b"".join(parts)


def _depth(value: object, limit: int) -> int:
    """Nesting depth of a JSON value, counting no further than limit + 1."""
    if limit < 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


def _json_body(content_type: str) -> object:
    if request.mimetype != content_type:
        raise ApiError(
            415,
            "Unsupported Media Type",
            f"send the body as {content_type}; "
            f"got {request.mimetype or 'no Content-Type'}",
            kind="unsupported-media-type",
        )
    raw = _read_body()
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        depth = MAX_JSON_DEPTH + 1
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"malformed JSON: {exc}"
        raise _bad_request(msg, "malformed-json") from None
    else:
        depth = _depth(data, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        msg = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
        raise _bad_request(msg, "too-deep")
    return data


def _field_problem(key: str, value: object) -> str | None:
    """Return what is wrong with one field's value, or None."""
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value) > 200:
        return "must be at most 200 characters"
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc":
            return f"must not contain control characters; got {char!r}"
        if category == "Cs":
            return f"must not contain lone surrogates; got {char!r}"
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


def _known_query(*allowed: str) -> None:
    """Refuse query parameters the endpoint does not take (a typo is not ignored)."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "none"
        msg = f"unknown query parameter(s) {unknown}; this endpoint takes {takes}"
        raise _bad_request(msg, "bad-query")


def _query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        msg = (
            f"{name} must be ASCII digits for an integer from {low} to {high}; "
            f"got {raw!r}"
        )
        raise _bad_request(
            msg,
            "bad-query",
        )
    return int(raw)


def _user_id(raw: str) -> int:
    if not _DIGITS.fullmatch(raw) or raw.startswith("0") or len(raw) > 18:
        raise _not_found(repr(raw))
    return int(raw)


# ------------------------------------------------------------------ conditional requests
def _entity_tags(name: str) -> list[tuple[bool, str]] | None:
    """Parse If-Match / If-None-Match: None if absent, else [(weak, tag)].

    ``*`` comes back as ``[(False, "*")]``; a malformed list is a 400.
    """
    values = request.headers.getlist(name)
    if not values:
        return None
    value = ", ".join(values).strip()
    if value == "*":
        return [(False, "*")]
    tags, position = [], 0
    while position < len(value):
        match = _ETAG_ITEM.match(value, position)
        if match is None or match.end() == position:
            detail = f"{name} must be * or a list of entity tags; got {value!r}"
            raise _bad_request(detail, "bad-precondition")
        tags.append((bool(match.group(1)), f'"{match.group(2)}"'))
        position = match.end()
    return tags


def _preconditions(current: str | None) -> int | None:
    """RFC 9110 13.2.2: None to go on, else 304 (GET/HEAD) or 412.

    `current` is the strong ETag of the selected representation (None if there
    is none). If-Match compares strongly, If-None-Match weakly, ``*`` matches
    any current representation. The date conditions are not evaluated: the
    API sends no ``Last-Modified``, and a recipient must ignore them then
    (RFC 9110 13.1.3 and 13.1.4).
    """
    if_match = _entity_tags("If-Match")
    if if_match is not None:
        matched = current is not None and any(
            tag == "*" or (not weak and tag == current) for weak, tag in if_match
        )
        if not matched:
            return 412
    if_none_match = _entity_tags("If-None-Match")
    if if_none_match is not None:
        matched = current is not None and any(
            tag in ("*", current) for _, tag in if_none_match
        )
        if matched:
            return 304 if request.method in ("GET", "HEAD") else 412
    return None


def _precondition_failed() -> ApiError:
    return ApiError(
        412,
        "Precondition Failed",
        "the precondition in If-Match or If-None-Match does not hold for the "
        "current state; GET it again",
        kind="precondition-failed",
    )


def _not_modified(headers: Mapping[str, str]) -> Response:
    response = Response(status=304)
    del response.headers["Content-Type"]  # no body, so no Content-Type
    response.headers.update(headers)
    return response


def _json_response(body: object, status: int = 200, **headers: str) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers)
    return response


# ------------------------------------------------------------------ views
class _Api:
    """The views, bound to one store, one set of keys and the host configuration."""

    def __init__(
        self,
        store: _Store,
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
            raise _bad_request(msg, "bad-host")
        match = _HOST.fullmatch(raw)
        name = match.group("name").lower().strip("[]") if match else None
        if name not in self.allowed_hosts:
            msg = (
                f"Host {raw!r} is not one this server answers for "
                f"(allowed: {', '.join(sorted(self.allowed_hosts))})"
            )
            raise _bad_request(
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
        user = _to_json(row)
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
        _known_query("offset", "limit")
        offset = _query_int("offset", 0, 0, 10**12)
        limit = _query_int("limit", 20, 1, 100)
        with self.store.reading() as db:
            tag = _collection_etag(_revision(db))
            outcome = _preconditions(tag)
            total = int(db.execute("SELECT COUNT(*) FROM users").fetchone()[0])
            rows = db.execute(
                "SELECT * FROM users ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        if outcome == 304:
            return _not_modified(headers)
        if outcome == 412:
            raise _precondition_failed()
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
        return _json_response(body, 200, **headers)

    def create(self) -> Response:
        self.authorize(write=True)
        _known_query()
        fields: dict[str, str] = {}
        try:
            with self.store.writing() as db:
                if _preconditions(_collection_etag(_revision(db))) is not None:
                    raise _precondition_failed()
                fields = _validate(_json_body("application/json"), partial=False)
                now = _now()
                cursor = db.execute(
                    "INSERT INTO users (name, email, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?)",
                    (fields["name"], fields["email"], now, now),
                )
                row = db.execute(
                    "SELECT * FROM users WHERE id = ?", (cursor.lastrowid,)
                ).fetchone()
                body, tag = self.user_body(row), _etag(row)
        except sqlite3.IntegrityError:
            raise _duplicate(fields["email"]) from None
        return _json_response(body, 201, Location=body["href"], ETag=tag)

    # -- /v1/users/<id>
    def user(self, raw_id: str) -> Response:
        user_id = _user_id(raw_id)
        if request.method in ("GET", "HEAD"):
            return self.read(user_id)
        self.authorize(write=True)
        _known_query()
        fields: dict[str, str] = {}
        try:
            with self.store.writing() as db:
                row = _row(db, user_id)
                if row is None:  # a 404 makes the preconditions moot (RFC 9110 13.2.1)
                    raise _not_found(user_id)
                if _preconditions(_etag(row)) is not None:
                    raise _precondition_failed()
                if request.method == "DELETE":
                    db.execute("DELETE FROM users WHERE id = ?", (user_id,))
                    row = None
                else:
                    if request.method == "PUT":
                        body = _json_body("application/json")
                    else:
                        body = _json_body("application/merge-patch+json")
                    fields = _validate(body, partial=request.method == "PATCH")
                    changed = {k: v for k, v in fields.items() if row[k] != v}
                    if changed:  # an identical PUT changes nothing, not even updatedAt
                        sets = ", ".join(f"{k} = ?" for k in changed)
                        db.execute(
                            f"UPDATE users SET {sets}, updated_at = ? WHERE id = ?",
                            (*changed.values(), _now(), user_id),
                        )
                    row = _row(db, user_id)
        except sqlite3.IntegrityError:
            raise _duplicate(fields.get("email", "")) from None
        if row is None:
            response = Response(status=204)
            del response.headers["Content-Type"]
            return response
        return _json_response(self.user_body(row), 200, ETag=_etag(row))

    def read(self, user_id: int) -> Response:
        self.authorize(write=False)
        _known_query()
        with self.store.reading() as db:
            row = _row(db, user_id)
        if row is None:
            raise _not_found(user_id)
        tag = _etag(row)
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        outcome = _preconditions(tag)
        if outcome == 304:
            return _not_modified(headers)
        if outcome == 412:
            raise _precondition_failed()
        return _json_response(self.user_body(row), 200, **headers)


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
    api = _Api(_Store(db), keys, hosts, public_url)
    app = Flask("labcode.web", static_folder=None)
    app.extensions["labcode.web.store"] = api.store
    app.url_map.merge_slashes = False  # //v1/users is 404, not a redirect to HTML
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.register_error_handler(ApiError, _problem_response)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    app.before_request(api.check_host)
    app.before_request(_canonical_path)
    app.before_request(_acceptable)
    app.after_request(_finish)
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
