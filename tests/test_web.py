import http.client
import json
import os
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# labcode.web needs the `web` extra; `nox -s core` runs without it.
pytest.importorskip("flask", reason="needs the web extra: pip install 'labcode[web]'")

from flask.testing import FlaskClient
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from labcode.web import create_app
from labcode.web.app import MAX_BODY_BYTES, MAX_JSON_DEPTH, parse_api_keys
from labcode.web.tls import CertificateFiles, make_self_signed, server_context

WRITE = {"Authorization": "Bearer writer-key"}
READ = {"Authorization": "Bearer reader-key"}
KEYS = "writer-key:write,reader-key:read"
# A TLS test server: its base URL and port.
TLSServer = tuple[str, int]


@pytest.fixture
def client() -> FlaskClient:
    return create_app(api_keys=KEYS).test_client()


def create(
    client: FlaskClient, name: str = "Ada", email: str = "ada@example.org"
) -> TestResponse:
    return client.post("/v1/users", json={"name": name, "email": email}, headers=WRITE)


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("https://labcode.invalid/problems/")
    assert body["title"]
    assert body["detail"]
    return body


# ------------------------------------------------------------------ the resource
def test_create_and_read_back(client: FlaskClient) -> None:
    r = create(client)
    assert r.status_code == 201
    user = r.get_json()
    assert list(user) == ["id", "name", "email", "createdAt", "updatedAt", "href"]
    assert user["createdAt"].endswith("Z")
    assert user["createdAt"] == user["updatedAt"]
    assert r.headers["Location"] == user["href"] == "http://localhost/v1/users/1"
    assert r.headers["ETag"].startswith('"')
    got = client.get("/v1/users/1", headers=READ)
    assert got.status_code == 200
    assert got.get_json() == user
    assert got.headers["ETag"] == r.headers["ETag"]
    assert got.headers["Cache-Control"] == "private, no-cache"
    assert got.headers["Strict-Transport-Security"].startswith("max-age=")


def test_paging_with_links(client: FlaskClient) -> None:
    for i in range(45):
        assert create(client, f"user {i}", f"u{i}@example.org").status_code == 201
    first = client.get("/v1/users", headers=READ)
    body = first.get_json()
    assert (body["offset"], body["limit"], body["total"], len(body["items"])) == (
        0,
        20,
        45,
        20,
    )
    assert (
        first.headers["Link"]
        == '<http://localhost/v1/users?offset=20&limit=20>; rel="next"'
    )
    middle = client.get("/v1/users?offset=20&limit=20", headers=READ)
    links = middle.headers["Link"]
    assert 'offset=40&limit=20>; rel="next"' in links
    assert 'offset=0&limit=20>; rel="prev"' in links
    last = client.get("/v1/users?offset=40&limit=20", headers=READ)
    assert len(last.get_json()["items"]) == 5
    assert 'rel="next"' not in last.headers["Link"]
    assert client.get("/v1/users?limit=100", headers=READ).get_json()["limit"] == 100
    problem(client.get("/v1/users?limit=101", headers=READ), 400)
    problem(client.get("/v1/users?offset=-1", headers=READ), 400)
    problem(client.get("/v1/users?limit=ten", headers=READ), 400)


def test_etag_flows(client: FlaskClient) -> None:
    tag = create(client).headers["ETag"]
    not_modified = client.get("/v1/users/1", headers={**READ, "If-None-Match": tag})
    assert not_modified.status_code == 304
    assert not_modified.data == b""
    stale = client.put(
        "/v1/users/1",
        json={"name": "Ada L.", "email": "ada@example.org"},
        headers={**WRITE, "If-Match": '"not-the-tag"'},
    )
    problem(stale, 412)
    fresh = client.put(
        "/v1/users/1",
        json={"name": "Ada L.", "email": "ada@example.org"},
        headers={**WRITE, "If-Match": tag},
    )
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != tag
    assert (
        client.get("/v1/users/1", headers={**READ, "If-None-Match": tag}).status_code
        == 200
    )
    problem(client.delete("/v1/users/1", headers={**WRITE, "If-Match": tag}), 412)


