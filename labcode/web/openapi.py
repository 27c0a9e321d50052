"""The OpenAPI 3.1 description of the users API, served at ``/v1/openapi.json``.

Written by hand beside the views in :mod:`labcode.web.app` and checked against
them by property-based tests (schemathesis generates requests from this
description and validates every response against it).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["openapi_description"]

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_TAG_LIST = (
    "`*` or a comma-separated list of entity tags (RFC 9110 section 13.1); "
    "malformed lists get 400."
)
_TEXT = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "description": "1 to 200 characters; no control characters, no lone surrogates;"
    " surrounding spaces are removed",
}
_EMAIL = {
    **_TEXT,
    "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "description": "an email address, unique (compared case-insensitively)",
}


def _problems(*codes: int) -> dict[str, Any]:
    return {str(code): _PROBLEM for code in codes}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_ETAG = _header("entity tag of the representation")
_SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "labcode users API",
        "version": "1.0.0",
        "description": (
            "Users over HTTPS with API keys (`Authorization: Bearer <key>`). "
            "Every error is `application/problem+json` (RFC 9457). Ids, `offset` "
            "and `limit` are ASCII digits only. Bodies are at most 65536 bytes "
            "(413) and nest at most 32 levels (400). Conditional requests follow "
            "RFC 9110 section 13: `If-Match` compares strongly, `If-None-Match` "
            "weakly; 304 for GET and HEAD, 412 otherwise."
        ),
        "license": {"name": "MIT", "identifier": "MIT"},
    },
    "servers": [{"url": "/"}],
    "security": [{"apiKey": []}],
    "paths": {
        "/v1/users": {
            "get": {
                "operationId": "listUsers",
                "summary": "A page of users, oldest first",
                "parameters": [
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 10**12,
                            "default": 0,
                        },
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 100,
                            "default": 20,
                        },
                    },
                    {"$ref": "#/components/parameters/IfMatch"},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "responses": {
                    "200": {
                        "description": "the page, with RFC 8288 links",
                        "headers": {
                            "ETag": _ETAG,
                            "Link": _header("next and prev pages"),
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Page"}
                            }
                        },
                    },
                    "304": {"description": "the ETag in If-None-Match is current"},
                    **_problems(400, 401, 406, 412, 503),
                },
            },
            "post": {
                "operationId": "createUser",
                "summary": "Create a user",
                "parameters": [
                    {"$ref": "#/components/parameters/IfMatch"},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/UserInput"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "created",
                        "headers": {
                            "Location": _header("the new user's URL"),
                            "ETag": _ETAG,
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/User"}
                            }
                        },
                    },
                    **_problems(400, 401, 403, 406, 409, 412, 413, 415, 422, 503),
                },
            },
        },
        "/v1/users/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            ],
            "get": {
                "operationId": "getUser",
                "summary": "One user",
                "parameters": [
                    {"$ref": "#/components/parameters/IfMatch"},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "responses": {
                    "200": {
                        "description": "the user",
                        "headers": {"ETag": _ETAG},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/User"}
                            }
                        },
                    },
                    "304": {"description": "the ETag in If-None-Match is current"},
                    **_problems(400, 401, 404, 406, 412, 503),
                },
            },
            "put": {
                "operationId": "replaceUser",
                "summary": "Replace a user (every field)",
                "parameters": [
                    {"$ref": "#/components/parameters/IfMatch"},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/UserInput"}
                        }
                    },
                },
                "responses": {
                    "200": {"$ref": "#/components/responses/User"},
                    **_problems(400, 401, 403, 404, 406, 409, 412, 413, 415, 422, 503),
                },
            },
            "patch": {
                "operationId": "patchUser",
                "summary": "Change some fields (JSON merge patch, RFC 7396)",
                "parameters": [
                    {"$ref": "#/components/parameters/IfMatch"},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/merge-patch+json": {
                            "schema": {"$ref": "#/components/schemas/UserPatch"}
                        }
                    },
                },
                "responses": {
                    "200": {"$ref": "#/components/responses/User"},
                    **_problems(400, 401, 403, 404, 406, 409, 412, 413, 415, 422, 503),
                },
            },
            "delete": {
                "operationId": "deleteUser",
                "summary": "Delete a user",
                "parameters": [
                    {"$ref": "#/components/parameters/IfMatch"},
                    {"$ref": "#/components/parameters/IfNoneMatch"},
                ],
                "responses": {
                    "204": {"description": "deleted"},
                    **_problems(400, 401, 403, 404, 406, 412, 503),
                },
            },
        },
    },
    "components": {
        "securitySchemes": {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "an API key; read keys may GET, write keys may all",
            }
        },
        "parameters": {
            "IfMatch": {
                "name": "If-Match",
                "in": "header",
                "schema": {"type": "string"},
                "description": "proceed only if the current ETag is listed: "
                + _TAG_LIST,
            },
            "IfNoneMatch": {
                "name": "If-None-Match",
                "in": "header",
                "schema": {"type": "string"},
                "description": "proceed only if the current ETag is not listed: "
                + _TAG_LIST,
            },
        },
        "responses": {
            "User": {
                "description": "the user after the change",
                "headers": {"ETag": _ETAG},
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/User"}
                    }
                },
            },
            "Problem": {
                "description": "an error, described (RFC 9457)",
                "content": {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
                },
            },
        },
        "schemas": {
            "UserInput": {
                "type": "object",
                "required": ["name", "email"],
                "additionalProperties": False,
                "properties": {"name": _TEXT, "email": _EMAIL},
            },
            "UserPatch": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"name": _TEXT, "email": _EMAIL},
            },
            "User": {
                "type": "object",
                "required": ["id", "name", "email", "createdAt", "updatedAt", "href"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "name": {"type": "string"},
                    "email": {"type": "string"},
                    "createdAt": {"type": "string", "format": "date-time"},
                    "updatedAt": {"type": "string", "format": "date-time"},
                    "href": {"type": "string", "format": "uri"},
                },
            },
            "Page": {
                "type": "object",
                "required": ["items", "offset", "limit", "total"],
                "additionalProperties": False,
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/User"},
                    },
                    "offset": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "total": {"type": "integer", "minimum": 0},
                },
            },
            "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string", "format": "uri"},
                    "title": {"type": "string"},
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "detail": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["field", "problem"],
                            "properties": {
                                "field": {"type": "string"},
                                "problem": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def openapi_description() -> dict[str, Any]:
    """Return the OpenAPI 3.1 description of the API (a fresh copy).

    Returns
    -------
    dict
        The document served at ``/v1/openapi.json``.

    Examples
    --------
    >>> from labcode.web.openapi import openapi_description
    >>> spec = openapi_description()
    >>> spec["openapi"], sorted(spec["paths"])
    ('3.1.0', ['/v1/users', '/v1/users/{id}'])
    >>> sorted(spec["paths"]["/v1/users/{id}"])
    ['delete', 'get', 'parameters', 'patch', 'put']
    """
    return copy.deepcopy(_SPEC)
