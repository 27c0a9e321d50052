"""The registry of topics (``topics.toml``) and the site's lists made from it.

``{labcode-topics}`` writes the home page's table of topics and its toctree;
``{labcode-api}`` writes the API reference's table of modules and its toctree.
Both come from the one registry, so adding a topic touches no list by hand
(see CONTRIBUTING.md); tests/test_registry.py checks the files it names.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

FIELDS = ("module", "summary", "page", "title", "benchmark")


@dataclass(frozen=True)
class Topic:
    """One entry of the registry; empty strings where a part does not exist."""

    module: str
    summary: str
    page: str
    title: str
    benchmark: str

    @property
    def name(self) -> str:
        """The module's last name: ``vm`` for ``labcode.vm``."""
        return self.module.rpartition(".")[2]

    @property
    def api_page(self) -> str:
        """The docname of the module's API page, ``api/vm``."""
        return f"api/{self.name}" if self.module else ""


def load_topics(path: Path) -> list[Topic]:
    """Read the registry at `path`; a malformed entry is a ValueError naming it."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    entries = data.get("topic")
    if not isinstance(entries, list) or not entries:
        msg = f"{path}: expected [[topic]] entries; got {sorted(data)}"
        raise ValueError(msg)
    topics = []
    for i, entry in enumerate(entries, start=1):
        if set(entry) != set(FIELDS) or not all(
            isinstance(entry[f], str) for f in FIELDS
        ):
            msg = (
                f"{path}: topic {i} must have the string fields {', '.join(FIELDS)}; "
                f"got {entry!r}"
            )
            raise ValueError(msg)
        topic = Topic(**{f: entry[f] for f in FIELDS})
        if not (topic.module or topic.page):
            msg = f"{path}: topic {i} names neither a module nor a page"
            raise ValueError(msg)
        if bool(topic.page) != bool(topic.title):
            msg = f"{path}: topic {i} needs a title exactly when it has a page"
            raise ValueError(msg)
        topics.append(topic)
    return topics


class _RegistryDirective(SphinxDirective):
    """Parse MyST text generated from the registry into the page."""

    def topics(self) -> list[Topic]:
        path = (Path(self.env.srcdir) / self.config.labcode_topics_file).resolve()
        self.env.note_dependency(str(path))  # the page is read again when it changes
        return load_topics(path)

    def markdown(self, topics: list[Topic]) -> str:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        return self.parse_text_to_nodes(self.markdown(self.topics()))


class TopicsTable(_RegistryDirective):
    """``{labcode-topics}``: the table of topics with their pages and modules."""

    def markdown(self, topics: list[Topic]) -> str:
        rows = [
            f"| {t.title} | {{doc}}`{t.page}` | "
            + (f"{{mod}}`{t.module}`" if t.module else t.summary)
            + " |"
            for t in topics
            if t.page
        ]
        toctree = [t.page for t in topics if t.page]
        return "\n".join(
            [
                "| Topic | Page | Module |",
                "| --- | --- | --- |",
                *rows,
                "",
                "```{toctree}",
                ":caption: Topics",
                ":maxdepth: 1",
                ":hidden:",
                "",
                *toctree,
                "```",
                "",
            ]
        )


class ApiTable(_RegistryDirective):
    """``{labcode-api}``: the table of modules and the toctree of their API pages."""

    def markdown(self, topics: list[Topic]) -> str:
        modules = [t for t in topics if t.module]
        rows = [f"| {{mod}}`{t.module}` | {t.summary} |" for t in modules]
        here = Path(self.env.docname).parent
        pages = [Path(t.api_page).relative_to(here).as_posix() for t in modules]
        return "\n".join(
            [
                "| Module | What it holds |",
                "| --- | --- |",
                *rows,
                "",
                "```{toctree}",
                ":hidden:",
                "",
                *pages,
                "```",
                "",
            ]
        )


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the registry's path (relative to docs/) and the two directives."""
    app.add_config_value("labcode_topics_file", "../topics.toml", "env", str)
    app.add_directive("labcode-topics", TopicsTable)
    app.add_directive("labcode-api", ApiTable)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
