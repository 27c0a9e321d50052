"""Figures of the executed pages, made readable on a phone (runs inside each kernel).

Loaded by an IPython startup file that ``labcode_site`` writes (the kernels that
execute the pages find it through ``IPYTHONDIR``), so page cells need no change.
It wraps IPython's ``print_figure`` for PNG output and adds to every figure:

- **alt text** built from the figure itself (suptitle, then per panel: title,
  kind of plot, axis labels, legend entries), stored in the PNG's standard
  ``Description`` text chunk (``iTXt``, UTF-8);
- for a figure too wide for a phone (natural width above 640 CSS px), a
  **narrow variant**: panels on a grid re-laid out in fewer columns (each at its
  size in inches, so the text keeps its size), any other figure redrawn
  narrower at the same font size; stored base64-encoded in a ``labcode-narrow``
  text chunk.

The Sphinx side (``labcode_site``) reads both chunks, writes the narrow variant
as its own file, strips the chunk from the wide one and emits a ``<picture>``
that serves the narrow variant on narrow screens.
"""

from __future__ import annotations

import base64
import math
import re
import struct
import zlib
from typing import Any

# Natural CSS width (inches x 96) above which a figure gets a narrow variant, and
# the widest a narrow variant may be: at 360 px (about 320 px of column) a figure
# of 560 px is shown at 0.57 of its natural size, above the 0.5 floor.
WIDE_CSS = 640.0
NARROW_CSS = 560.0
NARROW_KEY = "labcode-narrow"


def _text_chunk(key: str, value: str) -> bytes:
    """An ``iTXt`` chunk: UTF-8 text, uncompressed, no language tag."""
    body = key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")
    head = struct.pack(">I", len(body)) + b"iTXt"
    return head + body + struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)


def add_text_chunks(png: bytes, chunks: dict[str, str]) -> bytes:
    """Insert text chunks just before the PNG's ``IEND`` chunk."""
    end = png.rindex(b"IEND") - 4
    extra = b"".join(_text_chunk(k, v) for k, v in chunks.items())
    return png[:end] + extra + png[end:]


def _is_colorbar(ax: Any) -> bool:
    return ax.get_label() == "<colorbar>" or hasattr(ax, "_colorbar")


def _panels(fig: Any) -> list[Any]:
    return [ax for ax in fig.axes if ax.get_visible() and not _is_colorbar(ax)]


def describe(fig: Any) -> str:
    """Alt text for a figure: what each panel plots and what its axes are."""
    panels = _panels(fig)
    parts: list[str] = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    if suptitle:
        parts.append(_plain(suptitle).rstrip(".") + ".")
    count = f"{len(panels)} panels" if len(panels) > 1 else "one panel"
    parts.append(f"Figure with {count}.")
    for number, ax in enumerate(panels, start=1):
        kinds = []
        if ax.images:
            kinds.append("image")
        if ax.lines:
            kinds.append("line plot")
        if ax.collections:
            kinds.append("scatter or filled plot")
        if ax.patches:
            kinds.append("bars")
        title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
        text = f"Panel {number}" if len(panels) > 1 else "The panel"
        text += f", “{_plain(title)}”" if title else ""
        text += f": {' and '.join(kinds) or 'plot'}"
        xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
        if xlabel:
            text += f", x axis “{_plain(xlabel)}”"
        if ylabel:
            text += f", y axis “{_plain(ylabel)}”"
        legend = ax.get_legend()
        if legend is not None:
            labels = [t.get_text() for t in legend.get_texts() if t.get_text()]
            if labels:
                text += f", legend: {', '.join(_plain(label) for label in labels)}"
        parts.append(text + ".")
    return " ".join(parts)


def _plain(text: str) -> str:
    """Figure text without TeX markup: ``$\\lambda_1$`` reads as ``lambda_1``."""
    text = re.sub(r"\\([A-Za-z]+)", r" \1", text)
    return " ".join(re.sub(r"[$\\{}]", "", text).split())


def _grid(fig: Any) -> tuple[Any, list[tuple[Any, Any]]] | None:
    """The one GridSpec all panels sit in, with each panel's subplot spec."""
    specs = []
    gridspec = None
    for ax in _panels(fig):
        spec = ax.get_subplotspec()
        if spec is None:
            return None
        grid = spec.get_gridspec()
        if gridspec is None:
            gridspec = grid
        elif grid is not gridspec:
            return None
        specs.append((ax, spec))
    if gridspec is None or len(specs) < 2:
        return None
    return gridspec, specs


