"""Problem details (RFC 9457): the one shape of every error the API answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, request
from werkzeug.exceptions import HTTPException

__all__ = [
    "PROBLEM_BASE",
    "ApiError",
    "bad_request",
    "duplicate",
    "http_error",
    "internal_error",
    "not_found",
    "precondition_failed",
    "problem_response",
]

PROBLEM_BASE = "https://labcode.invalid/problems/"
log = logging.getLogger("labcode.web")


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


def not_found(user_id: int | str) -> ApiError:
    return ApiError(404, "Not Found", f"there is no user {user_id}", kind="not-found")


def duplicate(email: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f"a user with email {email!r} already exists",
        kind="duplicate-email",
    )


def bad_request(detail: str, kind: str) -> ApiError:
    return ApiError(400, "Bad Request", detail, kind=kind)


def problem_response(error: ApiError) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + error.kind,
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


def http_error(error: HTTPException) -> Response:
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
        413: "the request body is too large",
    }.get(status, error.description or error.name)
    response = problem_response(
        ApiError(status, error.name, detail, kind=kinds.get(status, "http-error"))
    )
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def internal_error(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem_response(
        ApiError(
            500,
            "Internal Server Error",
            "the server failed to answer this request; it has been logged",
            kind="internal",
        )
    )


def precondition_failed() -> ApiError:
    return ApiError(
        412,
        "Precondition Failed",
        "the precondition in If-Match or If-None-Match does not hold for the "
        "current state; GET it again",
        kind="precondition-failed",
    )
