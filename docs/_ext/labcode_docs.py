"""Sphinx glue for the labcode site: per-page execution caching and example pages.

What this extension guarantees:

1. **A page executes again exactly when one of its inputs changed.** myst-nb's
   execution cache (jupyter-cache, one shared cache) keys a page on its own code
   cells. Its other inputs are found in that code (see :mod:`page_inputs`): the
   labcode modules its cells import, directly or through other labcode modules,
   and the files it reads. Their hashes are stamped beside the cache; when a
   stamp differs, Sphinx reads the page again and its cached execution is
   dropped, so it runs. No other page does. The execution statistics page shows
   per page why it ran ("source changed", "labcode.vm changed", "cached").
2. **A failed build is never remembered as a good one.** When a build ends with
   warnings (which ``-W`` turns into errors) the saved environment is deleted,
   so the next build reads every page again instead of saying "no targets are
   out of date" and keeping the broken page. Sphinx itself already does this
   when the build raises.
3. **The site makes no third-party request.** After an HTML build every page
   and stylesheet is scanned for scripts, styles, fonts, images or frames loaded
   from another host; each one is a warning, so ``-W`` fails the build.
4. **A build that changes nothing rewrites nothing.** Sphinx writes its search
   index, indices and static files again on every build; an output file whose
   content came out identical gets its previous timestamp back, so a no-op
   build leaves ``docs/_build/html`` as it was (for deploys and browser caches).
5. **Examples are pages.** The scripts in ``examples/`` are copied into
   ``docs/examples/`` (only when their content changed, so Sphinx sees no spurious
   change) where myst-nb reads them as jupytext percent notebooks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from myst_nb.sphinx_ import NbMetadataCollector
from myst_nb.sphinx_ext import add_global_html_resources
from page_inputs import PackageGraph, file_digest, page_code, page_inputs
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging as sphinx_logging
from sphinx.util.docutils import SphinxDirective

logger = sphinx_logging.getLogger(__name__)

ENV_PICKLE = "environment.pickle"
STAMPS = "labcode_inputs"  # beside jupyter-cache's own files, in the same folder
MEMO = "_syntax.json"  # what the syntax trees of labcode and the pages said


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


# ---------------------------------------------------------------- page inputs
class _State:
    """Per-process state: the package's import graph, pages being read."""

    graph: ClassVar[PackageGraph | None] = None
    saved: ClassVar[dict[str, list[str]]] = {}
    reading: ClassVar[dict[str, tuple[dict[str, str], list[str] | None, set[int]]]] = {}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(str(next(iter(spec.submodule_search_locations))))
    return None


def _cache_root(app: Sphinx) -> Path:
    root: str = app.config.labcode_cache_root
    return (Path(app.srcdir) / root).resolve()


def _inputs(app: Sphinx, docname: str) -> dict[str, str] | None:
    """The inputs of an executed page besides its code; None for other pages."""
    path = Path(app.env.doc2path(docname))
    if path.suffix not in {".md", ".py"} or _State.graph is None:
        return None
    if not page_code(path).strip():
        return None
    root = (Path(app.srcdir) / app.config.labcode_root).resolve()
    inputs = page_inputs(path, _State.graph, root)
    for name in app.config.labcode_common_inputs:
        common = (Path(app.srcdir) / name).resolve()
        inputs[common.relative_to(root).as_posix()] = file_digest(common)
    return dict(sorted(inputs.items()))


def _stamp_path(app: Sphinx, docname: str) -> Path:
    return _cache_root(app) / STAMPS / (docname.replace("/", "--") + ".json")


def _read_stamp(app: Sphinx, docname: str) -> dict[str, str] | None:
    path = _stamp_path(app, docname)
    if not path.is_file():
        return None
    stamp: dict[str, str] = json.loads(path.read_text())
    return stamp


def _records(app: Sphinx, source: str) -> dict[int, Any]:
    """jupyter-cache's executions of the notebook at `source`, by primary key."""
    cache = get_cache(app.config.nb_execution_cache_path)
    return {r.pk: r for r in cache.list_cache_records() if r.uri == source}


def _config_inited(app: Sphinx, config: Config) -> None:
    srcdir = Path(app.srcdir)
    cache_root = (srcdir / config.labcode_cache_root).resolve()
    # One cache for every page; a page's other inputs are stamped beside it.
    config.nb_execution_cache_path = str(cache_root)
    package_dir = _package_dir(config.labcode_package)
    memo_file = cache_root / STAMPS / MEMO
    memo = json.loads(memo_file.read_text()) if memo_file.is_file() else {}
    _State.saved = dict(memo)
    _State.graph = PackageGraph(package_dir, memo) if package_dir else None
    if config.labcode_examples_dir:
        src = (srcdir / config.labcode_examples_dir).resolve()
        if src.is_dir():
            sync_examples(src, srcdir / config.labcode_examples_dest)


