"""Checks of a built HTML site, the way readers use it.

Pure functions over a directory of HTML (links, snippets) plus helpers that
drive a real browser page (console errors, third-party requests, images, maths).
They take any site directory, so the tests can also feed them small broken
sites and show that each check fails when it should.
"""

from __future__ import annotations

import contextlib
import doctest
import functools
import gzip
import http.server
import io
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Route

# The copy button's configuration in docs/conf.py: prompts to strip, and only
# lines that start with a prompt are copied.
# GitHub Pages serves a project site under /<repository>/: the checks do the same,
# so a link or asset that escapes the prefix (a root-absolute "/_static/...") fails.
PREFIX = "/labcode"

PROMPT = re.compile(r">>> |\.\.\. |\$ |In \[\d*\]: | {2,5}\.\.\.: ")


# ------------------------------------------------------------------ parsing
class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag.attr, url)
        self.snippets: list[str] = []
        self._in_doctest = 0
        self._pre_depth = 0
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for key in ("id", "name"):
            if attributes.get(key) and (key == "id" or tag == "a"):
                self.ids.add(str(attributes[key]))
        for attr in ("href", "src"):
            value = attributes.get(attr)
            if value is not None and tag in (
                "a",
                "link",
                "img",
                "script",
                "iframe",
                "source",
            ):
                self.links.append((f"{tag}.{attr}", value))
        classes = (attributes.get("class") or "").split()
        if (
            tag == "div" and ("doctest" in classes or "highlight-pycon" in classes)
        ) or (tag == "div" and self._in_doctest):
            self._in_doctest += 1
        if tag == "pre" and self._in_doctest:
            self._pre_depth += 1
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
            self.snippets.append("".join(self._buffer))
        if tag == "div" and self._in_doctest:
            self._in_doctest -= 1

    def handle_data(self, data: str) -> None:
        if self._pre_depth:
            self._buffer.append(data)


@functools.cache
def parse(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return collector


def html_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if "_static" not in p.parts)


# ------------------------------------------------------------------ links
def broken_links(root: Path) -> list[str]:
    """Every internal link or anchor in the site that points nowhere."""
    problems = []
    for page in html_files(root):
        for where, url in parse(page).links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith(
                ("//", "mailto:", "data:", "javascript:")
            ):
                continue
            target_path, fragment = unquote(parts.path), parts.fragment
            if not target_path:
                target = page
            elif target_path.startswith("/"):  # root-relative (the 404 page's links)
                if not target_path.startswith(PREFIX + "/"):
                    problems.append(
                        f"{page.relative_to(root)}: {where} {url!r}: outside {PREFIX}/"
                    )
                    continue
                target = root / target_path.removeprefix(PREFIX + "/")
            else:
                target = (page.parent / target_path).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(
                    f"{page.relative_to(root)}: {where} {url!r}: no such file"
                )
                continue
            if (
                fragment
                and target.suffix == ".html"
                and unquote(fragment) not in parse(target).ids
            ):
                problems.append(
                    f"{page.relative_to(root)}: {where} {url!r}: no such anchor"
                )
    return problems


# ------------------------------------------------------------------ snippets
@dataclass
class Snippet:
    page: str
    text: str  # as displayed, prompts and outputs included
    code: str = field(init=False)  # as the copy button copies it

    def __post_init__(self) -> None:
        self.code = strip_like_copybutton(self.text)


def strip_like_copybutton(text: str) -> str:
    """Keep only the prompt lines, without their prompts (sphinx-copybutton's rules)."""
    lines = []
    for line in text.splitlines():
        match = PROMPT.match(line)
        if match:
            lines.append(line[match.end() :])
    return "\n".join(lines) + "\n"


def snippets(root: Path) -> list[Snippet]:
    found = []
    for page in html_files(root):
        for text in parse(page).snippets:
            if ">>> " in text:
                found.append(Snippet(str(page.relative_to(root)), text))
    return found


# The doctest flags of the test suite, read from the one place they are set
# (pyproject.toml), so that a snippet passes here exactly when it passes pytest.
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def doctest_flag_names(pyproject: Path = PYPROJECT) -> list[str]:
    """The `doctest_optionflags` of pytest's configuration in `pyproject`."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(config["tool"]["pytest"]["ini_options"]["doctest_optionflags"])


def doctest_flags(names: list[str]) -> int:
    """The standard doctest option flags named in `names`, or'ed together."""
    flags = 0
    for name in names:
        if name not in doctest.OPTIONFLAGS_BY_NAME:
            msg = (
                f"doctest_optionflags: {name!r} is not a flag of the standard doctest "
                f"module; a reader pasting a snippet gets plain doctest semantics"
            )
            raise ValueError(msg)
        flags |= doctest.OPTIONFLAGS_BY_NAME[name]
    return flags


_RUNNER = r"""
import doctest, sys
text = sys.stdin.read()
code, doc = text.split("\0")
# 1. What the copy button puts on the clipboard runs as it is (or raises the error
#    the snippet shows on purpose, as a traceback that step 2 then checks exactly).
try:
    exec(compile(code, "<copied snippet>", "exec"), {"__name__": "__main__"})
except Exception as err:
    if "Traceback (most recent call last)" not in doc or type(err).__name__ not in doc:
        raise
# 2. The displayed outputs are what the code prints, under pytest's flags.
flags = int(sys.argv[1])
test = doctest.DocTestParser().get_doctest(doc, {"__name__": "__main__"}, "snippet", None, 0)
runner = doctest.DocTestRunner(optionflags=flags)
runner.run(test, out=sys.stderr.write)
sys.exit(1 if runner.failures else 0)
"""


