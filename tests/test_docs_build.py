"""The site's build machinery: failing cells fail the build, and nothing is stale.

Each test builds a two-page copy of the site's configuration (docs/conf.py with
the same extensions and execution settings) in a temporary folder, with a tiny
module standing in for labcode, and runs ``sphinx-build`` the way ``nox -s docs``
does. A build takes a few seconds (one Jupyter kernel per executed page).
"""

from __future__ import annotations

import importlib.util
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
import fakelab
print("value is", fakelab.VALUE)
{extra}
```
"""


class Site:
    """A miniature copy of the site in `root`, built with the real conf.py."""

    def __init__(self, root: Path) -> None:
        self.src = root / "docs"
        self.pkg = root / "fakelab"
        self.out = self.src / "_build" / "html"
        self.src.mkdir()
        self.pkg.mkdir()
        self.set_value(1)
        conf = f"""
            import runpy
            _real = runpy.run_path({str(REAL_CONF)!r})
            globals().update({{k: v for k, v in _real.items() if not k.startswith("__")}})
            labcode_watched_sources = [{str(self.pkg)!r}]
            labcode_examples_dir = ""
            nitpicky = False
            bibtex_bibfiles = [{str(REAL_CONF.parent / "references.bib")!r}]
        """
        (self.src / "conf.py").write_text(textwrap.dedent(conf))
        (self.src / "index.md").write_text("# Home\n\n```{toctree}\npage\n```\n")
        self.set_page("")

    def set_value(self, value: int) -> None:
        (self.pkg / "__init__.py").write_text(f"VALUE = {value}\n")

    def set_page(self, extra: str) -> None:
        text = PAGE.format(pkg_parent=str(self.pkg.parent), extra=extra)
        (self.src / "page.md").write_text(text)

    def build(self) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-n",
            "-d",
            str(self.src / "_build" / "doctrees"),
            str(self.src),
            str(self.out),
        ]
        return subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=300
        )

    def html(self) -> str:
        return (self.out / "page.html").read_text()


def executed(result: subprocess.CompletedProcess[str]) -> bool:
    return "page.md: Executing notebook" in result.stdout + result.stderr


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_labcode_change_re_executes_the_page(site: Site) -> None:
    first = site.build()
    assert first.returncode == 0, first.stdout + first.stderr
    assert executed(first)
    assert "value is 1" in site.html()

    again = site.build()
    assert again.returncode == 0
    assert not executed(again)
    assert "no targets are out of date" in again.stdout

    site.set_value(2)  # the "library" changes, the page does not
    third = site.build()
    assert third.returncode == 0, third.stdout + third.stderr
    assert executed(third)
    assert "value is 2" in site.html()
    assert "value is 1" not in site.html()


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


def test_find_remote_loads(tmp_path: Path) -> None:
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
