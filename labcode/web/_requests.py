"""Request rules: body limits, JSON checks, input rules, conditional requests (RFC 9110)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping

from flask import Response, request

from labcode.web._problems import ApiError, bad_request, not_found

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "acceptable",
    "canonical_path",
    "entity_tags",
    "finish",
    "json_body",
    "json_depth",
    "json_response",
    "known_query",
    "not_modified",
    "parse_user_id",
    "preconditions",
    "query_int",
    "read_body",
    "validate",
]

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_ETAG_ITEM = re.compile(r'[ \t]*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')
_FIELDS = ("name", "email")


def acceptable() -> None:
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


def canonical_path() -> None:
    """Empty path segments (``//v1/users``) name nothing: 404, not a redirect."""
    path = request.environ.get("PATH_INFO", "")
    if "//" in path:
        raise ApiError(
            404,
            "Not Found",
            f"{path!r} has an empty segment; the API lives under /v1/users",
            kind="not-found",
        )


def finish(response: Response) -> Response:
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


def read_body() -> bytes:
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


def json_depth(value: object, limit: int) -> int:
    """Nesting depth of a JSON value, counting no further than limit + 1."""
    if limit < 0 or not isinstance(value, dict | list):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((json_depth(child, limit - 1) for child in children), default=0)


def json_body(content_type: str) -> object:
    if request.mimetype != content_type:
        raise ApiError(
            415,
            "Unsupported Media Type",
            f"send the body as {content_type}; "
            f"got {request.mimetype or 'no Content-Type'}",
            kind="unsupported-media-type",
        )
    raw = read_body()
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        depth = MAX_JSON_DEPTH + 1
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"malformed JSON: {exc}"
        raise bad_request(msg, "malformed-json") from None
    else:
        depth = json_depth(data, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        msg = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
        raise bad_request(msg, "too-deep")
    return data


def field_problem(key: str, value: object) -> str | None:
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


def validate(data: object, *, partial: bool) -> dict[str, str]:
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
        problem = field_problem(key, data[key])
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


def known_query(*allowed: str) -> None:
    """Refuse query parameters the endpoint does not take (a typo is not ignored)."""
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "none"
        msg = f"unknown query parameter(s) {unknown}; this endpoint takes {takes}"
        raise bad_request(msg, "bad-query")


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        msg = (
            f"{name} must be ASCII digits for an integer from {low} to {high}; "
            f"got {raw!r}"
        )
        raise bad_request(
            msg,
            "bad-query",
        )
    return int(raw)


def parse_user_id(raw: str) -> int:
    if not _DIGITS.fullmatch(raw) or raw.startswith("0") or len(raw) > 18:
        raise not_found(repr(raw))
    return int(raw)


# ------------------------------------------------------------------ conditional requests
def entity_tags(name: str) -> list[tuple[bool, str]] | None:
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
            raise bad_request(detail, "bad-precondition")
        tags.append((bool(match.group(1)), f'"{match.group(2)}"'))
        position = match.end()
    return tags


def preconditions(current: str | None) -> int | None:
    """RFC 9110 13.2.2: None to go on, else 304 (GET/HEAD) or 412.

    `current` is the strong ETag of the selected representation (None if there
    is none). If-Match compares strongly, If-None-Match weakly, ``*`` matches
    any current representation. The date conditions are not evaluated: the
    API sends no ``Last-Modified``, and a recipient must ignore them then
    (RFC 9110 13.1.3 and 13.1.4).
    """
    if_match = entity_tags("If-Match")
    if if_match is not None:
        matched = current is not None and any(
            tag == "*" or (not weak and tag == current) for weak, tag in if_match
        )
        if not matched:
            return 412
    if_none_match = entity_tags("If-None-Match")
    if if_none_match is not None:
        matched = current is not None and any(
            tag in ("*", current) for _, tag in if_none_match
        )
        if matched:
            return 304 if request.method in ("GET", "HEAD") else 412
    return None


def not_modified(headers: Mapping[str, str]) -> Response:
    response = Response(status=304)
    del response.headers["Content-Type"]  # no body, so no Content-Type
    response.headers.update(headers)
    return response


def json_response(body: object, status: int = 200, **headers: str) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers)
    return response
