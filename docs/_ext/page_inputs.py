"""What an executed page depends on, read from its code: no hand-kept list.

A page's execution depends on its own code cells (jupyter-cache keys on those),
on the modules of the package (labcode) that its cells import, directly or
through other modules of the package, and on the data files it reads. Both are
found in the abstract syntax trees of the page's cells and of the package's
modules:

- ``import labcode.vm``, ``from labcode.vm import run``, ``from labcode import vm``
  and, inside the package, relative imports (``from ._validation import ...``);
  importing ``labcode.vm.machines`` also runs ``labcode/__init__.py`` and
  ``labcode/vm/__init__.py``, so those count too;
- a string naming a module (``[sys.executable, "-m", "labcode.web"]``);
- a string naming a data file (``Path("../benchmarks/results/latest.json")``),
  relative to the page's folder (the kernel's working directory).

:func:`page_inputs` returns each input with a hash of its content; a page must
execute again when any of them differs from what its cached execution saw.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

DATA_SUFFIXES = {".json", ".csv", ".txt", ".npy", ".npz", ".toml", ".png", ".jpg"}
CODE_CELL = re.compile(
    r"^```\{code-cell\}[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL
)
_MODULE_RE = r"\b{package}(?:\.[A-Za-z_]\w*)*"
_FILE_NAME = re.compile(r"[\w.-]+\.[A-Za-z]\w{0,4}")


def page_code(path: Path) -> str:
    """The Python code of a page: its MyST code cells, or the whole script.

    Cell options (``:tags: [...]``) and IPython magics become blank lines, so
    line numbers still match the cells.
    """
    text = path.read_text(encoding="utf-8")
    cells = CODE_CELL.findall(text) if path.suffix == ".md" else [text]
    lines: list[str] = []
    for cell in cells:
        for line in cell.splitlines():
            stripped = line.lstrip()
            lines.append("" if stripped.startswith((":", "%", "!")) else line)
        lines.append("")
    return "\n".join(lines)


def module_files(package_dir: Path) -> dict[str, Path]:
    """Map every module of the package in `package_dir` to its file.

    Works for modules and subpackages alike: ``labcode/vm.py`` and
    ``labcode/vm/__init__.py`` are both ``labcode.vm``.
    """
    found: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _with_parents(name: str, modules: dict[str, Path]) -> set[str]:
    """`name` and every package above it that exists in `modules`."""
    parts = name.split(".")
    return {
        ".".join(parts[:i])
        for i in range(1, len(parts) + 1)
        if ".".join(parts[:i]) in modules
    }


def imported_modules(
    tree: ast.AST,
    modules: dict[str, Path],
    *,
    current: str = "",
    strings: bool = False,
) -> set[str]:
    """The modules of `modules` that the code in `tree` imports.

    `current` is the importing module's name (for relative imports; empty for a
    page). With `strings`, string constants that name a module count as well.
    """
    package = current if current and modules[current].name == "__init__.py" else ""
    if current and not package:
        package = current.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= _with_parents(alias.name, modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found |= _with_parents(base, modules)
            for alias in node.names:
                found |= _with_parents(f"{base}.{alias.name}", modules)
        elif (
            strings
            and isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in modules
        ):
            # ["python", "-m", "labcode.web"] runs the package's __main__.
            found |= _with_parents(node.value, modules)
            found |= _with_parents(f"{node.value}.__main__", modules)
    return found


def import_closure(direct: dict[str, set[str]]) -> dict[str, set[str]]:
    """For each module, every module that importing it runs (itself included).

    `direct` maps each module to the modules its own code imports.
    """
    closure: dict[str, set[str]] = {}
    for name in direct:
        seen = {name}
        todo = [name]
        while todo:
            for other in direct[todo.pop()] - seen:
                seen.add(other)
                todo.append(other)
        closure[name] = seen
    return closure


def file_digest(path: Path) -> str:
    """Hash of a file's content, or ``absent``."""
    if not path.is_file():
        return "absent"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _data_files(tree: ast.AST, page: Path, root: Path) -> set[Path]:
    found: set[Path] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = node.value
        if len(text) > 200 or not ("/" in text or _FILE_NAME.fullmatch(text)):
            continue
        try:
            candidate = (page.parent / text).resolve()
            if not candidate.is_relative_to(root) or candidate == root:
                continue
            if candidate.is_file() or (
                candidate.suffix in DATA_SUFFIXES and ("/" in text or "\\" in text)
            ):
                found.add(candidate)
        except (OSError, ValueError):  # not a path at all
            continue
    return found


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class PackageGraph:
    """The modules of one package, their import closure and content hashes.

    What the syntax trees say is kept in `memo` (keyed by content hashes), which
    the caller may save and pass again to skip parsing unchanged code.
    """

    def __init__(
        self, package_dir: Path, memo: dict[str, list[str]] | None = None
    ) -> None:
        self.package = package_dir.name
        self.modules = module_files(package_dir)
        self.memo = {} if memo is None else memo
        self.used: dict[str, list[str]] = {}
        sources = {name: path.read_bytes() for name, path in self.modules.items()}
        self.digests = {name: _digest(data) for name, data in sources.items()}
        # What a module's imports resolve to depends on which modules exist.
        self.layout = _digest("\n".join(sorted(self.modules)).encode())
        direct = {}
        for name, data in sources.items():
            key = f"module {self.layout} {name} {self.digests[name]}"
            if key not in self.memo:
                tree = ast.parse(data, filename=str(self.modules[name]))
                found = imported_modules(tree, self.modules, current=name)
                self.memo[key] = sorted(found | _with_parents(name, self.modules))
            self.used[key] = self.memo[key]
            direct[name] = set(self.memo[key])
        self.closure = import_closure(direct)

    def page_modules(self, code: str) -> set[str]:
        """The package modules that running `code` imports, transitively."""
        try:
            tree = ast.parse(code)
        except SyntaxError:
            # Not plain Python (the page will fail to execute anyway): every
            # dotted name that looks like a module of the package counts.
            pattern = re.compile(_MODULE_RE.format(package=re.escape(self.package)))
            names: Iterable[str] = pattern.findall(code)
            direct = set().union(*(_with_parents(n, self.modules) for n in names))
        else:
            direct = imported_modules(tree, self.modules, strings=True)
        return set().union(*(self.closure[name] for name in direct))


def page_inputs(page: Path, graph: PackageGraph, root: Path) -> dict[str, str]:
    """Every input of `page` besides its code, each with a hash of its content.

    Keys are module names (``labcode.vm``) and data files relative to `root`
    (``benchmarks/results/latest.json``; the hash is ``absent`` while it is).
    """
    code = page_code(page)
    root = root.resolve()
    key = f"page {graph.layout} {page} {_digest(code.encode())}"
    if key not in graph.memo:
        found = sorted(graph.page_modules(code))
        try:
            files = _data_files(ast.parse(code), page, root)
        except SyntaxError:
            files = set()
        found += sorted("file:" + p.relative_to(root).as_posix() for p in files)
        graph.memo[key] = found
    graph.used[key] = graph.memo[key]
    inputs = {}
    for item in graph.memo[key]:
        if item.startswith("file:"):
            name = item.removeprefix("file:")
            inputs[name] = file_digest(root / name)
        else:
            inputs[item] = graph.digests[item]
    return dict(sorted(inputs.items()))
