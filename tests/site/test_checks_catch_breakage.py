"""Each site check fails on a site built to break it."""

from __future__ import annotations

import base64
import random
import struct
import zlib
from pathlib import Path

import pytest
import readers
import sitecheck
from playwright.sync_api import Browser

pytestmark = pytest.mark.site


def write(root: Path, name: str, body: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"
    )
    return path


def test_broken_link_and_anchor_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path, "index.html", '<h1 id="top">x</h1><a href="other.html#there">ok</a>'
    )
    write(
        tmp_path,
        "other.html",
        '<p id="there"></p><a href="missing.html">no</a><a href="index.html#nope">no</a>',
    )
    problems = sitecheck.broken_links(tmp_path)
    assert len(problems) == 2
    assert any("missing.html" in p and "no such file" in p for p in problems)
    assert any("#nope" in p and "no such anchor" in p for p in problems)


def test_root_absolute_link_outside_the_prefix_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "index.html",
        '<a href="/labcode/index.html">ok</a><a href="/index.html">escapes</a>',
    )
    problems = sitecheck.broken_links(tmp_path)
    assert len(problems) == 1
    assert "'/index.html'" in problems[0]
    assert "outside /labcode/" in problems[0]


def test_broken_snippet_is_reported(tmp_path: Path) -> None:
    good = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; 1 + 1\n2\n</pre></div></div>'
    wrong_output = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; 1 + 1\n3\n</pre></div></div>'
    crash = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; import not_a_module\n</pre></div></div>'
    write(tmp_path, "index.html", good + wrong_output + crash)
    found = sitecheck.snippets(tmp_path)
    assert [s.code for s in found] == ["1 + 1\n", "1 + 1\n", "import not_a_module\n"]
    results = [sitecheck.run_snippet(s) for s in found]
    assert results[0] is None
    assert "Expected:\n    3\nGot:\n    2" in (results[1] or "")
    assert "ModuleNotFoundError" in (results[2] or "")


def test_snippets_use_the_doctest_flags_of_pytest(pytestconfig: pytest.Config) -> None:
    # One place: pyproject.toml, read by pytest and by the copy-and-run check.
    names = sitecheck.doctest_flag_names()
    assert names == pytestconfig.getini("doctest_optionflags")
    assert "NUMBER" not in names  # a reader's plain doctest has no such forgiveness
    with pytest.raises(ValueError, match="'NUMBER' is not a flag"):
        sitecheck.doctest_flags(["ELLIPSIS", "NUMBER"])


def test_snippet_with_rounded_output_shown_is_reported(tmp_path: Path) -> None:
    # NUMBER would accept 0.3 for 0.30000000000000004; a reader pasting it would not.
    unrounded = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; 0.1 + 0.2\n0.3\n</pre></div></div>'
    rounded = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; round(0.1 + 0.2, 3)\n0.3\n</pre></div></div>'
    write(tmp_path, "index.html", unrounded + rounded)
    results = [sitecheck.run_snippet(s) for s in sitecheck.snippets(tmp_path)]
    assert "Got:\n    0.30000000000000004" in (results[0] or "")
    assert results[1] is None


def test_snippet_that_shows_an_error_on_purpose_passes(tmp_path: Path) -> None:
    shown = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; int("x")\nTraceback (most recent call last):\n...\nValueError: invalid literal for int() with base 10: \'x\'\n</pre></div></div>'
    wrong = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; int("x")\nTraceback (most recent call last):\n...\nTypeError: nope\n</pre></div></div>'
    write(tmp_path, "index.html", shown + wrong)
    results = [sitecheck.run_snippet(s) for s in sitecheck.snippets(tmp_path)]
    assert results[0] is None
    assert "ValueError" in (results[1] or "")


def test_external_script_is_blocked_and_reported(
    tmp_path: Path, browser: Browser
) -> None:
    write(
        tmp_path,
        "index.html",
        '<script src="https://cdn.example.com/lib.js"></script><p>hi</p>',
    )
    for site in sitecheck.serve(tmp_path):
        context = browser.new_context()
        report = sitecheck.check_page(context, site.url("index.html"), site.base)
        context.close()
    assert report.foreign_requests == ["https://cdn.example.com/lib.js"]
    assert any("another host" in p for p in report.problems())


