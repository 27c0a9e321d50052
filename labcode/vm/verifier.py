"""A bytecode verifier: a program is checked before it runs, as the JVM does.

:func:`verify` proves that a :class:`~labcode.vm.Program` cannot make the
interpreters fail in an unplanned way: every instruction is a record of its
machine with a known opcode and operands of the right type and range; every
branch lands on an instruction or on the end; the operand stack never underflows
and has one depth at each instruction (whatever path led there); and no
instruction reads a variable or register that may not have been assigned on some
path. The compilers only produce such programs; a program assembled by hand or
edited after compiling is checked the same way, and a failed check is a
``ValueError`` naming the instruction and the rule.
"""

from __future__ import annotations

from typing import NoReturn, TypeGuard

from labcode._validation import check_choice
from labcode.vm.instructions import (
    COMPARISONS,
    MAX_INT_BITS,
    OPERATORS,
    REGISTER_RECORDS,
    STACK_RECORDS,
    Binary,
    Branch,
    CompareBranch,
    Iinc,
    Imm,
    Instruction,
    LoadK,
    Local,
    Program,
    Push,
    Reg,
    StackOp,
    Unary,
)

__all__ = ["MAX_CODE_LENGTH", "MAX_REGISTERS", "verify"]

#: The most instructions a program may have (compiled programs stay far below:
#: a source of :data:`~labcode.vm.MAX_SOURCE_CHARS` characters gives fewer).
MAX_CODE_LENGTH = 200_000
#: The most variables, and registers, a program may have.
MAX_REGISTERS = 1 << 16

_ARITH_OPS = {name.upper() for name in OPERATORS if name not in COMPARISONS}
_CMP_OPS = {"CMP_" + name.upper() for name in COMPARISONS}
_BRANCH_SUFFIXES = {name.upper() for name in COMPARISONS}
_STACK_BRANCHES = (
    {"JUMP", "IF_FALSE"}
    | {"IF_" + s for s in _BRANCH_SUFFIXES}
    | {"IFZ_" + s for s in _BRANCH_SUFFIXES}
)
_REGISTER_BRANCHES = {"IF_" + s for s in _BRANCH_SUFFIXES}
#: Accepted opcodes of each record type, per machine.
_OPCODES: dict[str, dict[type, set[str]]] = {
    "stack": {
        StackOp: _ARITH_OPS | _CMP_OPS | {"NEG"},
        Local: {"LOAD", "STORE"},
        Push: {"PUSH"},
        Iinc: {"IINC"},
        Branch: _STACK_BRANCHES,
    },
    "register": {
        Unary: {"MOVE", "NEG"},
        LoadK: {"LOADK"},
        Binary: _ARITH_OPS | _CMP_OPS,
        CompareBranch: _REGISTER_BRANCHES,
        Branch: {"JUMP"},
    },
}


_RECORDS = STACK_RECORDS + REGISTER_RECORDS


def _fail(at: str, rule: str) -> NoReturn:
    """Raise the error for a program that breaks `rule` at `at`."""
    msg = f"program is malformed: {at} {rule}"
    raise ValueError(msg)


def _is_int(value: object) -> TypeGuard[int]:
    """Whether `value` is an int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_value(value: object, at: str) -> None:
    """Raise unless `value` is an int within the machines' integer range."""
    if not _is_int(value):
        _fail(at, f"must hold an int; got {value!r:.40} of type {type(value).__name__}")
    if abs(value).bit_length() > MAX_INT_BITS:
        _fail(at, f"must hold an int below 2**{MAX_INT_BITS} in magnitude")


def _check_index(value: object, at: str, what: str, limit: int) -> None:
    """Raise unless `value` is an int in ``[0, limit)``."""
    if not _is_int(value):
        _fail(at, f"must name a {what} by an int; got {value!r:.40}")
    if not 0 <= value < limit:
        _fail(at, f"names {what} {value}, outside 0..{limit - 1}")


