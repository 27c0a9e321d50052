"""The two compilers of the tiny language, one per machine.

Both take the tree that the front end (``_frontend.py``) parsed and checked, and
share the layout of statements (``_Compiler``): :func:`~labcode.vm.compile_stack`
emits JVM-style stack code, :func:`~labcode.vm.compile_register` Dalvik-style
register code. Compilation does not recurse on the Python stack: each compiler
method is a generator that yields the sub-tasks it needs
(``value = yield self.expr(node)``) and ``run_task`` drives them with an explicit
stack, so a sum of hundreds of terms compiles as easily as a short one.
"""

from __future__ import annotations

import ast

from labcode.vm._frontend import (
    ARITH,
    COMPARE,
    MAX_SOURCE_CHARS,
    CompileError,
    Task,
    constant_value,
    describe,
    inputs_of,
    parse,
    reject,
    run_task,
    target_name,
)
from labcode.vm.instructions import (
    COMPARISONS,
    Binary,
    Branch,
    CompareBranch,
    Iinc,
    Imm,
    Instruction,
    LoadK,
    Local,
    Operand,
    Program,
    Push,
    Reg,
    StackOp,
    Unary,
)

__all__ = ["MAX_SOURCE_CHARS", "CompileError", "compile_register", "compile_stack"]

_NEGATED = {name: negated for name, (negated, _) in COMPARISONS.items()}
_SWAPPED = {name: swapped for name, (_, swapped) in COMPARISONS.items()}
_COMMUTATIVE = {"add", "mul"}
_UNPATCHED = -1  # the target of a branch until `patch` sets it


def _is_zero(node: ast.expr) -> bool:
    """Whether `node` is the literal 0."""
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


class _Variables:
    """Variable names in order of first appearance; the index is the slot."""

    def __init__(self) -> None:
        """Start with no variables."""
        self.names: list[str] = []
        self._slots: dict[str, int] = {}

    def slot(self, name: str) -> int:
        """Return the slot of `name`, giving it the next one on first sight."""
        if name not in self._slots:
            self._slots[name] = len(self.names)
            self.names.append(name)
        return self._slots[name]


# --------------------------------------------------------------------------
# What both compilers share
# --------------------------------------------------------------------------


class _Compiler:
    """What both compilers share: the code list, branch patching, control flow.

    Subclasses emit expressions, assignments and the test of a branch; ``if``
    and ``while`` are laid out the same way for both machines.
    """

    def __init__(self) -> None:
        """Start with no code, no variables and an empty constant pool."""
        self.code: list[Instruction] = []
        self.vars = _Variables()
        self.constants: list[int] = []
        self._pooled: set[int] = set()

    def compile(self, body: list[ast.stmt]) -> None:
        """Compile a statement list without recursing on the Python stack."""
        run_task(self.stmts(body))

    def branch_if_false(self, test: ast.expr) -> Task[int]:
        """Emit a test that jumps when false; return the index to patch."""
        raise NotImplementedError

    def assign(self, node: ast.Assign | ast.AugAssign) -> Task[None]:
        """Emit an assignment or augmented assignment."""
        raise NotImplementedError

    def start_statement(self) -> None:
        """Prepare for a statement (the register machine frees its temporaries)."""

    def pool(self, value: int) -> None:
        """Add `value` to the constant pool unless it is there."""
        if value not in self._pooled:
            self._pooled.add(value)
            self.constants.append(value)

    def patch(self, at: int, target: int) -> None:
        """Set the target of the branch at `at`."""
        ins = self.code[at]
        if not isinstance(ins, Branch | CompareBranch):  # pragma: no cover
            msg = f"internal error: code[{at}] = {ins} is not a branch"
            raise TypeError(msg)
        self.code[at] = ins._replace(target=target)

    def stmts(self, body: list[ast.stmt]) -> Task[None]:
        """Emit a statement list."""
        for node in body:
            yield self.stmt(node)

    def stmt(self, node: ast.stmt) -> Task[None]:
        """Emit one statement; ``pass`` and bare names or constants emit nothing."""
        self.start_statement()
        if isinstance(node, ast.Assign | ast.AugAssign):
            yield self.assign(node)
        elif isinstance(node, ast.If):
            jump_false = yield self.branch_if_false(node.test)
            yield self.stmts(node.body)
            if node.orelse:
                jump_end = len(self.code)
                self.code.append(Branch("JUMP", _UNPATCHED))
                self.patch(jump_false, len(self.code))
                yield self.stmts(node.orelse)
                self.patch(jump_end, len(self.code))
            else:
                self.patch(jump_false, len(self.code))
        elif isinstance(node, ast.While):
            top = len(self.code)
            jump_false = yield self.branch_if_false(node.test)
            yield self.stmts(node.body)
            self.code.append(Branch("JUMP", top))
            self.patch(jump_false, len(self.code))