def test_put_replaces_and_is_idempotent(client: FlaskClient) -> None:
    create(client)
    body = {"name": "Grace", "email": "grace@example.org"}
    first = client.put("/v1/users/1", json=body, headers=WRITE)
    second = client.put("/v1/users/1", json=body, headers=WRITE)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()  # same state, same updatedAt
    assert first.headers["ETag"] == second.headers["ETag"]
    refused = problem(
        client.put("/v1/users/1", json={"name": "Only name"}, headers=WRITE), 422
    )
    assert {"field": "email", "problem": "required"} in refused["errors"]


def test_patch_with_merge_patch(client: FlaskClient) -> None:
    create(client)
    r = client.patch(
        "/v1/users/1",
        data=json.dumps({"name": "Ada King"}),
        headers={**WRITE, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    assert r.get_json()["name"] == "Ada King"
    assert r.get_json()["email"] == "ada@example.org"
    problem(client.patch("/v1/users/1", json={"name": "x"}, headers=WRITE), 415)
    nulled = client.patch(
        "/v1/users/1",
        data=json.dumps({"email": None}),
        headers={**WRITE, "Content-Type": "application/merge-patch+json"},
    )
    problem(nulled, 422)


def test_delete_then_404(client: FlaskClient) -> None:
    create(client)
    deleted = client.delete("/v1/users/1", headers=WRITE)
    assert deleted.status_code == 204
    assert "Content-Type" not in deleted.headers
    problem(client.get("/v1/users/1", headers=READ), 404)
    problem(client.delete("/v1/users/1", headers=WRITE), 404)


# ------------------------------------------------------------------ errors
def test_auth_errors(client: FlaskClient) -> None:
    body = problem(client.get("/v1/users"), 401)
    assert "Bearer" in body["detail"]
    r = client.get("/v1/users", headers={"Authorization": "Bearer nope"})
    problem(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="labcode"'
    problem(
        client.get("/v1/users", headers={"Authorization": "Basic d3JpdGVyLWtleQ=="}),
        401,
    )
    problem(
        client.post("/v1/users", json={"name": "a", "email": "a@b.co"}, headers=READ),
        403,
    )
    assert client.get("/v1/users", headers=READ).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "field_problem"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, None),
        (
            {"data": "name=Ada", "content_type": "application/x-www-form-urlencoded"},
            415,
            None,
        ),
        (
            {"json": {"name": "Ada", "email": "ada@example.org", "age": 3}},
            422,
            {"field": "age", "problem": "unknown field"},
        ),
        (
            {"json": {"name": "  ", "email": "ada@example.org"}},
            422,
            {"field": "name", "problem": "must be a non-empty string"},
        ),
        (
            {"json": {"name": "Ada", "email": "not-an-email"}},
            422,
            {"field": "email", "problem": "must be an email address"},
        ),
        ({"json": ["Ada"]}, 422, None),
        (
            {"data": "x" * (MAX_BODY_BYTES + 1), "content_type": "application/json"},
            413,
            None,
        ),
    ],
    ids=[
        "malformed",
        "form",
        "unknown-field",
        "empty-name",
        "bad-email",
        "array",
        "too-large",
    ],
)
def test_body_errors(
    client: FlaskClient, kwargs: dict[str, Any], status: int, field_problem: str | None
) -> None:
    body = problem(client.post("/v1/users", headers=WRITE, **kwargs), status)
    if field_problem:
        assert field_problem in body["errors"]


def test_accept_is_honoured(client: FlaskClient) -> None:
    problem(client.get("/v1/users", headers={**READ, "Accept": "text/html"}), 406)
    assert (
        client.get("/v1/users", headers={**READ, "Accept": "application/*"}).status_code
        == 200
    )
    assert client.get("/v1/users", headers={**READ, "Accept": "*/*"}).status_code == 200


def test_conflict_405_and_unknown_paths(client: FlaskClient) -> None:
    create(client)
    body = problem(create(client, "Other Ada", "ADA@example.org"), 409)
    assert "already exists" in body["detail"]
    r = client.delete("/v1/users", headers=WRITE)
    problem(r, 405)
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    problem(client.get("/v1/users/abc", headers=READ), 404)
    problem(client.get("/v2/users", headers=READ), 404)
    assert (
        client.get("/v1/users", headers=READ).headers["Cache-Control"]
        == "private, no-cache"
    )