def _changed(now: dict[str, str], then: dict[str, str] | None) -> list[str] | None:
    if then is None:
        return None
    return sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))


def _get_outdated(
    app: Sphinx,
    env: BuildEnvironment,
    added: set[str],
    changed: set[str],
    removed: set[str],
) -> list[str]:
    """Pages whose inputs changed since their execution: read (and run) them again."""
    _reasons(env).clear()  # the statistics page describes this build
    outdated = []
    for docname in sorted(env.all_docs.keys() - added - changed - removed):
        inputs = _inputs(app, docname)
        if inputs is not None and inputs != _read_stamp(app, docname):
            outdated.append(docname)
    if outdated:
        logger.info("inputs changed for %s", ", ".join(outdated))
    if _State.graph is not None and _State.graph.used != _State.saved:
        # What the syntax trees said, for the next build (only what is in use).
        memo_file = _cache_root(app) / STAMPS / MEMO
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        memo_file.write_text(json.dumps(_State.graph.used, indent=0, sort_keys=True))
    return outdated


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    """Before myst-nb looks up the cache: drop an execution that saw other inputs."""
    inputs = _inputs(app, docname)
    if inputs is None:
        return
    stamp = _read_stamp(app, docname)
    uri = str(app.env.doc2path(docname))
    if stamp != inputs:
        cache = get_cache(app.config.nb_execution_cache_path)
        for pk in _records(app, uri):
            cache.remove_cache(pk)
    _State.reading[docname] = (inputs, _changed(inputs, stamp), set(_records(app, uri)))


def _env_data(env: BuildEnvironment, name: str, empty: Any) -> Any:
    """Data this extension keeps in the (pickled) build environment."""
    if not hasattr(env, name):
        setattr(env, name, empty)
    return getattr(env, name)


def _reasons(env: BuildEnvironment) -> dict[str, dict[str, Any]]:
    """Why each page read in this build ran (or did not)."""
    reasons: dict[str, dict[str, Any]] = _env_data(env, "labcode_reasons", {})
    return reasons


def _pages(env: BuildEnvironment) -> dict[str, list[str]]:
    """Every executed page and the inputs found in its code."""
    pages: dict[str, list[str]] = _env_data(env, "labcode_pages", {})
    return pages


def _doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    """After the page is read (and maybe executed): record why, stamp its inputs."""
    env = app.env
    docname = env.docname
    if docname not in _State.reading:
        return
    inputs, changed, before = _State.reading.pop(docname)
    uri = str(env.doc2path(docname))
    executed = bool(set(_records(app, uri)) - before)
    if not executed:
        reason = "cached"
    elif changed is None:
        reason = "not in the cache"
    elif changed:
        reason = ", ".join(changed) + " changed"
    else:
        reason = "source changed"
    data = NbMetadataCollector.get_exec_data(env, docname) or {}
    _reasons(env)[docname] = {"reason": reason, "runtime": data.get("runtime")}
    _pages(env)[docname] = sorted(inputs)
    stamp = _stamp_path(app, docname)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(inputs, indent=1))


def _purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _reasons(env).pop(docname, None)
    _pages(env).pop(docname, None)
    _tables(env).discard(docname)


