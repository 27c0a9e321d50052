"""The property suite cannot fall behind the API.

Every public callable of every public module of labcode (the names in each
module's ``__all__``, methods of public classes included) must be named by a
``@pytest.mark.covers(...)`` marker of some test in ``tests/properties``. A new
public function without a property test fails here.

Not enumerated: ``labcode.web`` (owned and tested by ``tests/test_web*.py``: a
Flask application, not numeric functions) and private modules (``_name``).
"""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import labcode

HERE = Path(__file__).parent
#: Public packages tested elsewhere, with where.
ELSEWHERE = {"labcode.web": "tests/test_web.py, tests/test_web_openapi.py, ..."}


def public_modules() -> list[str]:
    """Every public module of labcode, packages included, except ELSEWHERE."""
    found = ["labcode"]
    for info in pkgutil.walk_packages(labcode.__path__, "labcode."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        if any(info.name == e or info.name.startswith(e + ".") for e in ELSEWHERE):
            continue
        found.append(info.name)
    return sorted(found)


def _is_record(obj: object) -> bool:
    """NamedTuples and exceptions are results and signals, not computations."""
    return isinstance(obj, type) and (
        issubclass(obj, BaseException)
        or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
    )


def public_callables() -> dict[int | tuple[int, str], tuple[object, list[str]]]:
    """``{object id: (object, [every public name it has])}`` across the modules."""
    found: dict[int | tuple[int, str], tuple[object, list[str]]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n in dir(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name)
            if not callable(obj) or _is_record(obj) or inspect.ismodule(obj):
                continue
            qualified = f"{module_name}.{name}"
            found.setdefault(id(obj), (obj, []))[1].append(qualified)
            if isinstance(obj, type):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member):
                        continue
                    key = (id(obj), attr)
                    found.setdefault(key, (member, []))[1].append(f"{qualified}.{attr}")
    return found


def covered_names() -> set[str]:
    """Every name given to ``pytest.mark.covers(...)`` in tests/properties."""
    names: set[str] = set()
    for path in HERE.glob("test_*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "covers"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        names.add(arg.value)
                    elif isinstance(arg, ast.Starred):
                        names |= _starred_names(tree, arg)
    return names


def _starred_names(tree: ast.Module, starred: ast.Starred) -> set[str]:
    """Names in ``covers(*NAMES)`` when NAMES is a module-level list of strings."""
    target = starred.value
    if isinstance(target, ast.Name):
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == target.id for t in node.targets
            ):
                value = node.value
                if isinstance(value, ast.List | ast.Tuple):
                    return {
                        e.value
                        for e in value.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    }
    return set()


def test_every_public_callable_has_a_property_test() -> None:
    covered = covered_names()
    missing = sorted(
        min(names)
        for _, names in public_callables().values()
        if not covered.intersection(names)
    )
    assert not missing, (
        "public labcode callables without a property test in tests/properties "
        f"(add one with @pytest.mark.covers(...)): {missing}"
    )


def test_covers_names_exist() -> None:
    known = {n for _, names in public_callables().values() for n in names}
    unknown = sorted(covered_names() - known)
    assert not unknown, f"covers(...) names no public callable: {unknown}"


def test_the_enumeration_finds_the_modules() -> None:
    modules = public_modules()
    for expected in (
        "labcode.conv",
        "labcode.corners",
        "labcode.mlp",
        "labcode.mrf",
        "labcode.vm",
        "labcode.regression",
    ):
        assert expected in modules
    assert not any(m.startswith("labcode.web") for m in modules)
    assert not any("._" in m for m in modules)
    names = {n for _, ns in public_callables().values() for n in ns}
    assert "labcode.conv.correlate2d" in names
    assert "labcode.mlp.MLP.fit" in names
