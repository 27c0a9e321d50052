"""Property-based tests generated from the OpenAPI description (schemathesis).

Requests are generated from ``/v1/openapi.json`` (valid and invalid ones) and
sent to the app; every response must be documented there: status code,
content type, headers and body schema; no 5xx. Examples per operation are
bounded so that the run stays short.
"""

from typing import Any

import pytest

# labcode.web needs the `web` extra; `nox -s core` runs without it.
pytest.importorskip("flask", reason="needs the web extra: pip install 'labcode[web]'")

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from labcode.web import create_app

KEYS = "writer-key:write,reader-key:read"
APP = create_app(api_keys=KEYS)
# Preconditions are evaluated before the body (RFC 9110 13.2.1), so a request
# that is invalid in its body *and* carries a false If-Match is rightly 412.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [
                    400,
                    401,
                    403,
                    404,
                    405,
                    406,
                    409,
                    412,
                    413,
                    415,
                    422,
                ]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", APP, config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_response_matches_the_description(case: schemathesis.Case[Any]) -> None:
    # Every default check but "valid data is accepted": a generated entity tag
    # in If-Match rightly fails with 412, whatever the schema of the header.
    case.call_and_validate(
        headers={"Authorization": "Bearer writer-key"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_the_description_is_the_one_served() -> None:
    served = APP.test_client().get("/v1/openapi.json").get_json()
    assert served["openapi"] == "3.1.0"
    operations = {
        (path, method)
        for path, item in served["paths"].items()
        for method in item
        if method != "parameters"
    }
    routes = {
        (rule.rule.replace("<raw_id>", "{id}"), method.lower())
        for rule in APP.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
        if rule.rule.startswith("/v1/users")
    }
    assert operations == routes


@pytest.mark.parametrize("path", ["/v1/users", "/v1/users/{id}"])
def test_every_operation_documents_its_errors_as_problems(path: str) -> None:
    served = APP.test_client().get("/v1/openapi.json").get_json()
    for method, operation in served["paths"][path].items():
        if method == "parameters":
            continue
        errors = [
            code for code in operation["responses"] if code.startswith(("4", "5"))
        ]
        assert "401" in errors
        for code in errors:
            assert operation["responses"][code] == {
                "$ref": "#/components/responses/Problem"
            }
