"""Instruction records of both machines, the compiled program and its encoding.

Each instruction family is a typed record (a ``NamedTuple`` whose first
field is the opcode name), so the compilers build them, the machines lower them and
the listing prints them without casts:

========================  ==========================================  ==========
record                    opcodes                                     machine
========================  ==========================================  ==========
:class:`StackOp`          ``ADD SUB MUL DIV MOD CMP_xx NEG``          stack
:class:`Local`            ``LOAD STORE`` a variable slot              stack
:class:`Push`             ``PUSH`` a constant                         stack
:class:`Iinc`             ``IINC`` slot, increment                    stack
:class:`Branch`           ``JUMP IF_FALSE IFZ_xx IF_xx`` target       both
:class:`Unary`            ``MOVE NEG`` dest, src                      register
:class:`LoadK`            ``LOADK`` dest, constant                    register
:class:`Binary`           ``ADD ... CMP_xx`` dest, a, b               register
:class:`CompareBranch`    ``IF_xx`` a, b, target                      register
========================  ==========================================  ==========

``xx`` is one of ``LT LE GT GE EQ NE``. Register operands are :class:`Reg` (a
register) or :class:`Imm` (an immediate constant).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "COMPARISONS",
    "MAX_INT_BITS",
    "OPERATORS",
    "REGISTER_RECORDS",
    "REGISTER_SIZES",
    "STACK_RECORDS",
    "STACK_SIZES",
    "Binary",
    "Branch",
    "CompareBranch",
    "Iinc",
    "Imm",
    "Instruction",
    "LoadK",
    "Local",
    "Operand",
    "Program",
    "Push",
    "Reg",
    "StackOp",
    "Unary",
]

#: Every integer the machines hold (constants, inputs, results) stays below
#: ``2**MAX_INT_BITS`` in magnitude: a program that squares a number in a loop
#: would otherwise fill the memory long before the step limit stops it.
MAX_INT_BITS = 4096


def _floordiv(a: int, b: int) -> int:
    """Return ``a // b``, raising ZeroDivisionError with Python's message."""
    if b == 0:
        msg = "integer division or modulo by zero"
        raise ZeroDivisionError(msg)
    return a // b


def _mod(a: int, b: int) -> int:
    """Return ``a % b``, raising ZeroDivisionError with Python's message."""
    if b == 0:
        msg = "integer division or modulo by zero"
        raise ZeroDivisionError(msg)
    return a % b


#: The binary operators by lower-case name, in opcode order; comparisons give bools.
OPERATORS: dict[str, Callable[[int, int], int | bool]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": _floordiv,
    "mod": _mod,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}
#: The comparison names, each with its negation (``not a < b`` is ``a >= b``)
#: and its mirror image (``a < b`` is ``b > a``).
COMPARISONS: dict[str, tuple[str, str]] = {
    "lt": ("ge", "gt"),
    "le": ("gt", "ge"),
    "gt": ("le", "lt"),
    "ge": ("lt", "le"),
    "eq": ("ne", "eq"),
    "ne": ("eq", "ne"),
}

#: The stack machine's encoding, which follows JVM bytecode.
#: ``LOAD``/``STORE`` of slots 0-3 take one byte (``iload_0``), others two;
#: ``PUSH`` takes one byte for -1..5 (``iconst``), two for -128..127 (``bipush``),
#: three for 16-bit values (``sipush``) and two for anything else (``ldc`` from
#: the constant pool); ``IINC slot, c`` three; branches three (a 16-bit offset);
#: operators one.
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
#: The register machine's encoding, which follows Dalvik bytecode (16-bit code
#: units). Two bytes for ``MOVE``, ``NEG`` and two-address arithmetic
#: (``add-int/2addr``: the destination is the first operand) when every register
#: is below 16, and for ``LOADK`` of -8..7 (``const/4``); four bytes for
#: three-address arithmetic, arithmetic with an 8-bit literal (``add-int/lit8``),
#: compare-and-branch, a 16-bit ``LOADK``, and ``JUMP`` (``goto/16``); six bytes
#: for a 32-bit ``LOADK`` and ten for a wider one (``const-wide``).
REGISTER_SIZES = {
    "short (2addr, move, neg, const/4)": 2,
    "default": 4,
    "LOADK 32-bit": 6,
    "LOADK wide": 10,
}


