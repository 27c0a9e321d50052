"""Measure a built site the way the browser checks see it, and print the numbers.

    python tests/site/survey.py docs/_build/html [--lighthouse PAGE ...] [--json OUT]

Per page: bytes transferred (gzip) on first load, axe-core violations by impact
in light and dark mode, how far the page is wider than a 320/360/390 px screen,
and figures shown below half their natural size at 360 px; Lighthouse (mobile)
for the pages named. Used for the before/after numbers in the notes; the tests
in tests/site assert thresholds on the same functions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import readers
import sitecheck
from playwright.sync_api import sync_playwright


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("site", type=Path)
    parser.add_argument("--lighthouse", nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-axe", action="store_true")
    args = parser.parse_args()
    root = args.site.resolve()
    pages = sitecheck.html_files(root)
    out: dict[str, dict[str, object]] = {}
    chromium = shutil.which("chromium")
    for site in sitecheck.serve(root):
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, args=sitecheck.CHROMIUM_ARGS
            )
            for path in pages:
                rel = path.relative_to(root).as_posix()
                url = site.url(rel)
                row: dict[str, object] = {}
                row["bytes"] = readers.transferred_bytes(browser, url)
                if not args.no_axe:
                    for scheme in ("light", "dark"):
                        context = browser.new_context(color_scheme=scheme)
                        page = context.new_page()
                        page.goto(url, wait_until="load")
                        result = readers.axe(page)
                        row[f"axe_{scheme}"] = {
                            impact: result.count(impact)
                            for impact in ("critical", "serious", "moderate", "minor")
                        }
                        row[f"axe_{scheme}_ids"] = sorted(
                            {
                                str(v["id"]) + ":" + str(v["impact"])
                                for v in result.violations
                            }
                        )
                        context.close()
                for width in readers.PHONE_WIDTHS:
                    context = browser.new_context(
                        viewport={"width": width, "height": 800}
                    )
                    page = context.new_page()
                    page.goto(url, wait_until="load")
                    over, culprits = readers.overflow(page)
                    row[f"over_{width}"] = over
                    if over > 1:
                        row[f"culprits_{width}"] = culprits
                    if width == 360:
                        figs = readers.figures(page, root, site.base)
                        row["figures"] = len(figs)
                        row["small_figures"] = [
                            (f.src.rsplit("/", 1)[-1], round(f.ratio, 2))
                            for f in figs
                            if f.ratio < 0.5
                        ]
                    context.close()
                out[rel] = row
                print(rel, json.dumps(row), flush=True)
            browser.close()
        for rel in args.lighthouse:
            scored = readers.lighthouse(site.url(rel))
            out[rel]["lighthouse"] = scored.scores
            out[rel]["lighthouse_bytes"] = scored.transferred
            out[rel]["lighthouse_failed"] = scored.failed_audits
            print(
                rel,
                "lighthouse",
                json.dumps(out[rel]["lighthouse"]),
                scored.transferred,
                scored.failed_audits,
                flush=True,
            )
    n = len(out)
    summary = {
        "pages": n,
        "over_by_width": {
            w: sum(1 for r in out.values() if int(r[f"over_{w}"]) > 1)  # type: ignore[call-overload,misc]
            for w in readers.PHONE_WIDTHS
        },
        "figures": sum(int(r["figures"]) for r in out.values()),  # type: ignore[call-overload]
        "small_figures": sum(len(r["small_figures"]) for r in out.values()),  # type: ignore[arg-type,misc]
        "median_bytes": sorted(int(r["bytes"]) for r in out.values())[n // 2],  # type: ignore[call-overload]
    }
    if not args.no_axe:
        for scheme in ("light", "dark"):
            summary[f"axe_{scheme}"] = {
                impact: sum(r[f"axe_{scheme}"][impact] for r in out.values())  # type: ignore[index]
                for impact in ("critical", "serious", "moderate", "minor")
            }
    print("SUMMARY", json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "pages": out}, indent=1))


if __name__ == "__main__":
    main()
