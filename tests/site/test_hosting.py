"""The hosted site (issue 19): served under /labcode/ as GitHub Pages serves a
project, fast on a phone (Lighthouse mobile), light (bytes on the wire, no
render-blocking script, no icon font, maths as MathML with no maths script,
the search index only on the search page), accessible (axe-core, light and dark),
findable (canonical URLs, description and Open Graph, sitemap, robots.txt)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import readers
import sitecheck
from playwright.sync_api import Browser

pytestmark = pytest.mark.site

BASEURL = "https://example.invalid/labcode/"  # docs/conf.py without LABCODE_SITE_URL


@pytest.fixture(scope="session")
def pages(site_root: Path) -> list[Path]:
    found: list[Path] = sitecheck.html_files(site_root)
    return found


@pytest.fixture(scope="session")
def baseurl() -> str:
    return os.environ.get("LABCODE_SITE_URL", BASEURL).rstrip("/") + "/"


def test_every_page_and_asset_loads_under_the_prefix(
    site_root: Path, local_site: sitecheck.LocalSite, pages: list[Path]
) -> None:
    assert local_site.base.endswith(sitecheck.PREFIX)
    count, problems = readers.crawl_problems(site_root, local_site.base, pages)
    print(f"under {sitecheck.PREFIX}/: {count} pages and assets fetched")
    assert count > len(pages)
    assert problems == []


def test_no_render_blocking_script(site_root: Path, pages: list[Path]) -> None:
    blocking = {
        str(p.relative_to(site_root)): s
        for p in pages
        if (s := readers.render_blocking_scripts(p))
    }
    assert blocking == {}


def test_no_icon_font(site_root: Path, pages: list[Path]) -> None:
    found = {
        str(p.relative_to(site_root)): s
        for p in pages
        if (s := readers.icon_font_scripts(p))
    }
    assert found == {}


def test_maths_is_mathml_with_no_maths_script(
    site_root: Path, pages: list[Path]
) -> None:
    problems = {
        str(p.relative_to(site_root)): m
        for p in pages
        if (m := readers.maths_problems(p))
    }
    with_maths = [p for p in pages if readers.head(p).maths]
    assert len(with_maths) >= 5
    assert len(with_maths) < len(pages)
    assert problems == {}
    assert not (site_root / "_static" / "mathjax").exists()


def test_search_index_only_on_the_search_page_deferred(
    site_root: Path, pages: list[Path]
) -> None:
    problems = {
        str(p.relative_to(site_root)): m
        for p in pages
        if (m := readers.search_index_problems(p))
    }
    assert problems == {}


def test_canonical_description_open_graph_favicon(
    site_root: Path, pages: list[Path], baseurl: str
) -> None:
    problems = {
        str(p.relative_to(site_root)): m
        for p in pages
        if p.name != "404.html"
        and (m := readers.metadata_problems(p, site_root, baseurl))
    }
    assert problems == {}


def test_logo_in_the_header(site_root: Path, pages: list[Path]) -> None:
    missing = [
        str(p.relative_to(site_root))
        for p in pages
        if 'class="site-logo"' not in p.read_text(encoding="utf-8")
    ]
    assert missing == []
    assert (site_root / "_static" / "logo.svg").is_file()


def test_sitemap_and_robots(site_root: Path, pages: list[Path], baseurl: str) -> None:
    listed = [
        p
        for p in pages
        if p.name
        not in ("404.html", "search.html", "genindex.html", "py-modindex.html")
    ]
    assert readers.sitemap_problems(site_root, listed, baseurl) == []


def test_page_weight_within_budget(
    site_root: Path,
    local_site: sitecheck.LocalSite,
    browser: Browser,
    pages: list[Path],
) -> None:
    """At most 400 KB on the wire (gzip) for a page without images, maths pages
    included (their maths is MathML in the page: no script, no font to fetch)."""
    weights, over = {}, {}
    for path in pages:
        h = readers.head(path)
        rel = str(path.relative_to(site_root))
        weights[rel] = readers.transferred_bytes(browser, local_site.url(path))
        plain = not [i for i in h.images if "site-logo" not in str(i.get("class"))]
        if plain and weights[rel] > readers.BUDGET_BYTES:
            over[rel] = weights[rel]
    print("bytes on the wire per page:", json.dumps(weights))
    assert over == {}


def test_axe_no_serious_or_critical_violation_light_and_dark(
    site_root: Path,
    local_site: sitecheck.LocalSite,
    browser: Browser,
    pages: list[Path],
) -> None:
    report_path = site_root.parent / "axe-report.json"
    report, serious = {}, []
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        for path in pages:
            rel = str(path.relative_to(site_root))
            page = context.new_page()
            page.goto(local_site.url(path), wait_until="load")
            result = readers.axe(page)
            page.close()
            report[f"{rel} {scheme}"] = {
                impact: result.listing(impact)
                for impact in ("critical", "serious", "moderate", "minor")
            }
            serious += [
                f"{rel} ({scheme}): {v}"
                for v in result.listing("critical") + result.listing("serious")
            ]
        context.close()
    report_path.write_text(json.dumps(report, indent=1))
    moderate = sorted({v for r in report.values() for v in r["moderate"]})
    print(f"axe: moderate violations listed in {report_path}: {moderate}")
    assert serious == []


def test_lighthouse_mobile_scores(local_site: sitecheck.LocalSite) -> None:
    """Performance at least 0.90, accessibility, best practices and SEO 1.0 on
    every page, maths pages included (their maths is MathML: no script, nothing
    typeset after load). One Chrome runs Lighthouse on all pages in turn."""
    selected = [
        str(p.relative_to(local_site.root))
        for p in sitecheck.html_files(local_site.root)
    ]
    run = readers.lighthouse_pages([local_site.url(rel) for rel in selected])
    results, problems = {}, []
    for rel, result, seconds in zip(selected, run.results, run.seconds, strict=True):
        results[rel] = {**result.scores, "bytes": result.transferred, "s": seconds}
        problems += [
            f"{rel}: {b} ({', '.join(result.failed_audits)})" for b in result.below()
        ]
    print("lighthouse (mobile):", json.dumps(results))
    print(
        f"lighthouse: {len(selected)} pages in {sum(run.seconds):.0f} s "
        f"({max(run.seconds):.1f} s the slowest page)"
    )
    assert len(selected) > 30
    assert problems == []
