"""The front end of the tiny language: parse, check the subset, find the inputs.

Internal to :mod:`labcode.vm` (the compilers use it); the public names are
re-exported there. The source is parsed with ``ast``; every node is checked
against the subset, anything else being a :class:`~labcode.vm.CompileError` that
names the construct and its line. Nothing here recurses on the Python stack:
the tree is checked with an explicit stack, and the recursive passes (the input
analysis here, the compilers in ``compilers.py``) are generators driven by
:func:`run_task`, so the depth of nesting is bounded only by Python's parser.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Generator
from typing import Any, TypeVar

from labcode.vm.instructions import MAX_INT_BITS

#: The longest source accepted, in characters (a bound on the work of compiling).
MAX_SOURCE_CHARS = 100_000

_T = TypeVar("_T")
#: A pass over the tree: a generator that yields sub-passes and returns its result.
Task = Generator[Any, Any, _T]


class CompileError(ValueError):
    """The source uses something outside the language; the message says what."""


#: Operators of the language by ``ast`` type, with their lower-case names.
ARITH: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.FloorDiv: "div",
    ast.Mod: "mod",
}
#: Comparisons of the language by ``ast`` type, with their lower-case names.
COMPARE: dict[type[ast.cmpop], str] = {
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
    ast.Eq: "eq",
    ast.NotEq: "ne",
}


def run_task(task: Task[_T]) -> _T:
    """Run a generator-based recursion with an explicit stack instead of Python's."""
    stack: list[Task[Any]] = [task]
    value: Any = None
    while True:
        try:
            child = stack[-1].send(value)
        except StopIteration as done:
            stack.pop()
            if not stack:
                result: _T = done.value
                return result
            value = done.value
        else:
            stack.append(child)
            value = None


# --------------------------------------------------------------------------
# Parse and check the subset
# --------------------------------------------------------------------------


def reject(node: ast.AST, what: str) -> CompileError:
    """Return the error for an unsupported construct at `node`'s line."""
    line = getattr(node, "lineno", "?")
    msg = f"source line {line}: {what} is not supported by the tiny language"
    return CompileError(msg)


def parse(source: object) -> list[ast.stmt]:
    """Check `source`, parse it and check every node against the subset."""
    if not isinstance(source, str):
        msg = f"source must be a str of Python-syntax code; got {type(source).__name__}"
        raise TypeError(msg)
    if len(source) > MAX_SOURCE_CHARS:
        msg = (
            f"source must be at most MAX_SOURCE_CHARS = {MAX_SOURCE_CHARS} characters; "
            f"got {len(source)}"
        )
        raise ValueError(msg)
    try:
        with warnings.catch_warnings():
            # Python's parser warns about code such as "1if a": in the tiny
            # language that is an error, whatever the warning filters say.
            warnings.simplefilter("error")
            tree = ast.parse(source)
    except SyntaxError as exc:
        where = f"source line {exc.lineno}: " if exc.lineno is not None else "source: "
        msg = f"{where}not valid Python syntax: {exc.msg}"
        raise CompileError(msg) from exc
    except (ValueError, Warning) as exc:  # a null character in some Pythons
        msg = f"source is not valid Python syntax: {exc}"
        raise CompileError(msg) from exc
    except (RecursionError, MemoryError) as exc:
        msg = (
            "source nests expressions or statements deeper than Python's parser allows"
        )
        raise CompileError(msg) from exc
    _check_tree(tree)
    return tree.body


def _check_tree(tree: ast.AST) -> None:
    """Check every node in source order; operators take the enclosing line."""
    pending: list[tuple[ast.AST, int]] = [(tree, 1)]
    while pending:
        node, line = pending.pop()
        line = getattr(node, "lineno", line)
        try:
            _check_node(node)
        except CompileError as exc:
            if "line ?" in str(exc):
                raise CompileError(
                    str(exc).replace("line ?", f"line {line}", 1)
                ) from None
            raise
        children = list(ast.iter_child_nodes(node))
        pending.extend((child, line) for child in reversed(children))


_ALLOWED = (
    ast.Module,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.While,
    ast.Expr,
    ast.Name,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Load,
    ast.Store,
    ast.Pass,
    ast.USub,
    ast.UAdd,
    *ARITH,
    *COMPARE,
)