def _check_header(program: Program) -> None:
    """Check the fields of `program` other than the code."""
    check_choice(program.kind, "program.kind", ("stack", "register"))
    fields: list[tuple[str, object]] = [
        ("code", program.code),
        ("variables", program.variables),
        ("inputs", program.inputs),
    ]
    for name, value in fields:
        if not isinstance(value, list):
            msg = f"program.{name} must be a list; got {type(value).__name__}"
            raise TypeError(msg)
    if len(program.code) > MAX_CODE_LENGTH:
        _fail(
            "program.code",
            f"has more than MAX_CODE_LENGTH = {MAX_CODE_LENGTH} instructions",
        )
    if len(program.variables) > MAX_REGISTERS:
        _fail(
            "program.variables", f"has more than MAX_REGISTERS = {MAX_REGISTERS} names"
        )
    if not all(isinstance(v, str) for v in program.variables) or len(
        set(program.variables)
    ) != len(program.variables):
        _fail("program.variables", "must be distinct strings")
    unknown = [name for name in program.inputs if name not in program.variables]
    if unknown:
        _fail("program.inputs", f"names {unknown!r:.60}, not variables of the program")
    if program.kind == "register":
        n = program.n_registers
        if not _is_int(n) or not len(program.variables) <= n <= MAX_REGISTERS:
            _fail(
                "program.n_registers",
                f"must be an int from len(variables) = {len(program.variables)} "
                f"to MAX_REGISTERS = {MAX_REGISTERS}; got {n!r:.40}",
            )


def _check_instruction(program: Program, pc: int, ins: object) -> Instruction:  # noqa: PLR0912 - one check per operand kind
    """Check the record type, opcode and operands of one instruction."""
    at = f"program.code[{pc}]"
    accepted = _OPCODES[program.kind]
    if not isinstance(ins, _RECORDS) or type(ins) not in accepted:
        names = ", ".join(t.__name__ for t in accepted)
        _fail(at, f"must be a {program.kind} instruction ({names}); got {ins!r:.60}")
    record: Instruction = ins
    if record.op not in accepted[type(record)]:
        _fail(at, f"has an unknown {type(record).__name__} opcode {record.op!r:.20}")
    n_code = len(program.code)
    n_slots = len(program.variables) if program.kind == "stack" else program.n_registers
    if isinstance(record, Local | Iinc):
        _check_index(record.slot, at, "slot", n_slots)
    if isinstance(record, Push):
        _check_value(record.value, at)
    if isinstance(record, Iinc):
        _check_value(record.increment, at)
    if isinstance(record, LoadK):
        _check_value(record.value, at)
    if isinstance(record, Branch | CompareBranch):
        _check_index(record.target, at, "branch target", n_code + 1)
    registers = [x for x in record[1:] if isinstance(x, Reg | Imm)]
    for field_name in ("dest", "src", "a"):  # always registers
        if hasattr(record, field_name) and not isinstance(
            getattr(record, field_name), Reg
        ):
            _fail(at, f"must have a Reg as {field_name}")
    if isinstance(record, Binary | CompareBranch) and not isinstance(
        record.b, Reg | Imm
    ):
        _fail(at, "must have a Reg or an Imm as b")
    for operand in registers:
        if isinstance(operand, Reg):
            _check_index(operand.index, at, "register", n_slots)
        else:
            _check_value(operand.value, at)
    return record


def _effect(record: Instruction) -> tuple[int, int, list[int], list[int]]:  # noqa: PLR0911 - one return per record
    """Return (pops, pushes, slots read, slots written) of one instruction."""
    if isinstance(record, StackOp):
        return (1 if record.op == "NEG" else 2), 1, [], []
    if isinstance(record, Local):
        if record.op == "LOAD":
            return 0, 1, [record.slot], []
        return 1, 0, [], [record.slot]
    if isinstance(record, Push):
        return 0, 1, [], []
    if isinstance(record, Iinc):
        return 0, 0, [record.slot], [record.slot]
    if isinstance(record, Branch):
        if record.op == "JUMP":
            return 0, 0, [], []
        two = record.op.startswith("IF_") and record.op != "IF_FALSE"
        return (2 if two else 1), 0, [], []
    if isinstance(record, Unary):
        return 0, 0, [record.src.index], [record.dest.index]
    if isinstance(record, LoadK):
        return 0, 0, [], [record.dest.index]
    reads = [x.index for x in (record.a, record.b) if isinstance(x, Reg)]
    if isinstance(record, Binary):
        return 0, 0, reads, [record.dest.index]
    return 0, 0, reads, []


