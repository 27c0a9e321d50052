"""Serve the API over HTTPS: ``python -m labcode.web --port 8443 --self-signed DIR``.

    python -m labcode.web --host 127.0.0.1 --port PORT \
        (--certfile CERT --keyfile KEY | --self-signed DIR) [--db PATH] \
        [--allowed-host NAME ...] [--public-url URL] [--workers N] [--threads N] \
        [--max-connections N] [--read-timeout S] [--graceful-timeout S]

HTTPS only, TLS 1.2 or newer, served by gunicorn's threaded worker with the
limits of :mod:`labcode.web.server`. ``--self-signed DIR`` writes a CA
certificate (``DIR/ca.pem``: give it to clients), a server certificate for
localhost and its key (owner-readable only) and serves with them. API keys come
from the ``LABCODE_API_KEYS`` environment variable (``"key1:write,key2:read"``).
The line ``Serving https://HOST:PORT/v1/`` is printed once the socket listens
(``--port 0`` picks a free port and prints it). SIGTERM and SIGINT stop the
server: no new connections, in-flight requests finish, exit status 0.
``--dev-server`` runs Werkzeug's development server instead, for comparison
only: it is not for production. A configuration error is one line on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import make_server

from labcode.web.app import DEFAULT_ALLOWED_HOSTS, create_app
from labcode.web.server import ServerConfig, serve
from labcode.web.tls import make_self_signed, server_context


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labcode.web",
        description="Serve the labcode users API over HTTPS.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, required=True, help="port to bind; 0 picks a free one"
    )
    tls = parser.add_mutually_exclusive_group(required=True)
    tls.add_argument("--certfile", help="PEM server certificate (with --keyfile)")
    tls.add_argument(
        "--self-signed",
        metavar="DIR",
        help="create a CA and a localhost certificate in DIR",
    )
    parser.add_argument("--keyfile", help="PEM private key of --certfile")
    parser.add_argument(
        "--db", default=":memory:", help="SQLite database file (default: in memory)"
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="a host name clients may use (repeatable; default: "
        + ", ".join(DEFAULT_ALLOWED_HOSTS)
        + ")",
    )
    parser.add_argument(
        "--public-url", help="prefix of links in responses, e.g. https://api.example"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--threads", type=int, default=32, help="threads per worker")
    parser.add_argument(
        "--max-connections",
        type=int,
        default=1000,
        help="open connections per worker; more are refused at once",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        help="seconds for a whole request to arrive (default 10)",
    )
    parser.add_argument(
        "--graceful-timeout",
        type=float,
        default=10.0,
        help="seconds in-flight requests get after SIGTERM (default 10)",
    )
    parser.add_argument(
        "--dev-server",
        action="store_true",
        help="Werkzeug's development server instead (comparison only)",
    )
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.certfile and not args.keyfile:
        parser.error("--certfile needs --keyfile")
    if args.keyfile and not args.certfile:
        parser.error("--keyfile goes with --certfile")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535; got {args.port}")
    for name in ("workers", "threads", "max_connections"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} must be at least 1; got {getattr(args, name)}")
    for name in ("read_timeout", "graceful_timeout"):
        if not getattr(args, name) > 0:
            flag = "--" + name.replace("_", "-")
            parser.error(f"{flag} must be positive; got {getattr(args, name)}")
    if args.db == ":memory:" and args.workers > 1:
        parser.error(
            f"--workers {args.workers} needs --db FILE: each worker process would "
            "have its own in-memory database"
        )


def _dev_server(app: object, args: argparse.Namespace, cert: str, key: str) -> int:
    server = make_server(
        args.host,
        args.port,
        app,  # type: ignore[arg-type]
        threaded=True,
        ssl_context=server_context(cert, key),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host = args.host if ":" not in args.host else f"[{args.host}]"
    print(f"Serving https://{host}:{server.server_port}/v1/", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the HTTPS server, serve until SIGINT or SIGTERM."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    hosts = args.allowed_host or list(DEFAULT_ALLOWED_HOSTS)

    def factory() -> object:
        return create_app(db=args.db, allowed_hosts=hosts, public_url=args.public_url)

    try:
        app = factory()  # fail here, in one line, on a bad database or setting
    except ValueError as exc:
        parser.error(str(exc))
    if args.self_signed:
        try:
            files = make_self_signed(args.self_signed)
        except OSError as exc:
            parser.error(f"cannot write the certificates: {exc}")
        certfile, keyfile = str(files.cert), str(files.key)
    else:
        certfile, keyfile = args.certfile, args.keyfile
    try:
        server_context(certfile, keyfile)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot use the certificate: {exc}")
    if args.dev_server:
        return _dev_server(app, args, certfile, keyfile)
    # Each worker builds its own app: a SQLite connection must not cross a fork.
    app.extensions["labcode.web.store"].close()  # type: ignore[attr-defined]

    def ready(host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        print(f"Serving https://{shown}:{port}/v1/", flush=True)

    config = ServerConfig(
        certfile=certfile,
        keyfile=keyfile,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        max_connections=args.max_connections,
        read_timeout=args.read_timeout,
        graceful_timeout=args.graceful_timeout,
    )
    return serve(factory, config, on_ready=ready)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
