"""The production server (`python -m labcode.web`, gunicorn) tried as attackers would.

One server process per module (short read timeout so that the slow-client
cases end quickly); every loop is bounded in count and every socket has a
timeout, so no test can hang.
"""

import collections
import contextlib
import http.client
import json
import os
import selectors
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# labcode.web needs the `web` extra; `nox -s core` runs without it.
pytest.importorskip("flask", reason="needs the web extra: pip install 'labcode[web]'")
pytest.importorskip(
    "gunicorn", reason="needs the web extra: pip install 'labcode[web]'"
)

from labcode.web.server import LabcodeWorker

KEYS = "writer-key:write,reader-key:read"
WRITE = {"Authorization": "Bearer writer-key"}
READ = {"Authorization": "Bearer reader-key"}
# The module's server: its port and a TLS context that trusts its certificate.
Server = tuple[int, ssl.SSLContext]


def start(
    tmp: Path, *extra: str, db: str | None = None
) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "LABCODE_API_KEYS": KEYS}
    args = [sys.executable, "-m", "labcode.web", "--port", "0"]
    args += ["--self-signed", str(tmp / "tls"), "--db", db or str(tmp / "users.db")]
    process = subprocess.Popen(
        [*args, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("Serving https://"):
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"server did not start: {line!r} {err}")
    return process, int(line.rsplit(":", 1)[1].split("/")[0])


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    process, port = start(
        tmp, "--read-timeout", "2", "--threads", "8", "--max-connections", "120"
    )
    context = ssl.create_default_context(cafile=str(tmp / "tls" / "ca.pem"))
    yield port, context
    assert stop(process) == 0


def tls_socket(
    port: int, context: ssl.SSLContext, timeout: float = 10.0
) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname="localhost")


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response (Content-Length framed, or up to EOF)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def exchange(
    port: int, context: ssl.SSLContext, request: bytes
) -> tuple[int, dict[str, str], bytes]:
    with tls_socket(port, context) as sock:
        sock.sendall(request)
        return read_response(sock)


def assert_problem(
    status: int, headers: dict[str, str], body: bytes, expected: int
) -> dict[str, Any]:
    assert status == expected, body
    assert headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == expected
    assert problem["title"]
    assert problem["detail"]
    assert problem["type"].startswith("https://labcode.invalid/problems/")
    return problem


def get(
    port: int,
    context: ssl.SSLContext,
    path: str = "/v1/users",
    headers: dict[str, str] = READ,
) -> tuple[int, bytes]:
    connection = http.client.HTTPSConnection(
        "localhost", port, context=context, timeout=10
    )
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# ------------------------------------------------------------------ happy path
def test_keep_alive_serves_many_requests_on_one_connection(server: Server) -> None:
    port, context = server
    connection = http.client.HTTPSConnection(
        "localhost", port, context=context, timeout=10
    )
    statuses, sockets = [], set()
    for _ in range(5):
        connection.request("GET", "/v1/users", headers=READ)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        sockets.add(id(connection.sock))
        assert response.headers["Connection"] == "keep-alive"
    connection.close()
    assert statuses == [200] * 5
    assert len(sockets) == 1
    server_header = response.headers["Server"]
    assert "/" not in server_header  # no exact version advertised


# ------------------------------------------------------------------ the server layer
@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\n"
            + b"X: "
            + b"a" * 9000
            + b"\r\n\r\n",
            431,
        ),
        (
            b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\n"
            + b"".join(b"X-%d: 1\r\n" % i for i in range(60))
            + b"\r\n",
            431,
        ),
        (
            b"GET /v1/users?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
            414,
        ),
        (b"GET /v1/users HTTP/3.0\r\nHost: localhost\r\n\r\n", 505),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", 400),
    ],
    ids=["long-header", "many-headers", "long-uri", "http-3", "garbage", "bad-header"],
)
def test_server_layer_errors_are_problems(
    server: Server, request_bytes: bytes, status: int
) -> None:
    port, context = server
    assert_problem(*exchange(port, context, request_bytes), status)


@pytest.mark.parametrize(
    ("host_lines", "status"),
    [
        (b"", 400),
        (b"Host: evil.example\r\n", 400),
        (b"Host: localhost\r\nHost: evil.example\r\n", 400),
        (b"Host: local host\r\n", 400),
        (b"Host: localhost\r\n", 200),
        (b"Host: 127.0.0.1:1\r\n", 200),
    ],
    ids=["missing", "foreign", "duplicated", "invalid", "localhost", "ip-with-port"],
)
def test_host_header(server: Server, host_lines: bytes, status: int) -> None:
    port, context = server
    request = (
        b"GET /v1/users HTTP/1.1\r\n"
        + host_lines
        + b"Authorization: Bearer reader-key\r\n"
        b"Connection: close\r\n\r\n"
    )
    got, headers, body = exchange(port, context, request)
    if status == 200:
        assert got == 200
    else:
        problem = assert_problem(got, headers, body, status)
        assert "evil" not in headers.get("location", "")
        assert problem["type"].endswith(("bad-host", "bad-request"))


