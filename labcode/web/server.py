"""Serve the API in production: gunicorn's threaded worker over TLS, with hard limits.

Why gunicorn with ``gthread`` workers: it is the WSGI server a Flask user reaches
for first, it terminates TLS itself, keeps connections alive, and its threaded
worker parks idle keep-alive connections in a selector instead of a thread. What
it does not do out of the box, ``LabcodeWorker`` adds:

- **a deadline per request**: the TLS handshake, the request line, the headers
  and the body must all arrive within `read_timeout` seconds of the first byte,
  whatever the pace (a client sending a byte a second gets 408 and is closed);
  until a ClientHello or a whole request (head, and a body of known length
  up to 64 KiB) has arrived, a connection waits in the worker's selector, so
  silent and slow clients never hold a thread;
  silent ones are closed after the keep-alive timeout;
- **fast refusal**: past `max_connections` open connections a new one is
  accepted and reset at once, instead of waiting in the listen backlog;
- **problem+json for the server layer**: the errors gunicorn answers before the
  application runs (400, 408, 414, 431, 505, ...) come as
  ``application/problem+json`` like every other error of the API;
- one TLS context per worker (TLS 1.2 or newer, from
  :func:`~labcode.web.tls.server_context`), built once instead of once per
  connection; after a certificate renewal, ``SIGHUP`` replaces the workers,
  which read the new files, without dropping the listening socket.

SIGTERM (or SIGINT) stops accepting, lets in-flight requests finish for up to
`graceful_timeout` seconds, then exits with status 0. ``TCP_NODELAY`` is set on
every connection.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import selectors
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flask import Flask
from gunicorn import http as gunicorn_http  # type: ignore[import-untyped]
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.http import errors as http_errors  # type: ignore[import-untyped]
from gunicorn.workers import gthread  # type: ignore[import-untyped]
from werkzeug.exceptions import RequestTimeout

from labcode.web.tls import server_context

__all__ = ["LabcodeWorker", "ServerConfig", "serve"]

#: Request heads larger than this go to a thread at once (the parser answers 431).
_HEAD_LIMIT = 64 * 1024
#: Bodies up to this size (the app's limit) are gathered before a thread is taken.
_BODY_LIMIT = 64 * 1024
#: Longest drain of a closing connection (RFC 9112 9.6 lingering close).
_LINGER = 2.0
#: Timeout of each write of a response (a client that stops reading is dropped).
_WRITE_TIMEOUT = 10.0


@dataclass(frozen=True)
class ServerConfig:
    """How the production server runs.

    Attributes
    ----------
    certfile : str
        PEM certificate (chain).
    keyfile : str
        PEM private key.
    host : str
        Address to bind.
    port : int
        Port to bind; 0 picks a free one.
    workers : int
        Worker processes (an in-memory database needs exactly 1).
    threads : int
        Threads per worker: at most this many requests are processed at once.
    max_connections : int
        Open connections per worker; more are reset at once.
    read_timeout : float
        Seconds for a request (handshake, headers, body) to arrive in full.
    keepalive : float
        Seconds an idle connection is kept open between requests.
    graceful_timeout : float
        Seconds in-flight requests get to finish after SIGTERM.
    """

    certfile: str
    keyfile: str
    host: str = "127.0.0.1"
    port: int = 8443
    workers: int = 1
    threads: int = 32
    max_connections: int = 1000
    read_timeout: float = 10.0
    keepalive: float = 5
    graceful_timeout: float = 10.0
    log_level: str = "warning"
    extra: dict[str, Any] = field(default_factory=dict)


class _Deadline(RequestTimeout):
    """The request did not arrive in full before its deadline (answered 408)."""

    description = "the request did not arrive in full within the read timeout"


class _DeadlineSocket:
    """The socket as the HTTP parser sees it: every recv bounded by the deadline."""

    def __init__(self, conn: _Conn) -> None:
        self._conn = conn

    def recv(self, size: int) -> bytes:
        """Receive at most `size` bytes before the request's deadline (else 408)."""
        conn = self._conn
        remaining = conn.deadline - time.monotonic()
        if remaining <= 0:
            return self._expired()
        conn.sock.settimeout(remaining)
        try:
            data: bytes = conn.sock.recv(size)
        except TimeoutError:
            return self._expired()
        finally:
            conn.sock.settimeout(_WRITE_TIMEOUT)
        return data

    def _expired(self) -> bytes:
        if self._conn.expired:  # already answered 408: just stop reading
            raise TimeoutError
        self._conn.expired = True
        raise _Deadline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn.sock, name)


