"""Figures of the executed pages, made readable on a phone (runs inside each kernel).

Loaded by an IPython startup file that ``labcode_site`` writes (the kernels that
execute the pages find it through ``IPYTHONDIR``), so page cells need no change.
It wraps IPython's ``print_figure`` for PNG output and adds to every figure:

- **alt text** built from the figure itself (suptitle, then per panel: title,
  kind of plot, axis labels, legend entries), stored in the PNG's standard
  ``Description`` text chunk (``iTXt``, UTF-8);
- for a figure of several panels side by side that is too wide for a phone, a
  **narrow variant**: the same panels re-laid out in fewer columns (at the same
  size in inches, so the text keeps its size), stored base64-encoded in a
  ``labcode-narrow`` text chunk.

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


def narrow_columns(fig: Any) -> int | None:
    """How many columns the narrow variant has, or None when none is needed."""
    found = _grid(fig)
    if found is None:
        return None
    gridspec, specs = found
    columns = gridspec.ncols
    width_css = fig.get_figwidth() * 96.0
    if columns < 2 or width_css <= WIDE_CSS:
        return None
    if any(len(spec.colspan) > 1 for _ax, spec in specs):
        return None
    per_column = width_css / columns
    return int(max(1, min(columns - 1, math.floor(NARROW_CSS / per_column))))


def render_narrow(fig: Any, columns: int, **print_kwargs: Any) -> bytes:
    """Render the panels in `columns` columns (reading order kept); restore the figure."""
    gridspec, specs = _grid(fig)  # type: ignore[misc]
    old_columns, old_rows = gridspec.ncols, gridspec.nrows
    cells = sorted(
        ((spec.rowspan.start, spec.colspan.start, ax, spec) for ax, spec in specs),
        key=lambda item: (item[0], item[1]),
    )
    # Row-major reading order: (row, column) -> index -> new (row, column).
    order = {(r, c): i for i, (r, c, _ax, _spec) in enumerate(cells)}
    rows = math.ceil(len(cells) / columns)
    width, height = fig.get_size_inches()
    engine = fig.get_layout_engine()
    new = fig.add_gridspec(rows, columns)
    try:
        if engine is None:
            fig.set_layout_engine("constrained")
        for r, c, ax, _spec in cells:
            index = order[(r, c)]
            ax.set_subplotspec(new[index // columns, index % columns])
        fig.set_size_inches(
            width * columns / old_columns, height * rows / old_rows, forward=False
        )
        png: bytes = _original_print_figure(
            fig, fmt="png", base64=False, **print_kwargs
        )
        return png
    finally:
        for _r, _c, ax, spec in cells:
            ax.set_subplotspec(spec)
        fig.set_size_inches(width, height, forward=False)
        if engine is None:
            fig.set_layout_engine(None)


_original_print_figure: Any = None


def print_figure(fig: Any, fmt: str = "png", **kwargs: Any) -> Any:
    """IPython's print_figure, with alt text and a narrow variant for PNGs."""
    base64_out = kwargs.pop("base64", False)
    data = _original_print_figure(fig, fmt, base64=False, **kwargs)
    if fmt != "png" or not data:
        return _encode(data, base64_out)
    chunks = {"Description": describe(fig)}
    columns = narrow_columns(fig)
    if columns is not None:
        narrow = render_narrow(fig, columns, **kwargs)
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
