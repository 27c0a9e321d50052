r"""A tiny language compiled for a stack machine and for a register machine.

The language is a subset of Python: integer variables, assignment (also ``+=``
and friends), ``+ - * // %``, unary minus, comparisons, ``if``/``elif``/``else``
and ``while``. Source is parsed with the standard :mod:`ast` module; anything else
is rejected with an error naming the construct and its line.

Two compilers translate the same program:

- :func:`compile_stack` for a stack machine in the style of the JVM: operands are
  pushed on an operand stack, operators pop them and push the result, locals are
  moved with ``LOAD``/``STORE``.
- :func:`compile_register` for a register machine in the style of Dalvik: every
  variable lives in a register and instructions name their operands, so an
  expression reads variables where they are and writes its result straight into
  the target variable's register (the copy propagation that makes moves disappear)
  [1]_. Small constants are immediate operands.

Both machines count the instructions they execute; :data:`STACK_SIZES` and
:data:`REGISTER_SIZES` give the documented encoding behind ``size_bytes``.

References
----------
.. [1] Shi, Y., Gregg, D., Beatty, A. and Ertl, M. A. (2005). Virtual machine
       showdown: stack versus registers. *Proceedings of the 1st ACM/USENIX
       International Conference on Virtual Execution Environments (VEE)*, 153-163.
.. [2] Shi, Y., Casey, K., Ertl, M. A. and Gregg, D. (2008). Virtual machine
       showdown: stack versus registers. *ACM Transactions on Architecture and Code
       Optimization*, 4(4), article 21.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from labcode._validation import check_int

__all__ = [
    "BENCHMARKS",
    "REGISTER_SIZES",
    "STACK_SIZES",
    "CompileError",
    "Program",
    "RunResult",
    "StepLimitExceeded",
    "compile_register",
    "compile_stack",
    "run",
    "trace",
]


class StepLimitExceeded(RuntimeError):
    """Raised when a program executes more instructions than allowed."""


class RunResult(NamedTuple):
    """What :func:`run` returns.

    Attributes
    ----------
    variables : dict of str to int
        The final value of every variable of the program.
    steps : int
        The number of VM instructions executed.
    """

    variables: dict[str, int]
    steps: int


def _floordiv(a: int, b: int) -> int:
    if b == 0:
        msg = "integer division or modulo by zero"
        raise ZeroDivisionError(msg)
    return a // b


def _mod(a: int, b: int) -> int:
    if b == 0:
        msg = "integer division or modulo by zero"
        raise ZeroDivisionError(msg)
    return a % b


_ARITH: dict[type[ast.operator], tuple[str, Callable[[int, int], int]]] = {
    ast.Add: ("add", operator.add),
    ast.Sub: ("sub", operator.sub),
    ast.Mult: ("mul", operator.mul),
    ast.FloorDiv: ("div", _floordiv),
    ast.Mod: ("mod", _mod),
}
_COMPARE: dict[type[ast.cmpop], tuple[str, Callable[[int, int], bool]]] = {
    ast.Lt: ("lt", operator.lt),
    ast.LtE: ("le", operator.le),
    ast.Gt: ("gt", operator.gt),
    ast.GtE: ("ge", operator.ge),
    ast.Eq: ("eq", operator.eq),
    ast.NotEq: ("ne", operator.ne),
}
_NEGATED = {"lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "eq": "ne", "ne": "eq"}
_SWAPPED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
_FUNCS: dict[str, Callable[[int, int], int | bool]] = {
    **dict(_ARITH.values()),
    **dict(_COMPARE.values()),
}
_COMMUTATIVE = {"add", "mul"}

#: The stack machine's encoding follows JVM bytecode: ``LOAD``/``STORE`` of slots
#: 0-3 take one byte (``iload_0``), others two; ``PUSH`` takes one byte for -1..5
#: (``iconst``), two for -128..127 (``bipush``), three for 16-bit values
#: (``sipush``) and two for anything else (``ldc`` from the constant pool);
#: ``IINC slot, c`` three; branches three (a 16-bit offset); operators one.
STACK_SIZES = {
    "LOAD/STORE short": 1,
    "LOAD/STORE": 2,
    "PUSH -1..5": 1,
    "PUSH 8-bit": 2,
    "PUSH 16-bit": 3,
    "PUSH pool": 2,
    "IINC": 3,
    "branch": 3,
    "operator": 1,
}
#: The register machine's encoding follows Dalvik bytecode (16-bit code units):
#: two bytes for ``MOVE``, ``NEG`` and two-address arithmetic (``add-int/2addr``:
#: the destination is the first operand) when every register is below 16, and
#: for ``LOADK`` of -8..7 (``const/4``); four bytes for three-address arithmetic,
#: arithmetic with an 8-bit literal (``add-int/lit8``), compare-and-branch, a
#: 16-bit ``LOADK``, and ``JUMP`` (``goto/16``); six bytes for a 32-bit ``LOADK``
#: and ten for a wider one (``const-wide``).
REGISTER_SIZES = {
    "short (2addr, move, neg, const/4)": 2,
    "default": 4,
    "LOADK 32-bit": 6,
    "LOADK wide": 10,
}


class CompileError(ValueError):
    """The source uses something outside the language; the message says what."""


@dataclass
class Program:
    """A compiled program: instructions, variables and a readable listing.

    Attributes
    ----------
    kind : {'stack', 'register'}
        The machine it runs on.
    code : list of tuple
        Instructions; the first field is the opcode.
    variables : list of str
        Variable names, in order of first appearance (their slots or registers).
    constants : list of int
        The constant pool.
    n_registers : int
        Registers used (register programs; locals first, then temporaries).
    source : str
        The source it was compiled from.
    inputs : list of str
        Variables the program may read before assigning them: :func:`run` needs
        a value for each.
    """

    kind: str
    code: list[tuple[object, ...]]
    variables: list[str]
    constants: list[int] = field(default_factory=list)
    n_registers: int = 0
    source: str = ""
    inputs: list[str] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        """Size of the code under the documented encoding (constant pool excluded)."""
        return sum(_instruction_size(self.kind, ins) for ins in self.code)

    def disassemble(self) -> str:
        """Return a listing, one instruction per line: offset, opcode, operands."""
        lines = []
        names = self.variables
        for i, ins in enumerate(self.code):
            op, *args = ins
            text = []
            for a in args:
                if isinstance(a, tuple) and a and a[0] == "r":
                    r = _int(a[1])
                    text.append(f"r{r}" + (f"({names[r]})" if r < len(names) else ""))
                elif isinstance(a, tuple) and a and a[0] == "k":
                    text.append(f"#{a[1]}")
                else:
                    text.append(str(a))
            if self.kind == "stack" and op in ("LOAD", "STORE", "IINC"):
                text = [names[_int(args[0])], *text[1:]]
            lines.append(f"{i:4d}  {op:<10s} {', '.join(text)}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.disassemble()


def _instruction_size(kind: str, ins: tuple[object, ...]) -> int:  # noqa: PLR0911 - one return per encoding rule
    op = str(ins[0])
    if kind == "stack":
        if op in ("LOAD", "STORE"):
            return 1 if _int(ins[1]) <= 3 else 2
        if op == "PUSH":
            value = _int(ins[1])
            if -1 <= value <= 5:
                return 1
            if -128 <= value <= 127:
                return 2
            return 3 if -32768 <= value <= 32767 else 2
        if op == "IINC":
            return STACK_SIZES["IINC"]
        if op == "JUMP" or op.startswith("IF"):
            return STACK_SIZES["branch"]
        return STACK_SIZES["operator"]
    regs = [_int(a[1]) for a in ins[1:] if isinstance(a, tuple) and a[0] == "r"]
    small = all(r < 16 for r in regs)
    if op in ("MOVE", "NEG"):
        return 2 if small else 4
    if op == "LOADK":
        value = _int(ins[2])
        if -8 <= value <= 7 and small:
            return 2
        if -32768 <= value <= 32767:
            return 4
        return 6 if -(2**31) <= value < 2**31 else 10
    operands = [a for a in ins[1:] if isinstance(a, tuple)]
    two_address = (
        op in {"ADD", "SUB", "MUL", "DIV", "MOD"}
        and len(operands) == 3
        and operands[0] == operands[1]
        and operands[2][0] == "r"
    )
    return 2 if two_address and small else 4


# --------------------------------------------------------------------------
# Front end: parse and check the subset
# --------------------------------------------------------------------------


def _reject(node: ast.AST, what: str) -> CompileError:
    line = getattr(node, "lineno", "?")
    return CompileError(f"line {line}: {what} is not supported by the tiny language")


def _parse(source: object) -> list[ast.stmt]:
    if not isinstance(source, str):
        msg = f"source must be a str of Python-syntax code; got {type(source).__name__}"
        raise TypeError(msg)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        msg = f"line {exc.lineno}: not valid Python syntax: {exc.msg}"
        raise CompileError(msg) from exc
    _check_tree(tree, 1)
    return tree.body


def _check_tree(node: ast.AST, line: int) -> None:
    """Check every node; operators have no line of their own: use the enclosing one."""
    line = getattr(node, "lineno", line)
    try:
        _check_node(node)
    except CompileError as exc:
        if "line ?" in str(exc):
            raise CompileError(str(exc).replace("line ?", f"line {line}", 1)) from None
        raise
    for child in ast.iter_child_nodes(node):
        _check_tree(child, line)


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
    *_ARITH,
    *_COMPARE,
)


def _check_node(node: ast.AST) -> None:
    if not isinstance(node, _ALLOWED):
        raise _reject(node, _describe(node))
    if isinstance(node, ast.Constant) and (
        not isinstance(node.value, int) or isinstance(node.value, bool)
    ):
        raise _reject(node, f"the constant {node.value!r} (only integers)")
    if isinstance(node, ast.Assign) and (
        len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name)
    ):
        raise _reject(node, "assignment to anything but one variable name")
    if isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
        raise _reject(node, "augmented assignment to anything but a variable name")
    if isinstance(node, ast.Compare) and len(node.ops) != 1:
        raise _reject(node, "a chained comparison (a < b < c)")
    if isinstance(node, ast.While) and node.orelse:
        raise _reject(node, "while ... else")
    if isinstance(node, ast.Expr) and not isinstance(
        node.value, ast.Constant | ast.Name
    ):
        raise _reject(node, "an expression statement")


def _describe(node: ast.AST) -> str:
    names = {
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
        ast.Break: "'break'",
        ast.Continue: "'continue'",
        ast.Import: "import",
        ast.ImportFrom: "import",
        ast.Return: "'return'",
    }
    return names.get(type(node), f"{type(node).__name__} ({ast.dump(node)[:40]})")


class _Variables:
    def __init__(self) -> None:
        self.names: list[str] = []

    def slot(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)


# --------------------------------------------------------------------------
# Stack machine
# --------------------------------------------------------------------------


def _is_zero(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and node.value == 0
        and not isinstance(node.value, bool)
    )


def _small_increment(node: ast.AugAssign) -> int | None:
    """Return c of ``x += c`` or ``x -= c`` when it fits in a byte, else None."""
    value = node.value
    if not isinstance(value, ast.Constant) or not isinstance(
        node.op, ast.Add | ast.Sub
    ):
        return None
    c = value.value
    if not isinstance(c, int) or isinstance(c, bool):
        return None
    step = c if isinstance(node.op, ast.Add) else -c
    return step if -128 <= step <= 127 else None


class _Compiler:
    """What both compilers share: the code list, branch patching, control flow.

    Subclasses emit expressions, assignments and the test of a branch; ``if``
    and ``while`` are laid out the same way for both machines.
    """

    def __init__(self) -> None:
        self.code: list[tuple[object, ...]] = []

    def branch_if_false(self, test: ast.expr) -> int:
        """Emit a test that jumps when false; return the index to patch."""
        raise NotImplementedError

    def assign(self, node: ast.Assign | ast.AugAssign) -> None:
        raise NotImplementedError

    def start_statement(self) -> None:
        """Prepare for a statement (the register machine frees its temporaries)."""

    def patch(self, at: int, target: int) -> None:
        """Set the branch target, the last field of the instruction at `at`."""
        self.code[at] = (*self.code[at][:-1], target)

    def stmts(self, body: list[ast.stmt]) -> None:
        for node in body:
            self.stmt(node)

    def stmt(self, node: ast.stmt) -> None:
        self.start_statement()
        if isinstance(node, ast.Assign | ast.AugAssign):
            self.assign(node)
        elif isinstance(node, ast.If):
            jump_false = self.branch_if_false(node.test)
            self.stmts(node.body)
            if node.orelse:
                jump_end = len(self.code)
                self.code.append(("JUMP", None))
                self.patch(jump_false, len(self.code))
                self.stmts(node.orelse)
                self.patch(jump_end, len(self.code))
            else:
                self.patch(jump_false, len(self.code))
        elif isinstance(node, ast.While):
            top = len(self.code)
            jump_false = self.branch_if_false(node.test)
            self.stmts(node.body)
            self.code.append(("JUMP", top))
            self.patch(jump_false, len(self.code))
        # Pass and bare names/constants compile to nothing.


class _StackCompiler(_Compiler):
    def __init__(self) -> None:
        super().__init__()
        self.vars = _Variables()
        self.constants: list[int] = []

    def const(self, value: int) -> None:
        if value not in self.constants:
            self.constants.append(value)
        self.code.append(("PUSH", value))

    def expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            self.const(_int(node.value))
        elif isinstance(node, ast.Name):
            self.code.append(("LOAD", self.vars.slot(node.id)))
        elif isinstance(node, ast.UnaryOp):
            self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                self.code.append(("NEG",))
        elif isinstance(node, ast.BinOp):
            self.expr(node.left)
            self.expr(node.right)
            self.code.append((_ARITH[type(node.op)][0].upper(),))
        elif isinstance(node, ast.Compare):
            self.expr(node.left)
            self.expr(node.comparators[0])
            self.code.append(("CMP_" + _COMPARE[type(node.ops[0])][0].upper(),))
        else:  # pragma: no cover - rejected by the front end
            raise _reject(node, _describe(node))

    def branch_if_false(self, test: ast.expr) -> int:
        """Emit a test that jumps when false; return the index to patch."""
        if isinstance(test, ast.Compare):
            name = _COMPARE[type(test.ops[0])][0]
            left, right = test.left, test.comparators[0]
            if _is_zero(left) and not _is_zero(right):
                left, right, name = right, left, _SWAPPED[name]
            self.expr(left)
            if _is_zero(right):  # compare with zero: one operand, as ifeq/iflt/...
                self.code.append(("IFZ_" + _NEGATED[name].upper(), None))
            else:
                self.expr(right)
                self.code.append(("IF_" + _NEGATED[name].upper(), None))
        else:
            self.expr(test)
            self.code.append(("IF_FALSE", None))
        return len(self.code) - 1

    def assign(self, node: ast.Assign | ast.AugAssign) -> None:
        if isinstance(node, ast.Assign):
            self.expr(node.value)  # first: variables get slots in reading order
            self.code.append(("STORE", self.vars.slot(_target(node))))
            return
        slot = self.vars.slot(_target(node))
        step = _small_increment(node)
        if step is not None:  # x += c: one instruction, as the JVM's iinc
            self.code.append(("IINC", slot, step))
            return
        self.code.append(("LOAD", slot))
        self.expr(node.value)
        self.code.append((_ARITH[type(node.op)][0].upper(),))
        self.code.append(("STORE", slot))


def compile_stack(source: str) -> Program:
    """Compile tiny-language source for the stack machine.

    Parameters
    ----------
    source : str
        Python-syntax source in the subset described in the module docstring.

    Returns
    -------
    Program
        ``kind == "stack"``.

    Raises
    ------
    ValueError
        (a ``CompileError``) naming the unsupported construct and its line.
    TypeError
        If `source` is not a str.

    Examples
    --------
    >>> from labcode.vm import compile_stack, run
    >>> program = compile_stack("x = a * 2 + 1")
    >>> print(program.disassemble())
       0  LOAD       a
       1  PUSH       2
       2  MUL
       3  PUSH       1
       4  ADD
       5  STORE      x
    >>> program.size_bytes, run(program, a=20)
    (6, RunResult(variables={'a': 20, 'x': 41}, steps=6))
    """
    body = _parse(source)
    compiler = _StackCompiler()
    compiler.stmts(body)
    return Program(
        "stack",
        compiler.code,
        compiler.vars.names,
        compiler.constants,
        source=source,
        inputs=_inputs_of(body, compiler.vars.names),
    )


# --------------------------------------------------------------------------
# Register machine
# --------------------------------------------------------------------------

Operand = tuple[str, int]  # ("r", register) or ("k", literal)


class _RegisterCompiler(_Compiler):
    def __init__(self, variables: list[str]) -> None:
        super().__init__()
        self.vars = _Variables()
        for name in variables:  # locals take the first registers
            self.vars.slot(name)
        self.constants: list[int] = []
        self.n_temps = 0
        self.temp_base = len(variables)
        self.in_use = 0

    def temp(self) -> Operand:
        r = self.temp_base + self.in_use
        self.in_use += 1
        self.n_temps = max(self.n_temps, self.in_use)
        return ("r", r)

    def literal(self, value: int) -> Operand:
        """Return a small constant as an immediate; load a large one from the pool."""
        if -128 <= value <= 127:
            return ("k", value)
        if value not in self.constants:
            self.constants.append(value)
        reg = self.temp()
        self.code.append(("LOADK", reg, value))
        return reg

    def operand(self, node: ast.expr) -> Operand:
        """Where the value of `node` is, emitting code only if it must be computed."""
        if isinstance(node, ast.Name):
            return ("r", self.vars.slot(node.id))
        if isinstance(node, ast.Constant):
            return self.literal(_int(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.operand(node.operand)
        return self.expr(node, self.temp())

    def in_register(self, op: Operand) -> Operand:
        if op[0] == "r":
            return op
        reg = self.temp()
        self.code.append(("LOADK", reg, op[1]))
        return reg

    def expr(self, node: ast.expr, dest: Operand) -> Operand:
        """Compute `node` into register `dest`."""
        if isinstance(node, ast.Name | ast.Constant) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd)
        ):
            src = self.operand(node)
            if src != dest:
                self.code.append(
                    ("MOVE", dest, src) if src[0] == "r" else ("LOADK", dest, src[1])
                )
            return dest
        if isinstance(node, ast.UnaryOp):  # unary minus
            src = self.in_register(self.operand(node.operand))
            self.code.append(("NEG", dest, src))
            return dest
        if isinstance(node, ast.BinOp):
            name = _ARITH[type(node.op)][0]
        elif isinstance(node, ast.Compare):
            name = _COMPARE[type(node.ops[0])][0]
        else:  # pragma: no cover - rejected by the front end
            raise _reject(node, _describe(node))
        right_node = node.right if isinstance(node, ast.BinOp) else node.comparators[0]
        a = self.operand(node.left)
        b = self.operand(right_node)
        if a[0] == "k" and b[0] == "r" and (name in _COMMUTATIVE or name in _SWAPPED):
            a, b = b, a
            name = _SWAPPED.get(name, name)
        a = self.in_register(a)
        opcode = name.upper() if isinstance(node, ast.BinOp) else "CMP_" + name.upper()
        self.code.append((opcode, dest, a, b))
        return dest

    def branch_if_false(self, test: ast.expr) -> int:
        saved = self.in_use
        if isinstance(test, ast.Compare):
            name = _COMPARE[type(test.ops[0])][0]
            a = self.operand(test.left)
            b = self.operand(test.comparators[0])
            if a[0] == "k" and b[0] == "r":
                a, b = b, a
                name = _SWAPPED[name]
            a = self.in_register(a)
            self.code.append(("IF_" + _NEGATED[name].upper(), a, b, None))
        else:
            a = self.in_register(self.operand(test))
            self.code.append(("IF_EQ", a, ("k", 0), None))
        self.in_use = saved
        return len(self.code) - 1

    def start_statement(self) -> None:
        self.in_use = 0

    def assign(self, node: ast.Assign | ast.AugAssign) -> None:
        name = _target(node)
        value = node.value
        if isinstance(node, ast.AugAssign):
            value = ast.BinOp(left=ast.Name(id=name), op=node.op, right=node.value)
        self.expr(value, ("r", self.vars.slot(name)))


def compile_register(source: str) -> Program:
    """Compile tiny-language source for the register machine.

    Every variable gets its own register; expressions read variables in place and
    write the result of an assignment straight into the target's register, so
    ``x = a * 2 + 1`` is two instructions where the stack machine needs six.
    Constants from -128 to 127 are immediate operands; others come from the
    constant pool with ``LOADK``. Comparisons that guard an ``if`` or a ``while``
    become one compare-and-branch instruction.

    Parameters
    ----------
    source : str
        Python-syntax source in the subset described in the module docstring.

    Returns
    -------
    Program
        ``kind == "register"``.

    Raises
    ------
    ValueError
        (a ``CompileError``) naming the unsupported construct and its line.
    TypeError
        If `source` is not a str.

    Examples
    --------
    >>> from labcode.vm import compile_register, run
    >>> program = compile_register("x = a * 2 + 1")
    >>> print(program.disassemble())
       0  MUL        r2, r0(a), #2
       1  ADD        r1(x), r2, #1
    >>> program.size_bytes, run(program, a=20)
    (8, RunResult(variables={'a': 20, 'x': 41}, steps=2))
    """
    body = _parse(source)
    # Variables in order of first appearance, the same slots as the stack machine.
    names = _StackCompiler()
    names.stmts(body)
    compiler = _RegisterCompiler(names.vars.names)
    compiler.stmts(body)
    return Program(
        "register",
        compiler.code,
        compiler.vars.names,
        compiler.constants,
        n_registers=len(compiler.vars.names) + compiler.n_temps,
        source=source,
        inputs=_inputs_of(body, compiler.vars.names),
    )


# --------------------------------------------------------------------------
# Which variables must be inputs: read before any assignment on some path
# --------------------------------------------------------------------------


def _reads(node: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _target(node: ast.Assign | ast.AugAssign) -> str:
    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
    if not isinstance(target, ast.Name):  # pragma: no cover - checked by _check_node
        raise _reject(node, "assignment to anything but a variable name")
    return target.id


def _analyse(body: list[ast.stmt], assigned: set[str], needed: set[str]) -> set[str]:
    """Return the variables definitely assigned after `body`; collect early reads."""
    done = set(assigned)
    for node in body:
        if isinstance(node, ast.Assign | ast.AugAssign):
            reads = _reads(node.value)
            if isinstance(node, ast.AugAssign):
                reads.append(_target(node))
            needed.update(r for r in reads if r not in done)
            done.add(_target(node))
        elif isinstance(node, ast.If):
            needed.update(r for r in _reads(node.test) if r not in done)
            after_body = _analyse(node.body, done, needed)
            after_else = _analyse(node.orelse, done, needed)
            done = after_body & after_else
        elif isinstance(node, ast.While):
            needed.update(r for r in _reads(node.test) if r not in done)
            _analyse(node.body, done, needed)  # the body may not run at all
        elif isinstance(node, ast.Expr):
            needed.update(r for r in _reads(node.value) if r not in done)
    return done


def _inputs_of(body: list[ast.stmt], variables: list[str]) -> list[str]:
    needed: set[str] = set()
    _analyse(body, set(), needed)
    return [v for v in variables if v in needed]


# --------------------------------------------------------------------------
# Interpreters
#
# Both run a lowered form of the code: integer opcodes, integer operands. Both
# dispatch with the same if-chain style and call the same arithmetic functions,
# so their timings compare the instruction sets, not two coding styles.
# --------------------------------------------------------------------------

_OPS = ["add", "sub", "mul", "div", "mod", "lt", "le", "gt", "ge", "eq", "ne"]
_OP_FUNCS = [_FUNCS[name] for name in _OPS]
_N_OPS = len(_OPS)
# Opcodes after the arithmetic ones; compare-and-branch opcodes are _IF + op.
_LOAD, _STORE, _PUSH, _JUMP, _IINC, _NEG, _MOVE = range(_N_OPS, _N_OPS + 7)
_IF = _N_OPS + 7  # _IF + op: compare two operands and branch
_IFZ = _IF + _N_OPS  # _IFZ + op: compare one operand with zero and branch


def _op_index(opcode: str) -> int:
    return _OPS.index(opcode.removeprefix("CMP_").lower())


def _int(x: object) -> int:
    if not isinstance(x, int):  # pragma: no cover - compilers emit ints here
        msg = f"internal error: expected an int operand, got {x!r}"
        raise TypeError(msg)
    return x


def _lower_stack(program: Program) -> list[tuple[int, int, int]]:
    lowered = []
    simple = {"LOAD": _LOAD, "STORE": _STORE, "PUSH": _PUSH, "JUMP": _JUMP}
    for op, *args in program.code:
        name = str(op)
        if name in simple:
            lowered.append((simple[name], _int(args[0]), 0))
        elif name == "IINC":
            lowered.append((_IINC, _int(args[0]), _int(args[1])))
        elif name == "IF_FALSE":
            lowered.append((_IFZ + _OPS.index("eq"), _int(args[0]), 0))
        elif name.startswith("IFZ_"):  # compare with zero, as the JVM's ifXX
            lowered.append((_IFZ + _op_index(name[4:]), _int(args[0]), 0))
        elif name.startswith("IF_"):  # compare-and-branch, as the JVM's if_icmpXX
            lowered.append((_IF + _op_index(name[3:]), _int(args[0]), 0))
        elif name == "NEG":
            lowered.append((_NEG, 0, 0))
        else:
            lowered.append((_op_index(name), 0, 0))
    return lowered


def _lower_register(
    program: Program,
) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """Lower to (op, d, a, b); immediates live in constant slots after the registers."""
    constants: list[int] = []
    base = program.n_registers

    def slot(operand: object) -> int:
        if not isinstance(operand, tuple):  # pragma: no cover - compilers emit tuples
            msg = f"internal error: bad operand {operand!r}"
            raise TypeError(msg)
        kind, x = operand
        if kind == "r":
            return _int(x)
        if x not in constants:
            constants.append(_int(x))
        return base + constants.index(_int(x))

    lowered = []
    for op, *args in program.code:
        name = str(op)
        if name == "MOVE":
            lowered.append((_MOVE, slot(args[0]), slot(args[1]), 0))
        elif name == "LOADK":
            lowered.append((_MOVE, slot(args[0]), slot(("k", args[1])), 0))
        elif name == "JUMP":
            lowered.append((_JUMP, _int(args[0]), 0, 0))
        elif name.startswith("IF_"):
            target = _int(args[2])
            lowered.append(
                (_IF + _op_index(name[3:]), slot(args[0]), slot(args[1]), target)
            )
        elif name == "NEG":
            lowered.append((_NEG, slot(args[0]), slot(args[1]), 0))
        else:
            lowered.append(
                (_op_index(name), slot(args[0]), slot(args[1]), slot(args[2]))
            )
    return lowered, constants


def _step_limit(max_steps: int) -> StepLimitExceeded:
    msg = f"the program ran more than max_steps = {max_steps} instructions"
    return StepLimitExceeded(msg)


_UNSET = object()


def _run_stack(  # noqa: PLR0912 - a dispatch loop: one branch per opcode
    code: list[tuple[int, int, int]], slots: list[Any], max_steps: int
) -> int:
    funcs = _OP_FUNCS
    stack: list[int] = []
    push, pop = stack.append, stack.pop
    pc = steps = 0
    end = len(code)
    while pc < end:
        steps += 1
        if steps > max_steps:
            raise _step_limit(max_steps)
        op, arg, arg2 = code[pc]
        pc += 1
        if op == _LOAD:
            push(slots[arg])
        elif op == _STORE:
            slots[arg] = pop()
        elif op == _PUSH:
            push(arg)
        elif op < _N_OPS:
            b = pop()
            push(int(funcs[op](pop(), b)))
        elif op >= _IFZ:
            if funcs[op - _IFZ](pop(), 0):
                pc = arg
        elif op >= _IF:
            b = pop()
            if funcs[op - _IF](pop(), b):
                pc = arg
        elif op == _IINC:
            slots[arg] += arg2
        elif op == _JUMP:
            pc = arg
        else:  # _NEG
            push(-pop())
    return steps


def _run_register(
    code: list[tuple[int, int, int, int]], regs: list[Any], max_steps: int
) -> int:
    funcs = _OP_FUNCS
    pc = steps = 0
    end = len(code)
    while pc < end:
        steps += 1
        if steps > max_steps:
            raise _step_limit(max_steps)
        op, d, a, b = code[pc]
        pc += 1
        if op < _N_OPS:
            regs[d] = int(funcs[op](regs[a], regs[b]))
        elif op == _MOVE:
            regs[d] = regs[a]
        elif op >= _IF:
            if funcs[op - _IF](regs[d], regs[a]):
                pc = b
        elif op == _JUMP:
            pc = d
        else:  # _NEG
            regs[d] = -regs[a]
    return steps


def _initial_values(program: Program, inputs: Mapping[str, object]) -> dict[str, int]:
    values: dict[str, int] = {}
    for name, value in inputs.items():
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"input {name} must be an int; got {value!r} of type {type(value).__name__}"
            raise TypeError(msg)
        if name not in program.variables:
            msg = (
                f"input {name!r} is not a variable of the program "
                f"(its variables: {program.variables})"
            )
            raise ValueError(msg)
        values[name] = value
    missing = [name for name in program.inputs if name not in values]
    if missing:
        wanted = ", ".join(f"{m}=..." for m in missing)
        msg = f"the program may read {missing} before assigning them; pass {wanted}"
        raise NameError(msg)
    return values


def run(program: Program, /, max_steps: int = 10_000_000, **inputs: int) -> RunResult:
    r"""Execute a compiled program and count the instructions it executes.

    Parameters
    ----------
    program : Program
        From :func:`compile_stack` or :func:`compile_register`.
    max_steps : int, optional
        Stop with :class:`StepLimitExceeded` after this many instructions (so a
        runaway loop ends with a clear error). The name is reserved: it cannot be
        an input variable.
    **inputs : int
        Initial values of variables, by name. Every variable that the program may
        read before assigning it (``program.inputs``) must be given.

    Returns
    -------
    RunResult
        The final value of every variable that has one, and the step count.

    Raises
    ------
    StepLimitExceeded
        If the program runs longer than `max_steps`.
    NameError
        If an input the program needs is missing.
    ZeroDivisionError
        On ``//`` or ``%`` by zero, as Python.
    TypeError, ValueError
        For inputs that are not ints or name no variable of the program.

    Examples
    --------
    Euclid's algorithm on both machines:

    >>> from labcode.vm import compile_stack, compile_register, run
    >>> source = "while b != 0:\n    t = a % b\n    a = b\n    b = t\n"
    >>> run(compile_stack(source), a=48, b=18)
    RunResult(variables={'b': 0, 'a': 6, 't': 0}, steps=35)
    >>> run(compile_register(source), a=48, b=18)
    RunResult(variables={'b': 0, 'a': 6, 't': 0}, steps=16)
    """
    given: object = program  # checked at run time: callers may pass anything
    if not isinstance(given, Program):
        msg = (
            "program must come from compile_stack or compile_register; "
            f"got {type(given).__name__}"
        )
        raise TypeError(msg)
    limit = check_int(max_steps, "max_steps", minimum=1)
    values = _initial_values(program, inputs)
    n_slots = len(program.variables) if program.kind == "stack" else program.n_registers
    # Unassigned slots hold a marker. The compile-time analysis guarantees that no
    # instruction reads one (inputs are given, other variables are assigned first).
    slots: list[Any] = [_UNSET] * n_slots
    for name, value in values.items():
        slots[program.variables.index(name)] = value
    if program.kind == "stack":
        steps = _run_stack(_lower_stack(program), slots, limit)
    else:
        code, constants = _lower_register(program)
        slots.extend(constants)
        steps = _run_register(code, slots, limit)
    # As Python: a variable exists when the path taken assigned it.
    final = {
        name: slots[i]
        for i, name in enumerate(program.variables)
        if slots[i] is not _UNSET
    }
    return RunResult(final, steps)


#: Benchmark programs of the page and tests: name -> (source, inputs).
BENCHMARKS: dict[str, tuple[str, dict[str, int]]] = {
    "gcd": (
        """\
