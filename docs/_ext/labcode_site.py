"""Sphinx glue for the hosted site: phone-legible figures and robots.txt.

1. **Figures.** Every kernel that executes a page loads ``labcode_figures`` (an
   IPython startup file written here, found through ``IPYTHONDIR``): each PNG
   figure carries its alt text and, when it is several panels too wide for a
   phone, a narrow re-layout of the same panels. Here each such image in a cell
   output becomes ``<a href=full-size><picture><source narrow><img wide>``: the
   narrow variant on screens up to 40em, the alt text from the figure, width and
   height set (no layout shift), loaded lazily, tappable to open full size.
2. **Accessible markup** where Sphinx and its extensions emit what axe-core
   flags as serious or critical: sidebar captions get an ``aria-level``, the
   one-parameter-per-line signature list is not a ``<dl>`` of bare ``<dd>``,
   links inside ``<summary>`` become text (no nested interactive controls),
   citations are list items, and code blocks that may scroll take keyboard focus.
3. **Description and Open Graph tags** for the generated pages (index of names,
   module index, search) that sphinxext-opengraph leaves out.
4. **robots.txt** naming the sitemap, and a **complete sitemap** after an
   incremental build: sphinx-sitemap writes ``sitemap.xml`` from the pages the
   build wrote (its issue #13), so a build that rewrote three pages would
   publish a sitemap of three; the pages it did not rewrite are added first.
"""

from __future__ import annotations

import base64
import os
import posixpath
import queue
import re
import struct
import zlib
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx_sitemap import is_excluded

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
NARROW_KEY = "labcode-narrow"
NARROW_MEDIA = "(max-width: 40em)"


# ------------------------------------------------------------------ PNG chunks
def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(type, body)`` chunks of a PNG file."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        msg = "not a PNG file"
        raise ValueError(msg)
    chunks = []
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def png_bytes(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = [b"\x89PNG\r\n\x1a\n"]
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc))
    return b"".join(out)


def png_text(chunks: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Uncompressed text chunks: ``tEXt`` (Latin-1) and ``iTXt`` (UTF-8)."""
    text = {}
    for kind, body in chunks:
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt" and b"\0" in body:
            key, rest = body.split(b"\0", 1)
            if rest[:1] == b"\0":  # not compressed
                _language, _translated, value = rest[2:].split(b"\0", 2)
                text[key.decode("latin-1")] = value.decode("utf-8")
    return text


def css_size(chunks: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Natural CSS size of a PNG: pixels x 96 / dpi (96 dpi when unset)."""
    width = height = 0
    dpi = 96.0
    for kind, body in chunks:
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"pHYs":
            x, _y, unit = struct.unpack(">IIB", body[:9])
            if unit == 1 and x:
                dpi = x * 0.0254
    return round(width * 96 / dpi), round(height * 96 / dpi)


# ------------------------------------------------------------------ kernel hook
def _config_inited(app: Sphinx, config: Config) -> None:
    ipython = Path(app.doctreedir).parent / "ipython"
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import labcode_figures\n"
        "labcode_figures.install()\n"
    )
    target = startup / "00-labcode-figures.py"
    if not target.exists() or target.read_text() != script:
        target.write_text(script)
    os.environ["IPYTHONDIR"] = str(ipython)


# ------------------------------------------------------------------ figures
class figure_picture(nodes.General, nodes.Element):
    """A cell-output figure: wide image, optional narrow variant, link to full size."""


def _output_images(doctree: nodes.document) -> list[nodes.image]:
    found = []
    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if uri.endswith(".png") and "jupyter_execute" in uri:
            found.append(image)
    return found


