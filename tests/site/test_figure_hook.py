"""The kernel hook that gives every page figure its alt text and a narrow variant
(docs/_ext/labcode_figures.py), and the Sphinx side that reads them back
(docs/_ext/labcode_site.py)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.site

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("IPython")

import labcode_figures
import labcode_site
import matplotlib.pyplot as plt
from IPython.core import pylabtools
from matplotlib.figure import Figure

labcode_figures.install()


def png_of(fig: Figure) -> tuple[list[tuple[bytes, bytes]], dict[str, str]]:
    data = pylabtools.print_figure(fig, fmt="png", bbox_inches="tight")
    plt.close(fig)
    chunks = labcode_site.png_chunks(data)
    return chunks, labcode_site.png_text(chunks)


def test_four_panels_side_by_side_get_a_narrow_variant_and_alt_text() -> None:
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), layout="constrained")
    for number, ax in enumerate(axes):
        ax.plot([0, 1], [0, number])
        ax.set_title(f"panel {number}")
        ax.set_xlabel("$\\sigma$")
    chunks, text = png_of(fig)
    wide_width, _ = labcode_site.css_size(chunks)
    narrow_width, narrow_height = labcode_site.css_size(
        labcode_site.png_chunks(base64.b64decode(text[labcode_figures.NARROW_KEY]))
    )
    assert wide_width > 1000
    assert narrow_width <= labcode_figures.NARROW_CSS
    assert narrow_height > 3 * narrow_width  # four panels stacked
    assert text["Description"].startswith("Figure with 4 panels.")
    assert (
        "\u201cpanel 3\u201d: line plot, x axis \u201csigma\u201d"
        in text["Description"]
    )
    # The figure itself is left as it was.
    assert list(fig.get_size_inches()) == [13, 3.6]
    assert [ax.get_subplotspec().colspan.start for ax in axes] == [0, 1, 2, 3]


def test_a_wide_single_panel_is_redrawn_narrower() -> None:
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("length n")
    chunks, text = png_of(fig)
    narrow = labcode_site.png_chunks(base64.b64decode(text[labcode_figures.NARROW_KEY]))
    assert labcode_site.css_size(chunks)[0] > labcode_figures.WIDE_CSS
    assert labcode_site.css_size(narrow)[0] <= labcode_figures.NARROW_CSS + 10
    assert list(fig.get_size_inches()) == [8, 4]


def test_a_single_panel_or_narrow_figure_gets_no_variant() -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.imshow([[0, 1], [1, 0]])
    _chunks, text = png_of(fig)
    assert labcode_figures.NARROW_KEY not in text
    assert text["Description"] == "Figure with one panel. The panel: image."
    fig, _axes = plt.subplots(1, 2, figsize=(6, 3))
    assert labcode_figures.NARROW_KEY not in png_of(fig)[1]


def test_the_narrow_chunk_is_stripped_from_the_wide_file() -> None:
    fig, axes = plt.subplots(2, 3, figsize=(11, 6), layout="constrained")
    for ax in axes.flat:
        ax.plot([0, 1])
    chunks, text = png_of(fig)
    assert labcode_figures.narrow_columns(fig, 1056.0) == 1
    stripped = [c for c in chunks if not c[1].startswith(b"labcode-narrow\0")]
    assert len(stripped) == len(chunks) - 1
    again = labcode_site.png_chunks(labcode_site.png_bytes(stripped))
    assert labcode_site.png_text(again)["Description"] == text["Description"]