# --------------------------------------------------------------------------
# Register operands
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reg:
    """A register operand: ``r{index}``; locals take the first registers."""

    index: int

    def text(self, names: list[str]) -> str:
        """Return ``r3`` or, for a variable's register, ``r3(name)``."""
        r = self.index
        return f"r{r}" + (f"({names[r]})" if 0 <= r < len(names) else "")


@dataclass(frozen=True, slots=True)
class Imm:
    """An immediate operand: a small constant inside the instruction, ``#value``."""

    value: int

    def text(self, names: list[str]) -> str:
        """Return ``#value``."""
        return f"#{self.value}"


Operand = Reg | Imm


# --------------------------------------------------------------------------
# Stack machine instructions
# --------------------------------------------------------------------------


class StackOp(NamedTuple):
    """An operator of the stack machine: pops its operands, pushes the result.

    ``ADD SUB MUL DIV MOD`` and ``CMP_LT`` ... ``CMP_NE`` pop two; ``NEG`` pops one.
    """

    op: str


class Local(NamedTuple):
    """``LOAD`` pushes a variable's slot, ``STORE`` pops into it."""

    op: str
    slot: int


class Push(NamedTuple):
    """``PUSH`` a constant on the operand stack."""

    op: str
    value: int


class Iinc(NamedTuple):
    """``IINC slot, c``: add a one-byte constant to a variable in place."""

    op: str
    slot: int
    increment: int


class Branch(NamedTuple):
    """A branch to `target`: ``JUMP`` always, or a conditional stack branch.

    On the stack machine ``IF_xx`` pops and compares two operands, ``IFZ_xx``
    compares one with zero and ``IF_FALSE`` jumps when one is zero.
    """

    op: str
    target: int


# --------------------------------------------------------------------------
# Register machine instructions
# --------------------------------------------------------------------------


class Unary(NamedTuple):
    """``MOVE dest, src`` copies a register; ``NEG dest, src`` negates it."""

    op: str
    dest: Reg
    src: Reg


class LoadK(NamedTuple):
    """``LOADK dest, value`` loads a constant into a register."""

    op: str
    dest: Reg
    value: int


class Binary(NamedTuple):
    """``ADD dest, a, b`` and friends: ``dest = a op b`` (comparisons give 0 or 1)."""

    op: str
    dest: Reg
    a: Reg
    b: Operand


class CompareBranch(NamedTuple):
    """``IF_xx a, b, target``: jump to `target` when ``a xx b`` holds."""

    op: str
    a: Reg
    b: Operand
    target: int


Instruction = (
    StackOp | Local | Push | Iinc | Branch | Unary | LoadK | Binary | CompareBranch
)
#: The records each machine accepts.
STACK_RECORDS = (StackOp, Local, Push, Iinc, Branch)
REGISTER_RECORDS = (Unary, LoadK, Binary, CompareBranch, Branch)
_ALL_RECORDS = (StackOp, Local, Push, Iinc, Branch, Unary, LoadK, Binary, CompareBranch)


