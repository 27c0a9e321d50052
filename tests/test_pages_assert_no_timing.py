"""No page asserts a wall-clock timing: a docs build must not depend on machine load.

Speed claims live in ``nox -s bench``. This scans every assertion in the code of
the pages (``docs/**/*.md`` code cells and ``examples/*.py``) for timing values:
calls to clocks (``time.perf_counter()``, ``time.time()``, ``timeit``, ...),
names such as ``timings``, ``elapsed`` or ``seconds``, and any variable computed
from those (``t0 = perf_counter(); dt = perf_counter() - t0; assert dt < 1``).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Names (of variables, attributes, dict keys) that hold or measure wall-clock time.
TIMING_WORD = re.compile(
    r"(?<![A-Za-z0-9])(perf_counter(_ns)?|process_time(_ns)?|monotonic(_ns)?|"
    r"time(_ns)?|timeit|timer|timings?|times|seconds|secs|elapsed|durations?|"
    r"wall|ms|us|ns|speedups?)(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def _load_page_code() -> Callable[[Path], str]:
    """The docs build's own reading of a page's code (docs/_ext/page_inputs.py)."""
    spec = importlib.util.spec_from_file_location(
        "page_inputs_for_timing", REPO / "docs" / "_ext" / "page_inputs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page_code: Callable[[Path], str] = module.page_code
    return page_code


# The code cells of a page (or a whole script), options and magics blanked.
page_code = _load_page_code()


def _names(target: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(target) if isinstance(sub, ast.Name)}


def is_timing(node: ast.AST, tainted: set[str]) -> bool:
    """Whether the value of expression `node` is (derived from) a wall-clock time.

    `tainted` holds the variables already known to hold timings. A subscript with
    a constant key is judged by its key alone (``r["stack ms"]`` is a timing,
    ``r["stack steps"]`` is not, even when ``r`` also holds timings).
    """
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        key = bool(TIMING_WORD.search(str(node.slice.value)))
        return key or is_timing(node.value, tainted)
    if isinstance(node, ast.Dict):
        # {"naive": best_time(...)} holds timings; {"steps": n, "ms": t} labels its
        # timing with its key, and a lookup by that key is caught by the key.
        return any(
            is_timing(value, tainted)
            and not (
                isinstance(key, ast.Constant) and TIMING_WORD.search(str(key.value))
            )
            for key, value in zip(node.keys, node.values, strict=True)
            if key is not None
        )
    if isinstance(node, ast.Name):
        return node.id in tainted or bool(TIMING_WORD.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(TIMING_WORD.search(node.attr)) or is_timing(node.value, tainted)
    if isinstance(node, ast.Constant):
        return False
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"len", "isinstance", "type"}
    ):
        return False  # how many timings there are is not a timing
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        local = set(tainted)
        for generator in node.generators:
            if is_timing(generator.iter, local):
                local |= _names(generator.target)
            else:
                local -= _names(generator.target)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return any(is_timing(part, local) for part in parts)
    return any(is_timing(child, tainted) for child in ast.iter_child_nodes(node))


def timing_asserts(code: str) -> list[str]:
    """Return the source of each assertion in `code` that involves a timing.

    Statements are taken in source order; an assignment taints its targets when
    its value is a timing and clears them when it is not (``start`` may be a
    clock reading in one cell and an index in another).
    """
    tree = ast.parse(code)
    statements = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.stmt)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    tainted: set[str] = set()
    found = []
    for node in statements:
        if isinstance(node, ast.Assert):
            if is_timing(node.test, tainted):
                found.append(ast.get_source_segment(code, node.test) or "")
            continue
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
        elif isinstance(node, ast.For | ast.AsyncFor):
            targets, value = [node.target], node.iter
        elif isinstance(node, ast.With | ast.AsyncWith):
            pairs = [(i.optional_vars, i.context_expr) for i in node.items]
            for target, expr in pairs:
                if target is not None and is_timing(expr, tainted):
                    tainted |= _names(target)
            continue
        else:
            continue
        if value is None:
            continue
        timing = is_timing(value, tainted)
        for target in targets:
            if isinstance(target, ast.Name | ast.Tuple | ast.List):
                names = _names(target)
                tainted = tainted | names if timing else tainted - names
            elif timing:  # rows[name] = {... timing ...}: rows now holds timings
                tainted |= _names(target)
    return found


def pages() -> list[Path]:
    docs = sorted(
        p
        for p in (REPO / "docs").rglob("*.md")
        if "_build" not in p.parts and "examples" not in p.relative_to(REPO).parts[1:2]
    )
    return docs + sorted((REPO / "examples").glob("*.py"))


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_page_asserts_a_timing(page: Path) -> None:
    found = timing_asserts(page_code(page))
    assert found == [], f"{page.relative_to(REPO)} asserts wall-clock timings: {found}"


def test_the_scan_catches_timing_asserts() -> None:
    page = """
import time
from timeit import timeit

timings = {"fast": 1.0, "slow": 2.0}
t0 = time.perf_counter()
result = sum(range(10))
dt = time.perf_counter() - t0
ratio = dt / 2
elapsed_fast = timeit(lambda: None, number=10)
for name, value in timings.items():
    share = value
rows = {"a": {"steps": 3, "ms": dt}}
steps = [r["steps"] for r in rows.values()]
best = {"naive": timeit(lambda: None, number=1)}
start = 2  # no longer a clock reading

assert result == 45
assert timings["fast"] * 5 < timings["slow"]
assert ratio < 1
assert elapsed_fast > 0
assert share > 0
assert time.time() > 0
assert steps == [3] and start == 2
assert all(r["ms"] > 0 for r in rows.values())
assert [s for s in (dt, 1)]
assert best["naive"] > 0
assert len(best) == 1
"""
    assert timing_asserts(page) == [
        'timings["fast"] * 5 < timings["slow"]',
        "ratio < 1",
        "elapsed_fast > 0",
        "share > 0",
        "time.time() > 0",
        'all(r["ms"] > 0 for r in rows.values())',
        "[s for s in (dt, 1)]",
        'best["naive"] > 0',
    ]


def test_the_scan_reads_code_cells_only(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\nProse may say that `assert elapsed < 1` is wrong.\n\n"
        "```{code-cell} ipython3\n:tags: [hide-input]\n%matplotlib inline\n"
        "import time\nstart = time.perf_counter()\nn = 3\n```\n\n"
        "```{code-cell} ipython3\nassert n == 3\nassert time.perf_counter() > start\n```\n"
    )
    assert timing_asserts(page_code(page)) == ["time.perf_counter() > start"]
