"""Sphinx configuration for the labcode site (executed MyST notebooks).

Build it with ``nox -s docs``: that installs labcode into the session's
environment, which is where the Jupyter kernel that executes every page finds it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

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
    "labcode_math",  # maths as MathML, converted at build time: no maths script
    "sphinx_copybutton",
    "sphinx_design",
    "labcode_docs",
    "notfound.extension",
    "sphinx_codeautolink",
    "sphinxcontrib.bibtex",  # source-keyed execution cache, failed-build cleanup, examples
    "sphinx_sitemap",  # sitemap.xml from html_baseurl
    "sphinxext.opengraph",  # description and Open Graph tags per page
    "labcode_site",  # figures as <picture>, accessible markup, robots.txt
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
# Only type names in signatures and numpydoc "Parameters" (py:class / py:obj) may
# go unresolved, and only these: anything else must resolve under -n.
_TYPE_ROLES = r"py:(class|obj|data|exc)"
nitpick_ignore_regex = [
    # Types from libraries whose inventories we cannot fetch offline.
    (
        _TYPE_ROLES,
        r"(numpy|np|scipy|matplotlib|numbers|collections\.abc|fractions|typing|flask|werkzeug|gunicorn|pathlib|socket|ssl|os|sqlite3|datetime)\..+",
    ),
    (_TYPE_ROLES, r"NDArray|ArrayLike|FloatArray|IntArray|Any|Path|Callable"),
    # Standard-library modules named in pages ({mod}`dis`), no inventory offline.
    (r"py:mod", r"ast|dis|doctest|ssl|sqlite3|hashlib|json|importlib(\..+)?"),
    # numpydoc type vocabulary: "array_like", "ndarray", "optional", ...
    (
        _TYPE_ROLES,
        (
            r"array_like|ndarray|array|optional|scalar|callable|iterable of int|"
            r"sequence|mapping|path|float64|str to int"
        ),
    ),
    # Shapes written the numpydoc way, split by napoleon: "(N,", "C", "H'", "t + 1",
    # "(layer_sizes[0], ...)": dimension names, numbers, parameters they come from.
    (
        _TYPE_ROLES,
        r"\(?[A-Za-z]{1,2}'?[,)]?|\(?\d+[,)]?|[A-Za-z] [+-] \d+|[A-Za-z]/\d+",
    ),
    (_TYPE_ROLES, r"\(?[A-Za-z0-9_ +\-']*[,)]|\([A-Za-z0-9_ +\-']*"),
    (_TYPE_ROLES, r"layer_sizes|inverse|inverse_derivative"),
    # Choices written the numpydoc way: {'valid', 'same', 'full'}, {4, 8}.
    (_TYPE_ROLES, r"\{?'[^']*'\}?|\{?\d+\}?"),
    (_TYPE_ROLES, r"\.\.\."),
]
# A docstring reference that cannot resolve would be listed here one by one
# (never by pattern) until fixed; none remain. Any new one fails the build.
nitpick_ignore: list[tuple[str, str]] = []

# -- MyST / myst-nb ------------------------------------------------------------
myst_enable_extensions = [
    "amsmath",
    "colon_fence",
    "deflist",
    "dollarmath",
    "substitution",
]
myst_dmath_double_inline = True
myst_update_mathjax = False  # no MathJax: no tex2jax_ignore classes on sections
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

# labcode_docs: one execution cache for every page; a page executes again when
# its code changes or a labcode module it imports (found in its code) changes.
labcode_package = "labcode"
# Files that are inputs of every executed page (the kernels load the figure hook).
labcode_common_inputs = ["_ext/labcode_figures.py"]
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
# furo: one small stylesheet, inline SVG icons (no icon font, no framework JS), a
# layout made for phones. docs/_templates/page.html puts the one search field in
# the header at every width; docs/_static/labcode.css keeps wide content (long
# signatures, tables, display maths, multi-panel figures) inside a phone's screen.
html_theme = "furo"
html_title = "labcode"
html_static_path = ["_static"]
html_css_files = ["labcode.css"]
templates_path = ["_templates"]
html_favicon = "_static/favicon.svg"
html_logo = "_static/logo.svg"
html_last_updated_fmt = ""
html_sidebars = {
    "**": [
        "sidebar/scroll-start.html",
        "sidebar/navigation.html",
        "sidebar/scroll-end.html",
    ]
}
html_theme_options = {
    "sidebar_hide_name": False,
    "top_of_page_buttons": [],
    "light_css_variables": {
        "color-brand-primary": "#1d5a8c",
        "color-brand-content": "#1d5a8c",
    },
    "dark_css_variables": {
        "color-brand-primary": "#8cc4f2",
        "color-brand-content": "#8cc4f2",
    },
}
# The site must work from a local server and offline: no analytics, no CDN.
html_copy_source = True
html_show_sourcelink = True
# Maths is MathML, converted when the site is built (docs/_ext/labcode_math.py):
# browsers lay it out natively, so no page loads a maths script.
html_math_renderer = "labcode_mathml"
# Long signatures put one parameter per line (Sphinx >= 7.1), as API sites do.
maximum_signature_line_length = 68

# -- Where the site is hosted: canonical URLs, sitemap, Open Graph ---------------
# GitHub Pages (.github/workflows/pages.yml) passes its address in LABCODE_SITE_URL;
# Read the Docs passes READTHEDOCS_CANONICAL_URL. Local builds use the placeholder,
# served under the same /labcode/ prefix by the browser checks.
html_baseurl = (
    os.environ.get("LABCODE_SITE_URL")
    or os.environ.get("READTHEDOCS_CANONICAL_URL")
    or "https://example.invalid/labcode/"
).rstrip("/") + "/"
SITE_PREFIX = urlsplit(html_baseurl).path  # "/labcode/" on Pages, "/en/latest/" on RTD
sitemap_url_scheme = "{link}"
sitemap_excludes = ["search.html", "genindex.html", "404.html", "py-modindex.html"]
ogp_site_url = html_baseurl
ogp_site_name = "labcode"
ogp_type = "article"
ogp_enable_meta_description = True
ogp_description_length = 200
ogp_social_cards = {"enable": False}
ogp_image = "_static/social-card.png"
ogp_image_alt = "labcode: executable lab notes"

# -- 404 page (sphinx-notfound-page) --------------------------------------------
# The 404 page is served at any depth, so its links are absolute: the site's prefix.
notfound_urls_prefix = SITE_PREFIX
notfound_context = {
    "title": "Page not found",
    "body": (
        "<h1>Page not found</h1><p>There is no page at this address. Try the "
        f'<a href="{SITE_PREFIX}index.html">home page</a>, the '
        f'<a href="{SITE_PREFIX}search.html">search</a> '
        f'or the <a href="{SITE_PREFIX}api.html">API reference</a>.</p>'
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