@dataclass
class Program:
    """A compiled program: instructions, variables and a readable listing.

    Attributes
    ----------
    kind : {'stack', 'register'}
        The machine it runs on.
    code : list
        Typed instruction records (see the table in :mod:`labcode.vm.instructions`);
        the first field of each is the opcode name.
    variables : list of str
        Variable names, in order of first appearance (their slots or registers).
    constants : list of int
        The constant pool.
    n_registers : int
        Registers used (register programs; locals first, then temporaries).
    source : str
        The source it was compiled from.
    inputs : list of str
        Variables the program may read before assigning them: :func:`~labcode.vm.run`
        needs a value for each.
    """

    kind: str
    code: list[Instruction]
    variables: list[str]
    constants: list[int] = field(default_factory=list)
    n_registers: int = 0
    source: str = ""
    inputs: list[str] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        """Size of the code under the documented encoding (constant pool excluded)."""
        size = _stack_size if self.kind == "stack" else _register_size
        entries: list[object] = list(self.code)  # hand-edited code may hold anything
        for i, ins in enumerate(entries):
            if not isinstance(ins, _ALL_RECORDS):
                msg = (
                    f"program.code[{i}] must be an instruction record; got {ins!r:.60}"
                )
                raise TypeError(msg)
        return sum(size(ins) for ins in self.code)

    def disassemble(self) -> str:
        """Return a listing, one instruction per line: offset, opcode, operands."""
        lines = []
        entries: list[object] = list(self.code)  # hand-edited code may hold anything
        for i, ins in enumerate(entries):
            if not isinstance(ins, _ALL_RECORDS):
                lines.append(f"{i:4d}  {'?':<10s} {ins!r:.60}")
                continue
            text = ", ".join(_operand_texts(ins, self.variables))
            lines.append(f"{i:4d}  {ins.op!s:<10s} {text}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        """Return the listing, as :meth:`disassemble`."""
        return self.disassemble()


def _operand_texts(ins: Instruction, names: list[str]) -> list[str]:
    """Return the operands of `ins` as the listing shows them."""
    if isinstance(ins, Local):
        return [_name(names, ins.slot)]
    if isinstance(ins, Iinc):
        return [_name(names, ins.slot), str(ins.increment)]
    if isinstance(ins, Unary | LoadK | Binary | CompareBranch):
        return [x.text(names) if isinstance(x, Reg | Imm) else str(x) for x in ins[1:]]
    return [str(x) for x in ins[1:]]


def _name(names: list[str], slot: int) -> str:
    """Return the variable of a stack slot, or ``slot N`` for a slot out of range."""
    return names[slot] if 0 <= slot < len(names) else f"slot {slot}"


def _stack_size(ins: Instruction) -> int:  # noqa: PLR0911 - one return per rule
    """Return the JVM-style size in bytes of a stack instruction."""
    if isinstance(ins, Local):
        return STACK_SIZES["LOAD/STORE short" if ins.slot <= 3 else "LOAD/STORE"]
    if isinstance(ins, Push):
        if -1 <= ins.value <= 5:
            return STACK_SIZES["PUSH -1..5"]
        if -128 <= ins.value <= 127:
            return STACK_SIZES["PUSH 8-bit"]
        if -32768 <= ins.value <= 32767:
            return STACK_SIZES["PUSH 16-bit"]
        return STACK_SIZES["PUSH pool"]
    if isinstance(ins, Iinc):
        return STACK_SIZES["IINC"]
    if isinstance(ins, Branch):
        return STACK_SIZES["branch"]
    return STACK_SIZES["operator"]


def _register_size(ins: Instruction) -> int:
    """Return the Dalvik-style size in bytes of a register instruction."""
    short = REGISTER_SIZES["short (2addr, move, neg, const/4)"]
    default = REGISTER_SIZES["default"]
    small = all(r.index < 16 for r in ins[1:] if isinstance(r, Reg))
    if isinstance(ins, Unary):
        return short if small else default
    if isinstance(ins, LoadK):
        if -8 <= ins.value <= 7 and small:
            return short
        if -32768 <= ins.value <= 32767:
            return default
        if -(2**31) <= ins.value < 2**31:
            return REGISTER_SIZES["LOADK 32-bit"]
        return REGISTER_SIZES["LOADK wide"]
    two_address = (
        isinstance(ins, Binary)
        and ins.op in {"ADD", "SUB", "MUL", "DIV", "MOD"}
        and ins.dest == ins.a
        and isinstance(ins.b, Reg)
    )
    return short if two_address and small else default
