"""Load on the users API: gunicorn (``python -m labcode.web``) vs Werkzeug's dev server.

Both servers run ``python -m labcode.web`` over TLS on loopback (the dev server
with ``--dev-server``), with a SQLite file of 50 users. An asyncio client in this
process opens 200 keep-alive connections that each send ``GET /v1/users/{id}``
back to back for a fixed time, and records the latency of every request;
a request with no answer within 5 s (or refused, or reset) is *unanswered*.
Two scenarios per server: the 200 clients alone, and the same while 50 idle
connections (25 that never start TLS, 25 silent after the handshake) and 20
slow ones (a request sent a byte a second) are held open, reopened whenever
the server closes them. Throughput is answered requests per second.

The machine is shared (load averages are printed with the results); every loop
is bounded in time and every socket operation by a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

Row = dict[str, Any]
KEYS = "bench-writer:write,bench-reader:read"
TIMEOUT = 5.0


# The asyncio candidate: uvicorn over the WSGI app through a2wsgi's adapter, TLS
# terminated by uvicorn, the app in a pool of 32 threads like gunicorn's.
UVICORN = """
import socket, sys
import uvicorn
from a2wsgi import WSGIMiddleware
from labcode.web import create_app
from labcode.web.tls import make_self_signed
folder = sys.argv[1]
files = make_self_signed(folder + "/tls")
app = WSGIMiddleware(create_app(db=folder + "/users.db"), workers=32)
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
print(f"Serving https://127.0.0.1:{port}/v1/", flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, ssl_certfile=str(files.cert),
            ssl_keyfile=str(files.key), log_level="warning")
