"""The two interpreters: ``run`` executes a program, ``trace`` records its steps.

Both machines execute a lowered form of the code (integer opcodes, integer
operands) in one dispatch loop per machine, written in the same if-chain style
and calling the same arithmetic functions, so their timings compare the
instruction sets, not two coding styles. ``run`` and ``trace`` share
that loop: ``trace`` passes an observer that records the state after each step,
``run`` passes none.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from labcode._validation import check_int
from labcode.vm.instructions import (
    MAX_INT_BITS,
    OPERATORS,
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
from labcode.vm.verifier import verify

__all__ = [
    "MAX_RUN_STEPS",
    "MAX_TRACE_CHARS",
    "MAX_TRACE_STEPS",
    "IntegerLimitExceeded",
    "MissingInputError",
    "RunResult",
    "StepLimitExceeded",
    "run",
    "trace",
]

#: The largest ``max_steps`` of :func:`run` (minutes of interpretation).
MAX_RUN_STEPS = 10**9
#: The largest ``max_steps`` of :func:`trace` (each step keeps a record).
MAX_TRACE_STEPS = 100_000
#: The most characters of machine state a :func:`trace` may record (a register
#: scanned counts as one): a trace of big values or of many registers is refused.
MAX_TRACE_CHARS = 20_000_000
_BOUND = 1 << MAX_INT_BITS  # every value v satisfies -_BOUND < v < _BOUND


class StepLimitExceeded(RuntimeError):
    """Raised when a program executes more instructions than allowed."""


class IntegerLimitExceeded(ValueError):
    """Raised when a program computes an integer of more than MAX_INT_BITS bits."""


class MissingInputError(NameError, TypeError):
    """An input the program needs was not passed.

    A ``NameError``, as Python's for a variable read before it is assigned, and a
    ``TypeError``, as Python's for a missing argument (the library's contract).
    """


class RunResult(NamedTuple):
    """What :func:`run` returns.

    Attributes
    ----------
    variables : dict
        The final value of every variable of the program, by name.
    steps : int
        The number of VM instructions executed.
    """

    variables: dict[str, int]
    steps: int


# --------------------------------------------------------------------------
# Lowering: typed records to integer tuples
# --------------------------------------------------------------------------

_OPS = list(OPERATORS)
_OP_FUNCS = list(OPERATORS.values())
_N_OPS = len(_OPS)
# Opcodes after the arithmetic ones; compare-and-branch opcodes are _IF + op.
_LOAD, _STORE, _PUSH, _JUMP, _IINC, _NEG, _MOVE = range(_N_OPS, _N_OPS + 7)
_IF = _N_OPS + 7  # _IF + op: compare two operands and branch
_IFZ = _IF + _N_OPS  # _IFZ + op: compare one operand with zero and branch

#: Watches a machine: called with the index of the instruction just executed
#: and the operand stack (stack machine) or the registers (register machine).
_Observer = Callable[[int, list[Any]], None]


def _op_index(opcode: str) -> int:
    """Return the operator number of ``ADD``, ``CMP_LT``, ``LT`` and friends."""
    return _OPS.index(opcode.removeprefix("CMP_").lower())


def _lower_stack(code: list[Instruction]) -> list[tuple[int, int, int]]:
    """Lower stack code to ``(op, arg, arg2)`` integer triples."""
    lowered = []
    for ins in code:
        if isinstance(ins, Local):
            lowered.append((_LOAD if ins.op == "LOAD" else _STORE, ins.slot, 0))
        elif isinstance(ins, Push):
            lowered.append((_PUSH, ins.value, 0))
        elif isinstance(ins, Iinc):
            lowered.append((_IINC, ins.slot, ins.increment))
        elif isinstance(ins, Branch):
            name = ins.op
            if name == "JUMP":
                op = _JUMP
            elif name == "IF_FALSE":
                op = _IFZ + _op_index("eq")
            elif name.startswith("IFZ_"):  # compare with zero, as the JVM's ifXX
                op = _IFZ + _op_index(name[4:])
            else:  # compare-and-branch, as the JVM's if_icmpXX
                op = _IF + _op_index(name[3:])
            lowered.append((op, ins.target, 0))
        elif isinstance(ins, StackOp) and ins.op == "NEG":
            lowered.append((_NEG, 0, 0))
        elif isinstance(ins, StackOp):
            lowered.append((_op_index(ins.op), 0, 0))
    return lowered


def _lower_register(
    program: Program,
) -> tuple[list[tuple[int, int, int, int]], list[int]]:
    """Lower to (op, d, a, b); immediates live in constant slots after the registers."""
    constants: dict[int, int] = {}  # value -> slot, in order of first use
    base = program.n_registers

    def slot(operand: Operand) -> int:
        """Return the register of `operand`, or the constant slot of an immediate."""
        if isinstance(operand, Reg):
            return operand.index
        return constants.setdefault(operand.value, base + len(constants))

    lowered = []
    for ins in program.code:
        if isinstance(ins, Unary):
            op = _MOVE if ins.op == "MOVE" else _NEG
            lowered.append((op, ins.dest.index, ins.src.index, 0))
        elif isinstance(ins, LoadK):
            lowered.append((_MOVE, ins.dest.index, slot(Imm(ins.value)), 0))
        elif isinstance(ins, Branch):
            lowered.append((_JUMP, ins.target, 0, 0))
        elif isinstance(ins, CompareBranch):
            op = _IF + _op_index(ins.op[3:])
            lowered.append((op, ins.a.index, slot(ins.b), ins.target))
        elif isinstance(ins, Binary):
            op = _op_index(ins.op)
            lowered.append((op, ins.dest.index, ins.a.index, slot(ins.b)))
    return lowered, list(constants)


# --------------------------------------------------------------------------
# The interpreter loops, shared by run (no observer) and trace
# --------------------------------------------------------------------------


def _too_large(at: int) -> IntegerLimitExceeded:
    """Return the error for a result beyond the machines' integer range."""
    msg = (
        f"the program computed an integer of more than MAX_INT_BITS = "
        f"{MAX_INT_BITS} bits (the machines' integer range) at instruction {at}"
    )
    return IntegerLimitExceeded(msg)