def png_css_width(png: bytes) -> float:
    """Natural CSS width of a PNG: pixels x 96 / dpi (96 dpi when unset)."""
    (width,) = struct.unpack(">I", png[16:20])
    dpi = 96.0
    at = png.find(b"pHYs")
    if at > 0:
        x, _y, unit = struct.unpack(">IIB", png[at + 4 : at + 13])
        if unit == 1 and x:
            dpi = x * 0.0254
    return float(width) * 96.0 / dpi


def narrow_columns(fig: Any, natural_css: float | None = None) -> int | None:
    """Columns of the narrow variant of a grid of panels, or None (not a grid,
    or narrow enough already). `natural_css` is the saved image's natural width."""
    found = _grid(fig)
    width_css = natural_css if natural_css is not None else fig.get_figwidth() * 96.0
    if found is None or width_css <= WIDE_CSS:
        return None
    gridspec, specs = found
    columns = gridspec.ncols
    if columns < 2 or any(len(spec.colspan) > 1 for _ax, spec in specs):
        return None
    per_column = width_css / columns
    return int(max(1, min(columns - 1, math.floor(NARROW_CSS / per_column))))


def render_narrow(fig: Any, natural_css: float, **print_kwargs: Any) -> bytes | None:
    """The figure re-laid out for a phone; the figure is restored afterwards.

    A grid of panels goes to fewer columns (reading order kept, each panel at
    its size in inches, so the text keeps its size); anything else (one panel,
    or panels not on one grid) is redrawn narrower at the same font size.
    """
    if natural_css <= WIDE_CSS:
        return None
    width, height = fig.get_size_inches()
    engine = fig.get_layout_engine()
    columns = narrow_columns(fig, natural_css)
    cells: list[tuple[Any, Any]] = []
    try:
        if engine is None:
            fig.set_layout_engine("constrained")
        if columns is not None:
            gridspec, specs = _grid(fig)  # type: ignore[misc]
            ordered = sorted(
                specs, key=lambda item: (item[1].rowspan.start, item[1].colspan.start)
            )
            rows = math.ceil(len(ordered) / columns)
            new = fig.add_gridspec(rows, columns)
            for index, (ax, spec) in enumerate(ordered):
                cells.append((ax, spec))
                ax.set_subplotspec(new[index // columns, index % columns])
            fig.set_size_inches(
                width * columns / gridspec.ncols,
                height * rows / gridspec.nrows,
                forward=False,
            )
        else:
            # Constrained layout fills the figure: its width is the image's width.
            fig.set_size_inches(0.95 * NARROW_CSS / 96.0, height, forward=False)
        narrow: bytes | None = _original_print_figure(
            fig, fmt="png", base64=False, **print_kwargs
        )
    finally:
        for ax, spec in cells:
            ax.set_subplotspec(spec)
        fig.set_size_inches(width, height, forward=False)
        if engine is None:
            fig.set_layout_engine(None)
    if not narrow or png_css_width(narrow) >= natural_css:
        return None
    return narrow


_original_print_figure: Any = None


def print_figure(fig: Any, fmt: str = "png", **kwargs: Any) -> Any:
    """IPython's print_figure, with alt text and a narrow variant for PNGs."""
    base64_out = kwargs.pop("base64", False)
    data = _original_print_figure(fig, fmt, base64=False, **kwargs)
    if fmt != "png" or not data:
        return _encode(data, base64_out)
    chunks = {"Description": describe(fig)}
    narrow = render_narrow(fig, png_css_width(data), **kwargs)
    if narrow is not None:
        chunks[NARROW_KEY] = base64.b64encode(narrow).decode("ascii")
    return _encode(add_text_chunks(data, chunks), base64_out)


def _encode(data: Any, as_base64: bool) -> Any:
    if as_base64 and isinstance(data, bytes):
        return base64.b64encode(data).decode("ascii")
    return data


def install() -> None:
    """Wrap IPython's print_figure (before the inline backend registers it)."""
    global _original_print_figure  # noqa: PLW0603
    from IPython.core import pylabtools  # noqa: PLC0415 (only inside a kernel)

    if _original_print_figure is None:
        _original_print_figure = pylabtools.print_figure
        pylabtools.print_figure = print_figure  # type: ignore[assignment]
