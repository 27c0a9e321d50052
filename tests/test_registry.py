"""The registry of topics (topics.toml) and the files it names agree both ways.

The home page's topics and the API reference's modules are generated from the
registry, and the benchmark list is read from it; these tests check the rest:
every page, API page, test file and benchmark it names exists, and nothing of
those kinds exists that it does not name.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
REGISTRY = REPO / "topics.toml"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


pytest.importorskip("sphinx", reason="the registry's loader is a Sphinx extension")
registry = _load("labcode_topics", DOCS / "_ext" / "labcode_topics.py")
TOPICS = registry.load_topics(REGISTRY)
MODULES = [t for t in TOPICS if t.module]


def test_every_public_module_is_registered() -> None:
    package = REPO / "labcode"
    public = {
        f"labcode.{p.stem}" for p in package.glob("*.py") if not p.stem.startswith("_")
    } | {
        f"labcode.{p.name}"
        for p in package.iterdir()
        if p.is_dir() and (p / "__init__.py").is_file() and not p.name.startswith("_")
    }
    assert {t.module for t in MODULES} == public


def test_every_module_has_an_api_page_and_a_test_file() -> None:
    for topic in MODULES:
        page = DOCS / f"{topic.api_page}.md"
        assert page.is_file(), f"{topic.module}: no {page.relative_to(REPO)}"
        text = page.read_text()
        assert re.search(rf"automodule:: {re.escape(topic.module)}\s", text), (
            f"{page.relative_to(REPO)} does not document {topic.module}"
        )
        tests = REPO / "tests" / f"test_{topic.name}.py"
        assert tests.is_file(), f"{topic.module}: no {tests.relative_to(REPO)}"


def test_no_api_page_outside_the_registry() -> None:
    pages = {
        p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.glob("api/*.md")
    }
    assert pages == {t.api_page for t in MODULES}


def test_every_topic_page_exists_and_every_page_is_registered() -> None:
    named = {t.page for t in TOPICS if t.page}
    for page in named:
        assert (DOCS / f"{page}.md").is_file(), f"no docs/{page}.md"
    existing = {
        p.relative_to(DOCS).with_suffix("").as_posix()
        for p in (DOCS / "topics").glob("*.md")
    }
    assert existing == {p for p in named if p.startswith("topics/")}


def test_benchmarks_are_the_registered_ones() -> None:
    named = [t.benchmark for t in TOPICS if t.benchmark]
    files = {
        p.stem.removeprefix("bench_") for p in (REPO / "benchmarks").glob("bench_*.py")
    }
    assert sorted(named) == sorted(files)
    run = _load("benchmarks_run", REPO / "benchmarks" / "run.py")
    assert named == run.NAMES


def test_index_and_api_lists_come_from_the_registry() -> None:
    # No hand-kept list left behind: the pages use the registry's directives.
    index = (DOCS / "index.md").read_text()
    api = (DOCS / "api.md").read_text()
    assert "```{labcode-topics}" in index
    assert "```{labcode-api}" in api
    for topic in TOPICS:
        if topic.page:
            assert topic.page not in index, f"{topic.page} listed by hand in index.md"
        if topic.module:
            assert topic.api_page not in api, (
                f"{topic.api_page} listed by hand in api.md"
            )


def test_a_malformed_entry_is_refused_with_its_number(tmp_path: Path) -> None:
    bad = tmp_path / "topics.toml"
    bad.write_text(
        '[[topic]]\nmodule = "labcode.x"\nsummary = "s"\npage = ""\ntitle = ""\n'
        'benchmark = ""\n\n[[topic]]\nmodule = "labcode.y"\nsummary = "s"\n'
        'page = "topics/y"\ntitle = ""\nbenchmark = ""\n'
    )
    with pytest.raises(
        ValueError, match="topic 2 needs a title exactly when it has a page"
    ):
        registry.load_topics(bad)
    bad.write_text('[[topic]]\nmodule = "labcode.x"\n')
    with pytest.raises(ValueError, match="topic 1 must have the string fields"):
        registry.load_topics(bad)