def _doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    srcdir = Path(app.srcdir)
    for image in _output_images(doctree):
        uri = image["uri"]
        path = srcdir / uri.lstrip("/")
        if not path.is_file():
            continue
        chunks = png_chunks(path.read_bytes())
        text = png_text(chunks)
        picture = figure_picture()
        narrow_node = None
        if NARROW_KEY in text:
            narrow_data = base64.b64decode(text[NARROW_KEY])
            wide_path = path.with_name(path.stem + "-wide.png")
            narrow_path = path.with_name(path.stem + "-narrow.png")
            stripped = [
                (kind, body)
                for kind, body in chunks
                if not body.startswith(NARROW_KEY.encode() + b"\0")
            ]
            for target, data in (
                (wide_path, png_bytes(stripped)),
                (narrow_path, narrow_data),
            ):
                if not target.exists() or target.read_bytes() != data:
                    target.write_bytes(data)
            image["uri"] = posixpath.join(posixpath.dirname(uri), wide_path.name)
            narrow_node = nodes.image(
                uri=posixpath.join(posixpath.dirname(uri), narrow_path.name),
                classes=["labcode-narrow"],
            )
            picture["narrow_size"] = css_size(png_chunks(narrow_data))
        if not image.get("alt") or image["alt"] == uri:
            image["alt"] = (
                text.get("Description") or "Figure computed by the cell above"
            )
        picture["size"] = css_size(chunks)
        image.replace_self(picture)
        picture += image
        if narrow_node is not None:
            picture += narrow_node


def _image_src(translator: Any, image: nodes.image) -> str:
    uri = image["uri"]
    if uri in translator.builder.images:
        return str(
            posixpath.join(
                translator.builder.imgpath, quote(translator.builder.images[uri])
            )
        )
    return str(uri)


def visit_figure_picture(translator: Any, node: figure_picture) -> None:
    images = list(node.findall(nodes.image))
    wide = images[0]
    src = _image_src(translator, wide)
    width, height = node["size"]
    alt = translator.attval(wide.get("alt", ""))
    link = (
        f'<a class="labcode-figure reference internal image-reference" href="{src}" '
        'title="Open the figure at full size">'
    )
    html = [link, "<picture>"]
    if len(images) > 1:
        n_width, n_height = node["narrow_size"]
        html.append(
            f'<source media="{NARROW_MEDIA}" srcset="{_image_src(translator, images[1])}" '
            f'width="{n_width}" height="{n_height}">'
        )
    html.append(
        f'<img src="{src}" alt="{alt}" width="{width}" height="{height}" '
        'loading="lazy" decoding="async">'
    )
    html.append("</picture></a>")
    translator.body.append("".join(html))
    raise nodes.SkipNode


def _skip(translator: Any, node: nodes.Node) -> None:
    raise nodes.SkipNode


# ------------------------------------------------------------------ markup
_SIG = re.compile(r"(<dt class=\"sig[^>]*>)(.*?)(</dt>)", re.DOTALL)
_SUMMARY = re.compile(r"(<summary\b[^>]*>)(.*?)(</summary>)", re.DOTALL)


def _signature_lines(match: re.Match[str]) -> str:
    inner = match.group(2)
    inner = re.sub(r"<dl\b[^>]*>", '<span class="sig-param-lines">', inner)
    inner = inner.replace("</dl>", "</span>")
    inner = re.sub(r"<dd\b[^>]*>", '<span class="sig-param-line">', inner)
    inner = inner.replace("</dd>", "</span>")
    return match.group(1) + inner + match.group(3)


def _summary_text(match: re.Match[str]) -> str:
    inner = re.sub(r"</?a\b[^>]*>", "", match.group(2))
    return match.group(1) + inner + match.group(3)


def accessible_body(html: str) -> str:
    """Rewrite the markup axe-core flags (see the module docstring, point 2)."""
    html = _SIG.sub(_signature_lines, html)
    html = _SUMMARY.sub(_summary_text, html)
    html = html.replace('role="doc-biblioentry"', 'role="listitem"')
    # myst-nb's toggles: the visible "Show code cell ..." text is the name.
    html = html.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    html = re.sub(r"<pre(?![^>]*tabindex)", '<pre tabindex="0"', html)
    return re.sub(
        r'<div class="table-wrapper(?![^>]*tabindex)',
        '<div tabindex="0" class="table-wrapper',
        html,
    )