# --------------------------------------------------------------------------
# Stack machine
# --------------------------------------------------------------------------


class _StackCompiler(_Compiler):
    """Emit JVM-style stack code: operands on an operand stack, locals in slots."""

    def expr(self, node: ast.expr) -> Task[None]:
        """Emit code that leaves the value of `node` on the stack."""
        if isinstance(node, ast.Constant):
            value = constant_value(node)
            self.pool(value)
            self.code.append(Push("PUSH", value))
        elif isinstance(node, ast.Name):
            self.code.append(Local("LOAD", self.vars.slot(node.id)))
        elif isinstance(node, ast.UnaryOp):
            yield self.expr(node.operand)
            if isinstance(node.op, ast.USub):
                self.code.append(StackOp("NEG"))
        elif isinstance(node, ast.BinOp):
            yield self.expr(node.left)
            yield self.expr(node.right)
            self.code.append(StackOp(ARITH[type(node.op)].upper()))
        elif isinstance(node, ast.Compare):
            yield self.expr(node.left)
            yield self.expr(node.comparators[0])
            self.code.append(StackOp("CMP_" + COMPARE[type(node.ops[0])].upper()))
        else:  # pragma: no cover - rejected by the front end
            raise reject(node, describe(node))

    def branch_if_false(self, test: ast.expr) -> Task[int]:
        """Emit a test that jumps when false; return the index to patch."""
        if isinstance(test, ast.Compare):
            name = COMPARE[type(test.ops[0])]
            left, right = test.left, test.comparators[0]
            if _is_zero(left) and not _is_zero(right):
                left, right, name = right, left, _SWAPPED[name]
            yield self.expr(left)
            if _is_zero(right):  # compare with zero: one operand, as ifeq/iflt/...
                self.code.append(Branch("IFZ_" + _NEGATED[name].upper(), _UNPATCHED))
            else:
                yield self.expr(right)
                self.code.append(Branch("IF_" + _NEGATED[name].upper(), _UNPATCHED))
        else:
            yield self.expr(test)
            self.code.append(Branch("IF_FALSE", _UNPATCHED))
        return len(self.code) - 1

    def assign(self, node: ast.Assign | ast.AugAssign) -> Task[None]:
        """Emit ``STORE`` after the value, or ``IINC`` for a small increment."""
        if isinstance(node, ast.Assign):
            yield self.expr(node.value)  # first: variables get slots in reading order
            self.code.append(Local("STORE", self.vars.slot(target_name(node))))
            return
        slot = self.vars.slot(target_name(node))
        step = _small_increment(node)
        if step is not None:  # x += c: one instruction, as the JVM's iinc
            self.code.append(Iinc("IINC", slot, step))
            return
        self.code.append(Local("LOAD", slot))
        yield self.expr(node.value)
        self.code.append(StackOp(ARITH[type(node.op)].upper()))
        self.code.append(Local("STORE", slot))


