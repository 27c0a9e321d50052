"""The built site as readers meet it: every page in a real browser, every
snippet copied and run, every internal link followed."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sitecheck
from playwright.sync_api import Browser

pytestmark = pytest.mark.site


def test_every_page_loads_cleanly(
    site_root: Path,
    local_site: sitecheck.LocalSite,
    browser: Browser,
    record_property: Callable[[str, object], None],
) -> None:
    context = browser.new_context()
    pages = sitecheck.html_files(site_root)
    start = time.perf_counter()
    problems, blocked, math_pages = [], 0, 0
    for page in pages:
        report = sitecheck.check_page(context, local_site.url(page), local_site.base)
        problems += [f"{page.relative_to(site_root)}: {p}" for p in report.problems()]
        blocked += len(report.foreign_requests)
        math_pages += bool(report.mathml)
    context.close()
    summary = {
        "pages": len(pages),
        "pages with MathML": math_pages,
        "requests blocked": blocked,
        "seconds": round(time.perf_counter() - start, 1),
    }
    print("browser check:", json.dumps(summary))
    record_property("browser_summary", summary)
    assert len(pages) > 20
    assert math_pages >= 5
    assert problems == []


def test_search_finds_a_page_by_a_word_of_its_body(
    local_site: sitecheck.LocalSite, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(local_site.url("search.html") + "?q=Noble", wait_until="load")
    page.wait_for_selector("ul.search li a", timeout=20000)
    hrefs = page.eval_on_selector_all(
        "ul.search li a", "els => els.map(e => e.getAttribute('href'))"
    )
    page.close()
    assert any("harris-corners" in h for h in hrefs), hrefs


def test_copy_button_copies_code_without_prompts_or_output(
    local_site: sitecheck.LocalSite, browser: Browser
) -> None:
    context = browser.new_context()
    context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=local_site.base
    )
    page = context.new_page()
    page.goto(local_site.url("index.html"), wait_until="load")
    block = page.locator("div.highlight-pycon, div.doctest").first
    block.hover()
    block.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()
    assert ">>>" not in copied
    assert "..." not in copied.replace("...,", "")
    assert "array([ 3., -1.])" not in copied  # the output line stays behind
    assert copied.splitlines()[0] == "import numpy as np"


def test_phone_viewport_and_dark_mode(
    local_site: sitecheck.LocalSite, browser: Browser, site_root: Path
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark"
    )
    page = context.new_page()
    page.goto(local_site.url("topics/harris-corners.html"), wait_until="load")
    shots = site_root.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "harris-corners-390x844-dark.png"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    # furo follows the system's colour scheme ("auto") until the reader picks one.
    theme = page.evaluate("document.body.dataset.theme")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context.close()
    assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
    assert theme in ("auto", "dark")
    channels = [
        int(c)
        for c in background[background.index("(") + 1 : background.index(")")].split(
            ","
        )[:3]
    ]
    assert sum(channels) / 3 < 100, background


def test_every_snippet_runs_as_copied(site_root: Path) -> None:
    found = sitecheck.snippets(site_root)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(sitecheck.run_snippet, found) if f]
    pages = {s.page for s in found}
    print(
        f"snippets: {len(found)} from {len(pages)} pages run in {time.perf_counter() - start:.0f} s"
    )
    assert len(found) >= 50
    assert failures == []


def test_no_broken_internal_links(site_root: Path) -> None:
    problems = sitecheck.broken_links(site_root)
    assert problems == []


def test_topic_pages_and_examples_offer_downloads(site_root: Path) -> None:
    pages = sorted(site_root.glob("topics/*.html")) + sorted(
        site_root.glob("examples/*.html")
    )
    assert len(pages) >= 15
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "labcode-downloads" in text, page
        stem = f"_notebooks/{page.relative_to(site_root).with_suffix('')}"
        assert (site_root / f"{stem}.ipynb").is_file(), page
        notebook = json.loads((site_root / f"{stem}.ipynb").read_text(encoding="utf-8"))
        outputs = sum(
            len(c.get("outputs", []))
            for c in notebook["cells"]
            if c["cell_type"] == "code"
        )
        assert outputs > 0, f"{page}: the downloadable notebook has no outputs"


def test_names_in_code_link_to_the_api_and_back(site_root: Path) -> None:
    topic = (site_root / "topics" / "harris-corners.html").read_text(encoding="utf-8")
    assert 'href="../api/corners.html#labcode.corners.harris_response"' in topic
    api = (site_root / "api" / "corners.html").read_text(encoding="utf-8")
    assert 'href="../topics/harris-corners.html' in api


def test_bibliography_404_execution_and_performance_pages(site_root: Path) -> None:
    bibliography = (site_root / "bibliography.html").read_text(encoding="utf-8")
    for key_text in ["glorot", "harris", "problem details", "stack versus registers"]:
        assert key_text in bibliography.lower()
    assert "Page not found" in (site_root / "404.html").read_text(encoding="utf-8")
    execution = (site_root / "execution.html").read_text(encoding="utf-8")
    assert "harris-corners" in execution
    assert "Performance" in (site_root / "performance.html").read_text(encoding="utf-8")