def test_missing_image_and_console_error_are_reported(
    tmp_path: Path, browser: Browser
) -> None:
    write(
        tmp_path,
        "index.html",
        '<img src="missing.png"><script>throw new Error("boom")</script>',
    )
    for site in sitecheck.serve(tmp_path):
        context = browser.new_context()
        report = sitecheck.check_page(context, site.url("index.html"), site.base)
        context.close()
    problems = report.problems()
    assert any("image not loaded" in p for p in problems)
    assert any("boom" in p for p in problems)


# ------------------------------------------------------------------ hosting (issue 19)
def page_with_head(
    root: Path, name: str, head: str = "", body: str = "<p>x</p>"
) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<!doctype html><html lang="en"><head><title>t</title>{head}</head>'
        f"<body>{body}</body></html>"
    )
    return path


def test_render_blocking_script_is_reported(tmp_path: Path) -> None:
    page = page_with_head(
        tmp_path,
        "index.html",
        '<script src="a.js"></script><script defer src="b.js"></script>'
        '<script type="module" src="c.js"></script>',
    )
    assert readers.render_blocking_scripts(page) == ["a.js"]


def test_icon_font_is_reported(tmp_path: Path) -> None:
    page = page_with_head(
        tmp_path,
        "index.html",
        '<script defer src="_static/scripts/fontawesome.js"></script>',
    )
    assert readers.icon_font_scripts(page) == ["_static/scripts/fontawesome.js"]


def test_maths_script_or_maths_without_mathml_is_reported(tmp_path: Path) -> None:
    mathml = '<span class="math notranslate"><math><mi>x</mi></math></span>'
    good = page_with_head(tmp_path, "ok.html", "", mathml)
    script = page_with_head(
        tmp_path,
        "a.html",
        '<script defer src="_static/mathjax/tex-chtml.js"></script>',
        mathml,
    )
    katex = page_with_head(
        tmp_path, "k.html", '<script defer src="_static/katex.min.js"></script>'
    )
    tex = page_with_head(
        tmp_path, "b.html", "", '<div class="math notranslate">\\[x^2\\]</div>'
    )
    assert readers.maths_problems(good) == []
    assert readers.maths_problems(script) == [
        "loads a maths script: _static/mathjax/tex-chtml.js"
    ]
    assert readers.maths_problems(katex) == [
        "loads a maths script: _static/katex.min.js"
    ]
    assert readers.maths_problems(tex) == [
        "1 maths elements but 0 <math> elements",
        "TeX left in the page: ['\\\\[']",
    ]


def test_maths_not_drawn_or_loading_a_script_is_reported(
    tmp_path: Path, browser: Browser
) -> None:
    write(
        tmp_path,
        "index.html",
        '<span class="math"><math><mi>x</mi></math></span>'
        '<span class="math"><math style="display: inline-block; width: 0">'
        "<mi>y</mi></math></span>"
        '<details><summary>more</summary><span class="math"><math><mi>z</mi>'
        "</math></span></details>"
        '<div class="math">\\[x\\]</div><script src="mathjax/tex-chtml.js"></script>',
    )
    for site in sitecheck.serve(tmp_path):
        context = browser.new_context()
        report = sitecheck.check_page(context, site.url("index.html"), site.base)
        context.close()
    assert report.math_elements == 4
    assert report.mathml == 3
    assert report.unsized_mathml == 1  # the one in the closed <details> is not drawn
    assert len(report.maths_scripts) == 1
    problems = report.problems()
    assert "1 MathML elements drawn with no size" in problems
    assert "4 maths elements but 3 MathML elements" in problems
    assert any(p.startswith("loads a maths script: ") for p in problems)


