"""Fixtures for the checks of the built site (run by `nox -s browser`)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))

import sitecheck

SITE = Path(__file__).resolve().parents[2] / "docs" / "_build" / "html"


@pytest.fixture(scope="session")
def site_root() -> Path:
    if not (SITE / "index.html").exists():
        pytest.fail(
            f"no built site at {SITE}: run `nox -s docs` (or `nox -s browser`) first"
        )
    return SITE


@pytest.fixture(scope="session")
def local_site(site_root: Path) -> Iterator[sitecheck.LocalSite]:
    yield from sitecheck.serve(site_root)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail(
            "Debian's chromium is not installed (apt-get install -y chromium): the browser checks need it"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, args=sitecheck.CHROMIUM_ARGS
        )
        yield browser
        browser.close()