def compile_stack(source: str) -> Program:
    """Compile tiny-language source for the stack machine.

    Parameters
    ----------
    source : str
        Python-syntax source in the subset described in :mod:`labcode.vm`, at
        most :data:`MAX_SOURCE_CHARS` characters.

    Returns
    -------
    Program
        ``kind == "stack"``.

    Raises
    ------
    ValueError
        (a ``CompileError``) naming the unsupported construct and its line; or
        if `source` is longer than :data:`MAX_SOURCE_CHARS`.
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
    body = parse(source)
    compiler = _StackCompiler()
    compiler.compile(body)
    return Program(
        "stack",
        compiler.code,
        compiler.vars.names,
        compiler.constants,
        source=source,
        inputs=inputs_of(body, compiler.vars.names),
    )


# --------------------------------------------------------------------------
# Register machine
# --------------------------------------------------------------------------


class _RegisterCompiler(_Compiler):
    """Emit Dalvik-style register code: operands named, results written in place."""

    def __init__(self, variables: list[str]) -> None:
        """Give the `variables` the first registers; temporaries follow them."""
        super().__init__()
        for name in variables:  # locals take the first registers
            self.vars.slot(name)
        self.n_temps = 0
        self.temp_base = len(variables)
        self.in_use = 0

    def temp(self) -> Reg:
        """Return a fresh temporary register of the current statement."""
        r = self.temp_base + self.in_use
        self.in_use += 1
        self.n_temps = max(self.n_temps, self.in_use)
        return Reg(r)

    def literal(self, value: int) -> Operand:
        """Return a small constant as an immediate; load a large one from the pool."""
        if -128 <= value <= 127:
            return Imm(value)
        self.pool(value)
        reg = self.temp()
        self.code.append(LoadK("LOADK", reg, value))
        return reg

    def operand(self, node: ast.expr) -> Task[Operand]:
        """Where the value of `node` is, emitting code only if it must be computed."""
        if isinstance(node, ast.Name):
            return Reg(self.vars.slot(node.id))
        if isinstance(node, ast.Constant):
            return self.literal(constant_value(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            result: Operand = yield self.operand(node.operand)
            return result
        dest: Reg = yield self.expr(node, self.temp())
        return dest

    def in_register(self, op: Operand) -> Reg:
        """Return `op` as a register, loading an immediate into a temporary."""
        if isinstance(op, Reg):
            return op
        reg = self.temp()
        self.code.append(LoadK("LOADK", reg, op.value))
        return reg

    def expr(self, node: ast.expr, dest: Reg) -> Task[Reg]:
        """Compute `node` into register `dest`."""
        if isinstance(node, ast.Name | ast.Constant) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd)
        ):
            src: Operand = yield self.operand(node)
            if src != dest:
                self.code.append(
                    Unary("MOVE", dest, src)
                    if isinstance(src, Reg)
                    else LoadK("LOADK", dest, src.value)
                )
            return dest
        if isinstance(node, ast.UnaryOp):  # unary minus
            src = yield self.operand(node.operand)
            self.code.append(Unary("NEG", dest, self.in_register(src)))
            return dest
        if isinstance(node, ast.BinOp):
            name = ARITH[type(node.op)]
            right_node = node.right
        elif isinstance(node, ast.Compare):
            name = COMPARE[type(node.ops[0])]
            right_node = node.comparators[0]
        else:  # pragma: no cover - rejected by the front end
            raise reject(node, describe(node))
        a: Operand = yield self.operand(node.left)
        b: Operand = yield self.operand(right_node)
        if (
            isinstance(a, Imm)
            and isinstance(b, Reg)
            and (name in _COMMUTATIVE or name in _SWAPPED)
        ):
            a, b = b, a
            name = _SWAPPED.get(name, name)
        opcode = name.upper() if isinstance(node, ast.BinOp) else "CMP_" + name.upper()
        self.code.append(Binary(opcode, dest, self.in_register(a), b))
        return dest

    def branch_if_false(self, test: ast.expr) -> Task[int]:
        """Emit one compare-and-branch that jumps when `test` is false."""
        saved = self.in_use
        if isinstance(test, ast.Compare):
            name = COMPARE[type(test.ops[0])]
            a: Operand = yield self.operand(test.left)
            b: Operand = yield self.operand(test.comparators[0])
            if isinstance(a, Imm) and isinstance(b, Reg):
                a, b = b, a
                name = _SWAPPED[name]
            opcode = "IF_" + _NEGATED[name].upper()
            self.code.append(CompareBranch(opcode, self.in_register(a), b, _UNPATCHED))
        else:
            value: Operand = yield self.operand(test)
            self.code.append(
                CompareBranch("IF_EQ", self.in_register(value), Imm(0), _UNPATCHED)
            )
        self.in_use = saved
        return len(self.code) - 1

    def start_statement(self) -> None:
        """Free the temporaries of the previous statement."""
        self.in_use = 0

    def assign(self, node: ast.Assign | ast.AugAssign) -> Task[None]:
        """Compute the value straight into the target variable's register."""
        name = target_name(node)
        value = node.value
        if isinstance(node, ast.AugAssign):
            value = ast.BinOp(left=ast.Name(id=name), op=node.op, right=node.value)
        yield self.expr(value, Reg(self.vars.slot(name)))


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
        Python-syntax source in the subset described in :mod:`labcode.vm`, at
        most :data:`MAX_SOURCE_CHARS` characters.

    Returns
    -------
    Program
        ``kind == "register"``.

    Raises
    ------
    ValueError
        (a ``CompileError``) naming the unsupported construct and its line; or
        if `source` is longer than :data:`MAX_SOURCE_CHARS`.
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
    body = parse(source)
    # Variables in order of first appearance, the same slots as the stack machine.
    names = _StackCompiler()
    names.compile(body)
    compiler = _RegisterCompiler(names.vars.names)
    compiler.compile(body)
    return Program(
        "register",
        compiler.code,
        compiler.vars.names,
        compiler.constants,
        n_registers=len(compiler.vars.names) + compiler.n_temps,
        source=source,
        inputs=inputs_of(body, compiler.vars.names),
    )