def accessible_navigation(html: str) -> str:
    return re.sub(
        r'role="heading"(?! aria-level)', 'role="heading" aria-level="2"', html
    )


GENERATED_DESCRIPTIONS = {
    "genindex": "Index of every function, class and module documented in labcode, "
    "the executable lab notes: each name links to its API entry.",
    "py-modindex": "The modules of labcode, the typed Python package behind the "
    "executable lab notes, each linked to its API reference page.",
    "search": "Search the labcode notes: topic pages, runnable examples and the API "
    "reference of every labcode function.",
    "404": "No page of the labcode notes lives at this address: the home page, the "
    "search and the API reference lead to every topic.",
}


def _html_page_context(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    if "body" in context:
        context["body"] = accessible_body(context["body"])
    if context.get("furo_navigation_tree"):  # None on a page outside every toctree
        context["furo_navigation_tree"] = accessible_navigation(
            context["furo_navigation_tree"]
        )
    metatags = context.get("metatags", "")
    if pagename == "404" and 'name="description"' not in metatags:
        # Served at any missing address: a description, no canonical or Open Graph.
        description = html_escape(GENERATED_DESCRIPTIONS["404"])
        context["metatags"] = (
            f'{metatags}<meta name="description" content="{description}" />'
        )
    elif 'property="og:title"' not in metatags and pagename != "404":
        description = GENERATED_DESCRIPTIONS.get(
            pagename,
            f"{context.get('title', pagename)}: part of labcode, executable lab notes "
            "on classic algorithms.",
        )
        title = html_escape(re.sub(r"<[^>]+>", "", str(context.get("title", pagename))))
        page_url = context.get("pageurl") or f"{app.config.html_baseurl}{pagename}.html"
        tags = [
            f'<meta name="description" content="{html_escape(description)}" />',
            f'<meta property="og:title" content="{title}" />',
            '<meta property="og:type" content="website" />',
            f'<meta property="og:url" content="{html_escape(page_url)}" />',
            '<meta property="og:site_name" content="labcode" />',
            f'<meta property="og:description" content="{html_escape(description)}" />',
        ]
        context["metatags"] = metatags + "\n".join(tags)


# ------------------------------------------------------------------ robots.txt
def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    baseurl = app.config.html_baseurl.rstrip("/") + "/"
    (Path(app.outdir) / "robots.txt").write_text(
        f"User-agent: *\nAllow: /\n\nSitemap: {baseurl}sitemap.xml\n", encoding="utf-8"
    )


def _complete_sitemap(app: Sphinx, exception: Exception | None) -> None:
    """Add the pages this build did not write to sphinx-sitemap's list.

    Runs before sphinx-sitemap's own ``build-finished`` handler. A build that
    wrote nothing (a no-op) leaves the list empty, and sphinx-sitemap then keeps
    the previous ``sitemap.xml`` untouched.
    """
    links = getattr(app, "sitemap_links", None)
    if exception is not None or links is None or app.builder.name != "html":
        return
    found = []
    while True:
        try:
            found.append(links.get_nowait())
        except queue.Empty:
            break
    if found:
        written = {link for link, _ in found}
        suffix = app.config.html_file_suffix or ".html"
        for docname in sorted(app.env.found_docs):
            link = docname + suffix
            if link not in written and not is_excluded(
                link, app.config.sitemap_excludes
            ):
                found.append((link, None))
    for item in found:
        links.put(item)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _config_inited)
    app.connect(
        "doctree-read", _doctree_read, priority=400
    )  # before images are collected
    app.connect("build-finished", _build_finished)
    app.connect("build-finished", _complete_sitemap, priority=400)  # before sitemap
    app.connect("html-page-context", _html_page_context, priority=900)  # after furo
    app.add_node(
        figure_picture,
        html=(visit_figure_picture, None),
        latex=(_skip, None),
        text=(_skip, None),
    )
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
