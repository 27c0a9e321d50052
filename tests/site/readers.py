"""Checks of the site as a reader on a phone, a screen reader or a search engine meets it.

Static checks read the built HTML (head scripts, metadata, sitemap); browser
checks take a Playwright page (overflow, figures, search, axe-core); Lighthouse
runs as its own process against the served site. Every function takes any site,
so tests/site/test_checks_catch_breakage.py can feed it a broken one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit

import sitecheck

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
PHONE_WIDTHS = (320, 360, 390)
WIDE = 1280
BUDGET_BYTES = 400 * 1024  # transferred (gzip) for a page without images
LIGHTHOUSE_MIN = {
    "performance": 0.90,
    "accessibility": 1.0,
    "best-practices": 1.0,
    "seo": 1.0,
}


def node_tool(*parts: str) -> Path:
    path = NODE_MODULES.joinpath(*parts)
    if not path.exists():
        msg = (
            f"{path} is missing: run `npm ci --prefix tests/site` "
            "(the lockfile pins lighthouse and axe-core)"
        )
        raise FileNotFoundError(msg)
    return path


# ------------------------------------------------------------------ static HTML
class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_head = True
        self.scripts: list[dict[str, str | None]] = []  # every <script src>
        self.head_scripts: list[dict[str, str | None]] = []
        self.links: list[dict[str, str | None]] = []
        self.metas: list[dict[str, str | None]] = []
        self.maths = 0  # elements of class "math"
        self.mathml = 0  # <math> elements
        self.tex: list[str] = []  # TeX delimiters in the text of maths elements
        self._in_math = 0
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.in_head = False
        if tag == "script" and a.get("src"):
            self.scripts.append(a)
            if self.in_head:
                self.head_scripts.append(a)
        elif tag == "link":
            self.links.append(a)
        elif tag == "meta":
            self.metas.append(a)
        elif tag == "img":
            self.images.append(a)
        if tag == "math":
            self.mathml += 1
        if "math" in (a.get("class") or "").split():
            self.maths += 1
        if tag in ("span", "div") and (
            self._in_math or "math" in (a.get("class") or "").split()
        ):
            self._in_math += 1

    def handle_endtag(self, tag: str) -> None:
        if self._in_math and tag in ("span", "div"):
            self._in_math -= 1

    def handle_data(self, data: str) -> None:
        if self._in_math:
            self.tex += re.findall(r"\\[(\[]|\$\$|\\begin\{", data)


def head(path: Path) -> _Head:
    parser = _Head()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def render_blocking_scripts(path: Path) -> list[str]:
    """Scripts loaded from <head> without defer, async or type=module."""
    return [
        str(s["src"])
        for s in head(path).head_scripts
        if "defer" not in s and "async" not in s and s.get("type") != "module"
    ]


def icon_font_scripts(path: Path) -> list[str]:
    """Font Awesome (or any icon-font) JavaScript or CSS loaded by the page."""
    h = head(path)
    urls = [str(s["src"]) for s in h.scripts]
    urls += [str(link.get("href")) for link in h.links]
    return [
        u for u in urls if re.search(r"font-?awesome|fontawesome", u, re.IGNORECASE)
    ]


def maths_problems(path: Path) -> list[str]:
    """Maths is MathML written into the page: no maths script, no TeX left over.

    Every element of class ``math`` (Sphinx's inline and display maths) holds a
    ``<math>`` element, and no page loads MathJax, KaTeX or any maths script.
    """
    h = head(path)
    problems = [
        f"loads a maths script: {s['src']}"
        for s in h.scripts
        if sitecheck.MATHS_SCRIPT.search(str(s["src"]))
    ]
    if h.mathml < h.maths:
        problems.append(f"{h.maths} maths elements but {h.mathml} <math> elements")
    if h.tex:
        problems.append(f"TeX left in the page: {h.tex[:3]}")
    return problems


def search_index_problems(path: Path) -> list[str]:
    """The search index loads only on the search page, deferred."""
    h = head(path)
    index = [s for s in h.scripts if "searchindex" in str(s["src"])]
    if path.name != "search.html":
        return [f"loads {s['src']} outside the search page" for s in index]
    if not index:
        return ["the search page does not load the search index"]
    return [f"{s['src']} is not deferred" for s in index if "defer" not in s]


def _meta(h: _Head, key: str) -> str | None:
    for m in h.metas:
        if m.get("name") == key or m.get("property") == key:
            return m.get("content")
    return None


def metadata_problems(path: Path, root: Path, baseurl: str) -> list[str]:
    """Canonical URL, description, Open Graph tags and favicon of one page."""
    h = head(path)
    problems = []
    page_url = baseurl + path.relative_to(root).as_posix()
    canonical = [link.get("href") for link in h.links if link.get("rel") == "canonical"]
    if canonical != [page_url]:
        problems.append(f"canonical {canonical} is not [{page_url!r}]")
    description = _meta(h, "description")
    if not description or len(description) < 30:
        problems.append(f"meta description missing or too short: {description!r}")
    for key in ("og:title", "og:type", "og:url", "og:description"):
        if not _meta(h, key):
            problems.append(f"no {key}")
    if _meta(h, "og:url") not in (None, page_url):
        problems.append(f"og:url {_meta(h, 'og:url')!r} is not {page_url!r}")
    icons = [link for link in h.links if "icon" in (link.get("rel") or "").split()]
    if not icons:
        problems.append("no favicon link")
    return problems


def sitemap_problems(root: Path, pages: list[Path], baseurl: str) -> list[str]:
    """sitemap.xml lists every page at its canonical URL; robots.txt points to it."""
    sitemap = root / "sitemap.xml"
    if not sitemap.is_file():
        return ["no sitemap.xml"]
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    listed = {
        (loc.text or "").strip()
        for loc in ET.parse(sitemap).getroot().findall("s:url/s:loc", ns)
    }
    problems = [
        f"{p.relative_to(root)} not in sitemap.xml"
        for p in pages
        if baseurl + p.relative_to(root).as_posix() not in listed
    ]
    robots = root / "robots.txt"
    if not robots.is_file():
        problems.append("no robots.txt")
    elif f"Sitemap: {baseurl}sitemap.xml" not in robots.read_text():
        problems.append("robots.txt does not name the sitemap")
    return problems


# ------------------------------------------------------------------ assets under the prefix
def asset_urls(page_url: str, path: Path) -> list[str]:
    """Every URL the page itself loads (scripts, stylesheets, icons, images)."""
    h = head(path)
    urls = [str(s["src"]) for s in h.scripts]
    urls += [
        str(link["href"])
        for link in h.links
        if link.get("href")
        and set((link.get("rel") or "").split())
        & {"stylesheet", "icon", "preload", "manifest", "apple-touch-icon"}
    ]
    urls += [str(i["src"]) for i in h.images if i.get("src")]
    return sorted({urljoin(page_url, u) for u in urls if not u.startswith("data:")})


def fetch_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return int(response.status)
    except HTTPError as error:
        return int(error.code)


def crawl_problems(
    site_root: Path, site_base: str, pages: list[Path]
) -> tuple[int, list[str]]:
    """Fetch every page and every asset it loads from the server under its prefix."""
    checked: set[str] = set()
    problems = []
    for path in pages:
        url = f"{site_base}/{path.relative_to(site_root).as_posix()}"
        for asset in [url, *asset_urls(url, path)]:
            if asset in checked:
                continue
            checked.add(asset)
            where = path.relative_to(site_root)
            if not asset.startswith(site_base + "/"):
                problems.append(f"{where}: {asset} escapes the prefix")
            elif (status := fetch_status(asset)) != 200:
                problems.append(f"{where}: {asset} -> {status}")
    return len(checked), problems


# ------------------------------------------------------------------ PNG natural size
def png_size(path: Path) -> tuple[int, int, float]:
    """Width, height in pixels and the dots per inch of a PNG (96 when unset)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        msg = f"{path} is not a PNG"
        raise ValueError(msg)
    width, height = struct.unpack(">II", data[16:24])
    dpi = 96.0
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        if kind == b"pHYs":
            x, _y, unit = struct.unpack(">IIB", data[at + 8 : at + 17])
            if unit == 1 and x:
                dpi = x * 0.0254
            break
        if kind == b"IDAT":
            break
        at += 12 + length
    return width, height, dpi


def natural_css_width(path: Path) -> float:
    """The width at which an image shows at its intended size: pixels x 96 / dpi."""
    if path.suffix.lower() != ".png":
        return 0.0
    width, _height, dpi = png_size(path)
    return width * 96.0 / dpi


# ------------------------------------------------------------------ browser checks
def transferred_bytes(browser: Browser, url: str) -> int:
    """Bytes on the wire (headers + encoded bodies) for one cold page load."""
    context = browser.new_context()  # an empty cache
    page = context.new_page()
    sizes: list[int] = []

    def finished(request: Request) -> None:
        s = request.sizes()
        sizes.append(s["responseBodySize"] + s["responseHeadersSize"])

    page.on("requestfinished", finished)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    context.close()
    return sum(sizes)


_OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const over = document.documentElement.scrollWidth - width;
  const culprits = [];
  if (over > 1) {
    const scrolls = el => {
      for (let p = el.parentElement; p; p = p.parentElement) {
        const s = getComputedStyle(p);
        if (/(auto|scroll|hidden|clip)/.test(s.overflowX) && p.clientWidth <= width) return true;
      }
      return false;
    };
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.right > width + 1 && r.width > 0 && !scrolls(el)) {
        const cls = (el.getAttribute('class') || '').split(' ').filter(Boolean).slice(0, 2).join('.');
        culprits.push(`${el.tagName.toLowerCase()}${cls ? '.' + cls : ''} (${Math.round(r.right)}px)`);
        if (culprits.length >= 5) break;
      }
    }
  }
  return {over, culprits};
}"""


def overflow(page: Page) -> tuple[int, list[str]]:
    """How many CSS px the page is wider than the screen, and the first culprits."""
    result = page.evaluate(_OVERFLOW_JS)
    return int(result["over"]), list(result["culprits"])


def load_all_images(page: Page) -> None:
    """Load lazy images now (a full-page screenshot does not scroll to them)."""
    page.evaluate(
        "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
    )
    page.wait_for_function(
        "() => Array.from(document.images).every(i => i.complete)", timeout=20000
    )


@dataclass
class Figure:
    src: str
    shown: float  # rendered CSS px
    natural: float  # natural CSS px (pixels x 96 / dpi)
    alt: str
    linked: str | None  # href of the enclosing link, if any

    @property
    def ratio(self) -> float:
        return self.shown / self.natural if self.natural else 1.0


_FIGURES_JS = """() => Array.from(document.querySelectorAll('article img, main img, [role=main] img'))
  .filter(i => !i.closest('.sidebar-brand, header, .sidebar-logo-container'))
  .filter(i => !i.src.includes('/_static/'))
  .map(i => { const a = i.closest('a'); return {
    src: i.currentSrc || i.src, shown: i.getBoundingClientRect().width,
    alt: i.getAttribute('alt') || '', linked: a ? a.href : null}; })"""


def figures(page: Page, site_root: Path, site_base: str) -> list[Figure]:
    """Every image in the page body, with its shown and natural CSS width."""
    load_all_images(page)
    found = []
    for item in page.evaluate(_FIGURES_JS):
        path = urlsplit(item["src"]).path
        local = site_root / path.removeprefix(urlsplit(site_base).path).lstrip("/")
        natural = natural_css_width(local) if local.is_file() else 0.0
        found.append(
            Figure(item["src"], item["shown"], natural, item["alt"], item["linked"])
        )
    return found


def alt_problem(figure: Figure) -> str | None:
    """Alt text must describe the figure: not empty, not a file name."""
    alt = figure.alt.strip()
    if len(alt) < 15 or re.search(r"\.(png|jpe?g|svg|gif)$", alt) or " " not in alt:
        return f"{figure.src}: alt text {alt!r} does not say what the figure shows"
    return None


_SEARCH_JS = """() => {
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const entries = Array.from(document.querySelectorAll(
    'input[type=search], input[name=q], button[aria-label*=earch i], a[aria-label*=earch i], [role=search] button'))
    .filter(visible)
    .filter(el => !el.closest("#search-results, .search-results, article"));
  return entries.map(el => ({inHeader: !!el.closest('header'), top: el.getBoundingClientRect().top}));
}"""


def search_entry_points(page: Page) -> list[dict[str, object]]:
    """Visible search fields or buttons, and whether each sits in the header."""
    return list(page.evaluate(_SEARCH_JS))


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@dataclass
class AxeResult:
    url: str
    violations: list[dict[str, object]] = field(default_factory=list)

    def count(self, impact: str) -> int:
        return sum(len(v["nodes"]) for v in self.violations if v["impact"] == impact)  # type: ignore[arg-type,misc]

    def listing(self, impact: str) -> list[str]:
        return [
            f"{v['id']} ({len(v['nodes'])} nodes): {v['help']}"  # type: ignore[arg-type]
            for v in self.violations
            if v["impact"] == impact
        ]


def axe(page: Page) -> AxeResult:
    """Run axe-core (WCAG 2.1 A/AA and best practices) on the loaded page."""
    page.add_script_tag(path=str(node_tool("axe-core", "axe.min.js")))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})))",
        AXE_TAGS,
    )
    return AxeResult(page.url, list(result))


@dataclass
class LighthouseResult:
    url: str
    scores: dict[str, float]
    transferred: int
    failed_audits: list[str]

    def below(self, minimum: dict[str, float] = LIGHTHOUSE_MIN) -> list[str]:
        return [
            f"{name} {self.scores.get(name)} < {floor}"
            for name, floor in minimum.items()
            if (self.scores.get(name) or 0.0) < floor
        ]


@dataclass
class LighthouseRun:
    results: list[LighthouseResult]
    seconds: list[float]  # each page's run, as Lighthouse took it


def lighthouse_pages(urls: list[str], timeout_per_page: float = 120) -> LighthouseRun:
    """Lighthouse (npm, pinned in package-lock.json), mobile, default throttling,
    on every url in turn with one Chrome (tests/site/lighthouse-pages.mjs)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        msg = "Debian's chromium is not installed"
        raise FileNotFoundError(msg)
    node_tool("lighthouse", "cli", "index.js")  # installed, or say how to install it
    script = Path(__file__).resolve().parent / "lighthouse-pages.mjs"
    done = subprocess.run(
        ["node", str(script), json.dumps(sitecheck.CHROMIUM_ARGS), *urls],
        capture_output=True,
        text=True,
        timeout=30 + timeout_per_page * len(urls),
        env={**os.environ, "CHROME_PATH": chromium},
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if done.returncode or len(lines) != len(urls):
        msg = (
            f"lighthouse failed after {len(lines)} of {len(urls)} pages "
            f"(exit {done.returncode}): {done.stderr[-2000:]}"
        )
        raise RuntimeError(msg)
    errors = [f"{r['url']}: {r['error']}" for r in lines if r["error"]]
    if errors:
        msg = f"lighthouse could not measure: {errors}"
        raise RuntimeError(msg)
    return LighthouseRun(
        [
            LighthouseResult(
                r["url"], r["scores"], int(r["transferred"]), list(r["failed"])
            )
            for r in lines
        ],
        [float(r["seconds"]) for r in lines],
    )


def lighthouse(url: str) -> LighthouseResult:
    """Lighthouse on one page (see `lighthouse_pages`)."""
    return lighthouse_pages([url]).results[0]


def opens_full_size(figure: Figure) -> bool:
    """The figure is a link to an image file (tap to open it at full size)."""
    return bool(figure.linked) and bool(
        re.search(r"\.(png|svg|jpe?g|gif|webp)$", urlsplit(figure.linked or "").path)
    )


FIGURE_BACKGROUND_JS = """() => Array.from(document.querySelectorAll('article img'))
  .filter(i => !i.closest('header, .sidebar-brand'))
  .filter(i => !i.src.includes('/_static/'))
  .map(i => { let el = i, bg = 'rgba(0, 0, 0, 0)';
    while (el && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) {
      bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
    return {src: i.currentSrc || i.src, background: bg}; })"""


def is_light(css_colour: str) -> bool:
    """An rgb()/rgba() colour whose mean channel is above 200 (a light card)."""
    numbers = re.findall(r"[\d.]+", css_colour)
    if len(numbers) < 3:
        return False
    return sum(float(n) for n in numbers[:3]) / 3 > 200


def search_problem(entries: list[dict[str, object]]) -> str | None:
    """Exactly one visible search entry point, and it sits in the header."""
    if len(entries) != 1:
        return f"{len(entries)} visible search entry points (want 1)"
    if not entries[0]["inHeader"]:
        return "the search entry point is not in the header"
    return None