def test_chunked_body_over_the_limit_is_413_not_truncated(server: Server) -> None:
    port, context = server
    payload = json.dumps(
        {"name": "A" * 10, "email": "big@example.org", "pad": "x" * 70000}
    )
    body = payload.encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 4096]), body[i : i + 4096])
        for i in range(0, len(body), 4096)
    )
    request = (
        b"POST /v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer writer-key\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    assert_problem(*exchange(port, context, request), 413)
    status, _, listing = exchange(
        port,
        context,
        b"GET /v1/users?limit=100 HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Bearer reader-key\r\nConnection: close\r\n\r\n",
    )
    assert status == 200
    assert "big@example.org" not in listing.decode()


def test_small_chunked_body_is_accepted(server: Server) -> None:
    port, context = server
    body = json.dumps({"name": "Chunk", "email": "chunk@example.org"}).encode()
    request = (
        b"POST /v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer writer-key\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    )
    status, _, created = exchange(port, context, request)
    assert status == 201
    assert json.loads(created)["href"].startswith("https://localhost/v1/users/")


# ------------------------------------------------------------------ hostile clients
def test_slow_clients_get_408_and_others_are_served(server: Server) -> None:
    """12 clients sending a request a byte at a time, more than the 8 threads."""
    port, context = server
    slow = [tls_socket(port, context) for _ in range(12)]
    stop_sending = threading.Event()

    def trickle() -> None:
        for byte in b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\n":
            for sock in slow:
                with contextlib.suppress(OSError):  # the server may give up: expected
                    sock.sendall(bytes([byte]))
            if stop_sending.wait(0.2):
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    time.sleep(0.5)  # every slow client has started its request
    statuses = [get(port, context)[0] for _ in range(10)]
    answers = [read_response(sock) for sock in slow]
    stop_sending.set()
    sender.join(timeout=15)
    for sock in slow:
        sock.close()
    assert statuses == [200] * 10
    for status, headers, body in answers:
        assert_problem(status, headers, body, 408)


@pytest.mark.parametrize("split", [20, 150], ids=["in-the-head", "in-the-body"])
def test_slow_requests_hold_no_thread(tmp_path: Path, split: int) -> None:
    """4 clients stalled mid-request, 2 threads, a 30 s deadline: others are served.

    Were a stalled head or body read in a thread, both threads would be held
    for the whole deadline and the normal requests (5 s timeout) could not be
    answered.
    """
    process, port = start(tmp_path, "--read-timeout", "30", "--threads", "2")
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
    body = json.dumps({"name": "Slow", "email": "slow@example.org"}).encode()
    request = (
        b"POST /v1/users HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Bearer writer-key\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert 0 < split < len(request)
    slow = [tls_socket(port, context) for _ in range(4)]
    try:
        for sock in slow:
            sock.sendall(request[:split])
        time.sleep(0.5)  # the server has the first part of each request
        statuses = []
        for _ in range(5):
            connection = http.client.HTTPSConnection(
                "localhost", port, context=context, timeout=5
            )
            connection.request("GET", "/v1/users", headers=READ)
            statuses.append(connection.getresponse().status)
            connection.close()
        for sock in slow:  # complete them: every stalled request is then served
            sock.sendall(request[split:])
        answers = [read_response(sock)[0] for sock in slow]
    finally:
        for sock in slow:
            sock.close()
        assert stop(process) == 0
    assert statuses == [200] * 5
    assert sorted(answers) == [201, 409, 409, 409]  # one user, then the same email


def test_silent_connections_never_block_others(server: Server) -> None:
    port, context = server
    silent = [
        socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)
    ]
    handshaken = [tls_socket(port, context) for _ in range(10)]
    try:
        statuses = [get(port, context)[0] for _ in range(10)]
    finally:
        for sock in silent + handshaken:
            sock.close()
    assert statuses == [200] * 10


def test_a_connection_without_a_handshake_is_closed(server: Server) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        assert (
            sock.recv(1) == b""
        )  # closed by the server (keep-alive timeout), not hung


def test_plain_http_to_the_tls_port_is_refused(server: Server) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(100) == b""


@pytest.mark.filterwarnings(
    "ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning"
)
def test_tls_1_1_refused_1_2_accepted(server: Server) -> None:
    port, context = server
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        pytest.raises(ssl.SSLError),
    ):
        old.wrap_socket(raw, server_hostname="localhost")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with tls_socket(port, context) as sock:
        assert sock.version() == "TLSv1.2"
    context.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    with tls_socket(port, context) as sock:
        assert sock.version() == "TLSv1.3"


def test_excess_connections_are_refused_at_once(tmp_path: Path) -> None:
    process, port = start(tmp_path, "--max-connections", "5", "--threads", "2")
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
    # Handshaken, so certainly accepted and counted by the worker.
    held = [tls_socket(port, context) for _ in range(5)]

    def one_more() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
            return extra.recv(1)

    try:
        # A reset arrives at once (during connect or the first read); a client
        # left hanging in the backlog would time out instead.
        with pytest.raises(ConnectionResetError):
            one_more()
    finally:
        for sock in held:
            sock.close()
        assert stop(process) == 0


# ------------------------------------------------------------------ SIGTERM
def test_sigterm_finishes_in_flight_requests_then_exits_0(tmp_path: Path) -> None:
    process, port = start(tmp_path)
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
    body = json.dumps({"name": "Late", "email": "late@example.org"}).encode()
    with tls_socket(port, context) as sock:
        sock.sendall(
            b"POST /v1/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer writer-key\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(body)
            + body[:10]
        )
        time.sleep(0.5)  # the request is in flight: headers read, body pending
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        sock.sendall(body[10:])
        status, _, created = read_response(sock)
    assert status == 201
    assert json.loads(created)["email"] == "late@example.org"
    assert process.wait(timeout=30) == 0
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()
    process.stderr.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


# ------------------------------------------------------------------ startup errors
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "/nonexistent-dir/users.db"], "does not exist"),
        (["--workers", "2", "--db", ":memory:"], "needs --db FILE"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
    ids=["missing-dir", "memory-with-workers", "no-threads"],
)
def test_startup_errors_are_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env = {**os.environ, "LABCODE_API_KEYS": KEYS}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "labcode.web",
            "--port",
            "0",
            "--self-signed",
            str(tmp_path),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------ durability
