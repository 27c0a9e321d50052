"""Serve the API over HTTPS: ``python -m labcode.web --port 8443 --self-signed DIR``.

    python -m labcode.web --host 127.0.0.1 --port PORT \
        (--certfile CERT --keyfile KEY | --self-signed DIR) [--db PATH]

HTTPS only, TLS 1.2 or newer. ``--self-signed DIR`` writes a CA certificate
(``DIR/ca.pem``: give it to clients), a server certificate for localhost and its
key (owner-readable only) and serves with them. API keys come from the
``LABCODE_API_KEYS`` environment variable (``"key1:write,key2:read"``). The line
``Serving https://HOST:PORT/v1/`` is printed once connections are accepted
(``--port 0`` picks a free port and prints it). SIGINT and SIGTERM stop the
server cleanly (exit status 0).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import make_server

from labcode.web.app import create_app
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, start the HTTPS server, serve until SIGINT or SIGTERM."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.certfile and not args.keyfile:
        parser.error("--certfile needs --keyfile")
    if args.keyfile and not args.certfile:
        parser.error("--keyfile goes with --certfile")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535; got {args.port}")
    try:
        app = create_app(db=args.db)
    except ValueError as exc:
        parser.error(str(exc))
    if args.self_signed:
        files = make_self_signed(args.self_signed)
        certfile, keyfile = files.cert, files.key
    else:
        certfile, keyfile = args.certfile, args.keyfile
    try:
        context = server_context(certfile, keyfile)
    except (OSError, ValueError) as exc:
        parser.error(f"cannot use the certificate: {exc}")
    server = make_server(args.host, args.port, app, threaded=True, ssl_context=context)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host = args.host if ":" not in args.host else f"[{args.host}]"
    print(f"Serving https://{host}:{server.server_port}/v1/", flush=True)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
