"""The site's build machinery: failing cells fail the build, and nothing is stale.

Each test builds a small copy of the site's configuration (docs/conf.py with
the same extensions and execution settings) in a temporary folder, with a tiny
package standing in for labcode, and runs ``sphinx-build`` the way ``nox -s docs``
does (in parallel). A build takes a few seconds (one Jupyter kernel per executed
page).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("myst_nb", reason="needs the docs dependency group")

REPO = Path(__file__).resolve().parent.parent
REAL_CONF = REPO / "docs" / "conf.py"

pytestmark = pytest.mark.slow

PAGE = """\
---
file_format: mystnb
kernelspec:
  name: python3
  display_name: Python 3
---

# A page

```{{code-cell}} ipython3
import sys
sys.path.insert(0, {pkg_parent!r})
{imports}
print("value is", VALUE)
{extra}
```
"""


class Site:
    """A miniature copy of the site in `root`, built with the real conf.py.

    The package ``fakelab`` stands in for labcode: ``fakelab.core`` holds VALUE,
    ``fakelab.mid`` imports it, ``fakelab.other`` is independent. ``page``
    imports ``fakelab.mid`` (so, through it, ``fakelab.core``); ``other`` imports
    ``fakelab.other``. Five pages without code make Sphinx read in parallel.
    """

    def __init__(self, root: Path) -> None:
        self.src = root / "docs"
        self.pkg = root / "fakelab"
        self.out = self.src / "_build" / "html"
        self.src.mkdir()
        self.pkg.mkdir()
        (self.pkg / "__init__.py").write_text("")
        (self.pkg / "mid.py").write_text("from .core import VALUE\n")
        (self.pkg / "other.py").write_text("VALUE = 'other'\n")
        self.set_value(1)
        conf = f"""
            import runpy, sys
            sys.path.insert(0, {str(root)!r})
            _real = runpy.run_path({str(REAL_CONF)!r})
            globals().update({{k: v for k, v in _real.items() if not k.startswith("__")}})
            labcode_package = "fakelab"
            labcode_examples_dir = ""
            nitpicky = False
            # The real site's static files (logo, favicon, CSS) stay with it.
            html_static_path = []
            html_favicon = None
            html_logo = None
            bibtex_bibfiles = [{str(REAL_CONF.parent / "references.bib")!r}]
        """
        (self.src / "conf.py").write_text(textwrap.dedent(conf))
        plain = [f"plain{i}" for i in range(5)]
        for name in plain:
            (self.src / f"{name}.md").write_text(f"# {name}\n\nNo code here.\n")
        (self.src / "execution.md").write_text(
            "# Execution\n\n```{labcode-exec-reasons}\n```\n"
        )
        toctree = "\n".join(["page", "other", "execution", *plain])
        (self.src / "index.md").write_text(
            f"# Home\n\n```{{toctree}}\n{toctree}\n```\n"
        )
        self.set_page("")
        self.set_page("", name="other", imports="from fakelab.other import VALUE")

    def set_value(self, value: int) -> None:
        (self.pkg / "core.py").write_text(f"VALUE = {value}\n")

    def set_page(
        self,
        extra: str,
        *,
        name: str = "page",
        imports: str = "from fakelab.mid import VALUE",
    ) -> None:
        text = PAGE.format(
            pkg_parent=str(self.pkg.parent), imports=imports, extra=extra
        )
        (self.src / f"{name}.md").write_text(text)

    def build(
        self, *options: str, strict: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            *(["-W", "--keep-going", "-n"] if strict else []),
            "-T",  # full tracebacks: a failing cell's error comes from the reader process
            "-j",
            "2",
            *options,
            "-d",
            str(self.src / "_build" / "doctrees"),
            str(self.src),
            str(self.out),
        ]
        return subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=300
        )

    def html(self, name: str = "page") -> str:
        return (self.out / f"{name}.html").read_text()

    def reasons(self) -> dict[str, str]:
        """The execution statistics table: page -> why it ran."""
        found = {}
        for row in re.findall(
            r"<tr[^>]*>(.*?)</tr>", self.html("execution"), re.DOTALL
        ):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
            text = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]
            if text:
                found[text[0]] = text[1]
        return found


def executed(result: subprocess.CompletedProcess[str], name: str = "page") -> bool:
    return f"{name}.md: Executing notebook" in result.stdout + result.stderr


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def outputs(site: Site) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()}


def test_a_page_runs_again_only_when_its_inputs_change(site: Site) -> None:
    first = site.build()
    assert first.returncode == 0, first.stdout + first.stderr
    assert executed(first, "page")
    assert executed(first, "other")
    assert "value is 1" in site.html()
    assert site.reasons() == {"other": "not in the cache", "page": "not in the cache"}

    # Nothing changed: nothing is read, executed or rewritten.
    before = outputs(site)
    again = site.build()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 added, 0 changed, 0 removed" in again.stdout
    assert not executed(again, "page")
    assert not executed(again, "other")
    assert outputs(site) == before

    # A module the page imports through another one changes: that page runs,
    # the other page (which does not import it) is not even read.
    site.set_value(2)
    third = site.build()
    assert third.returncode == 0, third.stdout + third.stderr
    assert executed(third, "page")
    assert not executed(third, "other")
    assert "value is 2" in site.html()
    assert "value is 1" not in site.html()
    assert site.reasons() == {"other": "cached", "page": "fakelab.core changed"}

    # A page's own code changes: it alone runs.
    site.set_page(
        "print('edited')", name="other", imports="from fakelab.other import VALUE"
    )
    fourth = site.build()
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert executed(fourth, "other")
    assert not executed(fourth, "page")
    assert site.reasons() == {"other": "source changed", "page": "cached"}

    # Undoing the change to the module runs the page again (no stale output).
    site.set_value(1)
    fifth = site.build()
    assert fifth.returncode == 0, fifth.stdout + fifth.stderr
    assert executed(fifth, "page")
    assert "value is 1" in site.html()


def test_failing_cell_fails_the_build_naming_the_page(site: Site) -> None:
    assert site.build().returncode == 0
    site.set_page("1 / 0")
    broken = site.build()
    log = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "page.md" in log
    assert "ZeroDivisionError" in log
    assert "Traceback" in log

    # Building again without a fix must fail again, not report success.
    again = site.build()
    assert again.returncode != 0
    assert "ZeroDivisionError" in again.stdout + again.stderr

    site.set_page("")
    fixed = site.build()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_a_warning_is_not_forgotten_by_the_next_build(site: Site) -> None:
    # A broken cross-reference is a warning, an error under -W; the page itself is
    # read and pickled, so without care the next build would say "up to date".
    (site.src / "index.md").write_text(
        "# Home\n\nSee {ref}`no-such-label`.\n\n```{toctree}\npage\n```\n"
    )
    first = site.build()
    assert first.returncode != 0
    assert "no-such-label" in first.stderr
    second = site.build()
    assert second.returncode != 0
    assert "no-such-label" in second.stderr
    assert not executed(second)  # the execution cache still serves the good page


def test_a_third_party_script_fails_the_build(site: Site) -> None:
    conf = site.src / "conf.py"
    conf.write_text(
        conf.read_text() + '\nhtml_js_files = ["https://cdn.example.invalid/x.js"]\n'
    )
    result = site.build()
    assert result.returncode != 0
    assert (
        "loads https://cdn.example.invalid/x.js from a third-party host"
        in result.stderr
    )


def test_find_remote_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "docs" / "_ext"))  # its sibling modules
    spec = importlib.util.spec_from_file_location(
        "labcode_docs", REPO / "docs" / "_ext" / "labcode_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    find_remote_loads = module.find_remote_loads
    (tmp_path / "a.html").write_text(
        '<a href="https://example.org/">a link is fine</a>'
        '<link rel="canonical" href="https://example.org/page">'
        '<script src="_static/local.js"></script>'
        '<link rel="stylesheet" href="https://fonts.example.com/css">'
        '<img src="//cdn.example.com/x.png">'
        "<script\n  src='http://example.com/a.js'></script>"
    )
    (tmp_path / "s.css").write_text(
        "@import 'https://fonts.example.com/f.css'; a { background: url(local.png) }"
    )
    found = sorted(url for _, url in find_remote_loads(tmp_path))
    assert found == [
        "//cdn.example.com/x.png",
        "http://example.com/a.js",
        "https://fonts.example.com/css",
        "https://fonts.example.com/f.css",
    ]


MATHS = r"""# Maths

