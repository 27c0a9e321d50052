"""Each site check fails on a site built to break it."""

from __future__ import annotations

import pytest
import sitecheck

pytestmark = pytest.mark.site


def write(root, name, body):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"
    )
    return path


def test_broken_link_and_anchor_are_reported(tmp_path):
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


def test_broken_snippet_is_reported(tmp_path):
    good = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; 1 + 1\n2\n</pre></div></div>'
    wrong_output = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; 1 + 1\n3\n</pre></div></div>'
    crash = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; import not_a_module\n</pre></div></div>'
    write(tmp_path, "index.html", good + wrong_output + crash)
    found = sitecheck.snippets(tmp_path)
    assert [s.code for s in found] == ["1 + 1\n", "1 + 1\n", "import not_a_module\n"]
    results = [sitecheck.run_snippet(s) for s in found]
    assert results[0] is None
    assert "Expected:\n    3\nGot:\n    2" in results[1]
    assert "ModuleNotFoundError" in results[2]


def test_snippets_use_the_doctest_flags_of_pytest(pytestconfig):
    # One place: pyproject.toml, read by pytest and by the copy-and-run check.
    names = sitecheck.doctest_flag_names()
    assert names == pytestconfig.getini("doctest_optionflags")
    assert "NUMBER" not in names  # a reader's plain doctest has no such forgiveness
    with pytest.raises(ValueError, match="'NUMBER' is not a flag"):
        sitecheck.doctest_flags(["ELLIPSIS", "NUMBER"])


def test_snippet_with_rounded_output_shown_is_reported(tmp_path):
    # NUMBER would accept 0.3 for 0.30000000000000004; a reader pasting it would not.
    unrounded = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; 0.1 + 0.2\n0.3\n</pre></div></div>'
    rounded = '<div class="doctest highlight-default"><div class="highlight"><pre>&gt;&gt;&gt; round(0.1 + 0.2, 3)\n0.3\n</pre></div></div>'
    write(tmp_path, "index.html", unrounded + rounded)
    results = [sitecheck.run_snippet(s) for s in sitecheck.snippets(tmp_path)]
    assert "Got:\n    0.30000000000000004" in results[0]
    assert results[1] is None


def test_external_script_is_blocked_and_reported(tmp_path, browser):
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


def test_missing_image_and_console_error_are_reported(tmp_path, browser):
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