def test_concurrent_writers_lose_nothing() -> None:
    app = create_app(api_keys=KEYS)
    failures = []

    def writer(t: int) -> None:
        c = app.test_client()
        for i in range(250):
            r = c.post(
                "/v1/users",
                json={"name": f"w{t}", "email": f"w{t}-{i}@example.org"},
                headers=WRITE,
            )
            if r.status_code != 201:
                failures.append(r.status_code)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    c = app.test_client()
    seen: set[str] = set()
    for offset in range(0, 2000, 100):
        page = c.get(f"/v1/users?offset={offset}&limit=100", headers=READ).get_json()
        assert page["total"] == 2000
        seen.update(u["email"] for u in page["items"])
    assert len(seen) == 2000


def test_keys_are_hashed_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = parse_api_keys({"secret": "read"})
    assert "secret" not in keys
    assert list(keys.values()) == ["read"]
    with pytest.raises(ValueError, match="scope must be 'read' or 'write'"):
        parse_api_keys("a:admin")
    with pytest.raises(ValueError, match="must look like key:scope"):
        parse_api_keys("lonely")
    with pytest.raises(ValueError, match="must not be empty"):
        parse_api_keys(":read")
    monkeypatch.delenv("LABCODE_API_KEYS", raising=False)
    with pytest.raises(ValueError, match="no API keys"):
        create_app()
    monkeypatch.setenv("LABCODE_API_KEYS", "env-key:write")
    c = create_app().test_client()
    assert (
        c.get("/v1/users", headers={"Authorization": "Bearer env-key"}).status_code
        == 200
    )


def test_file_database_persists(tmp_path: Path) -> None:
    path = str(tmp_path / "users.db")
    create(create_app(db=path, api_keys=KEYS).test_client())
    again = create_app(db=path, api_keys=KEYS).test_client()
    assert again.get("/v1/users", headers=READ).get_json()["total"] == 1


# ------------------------------------------------------------------ real TLS on loopback
@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(certs: CertificateFiles) -> Iterator[TLSServer]:
    app = create_app(api_keys=KEYS)
    server = make_server(
        "127.0.0.1",
        0,
        app,
        threaded=True,
        ssl_context=server_context(certs.cert, certs.key),
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}", server.server_port
    server.shutdown()
    server.server_close()


def trusting(certs: CertificateFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certs.ca_cert))