def _check_node(node: ast.AST) -> None:
    """Raise CompileError if `node` itself is outside the subset."""
    if not isinstance(node, _ALLOWED):
        raise reject(node, describe(node))
    if isinstance(node, ast.Constant):
        value = node.value
        if not isinstance(value, int) or isinstance(value, bool):
            raise reject(node, f"the constant {value!r} (only integers)")
        if value.bit_length() > MAX_INT_BITS:
            raise reject(
                node,
                f"a constant of {value.bit_length()} bits "
                f"(at most MAX_INT_BITS = {MAX_INT_BITS})",
            )
    if isinstance(node, ast.Assign) and (
        len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name)
    ):
        raise reject(node, "assignment to anything but one variable name")
    if isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
        raise reject(node, "augmented assignment to anything but a variable name")
    if isinstance(node, ast.Compare) and len(node.ops) != 1:
        raise reject(node, "a chained comparison (a < b < c)")
    if isinstance(node, ast.While) and node.orelse:
        raise reject(node, "while ... else")
    if isinstance(node, ast.Expr) and not isinstance(
        node.value, ast.Constant | ast.Name
    ):
        raise reject(node, "an expression statement")


_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.BoolOp: "'and'/'or'",
    ast.Call: "a function call",
    ast.For: "a for loop",
    ast.FunctionDef: "a function definition",
    ast.Div: "true division '/' (use '//')",
    ast.Pow: "the power operator '**'",
    ast.Not: "'not'",
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripting",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Break: "'break'",
    ast.Continue: "'continue'",
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Return: "'return'",
    ast.Is: "'is'",
    ast.IsNot: "'is not'",
    ast.In: "'in'",
    ast.NotIn: "'not in'",
    ast.IfExp: "a conditional expression (x if c else y)",
    ast.Lambda: "lambda",
    ast.BitAnd: "the bitwise operator '&'",
    ast.BitOr: "the bitwise operator '|'",
    ast.BitXor: "the bitwise operator '^'",
    ast.Invert: "the bitwise operator '~'",
    ast.LShift: "the shift operator '<<'",
    ast.RShift: "the shift operator '>>'",
}


def describe(node: ast.AST) -> str:
    """Name an unsupported construct for the error message."""
    return _DESCRIPTIONS.get(type(node), f"the construct {type(node).__name__}")


def constant_value(node: ast.Constant) -> int:
    """Return the int value of a constant the front end has checked."""
    value = node.value
    if not isinstance(value, int) or isinstance(value, bool):  # pragma: no cover
        raise reject(node, f"the constant {value!r} (only integers)")
    return value


def target_name(node: ast.Assign | ast.AugAssign) -> str:
    """Return the variable an assignment writes."""
    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
    if not isinstance(target, ast.Name):  # pragma: no cover - checked by _check_node
        raise reject(node, "assignment to anything but a variable name")
    return target.id


# --------------------------------------------------------------------------
# Which variables must be inputs: read before any assignment on some path
# --------------------------------------------------------------------------


def _reads(node: ast.expr) -> list[str]:
    """Return the variables an expression reads."""
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _analyse(
    body: list[ast.stmt], assigned: set[str], needed: set[str]
) -> Task[set[str]]:
    """Return the variables definitely assigned after `body`; collect early reads."""
    done = set(assigned)
    for node in body:
        if isinstance(node, ast.Assign | ast.AugAssign):
            reads = _reads(node.value)
            if isinstance(node, ast.AugAssign):
                reads.append(target_name(node))
            needed.update(r for r in reads if r not in done)
            done.add(target_name(node))
        elif isinstance(node, ast.If):
            needed.update(r for r in _reads(node.test) if r not in done)
            after_body: set[str] = yield _analyse(node.body, done, needed)
            after_else: set[str] = yield _analyse(node.orelse, done, needed)
            done = after_body & after_else
        elif isinstance(node, ast.While):
            needed.update(r for r in _reads(node.test) if r not in done)
            yield _analyse(node.body, done, needed)  # the body may not run at all
        elif isinstance(node, ast.Expr):
            needed.update(r for r in _reads(node.value) if r not in done)
    return done


def inputs_of(body: list[ast.stmt], variables: list[str]) -> list[str]:
    """Return the variables some path may read before assigning them."""
    needed: set[str] = set()
    run_task(_analyse(body, set(), needed))
    if "max_steps" in needed:
        msg = (
            "source reads the variable max_steps before assigning it, but "
            "max_steps is run()'s step limit and cannot be an input: rename it"
        )
        raise CompileError(msg)
    return [v for v in variables if v in needed]
