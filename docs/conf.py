"""Sphinx configuration for the labcode site (executed MyST notebooks).

Build it with ``nox -s docs``: that installs labcode into the session's
environment, which is where the Jupyter kernel that executes every page finds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import labcode

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

# -- Project -------------------------------------------------------------------
project = "labcode"
author = "The labcode developers"
copyright = "2026, the labcode developers"
release = labcode.__version__
version = ".".join(release.split(".")[:2])

# -- Extensions ----------------------------------------------------------------
extensions = [
    "myst_nb",  # MyST markdown + notebooks; brings myst-parser with it
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # numpydoc-style docstrings
    "sphinx_autodoc_typehints",  # must come after napoleon
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static: no CDN request
    "sphinx_copybutton",
    "sphinx_design",
    "labcode_docs",
    "notfound.extension",
    "sphinx_codeautolink",
    "sphinxcontrib.bibtex",  # source-keyed execution cache, failed-build cleanup, examples
]

exclude_patterns = [
    "_build",
    "_ext",
    "conf.py",
    "Thumbs.db",
    ".DS_Store",
    "**.ipynb_checkpoints",
]

# Warnings are errors (-W) and every reference must resolve (-n); see noxfile.py.
nitpicky = True
nitpick_ignore_regex = [
    # Types from libraries whose inventories we cannot fetch offline.
    (
        r"py:.*",
        r"(numpy|np|scipy|matplotlib|numbers|collections\.abc|fractions|typing|flask|werkzeug|pathlib|ssl|os|sqlite3|datetime)(\..*)?",
    ),
    (r"py:.*", r"(NDArray|ArrayLike|FloatArray|Any)"),
    # numpydoc type vocabulary and shapes such as "(m, n) array_like".
    (r"py:.*", r"(array_like|ndarray|array|optional|scalar|callable|iterable of int)"),
    (r"py:.*", r"\(?[A-Za-z0-9_ +\-']*[,)]?\)?"),
    # Choices written the numpydoc way: {'valid', 'same', 'full'}.
    (r"py:.*", r"\{?'[^']*'\}?"),
    (r"py:.*", r"\.\.\."),
]

# -- MyST / myst-nb ------------------------------------------------------------
myst_enable_extensions = [
    "amsmath",
    "colon_fence",
    "deflist",
    "dollarmath",
    "substitution",
]
myst_dmath_double_inline = True
myst_heading_anchors = 3

nb_execution_mode = "cache"
nb_execution_raise_on_error = True  # a failing cell fails the build...
nb_execution_show_tb = True  # ...and the log shows the traceback
nb_execution_timeout = 300  # seconds per cell
nb_execution_excludepatterns: list[str] = []
nb_merge_streams = True
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # no widget JS from a CDN
# examples/*.py are jupytext percent scripts, read as notebooks.
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_kernel_rgx_aliases = {".*": "python3"}

# labcode_docs: pages execute again whenever these sources change.
labcode_watched_sources = ["../labcode"]
labcode_cache_root = "_build/.jupyter_cache"
labcode_examples_dir = "../examples"
labcode_examples_dest = "examples"

# -- autodoc / napoleon / typehints --------------------------------------------
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": False,
}
autodoc_typehints = "description"
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True
typehints_use_rtype = False
typehints_document_rtype = False
always_use_bars_union = True

# -- Copy button: a copied ">>>" snippet runs as it is --------------------------
# Only prompt lines are copied (output lines are dropped) and the prompts removed.
copybutton_prompt_text = r">>> |\.\.\. |\$ |In \[\d*\]: | {2,5}\.\.\.: "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_remove_prompts = True
copybutton_line_continuation_character = ""

# -- HTML ----------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "labcode"
html_static_path: list[str] = []
html_last_updated_fmt = ""
# An explicit default colour mode: without it the theme's script logs
# "Got invalid theme mode" on a first visit with empty storage.
html_context = {"default_mode": "auto"}
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "home_page_in_toc": True,
}
# The site must work from a local server and offline: no analytics, no CDN.
html_copy_source = True
html_show_sourcelink = True

# -- 404 page (sphinx-notfound-page) --------------------------------------------
# The site is served from the root of its host; the 404 page's links are absolute.
notfound_urls_prefix = "/"
notfound_context = {
    "title": "Page not found",
    "body": (
        "<h1>Page not found</h1><p>There is no page at this address. Try the "
        '<a href="/index.html">home page</a>, the <a href="/search.html">search</a> '
        'or the <a href="/api.html">API reference</a>.</p>'
    ),
}

# -- Bibliography (sphinxcontrib-bibtex) ----------------------------------------
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# -- Names in code link to the API (sphinx-codeautolink) ---------------------------
# Every name used in a code cell links to its API entry, and every API entry gets
# an "examples" list of the pages that use it. Offline: no intersphinx.
codeautolink_autodoc_inject = True
codeautolink_concat_default = True
codeautolink_warn_on_missing_inventory = False
codeautolink_warn_on_failed_resolve = False