def _merge_info(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    for docname in docnames:
        if docname in _reasons(other):
            _reasons(env)[docname] = _reasons(other)[docname]
        if docname in _pages(other):
            _pages(env)[docname] = _pages(other)[docname]
        if docname in _tables(other):
            _tables(env).add(docname)


# ------------------------------------------------ the execution statistics table
def _tables(env: BuildEnvironment) -> set[str]:
    """The pages that show the execution statistics table."""
    tables: set[str] = _env_data(env, "labcode_tables", set())
    return tables


class exec_reasons_node(nodes.General, nodes.Element):
    """Placeholder for the table, filled in once every page has been read."""


class ExecReasons(SphinxDirective):
    """``{labcode-exec-reasons}``: per executed page, why it ran in the last build."""

    def run(self) -> list[nodes.Node]:
        _tables(self.env).add(self.env.docname)
        return [exec_reasons_node()]


def _cell(text: str, *, literal: bool = False) -> nodes.entry:
    inner: nodes.Node = nodes.literal(text=text) if literal else nodes.Text(text)
    return nodes.entry("", nodes.paragraph("", "", inner))


class FillExecReasons(SphinxPostTransform):
    """Replace the placeholder with the table of pages, reasons and inputs."""

    default_priority = 8  # before references are resolved

    def run(self, **kwargs: Any) -> None:
        for node in list(self.document.findall(exec_reasons_node)):
            node.replace_self(self._table())

    def _table(self) -> nodes.table:
        heads = ["Page", "Why it ran", "Run time (s)", "labcode modules and files"]
        table = nodes.table(classes=["colwidths-auto"])
        group = nodes.tgroup(cols=len(heads))
        table += group
        for _ in heads:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        row = nodes.row()
        for text in heads:
            row += _cell(text)
        head += row
        group += head
        body = nodes.tbody()
        reasons = _reasons(self.env)
        for docname, inputs in sorted(_pages(self.env).items()):
            info = reasons.get(docname, {"reason": "cached", "runtime": None})
            row = nodes.row()
            link = addnodes.pending_xref(
                "",
                nodes.inline(text=docname),
                refdomain="std",
                reftype="doc",
                reftarget="/" + docname,
                refexplicit=True,
                refdoc=self.env.docname,
            )
            row += nodes.entry("", nodes.paragraph("", "", link))
            row += _cell(info["reason"])
            runtime = info.get("runtime")
            executed = info["reason"] != "cached" and runtime is not None
            row += _cell(f"{runtime:.1f}" if executed else "-")
            row += _cell(", ".join(inputs) or "none", literal=bool(inputs))
            body += row
        group += body
        return table


def _env_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """When pages were read, the statistics page is written again."""
    return sorted(_tables(env)) if _reasons(env) else []


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
    ``*.css`` for ``url(...)`` and ``@import``. JavaScript files are not scanned
    (the site's scripts are Sphinx's and the theme's own).
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


class _WarningCounter(logging.Handler):
    """Counts the warnings Sphinx reports (the ones ``suppress_warnings`` lets by)."""

    def __init__(self, app: Sphinx) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        suppressed = sphinx_logging.is_suppressed_warning(
            getattr(record, "type", ""),
            getattr(record, "subtype", ""),
            self.app.config.suppress_warnings,
        )
        if not suppressed:
            self.count += 1


_COUNTERS: dict[int, _WarningCounter] = {}
_OUTPUTS: dict[int, dict[Path, tuple[int, str]]] = {}


def _outputs(outdir: Path) -> dict[Path, tuple[int, str]]:
    """Timestamp and content hash of every output file."""
    found = {}
    for path in outdir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found[path] = (path.stat().st_mtime_ns, hashlib.sha1(data).hexdigest())
    return found


def _builder_inited(app: Sphinx) -> None:
    counter = _WarningCounter(app)
    _COUNTERS[id(app)] = counter
    logging.getLogger(sphinx_logging.NAMESPACE).addHandler(counter)
    _OUTPUTS[id(app)] = _outputs(Path(app.outdir))
    if app.builder.format == "html":
        # myst-nb copies its stylesheet after the pages are written, so pages of
        # a first build link it without the ?v= checksum that later builds add
        # (and genindex/search/404, written every time, would change once).
        (Path(app.outdir) / "_static").mkdir(parents=True, exist_ok=True)
        add_global_html_resources(app, None)


def _keep_timestamps(app: Sphinx, exception: Exception | None) -> None:
    """Give an output file rewritten with the same content its old timestamp."""
    before = _OUTPUTS.pop(id(app), {})
    if exception is not None:
        return
    for path, (mtime, digest) in before.items():
        try:
            stat = path.stat()
            if stat.st_mtime_ns == mtime:
                continue
            if hashlib.sha1(path.read_bytes()).hexdigest() == digest:
                os.utime(path, ns=(stat.st_atime_ns, mtime))
        except FileNotFoundError:
            continue


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    counter = _COUNTERS.pop(id(app), None)
    if counter is not None:
        logging.getLogger(sphinx_logging.NAMESPACE).removeHandler(counter)
    warned = counter is not None and counter.count > 0
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
    """Register the config values, the statistics table and the event handlers."""
    app.setup_extension("labcode_topics")  # the registry's tables and toctrees
    # Paths are relative to the Sphinx source directory.
    app.add_config_value("labcode_package", "labcode", "env", str)
    app.add_config_value("labcode_root", "..", "env", str)
    # Files every executed page depends on besides its own inputs (kernel hooks).
    app.add_config_value("labcode_common_inputs", [], "env", list)
    app.add_config_value("labcode_cache_root", "_build/.jupyter_cache", "env", str)
    app.add_config_value("labcode_examples_dir", "", "env", str)
    app.add_config_value("labcode_examples_dest", "examples", "env", str)
    # Run before myst-nb reads its own configuration (priority < 500).
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("builder-inited", _builder_inited)
    app.connect("env-get-outdated", _get_outdated)
    app.connect("source-read", _source_read)
    app.connect("doctree-read", _doctree_read)
    app.connect("env-purge-doc", _purge_doc)
    app.connect("env-merge-info", _merge_info)
    app.connect("env-updated", _env_updated)
    app.add_node(exec_reasons_node)
    app.add_directive("labcode-exec-reasons", ExecReasons)
    app.add_post_transform(FillExecReasons)
    app.connect("html-page-context", _download_links)
    app.connect("build-finished", _check_offline, priority=400)
    app.connect("build-finished", _build_finished, priority=900)
    app.connect("build-finished", _keep_timestamps, priority=950)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