def _step_limit(max_steps: int) -> StepLimitExceeded:
    """Return the error for a program that runs past `max_steps`."""
    msg = f"the program ran more than max_steps = {max_steps} instructions"
    return StepLimitExceeded(msg)


_UNSET = object()  # the value of a variable that has none yet


def _run_stack(  # noqa: PLR0912 - a dispatch loop: one branch per opcode
    code: list[tuple[int, int, int]],
    slots: list[Any],
    max_steps: int,
    observe: _Observer | None = None,
) -> int:
    """Execute lowered stack code on `slots`; return the number of steps."""
    funcs, bound = _OP_FUNCS, _BOUND
    stack: list[int] = []
    push, pop = stack.append, stack.pop
    pc = steps = 0
    end = len(code)
    while pc < end:
        steps += 1
        if steps > max_steps:
            raise _step_limit(max_steps)
        here = pc
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
            value = int(funcs[op](pop(), b))
            if not -bound < value < bound:
                raise _too_large(here)
            push(value)
        elif op >= _IFZ:
            if funcs[op - _IFZ](pop(), 0):
                pc = arg
        elif op >= _IF:
            b = pop()
            if funcs[op - _IF](pop(), b):
                pc = arg
        elif op == _IINC:
            slots[arg] += arg2
            if not -bound < slots[arg] < bound:
                raise _too_large(here)
        elif op == _JUMP:
            pc = arg
        else:  # _NEG
            push(-pop())
        if observe is not None:
            observe(here, stack)
    return steps


def _run_register(
    code: list[tuple[int, int, int, int]],
    regs: list[Any],
    max_steps: int,
    observe: _Observer | None = None,
) -> int:
    """Execute lowered register code on `regs`; return the number of steps."""
    funcs, bound = _OP_FUNCS, _BOUND
    pc = steps = 0
    end = len(code)
    while pc < end:
        steps += 1
        if steps > max_steps:
            raise _step_limit(max_steps)
        here = pc
        op, d, a, b = code[pc]
        pc += 1
        if op < _N_OPS:
            value = int(funcs[op](regs[a], regs[b]))
            if not -bound < value < bound:
                raise _too_large(here)
            regs[d] = value
        elif op == _MOVE:
            regs[d] = regs[a]
        elif op >= _IF:
            if funcs[op - _IF](regs[d], regs[a]):
                pc = b
        elif op == _JUMP:
            pc = d
        else:  # _NEG
            regs[d] = -regs[a]
        if observe is not None:
            observe(here, regs)
    return steps


def _execute(
    program: Program,
    values: dict[str, int],
    max_steps: int,
    observe: _Observer | None = None,
) -> tuple[list[Any], int]:
    """Run `program` from `values`; return the variable slots and the step count."""
    n_slots = len(program.variables) if program.kind == "stack" else program.n_registers
    # Unassigned slots hold a marker. The compile-time analysis guarantees that no
    # instruction reads one (inputs are given, other variables are assigned first).
    slots: list[Any] = [_UNSET] * n_slots
    for name, value in values.items():
        slots[program.variables.index(name)] = value
    if program.kind == "stack":
        steps = _run_stack(_lower_stack(program.code), slots, max_steps, observe)
    else:
        code, constants = _lower_register(program)
        slots.extend(constants)
        steps = _run_register(code, slots, max_steps, observe)
    return slots, steps


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def _check_program(program: object) -> Program:
    """Return `program` if it is a Program, else raise TypeError naming it."""
    if not isinstance(program, Program):
        msg = (
            "program must come from compile_stack or compile_register; "
            f"got {type(program).__name__}"
        )
        raise TypeError(msg)
    return program


