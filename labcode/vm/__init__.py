r"""A tiny language compiled for a stack machine and for a register machine.

The language is a subset of Python: integer variables, assignment (also ``+=``
and friends), ``+ - * // %``, unary minus, comparisons, ``if``/``elif``/``else``
and ``while``. Source is parsed with the standard ``ast`` module; anything else
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

**Limits.** Everything that sets the amount of work or memory is bounded, and reaching a
bound is an error that names it: the source length (:data:`MAX_SOURCE_CHARS`),
the size of every integer (:data:`MAX_INT_BITS`: constants, inputs and every
result, :class:`IntegerLimitExceeded`), the steps of :func:`run` and
:func:`trace` (``max_steps``, at most :data:`MAX_RUN_STEPS` and
:data:`MAX_TRACE_STEPS`), the text a trace records (:data:`MAX_TRACE_CHARS`),
and the instructions and registers of a program
(:data:`MAX_CODE_LENGTH`, :data:`MAX_REGISTERS`). Compilation uses no recursion,
so the depth of nesting is bounded only by what Python's parser accepts (a
:class:`CompileError` beyond it).

**Modules.** The package has one module per part, and this module re-exports
their public names:

- :mod:`labcode.vm.instructions`: the typed instruction records of both
  machines, :class:`Program` (listing and size) and the encodings;
- ``labcode.vm.compilers``: both compilers, on the tree that the internal front
  end (``_frontend.py``: parse, check the subset, find the inputs) prepares;
  neither recurses on the Python stack (a sum of 600 terms is fine);
- ``labcode.vm.verifier``: :func:`verify`, which checks a program before it
  runs, as the JVM's verifier does;
- ``labcode.vm.machines``: one interpreter loop per machine, shared by
  :func:`run` and :func:`trace`;
- ``labcode.vm.programs``: the :data:`BENCHMARKS`.

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

from labcode.vm import compilers as _compilers
from labcode.vm import instructions as _instructions
from labcode.vm import machines as _machines
from labcode.vm import programs as _programs
from labcode.vm import verifier as _verifier
from labcode.vm.compilers import CompileError, compile_register, compile_stack
from labcode.vm.instructions import Program
from labcode.vm.machines import (
    IntegerLimitExceeded,
    MissingInputError,
    RunResult,
    StepLimitExceeded,
    run,
    trace,
)
from labcode.vm.verifier import verify

__all__ = [
    "BENCHMARKS",
    "MAX_CODE_LENGTH",
    "MAX_INT_BITS",
    "MAX_REGISTERS",
    "MAX_RUN_STEPS",
    "MAX_SOURCE_CHARS",
    "MAX_TRACE_CHARS",
    "MAX_TRACE_STEPS",
    "REGISTER_SIZES",
    "STACK_SIZES",
    "CompileError",
    "IntegerLimitExceeded",
    "MissingInputError",
    "Program",
    "RunResult",
    "StepLimitExceeded",
    "compile_register",
    "compile_stack",
    "run",
    "trace",
    "verify",
]

# Re-bound here with their documentation, so the API page documents them under
# labcode.vm (autodoc reads ``#:`` comments from the module that names them).

#: Byte sizes of the stack machine's encoding, which follows JVM bytecode.
#: ``LOAD``/``STORE`` of slots 0-3 take one byte (``iload_0``), others two;
#: ``PUSH`` takes one byte for -1..5 (``iconst``), two for -128..127 (``bipush``),
#: three for 16-bit values (``sipush``) and two for anything else (``ldc`` from
#: the constant pool); ``IINC slot, c`` three; branches three (a 16-bit offset);
#: operators one.
STACK_SIZES = _instructions.STACK_SIZES
#: Byte sizes of the register machine's encoding, after Dalvik bytecode (16-bit
#: code units): two bytes for ``MOVE``, ``NEG`` and two-address arithmetic
#: (``add-int/2addr``: the destination is the first operand) when every register
#: is below 16, and for ``LOADK`` of -8..7 (``const/4``); four bytes for
#: three-address arithmetic, arithmetic with an 8-bit literal (``add-int/lit8``),
#: compare-and-branch, a 16-bit ``LOADK``, and ``JUMP`` (``goto/16``); six bytes
#: for a 32-bit ``LOADK`` and ten for a wider one (``const-wide``).
REGISTER_SIZES = _instructions.REGISTER_SIZES
#: The longest source the compilers accept, in characters.
MAX_SOURCE_CHARS = _compilers.MAX_SOURCE_CHARS
#: Every integer the machines hold (constants, inputs, results) stays below
#: ``2**MAX_INT_BITS`` in magnitude, so that no program can fill the memory
#: with one number before the step limit stops it.
MAX_INT_BITS = _instructions.MAX_INT_BITS
#: The largest ``max_steps`` of :func:`run` (minutes of interpretation).
MAX_RUN_STEPS = _machines.MAX_RUN_STEPS
#: The largest ``max_steps`` of :func:`trace` (each step keeps a record).
MAX_TRACE_STEPS = _machines.MAX_TRACE_STEPS
#: The most characters of machine state one :func:`trace` may record.
MAX_TRACE_CHARS = _machines.MAX_TRACE_CHARS
#: The most instructions a program may have (:func:`verify`); compiled programs
#: stay far below it.
MAX_CODE_LENGTH = _verifier.MAX_CODE_LENGTH
#: The most variables, and registers, a program may have (:func:`verify`).
MAX_REGISTERS = _verifier.MAX_REGISTERS
#: Benchmark programs of the page and tests, name -> (source, inputs).
BENCHMARKS = _programs.BENCHMARKS
