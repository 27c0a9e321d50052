# %% [markdown]
"""
# Serving and querying the users API over HTTPS

Start `python -m labcode.web` on a free loopback port with a fresh local
certificate authority, create and list users with a client that trusts only
that authority, and stop the server. Run it as `python examples/rest_api_tour.py`
(it needs the `web` extra: `pip install "labcode[web]"`).
"""

# %%
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

tls_dir = Path(tempfile.mkdtemp()) / "tls"
env = {**os.environ, "LABCODE_API_KEYS": "demo-key:write"}
server = subprocess.Popen(
    [sys.executable, "-m", "labcode.web", "--port", "0", "--self-signed", str(tls_dir)],
    stdout=subprocess.PIPE,
    stderr=subprocess.DEVNULL,
    text=True,
    env=env,
)
base = server.stdout.readline().strip().removeprefix("Serving ")
print("server at", base)
context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
headers = {"Authorization": "Bearer demo-key", "Content-Type": "application/json"}


def send(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, headers=headers, method=method
    )
    with urllib.request.urlopen(request, context=context) as response:
        return response.status, json.loads(response.read() or b"null")


try:
    for name in ["Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"]:
        status, user = send(
            "POST",
            "users",
            {"name": name, "email": name.split()[0].lower() + "@example.org"},
        )
        print(status, user["href"], user["name"])
    status, listing = send("GET", "users?limit=2")
    print(
        status,
        "total",
        listing["total"],
        "first page",
        [u["name"] for u in listing["items"]],
    )
    assert listing["total"] == 3
    # A write conditional on a stale ETag is refused, with a problem document.
    stale = urllib.request.Request(
        base + "users/1",
        data=json.dumps({"name": "Ada", "email": "ada@example.org"}).encode(),
        headers={**headers, "If-Match": '"stale"'},
        method="PUT",
    )
    try:
        urllib.request.urlopen(stale, context=context)
        refused = None
    except urllib.error.HTTPError as error:
        refused = error.code
        print(refused, error.headers["Content-Type"], json.loads(error.read())["title"])
    assert refused == 412
finally:
    server.send_signal(signal.SIGTERM)
    print("server exit status", server.wait(timeout=15))
    server.stdout.close()
