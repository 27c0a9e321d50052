"""Sphinx glue for the labcode site: honest execution caching and example pages.

What this extension guarantees:

1. **No stale outputs.** myst-nb's execution cache (jupyter-cache) keys a page on
   its own code cells only, so a change to labcode itself would be served from
   the cache. Here the cache lives in a folder named after a hash of the labcode
   sources, and the same hash is a Sphinx config value that triggers a full
   re-read when it changes: edit labcode and every page executes again.
2. **A failed build is never remembered as a good one.** When a build ends with
   warnings (which ``-W`` turns into errors) the saved environment is deleted,
   so the next build reads every page again instead of saying "no targets are
   out of date" and keeping the broken page. Sphinx itself already does this
   when the build raises.
3. **The site makes no third-party request.** After an HTML build every page
   and stylesheet is scanned for scripts, styles, fonts, images or frames loaded
   from another host; each one is a warning, so ``-W`` fails the build.
4. **Examples are pages.** The scripts in ``examples/`` are copied into
   ``docs/examples/`` (only when their content changed, so Sphinx sees no spurious
   change) where myst-nb reads them as jupytext percent notebooks.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat
from jupyter_cache import get_cache
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

logger = logging.getLogger(__name__)

ENV_PICKLE = "environment.pickle"


def source_hash(paths: list[Path]) -> str:
    """Return a hash of every ``.py`` file under `paths` (names and contents)."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def sync_examples(src: Path, dest: Path) -> None:
    """Copy ``src/*.py`` to `dest`, touching only files whose content changed."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {p.name: p for p in sorted(src.glob("*.py"))}
    for stale in dest.glob("*.py"):
        if stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        target = dest / name
        data = path.read_bytes()
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)


def _config_inited(app: Sphinx, config: Config) -> None:
    srcdir = Path(app.srcdir)
    watched = [(srcdir / p).resolve() for p in config.labcode_watched_sources]
    digest = source_hash([p for p in watched if p.exists()])
    config.labcode_source_hash = digest

    cache_root = (srcdir / config.labcode_cache_root).resolve()
    cache_dir = cache_root / digest
    if cache_root.is_dir():
        for old in cache_root.iterdir():
            if old.is_dir() and old.name != digest:
                shutil.rmtree(old, ignore_errors=True)
    config.nb_execution_cache_path = str(cache_dir)
    logger.info("labcode sources hash %s; execution cache %s", digest, cache_dir)

    if config.labcode_examples_dir:
        src = (srcdir / config.labcode_examples_dir).resolve()
        if src.is_dir():
            sync_examples(src, srcdir / config.labcode_examples_dest)


# Resources a browser fetches by itself (links in <a href> are navigation, not loads).
_TAG_RE = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed)\b[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
_ATTR_RE = re.compile(
    r"\b(src|href|srcset|data)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE
)
_CSS_URL_RE = re.compile(
    r"(?:url\(\s*[\"']?|@import\s+[\"'])((?:https?:)?//[^\"')\s]+)", re.IGNORECASE
)


def _is_remote(url: str) -> bool:
    return url.strip().lower().startswith(("http://", "https://", "//"))


def find_remote_loads(outdir: Path) -> list[tuple[str, str]]:
    """Return ``(file, url)`` for every resource the built site loads from another host.

    Scans ``*.html`` for script, stylesheet, image, media and frame tags (a
    ``<link>`` counts only when it is loaded: stylesheet, preload, icon, ...), and
    ``*.css`` for ``url(...)`` and ``@import``. JavaScript files are not scanned;
    the only remote URLs in them (MathJax's menu) are links, not loads.
    """
    found: list[tuple[str, str]] = []
    for page in sorted(outdir.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for tag in _TAG_RE.finditer(text):
            element = tag.group(0)
            if tag.group(1).lower() == "link" and not re.search(
                r"rel\s*=\s*[\"'][^\"']*(stylesheet|preload|icon|modulepreload|manifest)",
                element,
                re.IGNORECASE,
            ):
                continue
            for _attr, value in _ATTR_RE.findall(element):
                for url in value.split(","):
                    if _is_remote(url):
                        found.append(
                            (str(page.relative_to(outdir)), url.strip().split()[0])
                        )
    for sheet in sorted(outdir.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        found.extend(
            (str(sheet.relative_to(outdir)), url) for url in _CSS_URL_RE.findall(text)
        )
    return found


def _check_offline(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for where, url in find_remote_loads(Path(app.outdir)):
        logger.warning(
            "%s loads %s from a third-party host; serve it locally", where, url
        )


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    warned = getattr(app, "_warncount", 0) > 0
    if exception is None and not warned:
        return
    envfile = Path(app.doctreedir) / ENV_PICKLE
    if envfile.is_file():
        envfile.unlink()
        logger.info(
            "build had problems: removed %s so the next build reads every page", envfile
        )


def _with_outputs(app: Sphinx, path: Path) -> Any:
    """The executed notebook: as written by myst-nb, or merged from its cache.

    In cache mode myst-nb writes the notebook without outputs and keeps them in
    jupyter-cache; a page without a cached execution gets no download.
    """
    notebook = nbformat.read(path, as_version=4)
    if any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"):
        return notebook
    try:
        cache = get_cache(app.config.nb_execution_cache_path)
        _, merged = cache.merge_match_into_notebook(notebook)
    except KeyError:  # jupyter-cache: no cached execution matches
        return None
    return merged


def _download_links(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Offer every executed page's source and executed notebook for download.

    myst-nb writes each executed notebook to ``jupyter_execute/<page>.ipynb``
    beside the HTML output; it is copied, with the page's source, to
    ``_notebooks/`` in the site, and the page gets links to both.
    """
    if app.builder.format != "html" or doctree is None:
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    notebook = _with_outputs(app, executed)
    if notebook is None:
        return
    source = Path(app.env.doc2path(pagename))
    target_dir = Path(app.outdir) / "_notebooks" / Path(pagename).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    name = Path(pagename).name
    nbformat.write(notebook, target_dir / f"{name}.ipynb")
    shutil.copyfile(source, target_dir / f"{name}{source.suffix}")
    pathto = context["pathto"]
    nb_url = pathto(f"_notebooks/{pagename}.ipynb", 1)
    src_url = pathto(f"_notebooks/{pagename}{source.suffix}", 1)
    context["body"] = context.get("body", "") + (
        '<div class="labcode-downloads admonition note"><p class="admonition-title">'
        "Download this page</p><p>"
        f'<a class="reference download" href="{src_url}" download>source '
        f"(<code>{name}{source.suffix}</code>)</a> &middot; "
        f'<a class="reference download" href="{nb_url}" download>executed notebook '
        f"(<code>{name}.ipynb</code>)</a></p></div>"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the config values and event handlers."""
    # Paths are relative to the Sphinx source directory.
    app.add_config_value("labcode_watched_sources", ["../labcode"], "env", list)
    app.add_config_value("labcode_cache_root", "_build/.jupyter_cache", "env", str)
    app.add_config_value("labcode_examples_dir", "", "env", str)
    app.add_config_value("labcode_examples_dest", "examples", "env", str)
    # Set from the hash at config-inited; a change forces every page to be re-read.
    app.add_config_value("labcode_source_hash", "", "env", str)
    # Run before myst-nb reads its own configuration (priority < 500).
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("html-page-context", _download_links)
    app.connect("build-finished", _check_offline, priority=400)
    app.connect("build-finished", _build_finished, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
