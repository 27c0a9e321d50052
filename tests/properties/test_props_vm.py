"""Property tests of labcode.vm (owned by i17b, who extends these entries).

Valid programs must compute what Python computes on both machines, and ``trace``
must agree with ``run``; hostile arguments must give ValueError/TypeError naming
a parameter, or one of the documented signals (CompileError for a bad source,
StepLimitExceeded, ZeroDivisionError as Python, NameError for a missing input).
"""

import pytest
from contract_helpers import SUITE, Entry, bounded, check_hostile, hostile_values
from hypothesis import given
from hypothesis import strategies as st

from labcode.vm import (
    BENCHMARKS,
    CompileError,
    Program,
    StepLimitExceeded,
    compile_register,
    compile_stack,
    run,
    trace,
)
from labcode.vm.instructions import Imm, Reg, StackOp
from labcode.vm.verifier import verify

SOURCE = "s = 0\nwhile n > 0:\n    s += n * n\n    n -= 1\n"
STACK = compile_stack(SOURCE)
REGISTER = compile_register(SOURCE)
SIGNALS = (CompileError, StepLimitExceeded, ZeroDivisionError, NameError)

ENTRIES = [
    Entry(
        "labcode.vm.compile_stack",
        compile_stack,
        {"source": SOURCE},
        allowed=(CompileError,),
    ),
    Entry(
        "labcode.vm.compile_register",
        compile_register,
        {"source": SOURCE},
        allowed=(CompileError,),
    ),
    Entry(
        "labcode.vm.run",
        lambda program, max_steps, n: run(program, max_steps=max_steps, n=n),
        {"program": STACK, "max_steps": 1000, "n": 5},
        allowed=SIGNALS,
        extra_names=["inputs"],
    ),
    Entry(
        "labcode.vm.trace",
        lambda program, max_steps, n: trace(program, max_steps=max_steps, n=n),
        {"program": REGISTER, "max_steps": 1000, "n": 5},
        allowed=SIGNALS,
        extra_names=["inputs"],
    ),
]
ENTRIES.append(
    Entry(
        "labcode.vm.verifier.verify",
        verify,
        {"program": STACK},
        extra_names=["program"],
    )
)
NAMES = [e.name for e in ENTRIES]


@pytest.mark.covers(*NAMES)
@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
@SUITE
@given(data=st.data())
def test_hostile_arguments(entry, data):
    param = data.draw(st.sampled_from(sorted(entry.kwargs)), label="param")
    value = data.draw(hostile_values(), label="value")
    check_hostile(entry, param, value)


def _python(source, inputs):
    namespace = dict(inputs)
    exec(source, {}, namespace)  # noqa: S102 - the reference semantics
    return namespace


@pytest.mark.covers(
    "labcode.vm.compile_stack",
    "labcode.vm.compile_register",
    "labcode.vm.run",
    "labcode.vm.trace",
    "labcode.vm.Program",
    "labcode.vm.Program.disassemble",
)
@SUITE
@given(st.integers(-(10**6), 10**6), st.integers(0, 30))
def test_both_machines_compute_what_python_computes(s0, n):
    want = _python(SOURCE, {"s": s0, "n": n})
    for program in (STACK, REGISTER):
        assert isinstance(program, Program)
        result = bounded(run, program, n=n)
        assert result.variables == want
        listing = program.disassemble()
        assert isinstance(listing, str)
        assert len(listing.splitlines()) >= len(program.code)
    steps = bounded(trace, STACK, max_steps=10_000, n=min(n, 3))
    assert isinstance(steps, list)
    assert steps


@pytest.mark.covers("labcode.vm.compile_stack", "labcode.vm.compile_register")
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmarks_agree_with_python(name):
    source, inputs = BENCHMARKS[name]
    want = _python(source, inputs)
    for compile_ in (compile_stack, compile_register):
        result = bounded(run, compile_(source), **inputs)
        assert result.variables == want


@pytest.mark.covers(
    "labcode.vm.instructions.Reg",
    "labcode.vm.instructions.Reg.text",
    "labcode.vm.instructions.Imm",
    "labcode.vm.instructions.Imm.text",
)
@SUITE
@given(st.integers(-(10**9), 10**9), st.lists(st.sampled_from("abcd"), max_size=4))
def test_operands_print_as_documented(value, names):
    assert Imm(value).text(names) == f"#{value}"
    index = abs(value) % 8
    text = Reg(index).text(names)
    assert text.startswith(f"r{index}")
    if index < len(names):
        assert text == f"r{index}({names[index]})"


@pytest.mark.covers("labcode.vm.verifier.verify")
@SUITE
@given(st.sampled_from(["ADD", "SUB", "NEG", "MUL"]))
def test_verify_passes_compiled_programs_and_refuses_underflow(op):
    for program in (STACK, REGISTER):
        assert bounded(verify, program) is None
    broken = compile_stack("x = a + 1")
    broken.code.insert(0, StackOp(op))
    with pytest.raises(ValueError, match="program is malformed"):
        bounded(verify, broken)
