"""Maths rendered when the site is built: LaTeX to MathML Core, no script on the page.

Every maths node (MyST ``$...$``, ``$$...$$`` and amsmath environments in pages,
``:math:`` and ``.. math::`` in docstrings, ``text/latex`` notebook outputs)
becomes native MathML, converted by `math-core`_ (a LaTeX to MathML Core
converter, a compiled wheel from PyPI, no node and no browser needed). Browsers
lay MathML Core out themselves (Chromium >= 109, Firefox, Safari), so a page
with maths loads no maths script, typesets nothing after load (no blocking time,
no layout shift) and screen readers read the MathML.

An expression the converter cannot handle fails the build: every failing
expression of a page is logged with its location, and the build stops with
`MathConversionError` naming the page and the expressions. Nothing falls back
to raw TeX.

How Sphinx's maths is put together (as ``sphinx.ext.mathjax`` does it): a
display block made of several paragraphs (blank lines) is one ``aligned``
environment, one row each; a paragraph with a line break (``\\\\``) outside any
environment is an ``aligned`` environment of its own (Sphinx wraps those in
``split``, which math-core does not know). Amsmath environments (MyST's
``amsmath`` extension) are numbered by Sphinx; they are converted in their
starred form, with Sphinx's number beside them as on any numbered equation.

Two things are adjusted for how browsers draw MathML: ``\\substack`` (which
math-core lacks) is a one-column ``subarray``, and primes stand beside their
base instead of in a superscript (see `_unraise_primes`). The page's CSS
(docs/_static/labcode.css) chooses a maths font that phones have.

.. _math-core: https://pypi.org/project/math-core/
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from functools import cache
from html.entities import html5
from importlib.metadata import version
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import math_core
from docutils import nodes
from sphinx.errors import SphinxError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.writers.html5 import HTML5Translator

logger = logging.getLogger(__name__)

RENDERER = "labcode_mathml"

# LaTeX that math-core does not know, spelled with what it knows.
MACROS = {"substack": r"\begin{subarray}{c}#1\end{subarray}"}

# Numbered amsmath environments; Sphinx numbers the block, math-core must not.
_NUMBERED_ENVIRONMENTS = r"equation|align|gather|multline"
_ENVIRONMENT_RE = re.compile(
    rf"\\(begin|end)\{{({_NUMBERED_ENVIRONMENTS})\}}",
)
_TOKEN_RE = re.compile(r"\\begin\{[^}]*\}|\\end\{[^}]*\}|\\\\|\\[{}]|[{}]")
_ENTITY_RE = re.compile(r"&(?!(?:lt|gt|amp|quot|apos);)(\w+);")
PRIMES = frozenset("\u2032\u2033\u2034\u2057")  # prime, double, triple, quadruple
# Delimiters Chromium spaces out when stretchy (bars are laid out tight).
SIZED_FENCES = frozenset("()[]{}\u27e8\u27e9\u230a\u230b\u2308\u2309")


class MathConversionError(SphinxError):
    """A maths expression that math-core cannot convert to MathML."""

    category = "Maths conversion error"


@cache
def _converter() -> math_core.LatexToMathML:
    # One per process (Sphinx reads and writes in forked processes).
    return math_core.LatexToMathML(macros=MACROS, fancy_error=False)


def _is_prime(element: ET.Element) -> bool:
    return element.tag == "mo" and (element.text or "") in PRIMES


def _prime_beside(base: ET.Element, prime: ET.Element) -> ET.Element:
    row = ET.Element("mrow")
    prime.set("lspace", "0")
    prime.set("rspace", "0")
    row.extend([base, prime])
    return row


def _unraise_primes(element: ET.Element) -> None:
    """``<msup>base<mo>PRIME</mo></msup>`` becomes ``<mrow>base<mo>PRIME</mo></mrow>``.

    The prime characters of Unicode are already raised; as a superscript they
    are raised twice and drawn at script size (a speck above the letter) unless
    the browser applies the font's ``ssty`` variants, which Chromium does not.
    Beside their base they look as TeX's ``h'`` does. ``f'_i`` keeps the
    subscript (f-prime, subscript i); ``x'^2`` keeps the rest of its
    superscript (x-prime, squared).
    """
    for index, child in enumerate(list(element)):
        _unraise_primes(child)
        replacement = None
        if child.tag in ("msup", "msubsup") and len(child) in (2, 3):
            base, script = child[0], child[-1]
            if _is_prime(script):
                replacement = _prime_beside(base, script)
                if child.tag == "msubsup":
                    sub = ET.Element("msub")
                    sub.extend([replacement, child[1]])
                    replacement = sub
            elif script.tag == "mrow" and len(script) > 1 and _is_prime(script[0]):
                prime = script[0]
                script.remove(prime)
                rest = script[0] if len(script) == 1 else script
                child[:] = [_prime_beside(base, prime), *child[1:-1], rest]
        if replacement is not None:
            element[index] = replacement


def _sized_delimiter(mo: ET.Element) -> ET.Element | None:
    """A non-stretchy stand-in for a ``\\big``-family delimiter, or ``None``.

    math-core writes ``\\bigl(`` as ``<mo minsize="1.2em" maxsize="1.2em">(</mo>``:
    a stretchy operator of fixed size. Chromium lays every stretchy parenthesis
    out as wide as the widest of the font's variants (Chromium issue 40254692):
    ``\\bigl( h(y) \\bigr)`` reads ``( h(y) )``. The size is known here, so the
    delimiter is the plain glyph at that size instead, lowered so that it stays
    centred on the maths axis (a parenthesis is centred a quarter em up).
    """
    size = mo.get("minsize", "")
    if (
        mo.tag != "mo"
        or (mo.text or "") not in SIZED_FENCES
        or not size.endswith("em")
        or mo.get("maxsize") != size
        or mo.get("form") is not None
        or mo.get("stretchy") not in (None, "true")
    ):
        return None
    scale = float(size[:-2])
    glyph = ET.Element(
        "mo",
        {
            "stretchy": "false",
            "lspace": "0",
            "rspace": "0",
            "style": f"font-size: {scale * 100:.1f}%",
        },
    )
    glyph.text = mo.text
    lowered = ET.Element("mpadded", {"voffset": f"{-(scale - 1) * 0.25:.3f}em"})
    lowered.append(glyph)
    return lowered


def _fixed_size_delimiters(element: ET.Element) -> None:
    """Replace every ``\\big``-family delimiter below `element` (`_sized_delimiter`)."""
    for index, child in enumerate(list(element)):
        replacement = _sized_delimiter(child)
        if replacement is not None:
            element[index] = replacement
        else:
            _fixed_size_delimiters(child)


def _mathml_of(latex: str, *, display: bool) -> str:
    out = _converter().convert_with_local_state(latex, displaystyle=display)
    if not PRIMES.intersection(out) and "maxsize=" not in out:
        return out
    # math-core writes a few named entities (&ApplyFunction;) that XML lacks.
    xml = _ENTITY_RE.sub(lambda m: html5.get(m.group(1) + ";", m.group(0)), out)
    root = ET.fromstring(xml)
    _unraise_primes(root)
    _fixed_size_delimiters(root)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def to_mathml(latex: str, *, display: bool) -> str:
    """Convert `latex` to a MathML ``<math>`` element.

    Parameters
    ----------
    latex : str
        The expression, without delimiters.
    display : bool
        Display style (a block of its own) rather than inline.

    Returns
    -------
    str
        ``<math>...</math>``, with ``display="block"`` when `display`.

    Raises
    ------
    math_core.LatexError
        When the expression uses LaTeX the converter does not know.

    Examples
    --------
    >>> to_mathml(r"x^2", display=False)
    '<math><msup><mi>x</mi><mn>2</mn></msup></math>'
    >>> to_mathml(r"h'", display=False) == (
    ...     '<math><mrow><mi>h</mi><mo lspace="0" rspace="0">\u2032</mo></mrow></math>'
    ... )
    True
    """
    return _mathml_of(latex, display=display)


def _breaks_line(latex: str) -> bool:
    r"""Whether `latex` has a line break ``\\`` outside every group and environment."""
    depth = 0
    for token in _TOKEN_RE.findall(latex):
        if token == "{" or token.startswith(r"\begin"):
            depth += 1
        elif token == "}" or token.startswith(r"\end"):
            depth -= 1
        elif token == "\\\\" and depth == 0:
            return True
    return False


def block_latex(node: nodes.math_block) -> str:
    """The LaTeX of a display block as one expression (see the module docstring)."""
    text = node.astext()
    if node.get("no-wrap", node.get("nowrap", False)):
        return _ENVIRONMENT_RE.sub(r"\\\1{\2*}", text)
    parts = [
        rf"\begin{{aligned}}{part}\end{{aligned}}" if _breaks_line(part) else part
        for part in (p.strip() for p in text.split("\n\n"))
        if part
    ]
    if len(parts) > 1:
        return r"\begin{aligned}" + r"\\".join(parts) + r"\end{aligned}"
    return parts[0] if parts else ""


def _latex(node: nodes.Element) -> tuple[str, bool]:
    if isinstance(node, nodes.math_block):
        return block_latex(node), True
    return node.astext(), False


def _where(node: nodes.Node, docname: str) -> str:
    source, line = node.source, node.line
    if source and line:
        return f"{docname} ({source}:{line})"
    return f"{docname} ({source})" if source else docname


def _problem(node: nodes.Element, docname: str) -> str | None:
    latex, display = _latex(node)
    try:
        to_mathml(latex, display=display)
    except math_core.LatexError as error:
        return f"{_where(node, docname)}: {error} in: {latex}"
    return None


def _check_page(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Convert every expression of a page before it is written; fail naming all
    that fail (after myst-nb has chosen which output of a cell to show: an
    output's ``text/latex`` alternative is maths only when it is the one shown)."""
    problems = []
    for node in chain(doctree.findall(nodes.math), doctree.findall(nodes.math_block)):
        problem = _problem(node, docname)
        if problem is not None:
            logger.error("cannot convert maths to MathML: %s", problem, location=node)
            problems.append(problem)
    if problems:
        listed = "\n".join(problems)
        msg = f"{len(problems)} maths expression(s) math-core cannot convert:\n{listed}"
        raise MathConversionError(msg)


def _mathml(self: HTML5Translator, node: nodes.Element) -> str:
    latex, display = _latex(node)
    try:
        return to_mathml(latex, display=display)
    except math_core.LatexError as error:
        where = _where(node, self.builder.current_docname)
        msg = f"cannot convert maths to MathML: {where}: {error} in: {latex}"
        raise MathConversionError(msg) from error


def visit_math(self: HTML5Translator, node: nodes.math) -> None:
    """Inline maths: ``<span class="math"><math>...</math></span>``."""
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(_mathml(self, node) + "</span>")
    raise nodes.SkipNode


def visit_math_block(self: HTML5Translator, node: nodes.math_block) -> None:
    """Display maths: ``<div class="math">``, Sphinx's number and link, the MathML.

    Display maths wider than the screen scrolls in its box (labcode.css): the
    box takes keyboard focus so that it can be scrolled without a pointer.
    """
    self.body.append(self.starttag(node, "div", CLASS="math notranslate", tabindex="0"))
    if node.get("number"):
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_mathml(self, node) + "</div>\n")
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    # What the MathML is made by: a new math-core or an edit here rewrites
    # every page (an html-rebuild config value enters Sphinx's build hash).
    made_by = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    app.add_config_value(
        "labcode_math_made_by",
        f"math-core {version('math-core')}, labcode_math {made_by}",
        "html",
        types=frozenset({str}),
    )
    app.add_html_math_renderer(
        RENDERER,
        inline_renderers=(visit_math, None),
        block_renderers=(visit_math_block, None),
    )
    app.connect("doctree-resolved", _check_page)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