Inline $\operatorname{Var}(X) = \mathbb{E}[X^2] - \mathbb{E}[X]^2$ and $\bigl(h'(y)\bigr)$.

$$
\frac{a}{b} + \sum_{i=1}^{n} x_i^2 = \left\| x \right\|_2^2
$$ (eq-sum)

```{math}
a &= b \\
c &= \text{d}
```

\begin{align}
x &= \begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix} \\
y &= 2
\end{align}

See {eq}`eq-sum`.
"""


def test_maths_is_mathml_and_the_page_loads_no_maths_script(site: Site) -> None:
    (site.src / "plain0.md").write_text(MATHS)
    # A cell whose output is maths (text/latex): it becomes MathML too.
    site.set_page('from IPython.display import Math\nMath(r"\\sum_{i=1}^{n} i")')
    result = site.build()
    assert result.returncode == 0, result.stdout + result.stderr
    html = site.html("plain0")
    assert html.count("<math") == 5
    assert html.count('<math display="block">') == 3
    # Each display box may scroll on a phone: it takes keyboard focus.
    boxes = re.findall(r'<div class="[^"]*\bmath notranslate\b[^"]*"[^>]*>', html)
    assert len(boxes) == 3
    assert all('tabindex="0"' in box for box in boxes)
    assert '<span class="eqno">(1)' in html  # Sphinx's number of eq-sum
    assert 'href="#equation-eq-sum"' in html
    assert "<mtable" in html  # the aligned rows and the matrix
    assert "<mi>h</mi><mo" in html  # the prime beside h, not raised twice
    # \bigl( is its glyph at 1.2 times the size, not a stretchy operator
    assert 'stretchy="false" lspace="0" rspace="0" style="font-size: 120.0%">(' in html
    for whole in (html, site.html("page")):
        assert "mathjax" not in whole.lower()
        body = whole.split("<body", 1)[1]  # (the meta description quotes the TeX)
        assert "\\(" not in body
        assert "\\[" not in body
        assert "\\begin" not in body
    output = re.search(r'<math display="block">(.*?)</math>', site.html("page"))
    assert output is not None
    assert "<munderover><mo" in output.group(1)  # the sum of the cell's output
    assert not (site.out / "_static" / "mathjax").exists()


def test_unsupported_maths_fails_the_build_naming_it(site: Site) -> None:
    (site.src / "plain1.md").write_text(
        "# Bad maths\n\nFine $x^2$, unknown $\\nosuchcommand{x}$.\n\n"
        "$$\n\\frac{1}{2} \\alsonotacommand\n$$\n"
    )
    broken = site.build()
    log = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "2 maths expression(s) math-core cannot convert" in log
    assert "plain1.md:3" in log
    assert 'Unknown command "\\nosuchcommand"' in log
    assert "in: \\nosuchcommand{x}" in log
    assert 'Unknown command "\\alsonotacommand"' in log
    # Building again without a fix fails again: no page is left with raw TeX.
    again = site.build()
    assert again.returncode != 0
    assert "\\nosuchcommand" in again.stdout + again.stderr
    (site.src / "plain1.md").write_text("# Good maths\n\nFine $x^2$.\n")
    fixed = site.build()
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "<math><msup><mi>x</mi><mn>2</mn></msup></math>" in site.html("plain1")


def sitemap_pages(site: Site) -> set[str]:
    text = (site.out / "sitemap.xml").read_text()
    return {loc.rsplit("/", 1)[-1] for loc in re.findall(r"<loc>([^<]+)</loc>", text)}


def test_the_sitemap_lists_every_page_after_an_incremental_build(site: Site) -> None:
    # sphinx-sitemap lists the pages a build writes (its issue #13); labcode_site
    # adds the others, so rebuilding one page keeps the whole site in the sitemap.
    first = site.build()
    assert first.returncode == 0, first.stdout + first.stderr
    every = {f"{name}.html" for name in ("index", "page", "other", "execution")}
    every |= {f"plain{i}.html" for i in range(5)}
    assert sitemap_pages(site) == every
    (site.src / "plain3.md").write_text("# plain3\n\nEdited.\n")
    again = site.build()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 changed" in again.stdout
    assert sitemap_pages(site) == every


def test_one_page_builds_alone(site: Site) -> None:
    # What `nox -s docs -- --page section/lonely` asks of Sphinx (no -W there):
    # only the index and the page are read, so the page's own toctree parent is
    # not, and the theme gives the page no navigation tree (this used to crash
    # labcode_site).
    (site.src / "section").mkdir()
    (site.src / "section" / "index.md").write_text(
        "# Section\n\n```{toctree}\nlonely\n```\n"
    )
    (site.src / "section" / "lonely.md").write_text("# Lonely\n\nA page.\n")
    index = site.src / "index.md"
    index.write_text(
        index.read_text().replace("execution\n", "execution\nsection/index\n")
    )
    result = site.build(
        "-D",
        "include_patterns=index.md,section/lonely.md",
        "-D",
        "nitpicky=0",
        "-D",
        "suppress_warnings=toc.not_readable,ref.doc",
        strict=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lonely" in (site.out / "section" / "lonely.html").read_text()
    assert not (site.out / "plain1.html").exists()