def test_search_index_outside_search_page_or_blocking_is_reported(
    tmp_path: Path,
) -> None:
    index = page_with_head(
        tmp_path, "index.html", '<script src="searchindex.js"></script>'
    )
    search = page_with_head(
        tmp_path, "search.html", '<script src="searchindex.js"></script>'
    )
    assert "outside the search page" in readers.search_index_problems(index)[0]
    assert "not deferred" in readers.search_index_problems(search)[0]


def test_missing_canonical_description_open_graph_favicon_are_reported(
    tmp_path: Path,
) -> None:
    base = "https://example.invalid/labcode/"
    bare = page_with_head(tmp_path, "topics/a.html")
    good = page_with_head(
        tmp_path,
        "topics/b.html",
        f'<link rel="canonical" href="{base}topics/b.html">'
        '<meta name="description" content="A page about something, described at length.">'
        '<meta property="og:title" content="b"><meta property="og:type" content="article">'
        f'<meta property="og:url" content="{base}topics/b.html">'
        '<meta property="og:description" content="A page about something.">'
        '<link rel="icon" href="../_static/favicon.svg">',
    )
    problems = readers.metadata_problems(bare, tmp_path, base)
    assert len(problems) == 7, problems
    assert readers.metadata_problems(good, tmp_path, base) == []
    wrong = page_with_head(
        tmp_path,
        "c.html",
        '<link rel="canonical" href="https://example.invalid/c.html">',
    )
    assert any(
        "canonical" in p for p in readers.metadata_problems(wrong, tmp_path, base)
    )


def test_page_missing_from_sitemap_and_robots_without_sitemap_are_reported(
    tmp_path: Path,
) -> None:
    base = "https://example.invalid/labcode/"
    a = page_with_head(tmp_path, "a.html")
    b = page_with_head(tmp_path, "b.html")
    assert readers.sitemap_problems(tmp_path, [a], base) == ["no sitemap.xml"]
    (tmp_path / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}a.html</loc></url></urlset>"
    )
    (tmp_path / "robots.txt").write_text("User-agent: *\nAllow: /\n")
    problems = readers.sitemap_problems(tmp_path, [a, b], base)
    assert problems == [
        "b.html not in sitemap.xml",
        "robots.txt does not name the sitemap",
    ]


def test_asset_escaping_the_prefix_or_missing_is_reported(tmp_path: Path) -> None:
    page = page_with_head(
        tmp_path,
        "index.html",
        '<link rel="stylesheet" href="/_static/site.css">'
        '<link rel="stylesheet" href="_static/missing.css">',
    )
    for site in sitecheck.serve(tmp_path):
        assert readers.fetch_status(site.url("index.html")) == 200
        root_url = site.base.removesuffix(sitecheck.PREFIX) + "/index.html"
        assert readers.fetch_status(root_url) == 404  # only the prefix is served
        _count, problems = readers.crawl_problems(tmp_path, site.base, [page])
    assert len(problems) == 2
    assert any("escapes the prefix" in p for p in problems)
    assert any("missing.css -> 404" in p for p in problems)


def test_heavy_page_exceeds_the_byte_budget(tmp_path: Path, browser: Browser) -> None:
    noise = base64.b64encode(random.Random(0).randbytes(450_000))  # incompressible
    (tmp_path / "heavy.js").write_bytes(b"var x='" + noise + b"';")
    page_with_head(tmp_path, "index.html", '<script defer src="heavy.js"></script>')
    for site in sitecheck.serve(tmp_path):
        weight = readers.transferred_bytes(browser, site.url("index.html"))
    assert weight > readers.BUDGET_BYTES


def test_axe_reports_serious_violations(tmp_path: Path, browser: Browser) -> None:
    page_with_head(
        tmp_path,
        "index.html",
        "",
        '<main><button></button><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<p style="color:#777;background:#888">low contrast</p></main>',
    )
    for site in sitecheck.serve(tmp_path):
        page = browser.new_page()
        page.goto(site.url("index.html"))
        result = readers.axe(page)
        page.close()
    ids = {v["id"] for v in result.violations}
    assert {"button-name", "image-alt", "color-contrast"} <= ids
    assert result.count("critical") + result.count("serious") >= 3