def _successors(record: Instruction, pc: int) -> list[int]:
    """Return where execution may continue after the instruction at `pc`."""
    if isinstance(record, Branch) and record.op == "JUMP":
        return [record.target]
    if isinstance(record, Branch | CompareBranch):
        return [pc + 1, record.target]
    return [pc + 1]


def verify(program: Program, /) -> None:
    """Check that a program is well formed before it runs.

    :func:`~labcode.vm.run` and :func:`~labcode.vm.trace` call it; compiled
    programs always pass. It matters for programs built or edited by hand.

    Parameters
    ----------
    program : Program
        The program to check. Only the variables listed in ``program.inputs``
        may be read before the program assigns them.

    Raises
    ------
    TypeError
        If `program` is not a Program or its fields have the wrong types.
    ValueError
        Naming the first instruction that breaks a rule: a record of the other
        machine or an unknown opcode, an operand out of range (a slot, a register,
        a branch target, an integer of more than
        :data:`~labcode.vm.MAX_INT_BITS` bits), an operand stack that underflows or
        differs in depth between two paths, or a read of a variable or register
        that may be unassigned. Also for more than :data:`MAX_CODE_LENGTH`
        instructions or :data:`MAX_REGISTERS` registers.

    Examples
    --------
    >>> from labcode.vm import compile_stack
    >>> from labcode.vm.instructions import StackOp
    >>> from labcode.vm.verifier import verify
    >>> program = compile_stack("x = a + 1")
    >>> verify(program)
    >>> program.code.insert(0, StackOp("ADD"))
    >>> verify(program)
    Traceback (most recent call last):
    ...
    ValueError: program is malformed: program.code[0] (ADD) pops 2 operands from a stack of depth 0
    """
    given_program: object = program  # checked at run time: callers may pass anything
    if not isinstance(given_program, Program):
        msg = f"program must be a Program; got {type(given_program).__name__}"
        raise TypeError(msg)
    _check_header(program)
    code = [_check_instruction(program, pc, ins) for pc, ins in enumerate(program.code)]
    names = program.variables
    assigned = 0
    for name in program.inputs:
        assigned |= 1 << names.index(name)
    # Forward dataflow: (stack depth, bit set of assigned slots) at each reachable pc.
    states: dict[int, tuple[int, int]] = {0: (0, assigned)}
    pending = [0]
    while pending:
        pc = pending.pop()
        if pc == len(code):
            continue
        depth, done = states[pc]
        record = code[pc]
        pops, pushes, reads, writes = _effect(record)
        at = f"program.code[{pc}] ({record.op})"
        if pops > depth:
            _fail(at, f"pops {pops} operands from a stack of depth {depth}")
        for slot in reads:
            if not done >> slot & 1:
                what = names[slot] if slot < len(names) else f"r{slot}"
                _fail(at, f"reads {what}, which may be unassigned on some path")
        after = (depth - pops + pushes, done | sum(1 << w for w in writes))
        for nxt in _successors(record, pc):
            old = states.get(nxt)
            if old is None:
                states[nxt] = after
                pending.append(nxt)
                continue
            if old[0] != after[0]:
                _fail(
                    f"program.code[{nxt}]",
                    f"is reached with stack depths {old[0]} and {after[0]}",
                )
            merged = (old[0], old[1] & after[1])
            if merged != old:
                states[nxt] = merged
                pending.append(nxt)