def _initial_values(program: Program, inputs: Mapping[str, object]) -> dict[str, int]:
    """Check the inputs against the program; return them as a dict of ints."""
    values: dict[str, int] = {}
    for name, given in inputs.items():
        if (
            isinstance(given, int)
            and not isinstance(given, bool)
            and given.bit_length() > MAX_INT_BITS
        ):
            msg = (
                f"input {name} must be below 2**{MAX_INT_BITS} in magnitude "
                f"(MAX_INT_BITS); got an int of {given.bit_length()} bits"
            )
            raise ValueError(msg)
        value = check_int(given, f"input {name}")
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
        raise MissingInputError(msg)
    return values


def run(program: Program, /, max_steps: int = 10_000_000, **inputs: int) -> RunResult:
    r"""Execute a compiled program and count the instructions it executes.

    Parameters
    ----------
    program : Program
        From :func:`compile_stack` or :func:`compile_register`.
    max_steps : int, optional
        Stop with :class:`StepLimitExceeded` after this many instructions (so a
        runaway loop ends with a clear error), from 1 to :data:`MAX_RUN_STEPS`.
        The name is reserved: it cannot be an input variable.
    **inputs : int
        Initial values of variables, by name, below ``2**MAX_INT_BITS`` in
        magnitude. Every variable that the program may read before assigning it
        (``program.inputs``) must be given.

    Returns
    -------
    RunResult
        The final value of every variable that has one, and the step count.

    Raises
    ------
    StepLimitExceeded
        If the program runs longer than `max_steps`.
    IntegerLimitExceeded
        (a ``ValueError``) if the program computes an integer of more than
        :data:`~labcode.vm.MAX_INT_BITS` bits, where Python would go on until the
        memory runs out.
    MissingInputError
        (a ``NameError`` and a ``TypeError``) if an input the program needs is
        missing.
    ZeroDivisionError
        On ``//`` or ``%`` by zero, as Python.
    TypeError
        If `program` is not a Program, `max_steps` or an input is not an int.
    ValueError
        If `max_steps` or an input is out of range, an input names no variable
        of the program, or the program fails :func:`~labcode.vm.verify` (one
        built or edited by hand).

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
    checked = _check_program(program)
    limit = check_int(
        max_steps, "max_steps", minimum=1, maximum=MAX_RUN_STEPS, why="MAX_RUN_STEPS"
    )
    verify(checked)
    values = _initial_values(checked, inputs)
    slots, steps = _execute(checked, values, limit)
    # As Python: a variable exists when the path taken assigned it.
    final = {
        name: slots[i]
        for i, name in enumerate(checked.variables)
        if slots[i] is not _UNSET
    }
    return RunResult(final, steps)


def trace(
    program: Program, /, max_steps: int = 1000, **inputs: int
) -> list[tuple[str, str]]:
    """Run a program step by step and record the machine state after each step.

    A slow, readable companion of :func:`run` for teaching, on the same
    interpreter loop: for the stack machine the state is the operand stack, for
    the register machine the registers that hold a value.

    Parameters
    ----------
    program : Program
        From :func:`compile_stack` or :func:`compile_register`.
    max_steps : int, optional
        The largest number of steps to record, from 1 to :data:`MAX_TRACE_STEPS`;
        the trace ends there without an error. The records may hold at most
        :data:`MAX_TRACE_CHARS` characters of state in all (a ValueError naming
        `max_steps` beyond).
    **inputs : int
        Initial values of variables, as for :func:`run`.

    Returns
    -------
    list of (str, str)
        ``(instruction, state after it)`` for each executed instruction.

    Raises
    ------
    TypeError, ValueError, MissingInputError, ZeroDivisionError, IntegerLimitExceeded
        As :func:`run`.

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
    checked = _check_program(program)
    limit = check_int(
        max_steps,
        "max_steps",
        minimum=1,
        maximum=MAX_TRACE_STEPS,
        why="MAX_TRACE_STEPS",
    )
    verify(checked)
    values = _initial_values(checked, inputs)
    listing = [
        " ".join(line.split()[1:]) for line in checked.disassemble().splitlines()
    ]
    records: list[tuple[str, str]] = []
    n_registers = checked.n_registers
    budget = [MAX_TRACE_CHARS]  # characters of state still allowed

    def record(at: int, state: str, work: int) -> None:
        """Keep one record, charging its text and `work` to the budget."""
        budget[0] -= len(state) + work
        if budget[0] < 0:
            msg = (
                f"max_steps = {limit} would record more than MAX_TRACE_CHARS = "
                f"{MAX_TRACE_CHARS} characters of machine state (big values or many "
                f"registers); lower max_steps"
            )
            raise ValueError(msg)
        records.append((listing[at], state))

    def observe_stack(at: int, stack: list[Any]) -> None:
        """Record the instruction and the operand stack after it."""
        record(at, f"stack {stack}", 0)

    def observe_registers(at: int, regs: list[Any]) -> None:
        """Record the instruction and the registers that hold a value."""
        shown = ", ".join(
            f"r{i}={v}" for i, v in enumerate(regs[:n_registers]) if v is not _UNSET
        )
        record(at, f"registers {shown}", n_registers)

    observe = observe_stack if checked.kind == "stack" else observe_registers
    with contextlib.suppress(StepLimitExceeded):  # the records so far are the trace
        _execute(checked, values, limit, observe)
    return records