def _body_length(head: bytes) -> int | None:
    """Bytes of body to gather after `head`, or None to hand the request on now."""
    lengths = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            return None
        if name == b"content-length":
            lengths.append(value.strip())
    if not lengths:
        return 0
    if len(lengths) > 1 or not lengths[0].isdigit() or int(lengths[0]) > _BODY_LIMIT:
        return None  # the parser or the app answers it (400, 413)
    return int(lengths[0])


class _HandshakeFailed(Exception):
    """No TLS session: nothing can be answered, the connection is closed."""


class _Conn(gthread.TConn):  # type: ignore[misc]
    """A gthread connection whose TLS handshake and reads are bounded in time.

    `head` holds the start of a request gathered by the selector; `deadline`
    is when the request must be complete (set at its first byte).
    """

    initialized: bool
    data_ready: bool
    sock: Any
    parser: Any
    cfg: Any
    client: Any

    def __init__(self, worker: LabcodeWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.head = b""
        self.deadline = 0.0
        self.expired = False
        self.gathered = False

    def init(self) -> None:
        """Do the TLS handshake, bounded as a whole, and set up the parser."""
        if self.initialized:
            return
        self.initialized = True
        # CPython keeps one deadline for the whole handshake, however slow the peer.
        self.sock.settimeout(max(self.deadline - time.monotonic(), 0.001))
        try:
            self.sock = self.cfg.ssl_context(self.cfg, None).wrap_socket(
                self.sock, server_side=True, do_handshake_on_connect=False
            )
            self.sock.do_handshake()
        except (OSError, ValueError) as exc:
            raise _HandshakeFailed(str(exc)) from None
        self.sock.settimeout(_WRITE_TIMEOUT)
        self.parser = gunicorn_http.get_parser(
            self.cfg, _DeadlineSocket(self), self.client
        )

    def gather(self, read_timeout: float) -> bool | None:
        """Read what has arrived, without blocking.

        Returns True once a whole request is buffered (see :meth:`complete`),
        False to wait for more, None if the peer closed or failed.
        """
        while True:
            try:
                data = self.sock.recv(16384)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return False
            except OSError:
                return None
            if not data:
                return None
            if not self.head:
                self.deadline = time.monotonic() + read_timeout
            self.head += data
            if self.complete():
                return True

    def complete(self) -> bool:
        """Whether the gathered bytes hold a whole request a thread can serve at once.

        A head, plus its body when a Content-Length (at most the app's limit)
        announces one; chunked bodies, ``Expect`` (the client waits for 100
        Continue) and heads too large to gather go to a thread as soon as the
        head is there, or at once.
        """
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return len(self.head) > _HEAD_LIMIT
        need = _body_length(self.head[:end])
        return need is None or len(self.head) >= end + 4 + need

    def close(self, graceful: bool = False) -> None:
        """Close; a graceful close drains in the worker's selector, not in a thread."""
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close(graceful=False)


_REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


def _classify(exc: BaseException) -> tuple[int, str, str] | None:
    """Status, problem kind and detail for an error raised before the app ran."""
    if isinstance(exc, _HandshakeFailed | ssl.SSLError):
        return None
    if isinstance(exc, _Deadline):
        return 408, "request-timeout", str(_Deadline.description)
    table: list[tuple[type[BaseException], int, str]] = [
        (http_errors.LimitRequestLine, 414, "uri-too-long"),
        (http_errors.LimitRequestHeaders, 431, "headers-too-large"),
        (http_errors.InvalidHTTPVersion, 505, "http-version"),
        (http_errors.UnsupportedTransferCoding, 501, "transfer-coding"),
        (http_errors.ExpectationFailed, 417, "expectation-failed"),
        (http_errors.ParseException, 400, "bad-request"),
    ]
    for kind, status, name in table:
        if isinstance(exc, kind):
            detail = str(exc) or _REASONS[status]
            if status == 505:
                detail = f"only HTTP/1.0 and HTTP/1.1 are served; got {exc}"
            return status, name, detail
    return 500, "internal", "the server failed to read this request"


def _problem_bytes(status: int, kind: str, detail: str) -> bytes:
    body = json.dumps(
        {
            "type": f"https://labcode.invalid/problems/{kind}",
            "title": _REASONS[status],
            "status": status,
            "detail": detail,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


class LabcodeWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with deadlines, fast refusal and problem+json.

    A thread is taken only by a connection that has something to do: a TLS
    handshake whose ClientHello has arrived, or a request whose head (and body
    of known length) is complete. Until then the connection waits in the worker's selector, where
    its bytes are gathered without blocking, so idle and slow clients cost a
    socket, not a thread. Configured through :func:`serve`.
    """

    read_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lingering: dict[socket.socket, float] = {}
        self._reading: dict[_Conn, float] = {}

    # -- accepting
    def set_accept_enabled(self, enabled: bool | None) -> None:
        """Keep accepting while alive: excess connections are refused in accept."""
        super().set_accept_enabled(bool(enabled) or self.alive)

    def accept(self, listener: socket.socket) -> None:
        """Accept one connection; reset it at once if the worker is full."""
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        if self.nr_conns >= self.worker_connections:
            # Fast refusal: reset now rather than let the client hang in the backlog.
            client.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            client.close()
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.nr_conns += 1
        conn = _Conn(self, self.cfg, client, address, listener.getsockname())
        # Wait for the ClientHello in the selector: a silent client takes no thread,
        # and is closed after the keep-alive timeout.
        conn.set_timeout()
        self.pending_conns.append(conn)
        self.poller.register(
            client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    # -- in a thread
    def handle(self, conn: _Conn) -> object:
        """Handshake, or serve a request whose head the selector gathered."""
        if not conn.initialized:
            conn.deadline = time.monotonic() + self.read_timeout
            try:
                conn.sock.setblocking(True)
                conn.init()
            except _HandshakeFailed:
                return False
            conn.sock.setblocking(False)
            gathered = conn.gather(self.read_timeout)
            if gathered is None:
                return False
            if not gathered:
                return gthread._DEFER  # wait for the request in the selector
            conn.parser.unreader.unread(conn.head)
            conn.head = b""
        elif conn.gathered:
            conn.gathered = False  # the deadline runs from the request's first byte
        else:  # a pipelined request gunicorn found in its buffer
            conn.deadline = time.monotonic() + self.read_timeout
        conn.expired = False
        return super().handle(conn)

    def handle_error(
        self, req: object, client: socket.socket, addr: object, exc: BaseException
    ) -> None:
        """Answer what the server layer refused as problem+json (nothing for TLS)."""
        outcome = _classify(exc)
        if outcome is None:
            return
        if outcome[0] == 500:
            self.log.exception("Error handling request", exc_info=exc)
        try:
            client.settimeout(2.0)
            client.sendall(_problem_bytes(*outcome))
        except OSError:
            pass

    # -- in the selector (the worker's main thread)
    def finish_request(self, conn: _Conn, fs: Any) -> None:
        """Park deferred handshaken connections in the selector; else as gthread."""
        deferred = (
            self.alive
            and conn.initialized
            and not fs.cancelled()
            and fs.exception() is None
            and fs.result() is gthread._DEFER
        )
        if not deferred:
            super().finish_request(conn, fs)
            return
        conn.sock.setblocking(False)
        if conn.head:
            self._reading[conn] = conn.deadline
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self._on_reading, conn)
            )
        else:
            conn.set_timeout()
            self.keepalived_conns.append(conn)
            self.poller.register(
                conn.sock,
                selectors.EVENT_READ,
                partial(self.on_client_socket_readable, conn),
            )

    def on_client_socket_readable(self, conn: _Conn, client: socket.socket) -> None:
        """Gather the request head of an idle connection that became readable."""
        self._readable(conn, idle=True)

    def _on_reading(self, conn: _Conn, client: socket.socket) -> None:
        self._readable(conn, idle=False)

    def _readable(self, conn: _Conn, *, idle: bool) -> None:
        gathered = conn.gather(self.read_timeout)
        if gathered is False:
            if idle and conn.head:  # a request has started: its deadline now rules
                self.keepalived_conns.remove(conn)
                self._reading[conn] = conn.deadline
                self.poller.modify(
                    conn.sock, selectors.EVENT_READ, partial(self._on_reading, conn)
                )
            return
        self.poller.unregister(conn.sock)
        if idle:
            self.keepalived_conns.remove(conn)
        else:
            del self._reading[conn]
        if gathered is None:
            self.nr_conns -= 1
            conn.close()
            return
        conn.parser.unreader.unread(conn.head)
        conn.head = b""
        conn.gathered = True
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        """Also answer 408 to requests past their deadline, and end lingering closes."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, end in self._reading.items() if end <= now]:
            del self._reading[conn]
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.poller.unregister(conn.sock)
            with contextlib.suppress(
                OSError
            ):  # best effort: the socket is non-blocking
                conn.sock.send(
                    _problem_bytes(408, "request-timeout", str(_Deadline.description))
                )
            self.nr_conns -= 1
            self.linger(conn.sock)
        for sock in [s for s, end in self._lingering.items() if end <= now]:
            self._unlinger(sock)

    def linger(self, sock: socket.socket) -> None:
        """Close as RFC 9112 9.6 asks (FIN, then drain), without blocking the loop.

        gunicorn drains each closing socket for up to 2 s in its event loop:
        eight clients that never close stall every other connection for 16 s.
        Here the drain happens in the selector, and :meth:`murder_pending`
        closes sockets still open after 2 s.
        """
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self._drain)
        except (OSError, ValueError, KeyError):
            sock.close()
            return
        self._lingering[sock] = time.monotonic() + _LINGER

    def _drain(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(4096)
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except OSError:
            data = b""
        if not data:
            self._unlinger(sock)

    def _unlinger(self, sock: socket.socket) -> None:
        self._lingering.pop(sock, None)
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.poller.unregister(sock)
        sock.close()


class _Application(BaseApplication):  # type: ignore[misc]
    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]) -> None:
        self.factory, self.options = factory, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.factory()  # in the worker: SQLite connections never cross a fork


def serve(
    factory: Callable[[], Flask],
    config: ServerConfig,
    *,
    on_ready: Callable[[str, int], None] | None = None,
) -> int:
    """Run the application under gunicorn until SIGTERM or SIGINT; return 0.

    Parameters
    ----------
    factory : callable
        Builds the Flask app; called once in each worker process.
    config : ServerConfig
        Address, certificate, limits and timeouts.
    on_ready : callable, optional
        Called as ``on_ready(host, port)`` once the socket listens.

    Returns
    -------
    int
        The exit status, 0 after a clean stop.
    """
    server_context(config.certfile, config.keyfile)  # fail now on bad files
    contexts: dict[int, ssl.SSLContext] = {}

    def ssl_context(conf: object, default: object) -> ssl.SSLContext:
        # One context per worker process, read when the worker starts: after a
        # certificate renewal, SIGHUP starts new workers that read the new files.
        pid = os.getpid()
        if pid not in contexts:
            contexts[pid] = server_context(config.certfile, config.keyfile)
        return contexts[pid]

    def when_ready(server: Any) -> None:
        host, port = server.LISTENERS[0].sock.getsockname()[:2]
        if on_ready is not None:
            on_ready(host, port)

    def post_fork(server: Any, worker: LabcodeWorker) -> None:
        worker.read_timeout = config.read_timeout

    host = f"[{config.host}]" if ":" in config.host else config.host
    options: dict[str, Any] = {
        "bind": [f"{host}:{config.port}"],
        "workers": config.workers,
        "worker_class": LabcodeWorker,
        "threads": config.threads,
        "worker_connections": config.max_connections,
        "keepalive": max(1, math.ceil(config.keepalive)),
        "graceful_timeout": max(1, math.ceil(config.graceful_timeout)),
        "timeout": max(30, int(config.read_timeout * 3)),
        "certfile": os.fspath(config.certfile),
        "keyfile": os.fspath(config.keyfile),
        "ssl_context": ssl_context,
        "when_ready": when_ready,
        "post_fork": post_fork,
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        "backlog": 2048,
        "loglevel": config.log_level,
        "errorlog": "-",
        "accesslog": None,
        "proc_name": "labcode.web",
        "control_socket_disable": True,
        **config.extra,
    }
    _Application(factory, options).run()
    return 0