def test_lighthouse_reports_scores_below_the_thresholds(tmp_path: Path) -> None:
    page_with_head(
        tmp_path,
        "index.html",
        "",
        '<main><p style="color:#999;background:#aaa">low contrast, no description</p></main>',
    )
    for site in sitecheck.serve(tmp_path):
        result = readers.lighthouse(site.url("index.html"))
    below = " ".join(result.below())
    assert "accessibility" in below
    assert "seo" in below


# ------------------------------------------------------------------ phone (issue 20)
def png(width: int, height: int, dpi: float = 96.0) -> bytes:
    """A blank PNG of the given size and resolution."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ppm = round(dpi / 0.0254)
    rows = b"".join(b"\0" + b"\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_png_natural_size_reads_the_dpi(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png(200, 100, dpi=192))
    assert readers.png_size(tmp_path / "a.png")[:2] == (200, 100)
    assert round(readers.natural_css_width(tmp_path / "a.png")) == 100


def test_wide_page_wide_figure_bad_alt_and_unlinked_figure_are_reported(
    tmp_path: Path, browser: Browser
) -> None:
    (tmp_path / "wide.png").write_bytes(png(1200, 300))
    page_with_head(
        tmp_path,
        "index.html",
        "",
        '<article><div style="width:700px">too wide</div>'
        '<img src="wide.png" alt="wide.png" style="max-width:100%">'
        '<div style="overflow-x:auto"><div style="width:900px">scrolls in its box</div></div>'
        "</article>",
    )
    for site in sitecheck.serve(tmp_path):
        page = browser.new_page(viewport={"width": 360, "height": 700})
        page.goto(site.url("index.html"))
        over, culprits = readers.overflow(page)
        found = readers.figures(page, tmp_path, site.base)
        page.close()
    assert over > 300
    assert any("div" in c and "700" not in c for c in culprits)
    assert len(culprits) == 1  # the scroll box's content is not a culprit
    [figure] = found
    assert figure.ratio < 0.5
    assert readers.alt_problem(figure) is not None
    assert not readers.opens_full_size(figure)
    good = readers.Figure(
        "x.png",
        300,
        400,
        "Figure with one panel: line plot of the loss",
        "http://h/x.png",
    )
    assert readers.alt_problem(good) is None
    assert readers.opens_full_size(good)


def test_figure_on_a_dark_background_in_dark_mode_is_reported(
    tmp_path: Path, browser: Browser
) -> None:
    (tmp_path / "f.png").write_bytes(png(100, 50))
    page_with_head(
        tmp_path,
        "index.html",
        "<style>@media (prefers-color-scheme: dark) {body {background:#111}}</style>",
        '<article><img src="f.png" alt="a figure of something"></article>',
    )
    for site in sitecheck.serve(tmp_path):
        page = browser.new_page(color_scheme="dark")
        page.goto(site.url("index.html"))
        [item] = page.evaluate(readers.FIGURE_BACKGROUND_JS)
        page.close()
    assert not readers.is_light(item["background"])
    assert readers.is_light("rgb(255, 255, 255)")


def test_two_search_fields_or_one_outside_the_header_are_reported(
    tmp_path: Path, browser: Browser
) -> None:
    page_with_head(
        tmp_path,
        "two.html",
        "",
        '<header><form role="search"><input type="search" name="q"></form></header>'
        '<aside><input name="q" aria-label="Search"></aside>',
    )
    page_with_head(
        tmp_path, "aside.html", "", '<aside><input type="search" name="q"></aside>'
    )
    page_with_head(
        tmp_path, "one.html", "", '<header><input type="search" name="q"></header>'
    )
    entries = {}
    for site in sitecheck.serve(tmp_path):
        page = browser.new_page()
        for name in ("two", "aside", "one"):
            page.goto(site.url(f"{name}.html"))
            entries[name] = readers.search_entry_points(page)
        page.close()
    assert "2 visible" in (readers.search_problem(entries["two"]) or "")
    assert "not in the header" in (readers.search_problem(entries["aside"]) or "")
    assert readers.search_problem(entries["one"]) is None