def test_https_round_trip(tls_server: TLSServer, certs: CertificateFiles) -> None:
    base, _ = tls_server
    request = urllib.request.Request(
        base + "/v1/users",
        data=json.dumps({"name": "Ada", "email": "ada@example.org"}).encode(),
        headers={**WRITE, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, context=trusting(certs)) as response:
        assert response.status == 201
        assert response.headers["Location"].startswith(base)
    with urllib.request.urlopen(
        urllib.request.Request(base + "/v1/users", headers=READ),
        context=trusting(certs),
    ) as response:
        assert json.load(response)["total"] == 1


def test_untrusting_client_fails_verification(tls_server: TLSServer) -> None:
    base, _ = tls_server
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(base + "/v1/users", context=ssl.create_default_context())


@pytest.mark.filterwarnings(
    "ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning"
)
def test_tls_1_1_refused(tls_server: TLSServer, certs: CertificateFiles) -> None:
    _, port = tls_server
    context = trusting(certs)
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(sock, server_hostname="localhost")
    assert (
        server_context(certs.cert, certs.key).minimum_version == ssl.TLSVersion.TLSv1_2
    )


def test_plain_http_refused(tls_server: TLSServer) -> None:
    _, port = tls_server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    def plain_get() -> http.client.HTTPResponse:
        connection.request("GET", "/v1/users", headers=READ)
        return connection.getresponse()

    refused = (
        http.client.RemoteDisconnected,
        ConnectionError,
        http.client.BadStatusLine,
    )
    with pytest.raises(refused):
        plain_get()
    connection.close()


def test_key_file_permissions(certs: CertificateFiles) -> None:
    assert stat.S_IMODE(certs.key.stat().st_mode) == 0o600
    assert certs.ca_cert.read_text().startswith("-----BEGIN CERTIFICATE-----")


# ------------------------------------------------------------------ the command line
def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "LABCODE_API_KEYS": KEYS}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labcode.web",
            "--port",
            "0",
            "--self-signed",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("Serving https://127.0.0.1:")
        assert line.endswith("/v1/")
        url = line.removeprefix("Serving ") + "users"
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=READ), context=context
        ) as r:
            assert r.status == 200
        assert stat.S_IMODE((tmp_path / "server-key.pem").stat().st_mode) == 0o600
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "one of the arguments --certfile --self-signed is required"),
        (["--port", "0", "--certfile", "c.pem"], "--certfile needs --keyfile"),
        (["--port", "70000", "--self-signed", "d"], "--port must be from 0 to 65535"),
        (
            ["--port", "0", "--certfile", "missing.pem", "--keyfile", "k.pem"],
            "cannot use the certificate",
        ),
    ],
    ids=["no-tls", "no-key", "bad-port", "missing-cert"],
)
def test_cli_errors(args: list[str], message: str, tmp_path: Path) -> None:
    env = {**os.environ, "LABCODE_API_KEYS": KEYS}
    done = subprocess.run(
        [sys.executable, "-m", "labcode.web", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr


def test_cli_without_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LABCODE_API_KEYS"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "labcode.web",
            "--port",
            "0",
            "--self-signed",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "no API keys" in done.stderr


# ------------------------------------------------------------------ HTTP semantics
def test_head_never_changes_anything(client: FlaskClient) -> None:
    create(client)
    before = client.get("/v1/users/1", headers=READ)
    r = client.open(
        "/v1/users/1",
        method="HEAD",
        data=json.dumps({"name": "Changed"}),
        headers={**WRITE, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    assert r.data == b""
    assert r.headers["ETag"] == before.headers["ETag"]
    assert client.get("/v1/users/1", headers=READ).get_json() == before.get_json()
    assert client.head("/v1/users", headers=READ).status_code == 200


def test_options_and_allow(client: FlaskClient) -> None:
    r = client.options("/v1/users")
    assert r.status_code == 204
    assert "Content-Type" not in r.headers
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "OPTIONS",
        "POST",
    }
    r = client.options("/v1/users/7")
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {
        "DELETE",
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
        "PUT",
    }
    r = client.post("/v1/users/7", headers=WRITE)
    problem(r, 405)
    assert "PUT" in r.headers["Allow"]
    assert "POST" not in r.headers["Allow"]


@pytest.mark.parametrize("path", ["//v1/users", "/v1//users", "/v1/users/", "/v1"])
def test_no_redirects_only_problems(client: FlaskClient, path: str) -> None:
    # PATH_INFO set directly: the test client would read "//v1" as a host name
    r = client.get("/", headers=READ, environ_overrides={"PATH_INFO": path})
    problem(r, 404)
    assert "Location" not in r.headers


def test_openapi_is_served(client: FlaskClient) -> None:
    r = client.get("/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"] == "3.1.0"
    assert set(spec["paths"]) == {"/v1/users", "/v1/users/{id}"}


# ------------------------------------------------------------------ input rules
@pytest.mark.parametrize(
    "raw_id",
    [
        "\u0661",
        "\uff11",
        "1\u0660",
        "01",
        "1.0",
        "+1",
        "-1",
        "1e3",
        "99999999999999999999",
    ],
)
def test_only_ascii_digits_name_a_user(client: FlaskClient, raw_id: str) -> None:
    create(client)
    problem(client.get(f"/v1/users/{raw_id}", headers=READ), 404)


@pytest.mark.parametrize("value", ["\u0661", "\uff15", "5\u0660", " 5", "5 "])
def test_paging_takes_ascii_digits_only(client: FlaskClient, value: str) -> None:
    problem(client.get("/v1/users", query_string={"limit": value}, headers=READ), 400)
    problem(client.get("/v1/users", query_string={"offset": value}, headers=READ), 400)


@pytest.mark.parametrize(
    ("raw", "problem_text"),
    [
        (b'{"name": "A\\u0000B", "email": "a@example.org"}', "control characters"),
        (b'{"name": "A\\u001bB", "email": "a@example.org"}', "control characters"),
        (b'{"name": "A\\u007fB", "email": "a@example.org"}', "control characters"),
        (b'{"name": "A\\ud800B", "email": "a@example.org"}', "lone surrogates"),
        (b'{"name": "Ann", "email": "a\\udfff@example.org"}', "lone surrogates"),
    ],
    ids=["nul", "escape", "delete", "high-surrogate", "low-surrogate-in-email"],
)
def test_names_reject_control_characters_and_lone_surrogates(
    client: FlaskClient, raw: bytes, problem_text: str
) -> None:
    r = client.post(
        "/v1/users", data=raw, content_type="application/json", headers=WRITE
    )
    body = problem(r, 422)
    assert any(problem_text in e["problem"] for e in body["errors"])
    assert client.get("/v1/users", headers=READ).get_json()["total"] == 0


def test_a_valid_surrogate_pair_is_a_character(client: FlaskClient) -> None:
    r = client.post(
        "/v1/users",
        data=b'{"name": "Ann \\ud83d\\ude00", "email": "ann@example.org"}',
        content_type="application/json",
        headers=WRITE,
    )
    assert r.status_code == 201
    assert r.get_json()["name"] == "Ann \U0001f600"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100, 30_000])
def test_deep_json_is_400(client: FlaskClient, depth: int) -> None:
    body = "[" * depth + "]" * depth
    r = client.post(
        "/v1/users", data=body, content_type="application/json", headers=WRITE
    )
    assert "deeper" in problem(r, 400)["detail"]


def test_json_at_the_depth_limit_is_parsed(client: FlaskClient) -> None:
    body = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    r = client.post(
        "/v1/users", data=body, content_type="application/json", headers=WRITE
    )
    problem(r, 422)  # parsed, then refused as not an object


# ------------------------------------------------------------------ Host and links
@pytest.mark.parametrize(
    "host", ["evil.example", "localhost.evil.example", "local host", "a,b", ""]
)
def test_foreign_or_invalid_host_is_400(client: FlaskClient, host: str) -> None:
    r = client.get("/v1/users", headers={**READ, "Host": host})
    assert "host" in problem(r, 400)["type"]


def test_links_come_from_configuration() -> None:
    app = create_app(
        api_keys=KEYS,
        allowed_hosts=["api.example.org"],
        public_url="https://api.example.org",
    )
    c = app.test_client()
    r = c.post(
        "/v1/users",
        json={"name": "Ada", "email": "ada@example.org"},
        headers={**WRITE, "Host": "api.example.org:8443"},
    )
    assert r.headers["Location"] == "https://api.example.org/v1/users/1"
    problem(c.get("/v1/users", headers=READ), 400)  # localhost is not allowed here
    with pytest.raises(ValueError, match="public_url"):
        create_app(api_keys=KEYS, public_url="api.example.org")
    with pytest.raises(ValueError, match="allowed_hosts"):
        create_app(api_keys=KEYS, allowed_hosts=[])


# ------------------------------------------------------------------ conditional requests
# RFC 9110 section 13.2.2: If-Match (strong comparison; * = "a representation
# exists"), then If-None-Match (weak comparison; * likewise); a true
# If-None-Match answers 304 to GET/HEAD and 412 to anything else.
CURRENT, OTHER = "CURRENT", '"0000"'
CONDITIONAL_CASES = [
    # (method, If-Match, If-None-Match, expected status)
    ("GET", None, None, 200),
    ("GET", CURRENT, None, 200),
    ("GET", OTHER, None, 412),
    ("GET", "*", None, 200),
    ("GET", f"{OTHER}, CURRENT", None, 200),
    ("GET", "W/CURRENT", None, 412),  # If-Match compares strongly
    ("GET", None, CURRENT, 304),
    ("GET", None, "W/CURRENT", 304),  # If-None-Match compares weakly
    ("GET", None, f"{OTHER}, CURRENT", 304),
    ("GET", None, OTHER, 200),
    ("GET", None, "*", 304),
    ("HEAD", None, "*", 304),
    ("GET", OTHER, CURRENT, 412),  # If-Match is evaluated first
    ("GET", CURRENT, OTHER, 200),
    ("GET", "not-a-tag", None, 400),
    ("PUT", None, None, 200),
    ("PUT", CURRENT, None, 200),
    ("PUT", "*", None, 200),
    ("PUT", OTHER, None, 412),
    ("PUT", None, "*", 412),
    ("PUT", None, CURRENT, 412),
    ("PUT", None, OTHER, 200),
    ("PUT", f"{OTHER}, CURRENT", None, 200),
    ("PATCH", "*", None, 200),
    ("PATCH", None, "*", 412),
    ("DELETE", OTHER, None, 412),
    ("DELETE", "*", None, 204),
    ("DELETE", None, "*", 412),
    ("DELETE", CURRENT, None, 204),
]


def _headers(
    if_match: str | None, if_none_match: str | None, tag: str
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in (("If-Match", if_match), ("If-None-Match", if_none_match)):
        if value is not None:
            headers[name] = value.replace("CURRENT", tag)
    return headers


@pytest.mark.parametrize(
    ("method", "if_match", "if_none_match", "expected"), CONDITIONAL_CASES
)
def test_conditional_requests_on_a_user(
    client: FlaskClient,
    method: str,
    if_match: str | None,
    if_none_match: str | None,
    expected: int,
) -> None:
    tag = create(client).headers["ETag"]
    before = client.get("/v1/users/1", headers=READ).get_json()
    kwargs: dict[str, Any] = {}
    if method == "PUT":
        kwargs["json"] = {"name": "Changed", "email": "ada@example.org"}
    if method == "PATCH":
        kwargs["data"] = json.dumps({"name": "Changed"})
        kwargs["content_type"] = "application/merge-patch+json"
    key = READ if method in ("GET", "HEAD") else WRITE
    r = client.open(
        "/v1/users/1",
        method=method,
        headers={**key, **_headers(if_match, if_none_match, tag)},
        **kwargs,
    )
    assert r.status_code == expected
    if expected in (304, 412, 400):
        if expected != 304:
            problem(r, expected)
        else:
            assert r.data == b""
            assert r.headers["ETag"] == tag
        after = client.get("/v1/users/1", headers=READ)
        assert after.get_json() == before  # nothing changed


COLLECTION_CASES = [
    ("GET", None, None, 200),
    ("GET", "*", None, 200),
    ("GET", "CURRENT", None, 200),
    ("GET", OTHER, None, 412),
    ("GET", None, "CURRENT", 304),
    ("GET", None, "*", 304),
    ("GET", None, OTHER, 200),
    ("POST", "*", None, 201),
    ("POST", "CURRENT", None, 201),
    ("POST", OTHER, None, 412),
    ("POST", None, "*", 412),
    ("POST", None, OTHER, 201),
]


@pytest.mark.parametrize(
    ("method", "if_match", "if_none_match", "expected"), COLLECTION_CASES
)
def test_conditional_requests_on_the_collection(
    client: FlaskClient,
    method: str,
    if_match: str | None,
    if_none_match: str | None,
    expected: int,
) -> None:
    create(client)
    tag = client.get("/v1/users", headers=READ).headers["ETag"]
    headers = _headers(if_match, if_none_match, tag)
    if method == "GET":
        r = client.get("/v1/users", headers={**READ, **headers})
    else:
        r = client.post(
            "/v1/users",
            json={"name": "Bob", "email": "bob@example.org"},
            headers={**WRITE, **headers},
        )
    assert r.status_code == expected
    total = client.get("/v1/users", headers=READ).get_json()["total"]
    assert total == (2 if expected == 201 else 1)


def test_collection_etag_changes_with_every_write(client: FlaskClient) -> None:
    tags = [client.get("/v1/users", headers=READ).headers["ETag"]]
    create(client)
    tags.append(client.get("/v1/users", headers=READ).headers["ETag"])
    client.patch(
        "/v1/users/1",
        data=json.dumps({"name": "B"}),
        content_type="application/merge-patch+json",
        headers=WRITE,
    )
    tags.append(client.get("/v1/users", headers=READ).headers["ETag"])
    client.delete("/v1/users/1", headers=WRITE)
    tags.append(client.get("/v1/users", headers=READ).headers["ETag"])
    assert len(set(tags)) == 4


def test_preconditions_do_not_hide_a_404_or_a_401(client: FlaskClient) -> None:
    problem(client.get("/v1/users/5", headers={**READ, "If-Match": OTHER}), 404)
    problem(client.put("/v1/users/5", json={}, headers={**WRITE, "If-Match": "*"}), 404)
    problem(client.get("/v1/users", headers={"If-Match": OTHER}), 401)


# ------------------------------------------------------------------ faults
def test_read_only_database_is_503_and_reads_work(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    create(create_app(db=str(path), api_keys=KEYS).test_client())
    ro = create_app(db=f"file:{path}?mode=ro", api_keys=KEYS).test_client()
    assert ro.get("/v1/users", headers=READ).get_json()["total"] == 1
    r = create(ro, "Bob", "bob@example.org")
    body = problem(r, 503)
    assert "read-only" in body["detail"]
    assert "Retry-After" not in r.headers  # retrying will not help


def test_locked_database_is_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    c = create_app(db=str(path), api_keys=KEYS).test_client()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        r = create(c)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    problem(r, 503)
    assert r.headers["Retry-After"] == "1"
    assert create(c).status_code == 201  # and it passes once the lock is gone


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_503_and_nothing_is_half_written(tiny_tmpfs: Path) -> None:
    path = tiny_tmpfs / "users.db"
    c = create_app(db=str(path), api_keys=KEYS).test_client()
    created, last = [], None
    for i in range(400):  # 96 KiB fill up long before 400 users of ~200 bytes
        r = create(c, "N" * 150, f"user{i}@example.org")
        if r.status_code != 201:
            last = r
            break
        created.append(r.get_json()["email"])
    assert last is not None, "the disk never filled up"
    body = problem(last, 503)
    assert "full" in body["detail"]
    assert last.headers["Retry-After"]
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [
            row[0] for row in check.execute("SELECT email FROM users ORDER BY id")
        ]
    finally:
        check.close()
    assert stored == created  # every 201 is there, the failed one is not


def test_size_limited_file_is_503_and_nothing_is_half_written(tmp_path: Path) -> None:
    script = f"""
import resource, signal, json
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from labcode.web import create_app
c = create_app(db={str(tmp_path / "users.db")!r}, api_keys="k:write").test_client()
c.get("/v1/users", headers={{"Authorization": "Bearer k"}})
resource.setrlimit(resource.RLIMIT_FSIZE, (40960, 40960))
created, last = [], None
for i in range(400):
    r = c.post("/v1/users", json={{"name": "N" * 150, "email": f"u{{i}}@example.org"}},
               headers={{"Authorization": "Bearer k"}})
    if r.status_code != 201:
        last = r
        break
    created.append(r.get_json()["email"])
print(json.dumps({{"created": created, "status": last and last.status_code,
                  "type": last and last.mimetype, "retry": last and last.headers.get("Retry-After")}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["status"] == 503
    assert report["type"] == "application/problem+json"
    assert report["retry"]
    check = sqlite3.connect(tmp_path / "users.db")
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [
            row[0] for row in check.execute("SELECT email FROM users ORDER BY id")
        ]
    finally:
        check.close()
    assert stored == report["created"]


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        create_app(db=str(tmp_path / "nowhere" / "users.db"), api_keys=KEYS)
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    with pytest.raises(ValueError, match="cannot be used"):
        create_app(db=str(tmp_path / "junk.db"), api_keys=KEYS)


def test_unknown_query_parameters_are_refused(client: FlaskClient) -> None:
    create(client)
    assert (
        "unknown query"
        in problem(client.get("/v1/users?limt=5", headers=READ), 400)["detail"]
    )
    problem(client.get("/v1/users/1?expand=team", headers=READ), 400)
    assert client.get("/v1/users?limit=5&offset=0", headers=READ).status_code == 200


# ------------------------------------------------------------------ what held before
@pytest.mark.parametrize(
    "name",
    ["Robert'); DROP TABLE users;--", "x' OR '1'='1", '"; DELETE FROM users; --'],
)
def test_sql_injection_is_stored_as_text(client: FlaskClient, name: str) -> None:
    create(client)
    r = create(client, name, "bobby@example.org")
    assert r.status_code == 201
    assert r.get_json()["name"] == name
    assert client.get("/v1/users", headers=READ).get_json()["total"] == 2
    problem(client.get("/v1/users/1 OR 1=1", headers=READ), 404)
    problem(client.get("/v1/users?limit=1;DROP TABLE users", headers=READ), 400)
