"""A page's inputs come from its code: imports (direct and transitive), modules
run with ``-m``, and data files; a module and a subpackage are handled alike."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "page_inputs", REPO / "docs" / "_ext" / "page_inputs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["page_inputs"] = module
    spec.loader.exec_module(module)
    return module


pi = _load()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def page(root: Path, code: str) -> Path:
    path = root / "docs" / "page.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# Page\n\n```{{code-cell}} ipython3\n{textwrap.dedent(code)}```\n"
    )
    return path


def test_transitive_imports_through_a_module(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/_check.py": "LIMIT = 3\n",
            "pkg/core.py": "from ._check import LIMIT\n",
            "pkg/vm.py": "from pkg.core import LIMIT\n",
            "pkg/other.py": "import numpy\n",
        },
    )
    graph = pi.PackageGraph(tmp_path / "pkg")
    inputs = pi.page_inputs(
        page(tmp_path, "from pkg.vm import LIMIT\n"), graph, tmp_path
    )
    assert list(inputs) == ["pkg", "pkg._check", "pkg.core", "pkg.vm"]


def test_a_subpackage_counts_its_init_and_submodules(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/_check.py": "",
            "pkg/vm/__init__.py": "from .machines import run\nfrom . import compilers\n",
            "pkg/vm/machines.py": "from .._check import *\ndef run(): pass\n",
            "pkg/vm/compilers.py": "",
            "pkg/vm/__main__.py": "import pkg.vm\n",
            "pkg/moments.py": "",
        },
    )
    graph = pi.PackageGraph(tmp_path / "pkg")
    via_name = pi.page_inputs(page(tmp_path, "from pkg import vm\n"), graph, tmp_path)
    assert list(via_name) == [
        "pkg",
        "pkg._check",
        "pkg.vm",
        "pkg.vm.compilers",
        "pkg.vm.machines",
    ]
    # `python -m pkg.vm` in a subprocess runs the package's __main__ too.
    run_m = pi.page_inputs(
        page(
            tmp_path,
            'import subprocess, sys\nsubprocess.run([sys.executable, "-m", "pkg.vm"])\n',
        ),
        graph,
        tmp_path,
    )
    assert "pkg.vm.__main__" in run_m
    assert "pkg.moments" not in run_m


def test_an_edit_changes_only_the_hashes_of_what_it_touches(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "X = 1\n", "pkg/b.py": "Y = 1\n"},
    )
    path = page(tmp_path, "from pkg.a import X\n")
    before = pi.page_inputs(path, pi.PackageGraph(tmp_path / "pkg"), tmp_path)
    (tmp_path / "pkg" / "b.py").write_text("Y = 2\n")
    same = pi.page_inputs(path, pi.PackageGraph(tmp_path / "pkg"), tmp_path)
    (tmp_path / "pkg" / "a.py").write_text("X = 2\n")
    after = pi.page_inputs(path, pi.PackageGraph(tmp_path / "pkg"), tmp_path)
    assert same == before
    assert [k for k in after if after[k] != before[k]] == ["pkg.a"]


def test_data_files_read_by_the_page(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "", "data/table.csv": "a,b\n"})
    code = (
        'from pathlib import Path\ntext = Path("../data/table.csv").read_text()\n'
        'results = Path("../results/latest.json")\nlabel = "not a path"\n'
    )
    inputs = pi.page_inputs(
        page(tmp_path, code), pi.PackageGraph(tmp_path / "pkg"), tmp_path
    )
    assert inputs["data/table.csv"] != "absent"
    assert inputs["results/latest.json"] == "absent"  # an input even before it exists
    assert set(inputs) == {"data/table.csv", "results/latest.json"}


def test_memo_skips_parsing_and_gives_the_same_answer(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "from . import b\n", "pkg/b.py": ""},
    )
    path = page(tmp_path, "import pkg.a\n")
    first = pi.PackageGraph(tmp_path / "pkg")
    expected = pi.page_inputs(path, first, tmp_path)
    again = pi.PackageGraph(tmp_path / "pkg", dict(first.used))
    assert pi.page_inputs(path, again, tmp_path) == expected
    assert again.used == first.used