"""


class Server:
    """A server in a subprocess, stopped with SIGTERM.

    `extra` are options of ``python -m labcode.web``, or ``("uvicorn",)``.
    """

    def __init__(self, folder: Path, *extra: str) -> None:
        env = {**os.environ, "LABCODE_API_KEYS": KEYS}
        if extra == ("uvicorn",):
            command = [sys.executable, "-c", UVICORN, str(folder)]
        else:
            command = [
                sys.executable,
                "-m",
                "labcode.web",
                "--port",
                "0",
                "--self-signed",
                str(folder / "tls"),
                "--db",
                str(folder / "users.db"),
                *extra,
            ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        stdout = self.process.stdout
        line = stdout.readline().strip() if stdout is not None else ""
        if not line.startswith("Serving https://"):
            self.process.kill()
            msg = f"server did not start: {line!r}"
            raise RuntimeError(msg)
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        self.context = ssl.create_default_context(cafile=str(folder / "tls" / "ca.pem"))
        for _ in range(150):  # bounded: until the port accepts (uvicorn prints early)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def seed(server: Server, users: int) -> None:
    """Create `users` users (once per database file)."""
    url = f"https://localhost:{server.port}/v1/users"
    for i in range(users):
        body = json.dumps({"name": f"User {i}", "email": f"u{i}@example.org"})
        request = urllib.request.Request(
            url,
            data=body.encode(),
            method="POST",
            headers={
                "Authorization": "Bearer bench-writer",
                "Content-Type": "application/json",
            },
        )
        with contextlib.suppress(urllib.error.HTTPError):  # 409 on a reused file
            urllib.request.urlopen(request, context=server.context, timeout=10).read()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def _client(
    port: int,
    context: ssl.SSLContext,
    until: float,
    index: int,
    latencies: list[float],
    failures: list[str],
) -> None:
    loop = asyncio.get_running_loop()
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    n = 0
    while loop.time() < until:
        user = 1 + (index + n) % 50
        n += 1
        request = (
            f"GET /v1/users/{user} HTTP/1.1\r\nHost: localhost\r\n"
            "Authorization: Bearer bench-reader\r\n\r\n"
        ).encode()
        start = time.perf_counter()
        try:
            if writer is None:
                reader, opened = await asyncio.wait_for(
                    asyncio.open_connection(
                        "127.0.0.1", port, ssl=context, server_hostname="localhost"
                    ),
                    TIMEOUT,
                )
                writer = opened
            writer.write(request)
            status, close = await asyncio.wait_for(
                _read_response(reader),  # type: ignore[arg-type]
                TIMEOUT,
            )
            if status != 200:
                failures.append(f"status {status}")
            else:
                latencies.append(time.perf_counter() - start)
            if close:
                writer.close()
                writer = None
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            failures.append(type(exc).__name__)
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _idle(port: int, context: ssl.SSLContext, until: float, tls: bool) -> None:
    """Hold one silent connection open, reopening it whenever the server closes it."""
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    "127.0.0.1",
                    port,
                    ssl=context if tls else None,
                    server_hostname="localhost" if tls else None,
                ),
                TIMEOUT,
            )
            await asyncio.wait_for(reader.read(1), max(until - loop.time(), 0.01))
        except (OSError, TimeoutError, ValueError):
            await asyncio.sleep(0.1)
        finally:
            if writer is not None:
                writer.close()


async def _slow(port: int, context: ssl.SSLContext, until: float) -> None:
    """Send a request one byte a second, reopening when the server gives up."""
    loop = asyncio.get_running_loop()
    request = b"GET /v1/users/1 HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: 1\r\n" * 40
    while loop.time() < until:
        writer = None
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    "127.0.0.1", port, ssl=context, server_hostname="localhost"
                ),
                TIMEOUT,
            )
            for byte in request:
                if loop.time() >= until:
                    break
                writer.write(bytes([byte]))
                await asyncio.wait_for(writer.drain(), TIMEOUT)
                await asyncio.sleep(1.0)
        except (OSError, TimeoutError, ValueError):
            await asyncio.sleep(0.1)
        finally:
            if writer is not None:
                writer.close()


async def _load(
    server: Server, *, clients: int, seconds: float, hostile: bool
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    failures: list[str] = []
    tasks = []
    if hostile:
        until_hostile = loop.time() + seconds + 1.0
        tasks += [
            asyncio.create_task(
                _idle(server.port, server.context, until_hostile, i % 2 == 0)
            )
            for i in range(50)
        ]
        tasks += [
            asyncio.create_task(_slow(server.port, server.context, until_hostile))
            for _ in range(20)
        ]
        await asyncio.sleep(1.0)  # the hostile connections are in place first
    start = loop.time()
    until = start + seconds
    clients_tasks = [
        asyncio.create_task(
            _client(server.port, server.context, until, i, latencies, failures)
        )
        for i in range(clients)
    ]
    await asyncio.gather(*clients_tasks)
    elapsed = loop.time() - start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ordered = sorted(latencies)

    def quantile(q: float) -> float:
        return (
            ordered[min(int(q * len(ordered)), len(ordered) - 1)]
            if ordered
            else float("nan")
        )

    return {
        "answered": len(latencies),
        "unanswered": len(failures),
        "failure_kinds": sorted(set(failures)),
        "rps": len(latencies) / elapsed,
        "p50_ms": quantile(0.50) * 1e3,
        "p99_ms": quantile(0.99) * 1e3,
        "mean_ms": statistics.fmean(latencies) * 1e3 if latencies else float("nan"),
        "seconds": elapsed,
    }


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants, from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return total
    return total + sum(_cpu_seconds(int(child)) for child in children)


def measure(
    extra: tuple[str, ...], *, clients: int, seconds: float, hostile: bool
) -> dict[str, Any]:
    """Start a server, seed it, put the load on it, stop it; return the figures.

    Besides the latencies: the CPU seconds the server's processes and this
    client used during the load, and the server's share of one core, which
    shows how much of the machine the server actually got.
    """
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        server = Server(Path(tmp), *extra)
        try:
            seed(server, 50)
            server_before = _cpu_seconds(server.process.pid)
            client_before = time.process_time()
            result = asyncio.run(
                _load(server, clients=clients, seconds=seconds, hostile=hostile)
            )
            result["server_cpu_s"] = _cpu_seconds(server.process.pid) - server_before
            result["client_cpu_s"] = time.process_time() - client_before
            result["server_core_share"] = result["server_cpu_s"] / result["seconds"]
        finally:
            result_exit = server.stop()
        result["exit_status"] = result_exit
        return result


def _describe(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
        f"unanswered {r['unanswered']} of {r['answered'] + r['unanswered']}"
        + (f" ({', '.join(r['failure_kinds'])})" if r["failure_kinds"] else "")
        + f", exit {r['exit_status']}"
        + f", server CPU {r['server_core_share']:.2f} of a core"
        + (
            f" ({1e3 * r['server_cpu_s'] / r['answered']:.2f} ms/request)"
            if r["answered"]
            else ""
        )
    )


def run(quick: bool = False) -> list[Row]:
    """Return one row per scenario: gunicorn against Werkzeug's threaded server."""
    seconds = 3.0 if quick else 10.0
    clients = 20 if quick else 200
    servers = {
        "gunicorn": ("--threads", "32"),
        "werkzeug": ("--dev-server",),
    }
    try:
        import a2wsgi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        pass
    else:
        servers["uvicorn"] = ("uvicorn",)
    rows: list[Row] = []
    for hostile in (False, True):
        load_before = os.getloadavg()
        got = {
            name: measure(extra, clients=clients, seconds=seconds, hostile=hostile)
            for name, extra in servers.items()
        }
        load_after = os.getloadavg()
        ours, peer = got["gunicorn"], got["werkzeug"]
        others = "".join(
            "; " + _describe(name, r)
            for name, r in got.items()
            if name not in ("gunicorn", "werkzeug")
        )
        case = f"{clients} keep-alive clients, {seconds:.0f} s" + (
            " + 50 idle + 20 slow (1 byte/s) connections" if hostile else ""
        )
        # ms per answered request (1000 / req/s); a server that answered nothing
        # gets the run's length, an upper bound on its rate, so the ratio stays finite.
        ours_ms = 1e3 / ours["rps"] if ours["rps"] else seconds * 1e3
        peer_ms = 1e3 / peer["rps"] if peer["rps"] else seconds * 1e3
        met = (
            ours["unanswered"] == 0
            and ours["p99_ms"] < 500
            and ours["rps"] >= 2 * peer["rps"]
        )
        rows.append(
            {
                "benchmark": "users API load",
                "case": case,
                "ours_ms": ours_ms,
                "peer": "Werkzeug threaded dev server (--dev-server)",
                "peer_ms": peer_ms,
                "ratio": ours_ms / peer_ms,
                "metric": _describe("gunicorn", ours)
                + "; "
                + _describe("werkzeug", peer)
                + others
                + f"; load average {load_before[0]:.1f} -> {load_after[0]:.1f} "
                f"on {os.cpu_count()} cores (ms = 1000 / req/s)",
                "goal": "0 unanswered, p99 < 500 ms, >= 2x werkzeug req/s",
                "met": met,
                "details": {
                    "gunicorn": ours,
                    "werkzeug": peer,
                    "load": [load_before, load_after],
                },
            }
        )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row["case"])
        print("  ", row["metric"])