def run_snippet(snippet: Snippet, timeout: float = 120) -> str | None:
    """Run a snippet in a fresh interpreter; return the failure or None."""
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(doctest_flags(doctest_flag_names()))],
        input=snippet.code + "\0" + snippet.text,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "MPLBACKEND": "Agg"},
        check=False,
    )
    if done.returncode:
        return f"{snippet.page}: snippet failed\n{snippet.text}\n{done.stderr[-2000:]}"
    return None


# ------------------------------------------------------------------ serving
_COMPRESSIBLE = (".html", ".css", ".js", ".json", ".svg", ".txt", ".xml", ".map")


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files under PREFIX only, gzip-compressed like a real host."""

    prefix = PREFIX

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_head(self):  # type: ignore[no-untyped-def]
        path = urlsplit(self.path).path
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            self.send_error(404, "outside the site's prefix")
            return None
        if path == self.prefix:
            self.send_response(301)
            self.send_header("Location", self.prefix + "/")
            self.end_headers()
            return None
        local = Path(self.translate_path(path[len(self.prefix) :]))
        if local.is_dir():
            local = local / "index.html"
        gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
        if not local.is_file() or not gzip_ok or local.suffix not in _COMPRESSIBLE:
            self.path = path[len(self.prefix) :] or "/"
            return super().send_head()
        body = gzip.compress(local.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(local)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.end_headers()
        return io.BytesIO(body)


@dataclass
class LocalSite:
    root: Path
    base: str  # http://127.0.0.1:PORT/labcode
    server: http.server.ThreadingHTTPServer

    def url(self, page: Path | str) -> str:
        relative = page.relative_to(self.root) if isinstance(page, Path) else page
        return f"{self.base}/{relative}"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # A browser that closes a page mid-download is not an error of the site.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(root: Path, prefix: str = PREFIX) -> Iterator[LocalSite]:
    """Serve `root` at http://127.0.0.1:PORT{prefix}/ with gzip, like a static host."""
    handler = functools.partial(
        type("Handler", (_SiteHandler,), {"prefix": prefix}), directory=str(root)
    )
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalSite(root, f"http://127.0.0.1:{server.server_port}{prefix}", server)
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ the browser
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class PageReport:
    url: str
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    math_elements: int = 0  # elements of class "math" (Sphinx's maths)
    mathml: int = 0  # <math> elements
    unsized_mathml: int = 0  # <math> elements a reader should see, of zero size
    maths_scripts: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"console error: {e}" for e in self.console_errors]
        out += [f"request to another host: {u}" for u in self.foreign_requests]
        out += [f"image not loaded: {u}" for u in self.broken_images]
        out += [f"loads a maths script: {u}" for u in self.maths_scripts]
        if self.unsized_mathml:
            out.append(f"{self.unsized_mathml} MathML elements drawn with no size")
        if self.mathml < self.math_elements:
            out.append(
                f"{self.math_elements} maths elements but {self.mathml} MathML elements"
            )
        return out


# The <math> elements, and those a reader should see that are drawn with no
# size (one in a closed dropdown is not drawn at all: not counted as unsized).
_MATHML_JS = """() => {
  const all = [...document.querySelectorAll('math')];
  const unsized = all.filter(m => {
    if (!m.checkVisibility()) return false;
    const r = m.getBoundingClientRect();
    return r.width === 0 || r.height === 0;
  });
  return [all.length, unsized.length];
}"""
MATHS_SCRIPT = re.compile(r"mathjax|katex|mathml|tex-(chtml|svg|mml)", re.IGNORECASE)


def check_page(context: BrowserContext, url: str, local_prefix: str) -> PageReport:
    """Load one page; record console errors, foreign requests, images, maths."""
    report = PageReport(url)
    page = context.new_page()

    def route(r: Route) -> None:
        target = r.request.url
        if target.startswith((local_prefix, "data:", "blob:", "about:")):
            r.continue_()
        else:
            report.foreign_requests.append(target)
            r.abort()

    page.route("**/*", route)
    page.on(
        "console",
        lambda m: report.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: report.console_errors.append(str(e)))
    page.on(
        "request",
        lambda r: (
            report.maths_scripts.append(r.url)
            if r.resource_type == "script" and MATHS_SCRIPT.search(r.url)
            else None
        ),
    )
    page.goto(url, wait_until="load")
    report.math_elements = page.locator(".math").count()
    report.mathml, report.unsized_mathml = page.evaluate(_MATHML_JS)
    # Lazy images load when scrolled to: load them all now, then check them.
    page.evaluate(
        "() => document.querySelectorAll('img[loading=lazy]')"
        ".forEach(i => i.loading = 'eager')"
    )
    with contextlib.suppress(Exception):  # an image that never loads is reported below
        page.wait_for_function(
            "() => Array.from(document.images).every(i => i.complete)", timeout=15000
        )
    report.broken_images = page.evaluate(
        "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    # Blocked requests show up as console errors too; keep them in one place.
    report.console_errors = [
        e
        for e in report.console_errors
        if "net::ERR_FAILED" not in e or not report.foreign_requests
    ]
    page.close()
    return report