def test_kill_9_during_writes_loses_no_acknowledged_user(tmp_path: Path) -> None:
    """Every 201 the clients saw is in the database after SIGKILL, which is intact."""
    env = {**os.environ, "LABCODE_API_KEYS": KEYS}
    db = tmp_path / "users.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labcode.web",
            "--port",
            "0",
            "--self-signed",
            str(tmp_path / "tls"),
            "--db",
            str(db),
            "--threads",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # the master and its worker in one process group
    )
    assert process.stdout is not None
    port = int(process.stdout.readline().strip().rsplit(":", 1)[1].split("/")[0])
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop_writing = threading.Event()

    def writer(w: int) -> None:
        for i in range(400):  # bounded; stopped by the kill long before
            if stop_writing.is_set():
                return
            email = f"w{w}-{i}@example.org"
            body = json.dumps({"name": "K", "email": email}).encode()
            try:
                status, _, _ = exchange(
                    port,
                    context,
                    b"POST /v1/users HTTP/1.1\r\nHost: localhost\r\n"
                    b"Authorization: Bearer writer-key\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body),
                )
            except (OSError, ValueError, IndexError):
                return  # the server is gone
            if status == 201:
                with lock:
                    acknowledged.append(email)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in writers:
        thread.start()
    for _ in range(200):  # wait (bounded) until some writes were acknowledged
        if len(acknowledged) >= 20:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    stop_writing.set()
    for thread in writers:
        thread.join(timeout=30)
    process.wait(timeout=30)
    process.stdout.close()
    assert len(acknowledged) >= 20
    check = sqlite3.connect(db)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in check.execute("SELECT email FROM users")}
    finally:
        check.close()
    assert set(acknowledged) <= stored


def test_accepted_connections_have_tcp_nodelay() -> None:
    """The worker's accept sets TCP_NODELAY (the listener here does not have it)."""
    worker = LabcodeWorker.__new__(LabcodeWorker)  # no gunicorn arbiter around it
    worker.nr_conns, worker.worker_connections = 0, 10
    worker.cfg = types.SimpleNamespace(keepalive=5)
    worker.poller = selectors.DefaultSelector()
    worker.pending_conns = collections.deque()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        with socket.create_connection(listener.getsockname(), timeout=5):
            worker.accept(listener)
            (conn,) = worker.pending_conns
            try:
                assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                assert worker.nr_conns == 1
            finally:
                worker.poller.close()
                conn.sock.close()
