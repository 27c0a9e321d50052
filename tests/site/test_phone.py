"""Every page legible on a phone (issue 20): nothing past the screen edge at 320,
360 and 390 px in light and dark mode, figures at least half their natural size at
360 px with alt text and a link to the full size, figures on a light card in dark
mode, one search entry point in the header at every width. Screenshots of every
page at 360 px light and 1280 px dark land in docs/_build/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import readers
import sitecheck
from playwright.sync_api import Browser

pytestmark = pytest.mark.site

WIDTHS = (*readers.PHONE_WIDTHS, readers.WIDE)


# Per page (path relative to the site root): each measurement by name; the
# readers return different shapes (tuples, lists of figures, dicts).
Survey = dict[str, dict[str, Any]]


@pytest.fixture(scope="session")
def phone_survey(
    site_root: Path, local_site: sitecheck.LocalSite, browser: Browser
) -> Survey:
    """Load every page once per width; measure light and dark; take screenshots."""
    shots = site_root.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    pages = sitecheck.html_files(site_root)
    survey: Survey = {}
    for width in WIDTHS:
        context = browser.new_context(
            viewport={"width": width, "height": 780}, color_scheme="light"
        )
        for path in pages:
            rel = path.relative_to(site_root).as_posix()
            row = survey.setdefault(rel, {})
            page = context.new_page()
            page.goto(local_site.url(rel), wait_until="load")
            stem = rel.removesuffix(".html").replace("/", "--")
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                row[f"overflow {width} {scheme}"] = readers.overflow(page)
                row[f"search {width} {scheme}"] = readers.search_entry_points(page)
            if width == 360:
                page.emulate_media(color_scheme="light")
                row["figures"] = readers.figures(page, site_root, local_site.base)
                page.screenshot(
                    path=str(shots / f"{stem}-360-light.png"), full_page=True
                )
            if width == readers.WIDE:
                page.emulate_media(color_scheme="dark")
                readers.load_all_images(page)
                row["dark figure backgrounds"] = page.evaluate(
                    readers.FIGURE_BACKGROUND_JS
                )
                page.screenshot(
                    path=str(shots / f"{stem}-1280-dark.png"), full_page=True
                )
            page.close()
        context.close()
    return survey


def test_no_page_is_wider_than_a_phone_screen(phone_survey: Survey) -> None:
    wide = {}
    counts = {}
    for width in readers.PHONE_WIDTHS:
        for scheme in ("light", "dark"):
            over = {
                rel: row[f"overflow {width} {scheme}"]
                for rel, row in phone_survey.items()
                if row[f"overflow {width} {scheme}"][0] > 1
            }
            counts[f"{width} {scheme}"] = len(over)
            wide.update({f"{rel} at {width} {scheme}": o for rel, o in over.items()})
    print("pages wider than the screen:", json.dumps(counts))
    assert len(phone_survey) > 20
    assert wide == {}


def test_figures_at_least_half_their_natural_size_at_360(phone_survey: Survey) -> None:
    shown = [f for row in phone_survey.values() for f in row["figures"]]
    small = [f"{f.src}: {f.ratio:.2f}" for f in shown if f.ratio < 0.5]
    print(
        f"figures at 360 px: {len(shown)}, smallest ratio "
        f"{min((f.ratio for f in shown), default=1):.2f}"
    )
    assert len(shown) >= 10
    assert small == []


def test_every_figure_has_alt_text_that_says_what_it_shows(
    phone_survey: Survey,
) -> None:
    problems = [
        p
        for row in phone_survey.values()
        for f in row["figures"]
        if (p := readers.alt_problem(f))
    ]
    assert problems == []


def test_every_figure_opens_at_full_size(phone_survey: Survey) -> None:
    problems = [
        f"{rel}: {f.src}"
        for rel, row in phone_survey.items()
        for f in row["figures"]
        if not readers.opens_full_size(f)
    ]
    assert problems == []


def test_figures_sit_on_a_light_card_in_dark_mode(phone_survey: Survey) -> None:
    problems = [
        f"{rel}: {item}"
        for rel, row in phone_survey.items()
        for item in row["dark figure backgrounds"]
        if not readers.is_light(item["background"])
    ]
    count = sum(len(row["dark figure backgrounds"]) for row in phone_survey.values())
    assert count >= 10
    assert problems == []


def test_one_search_entry_point_in_the_header_at_every_width(
    phone_survey: Survey,
) -> None:
    problems = []
    for rel, row in phone_survey.items():
        for width in WIDTHS:
            for scheme in ("light", "dark"):
                problem = readers.search_problem(row[f"search {width} {scheme}"])
                if problem:
                    problems.append(f"{rel} at {width} {scheme}: {problem}")
    assert problems == []


def test_screenshots_of_every_page(phone_survey: Survey, site_root: Path) -> None:
    shots = site_root.parent / "screenshots"
    for rel in phone_survey:
        stem = rel.removesuffix(".html").replace("/", "--")
        for name in (f"{stem}-360-light.png", f"{stem}-1280-dark.png"):
            assert (shots / name).stat().st_size > 1000, name