while b != 0:
    t = a % b
    a = b
    b = t
""",
        {
            "a": 1_134_903_170,
            "b": 701_408_733,
        },  # consecutive Fibonacci numbers: worst case
    ),
    "fibonacci": (
        """\
a = 0
b = 1
i = 0
while i < n:
    t = a + b
    a = b
    b = t
    i += 1
""",
        {"n": 300},
    ),
    "sum_of_squares": (
        """\
total = 0
i = 1
while i <= n:
    total += i * i
    i += 1
""",
        {"n": 2000},
    ),
    "prime_count": (
        """\
count = 0
k = 2
while k <= n:
    d = 2
    prime = 1
    while d * d <= k:
        if k % d == 0:
            prime = 0
            d = k
        d += 1
    count += prime
    k += 1
""",
        {"n": 600},
    ),
    "collatz": (
        """\
steps = 0
x = start
while x != 1:
    if x % 2 == 0:
        x = x // 2
    else:
        x = 3 * x + 1
    steps += 1
""",
        {"start": 837_799},
    ),
    "isqrt": (
        """\
lo = 0
hi = n + 1
while hi - lo > 1:
    mid = (lo + hi) // 2
    if mid * mid <= n:
        lo = mid
    else:
        hi = mid
""",
        {"n": 10**30},
    ),
}


def trace(
    program: Program, /, max_steps: int = 1000, **inputs: int
) -> list[tuple[str, str]]:
    """Run a program step by step and record the machine state after each step.

    A slow, readable companion of :func:`run` for teaching: for the stack machine
    the state is the operand stack, for the register machine the registers that
    hold a value.

    Parameters
    ----------
    program : Program
        From :func:`compile_stack` or :func:`compile_register`.
    max_steps : int, optional
        The largest number of steps to record, >= 1.
    **inputs : int
        Initial values of variables.

    Returns
    -------
    list of (str, str)
        ``(instruction, state after it)`` for each executed instruction.

    Examples
    --------
    >>> from labcode.vm import compile_stack, trace
    >>> for instruction, state in trace(compile_stack("x = a - 3"), a=10):
    ...     print(f"{instruction:16s} {state}")
    LOAD a           stack [10]
    PUSH 3           stack [10, 3]
    SUB              stack [7]
    STORE x          stack []
    """
    limit = check_int(max_steps, "max_steps", minimum=1)
    values = _initial_values(program, inputs)
    listing = [line.split(None, 1)[1] for line in program.disassemble().splitlines()]
    names = program.variables
    n_slots = len(names) if program.kind == "stack" else program.n_registers
    slots: list[Any] = [_UNSET] * n_slots
    for name, value in values.items():
        slots[names.index(name)] = value
    if program.kind == "stack":
        return _trace_stack(program, listing, slots, limit)
    return _trace_register(program, listing, slots, limit)


def _trace_stack(
    program: Program, listing: list[str], slots: list[Any], limit: int
) -> list[tuple[str, str]]:
    code = _lower_stack(program)
    records: list[tuple[str, str]] = []
    stack: list[int] = []
    pc = 0
    while pc < len(code) and len(records) < limit:
        text = " ".join(listing[pc].split())
        op, arg, arg2 = code[pc]
        pc += 1
        if op == _LOAD:
            stack.append(slots[arg])
        elif op == _STORE:
            slots[arg] = stack.pop()
        elif op == _PUSH:
            stack.append(arg)
        elif op < _N_OPS:
            b = stack.pop()
            stack.append(int(_OP_FUNCS[op](stack.pop(), b)))
        elif op >= _IF:
            b = 0 if op >= _IFZ else stack.pop()
            if _OP_FUNCS[(op - _IFZ) if op >= _IFZ else (op - _IF)](stack.pop(), b):
                pc = arg
        elif op == _IINC:
            slots[arg] += arg2
        elif op == _JUMP:
            pc = arg
        else:
            stack.append(-stack.pop())
        records.append((text, f"stack {stack}"))
    return records


def _trace_register(
    program: Program, listing: list[str], slots: list[Any], limit: int
) -> list[tuple[str, str]]:
    code, constants = _lower_register(program)
    slots.extend(constants)
    records: list[tuple[str, str]] = []
    pc = 0
    while pc < len(code) and len(records) < limit:
        text = " ".join(listing[pc].split())
        op, d, a, b = code[pc]
        pc += 1
        if op < _N_OPS:
            slots[d] = int(_OP_FUNCS[op](slots[a], slots[b]))
        elif op == _MOVE:
            slots[d] = slots[a]
        elif op >= _IF:
            if _OP_FUNCS[op - _IF](slots[d], slots[a]):
                pc = b
        elif op == _JUMP:
            pc = d
        else:
            slots[d] = -slots[a]
        shown = ", ".join(
            f"r{i}={v}"
            for i, v in enumerate(slots[: program.n_registers])
            if v is not _UNSET
        )
        records.append((text, f"registers {shown}"))
    return records
