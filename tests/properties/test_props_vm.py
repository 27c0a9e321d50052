"""Property tests of labcode.vm (owned by i17b, who extends these entries).

Valid programs must compute what Python computes on both machines, and ``trace``
must agree with ``run``; hostile arguments must give ValueError/TypeError naming
a parameter (a CompileError is a ValueError naming ``source``; a missing input is
a MissingInputError, a TypeError naming it and a NameError as in Python), or one
of the documented signals (StepLimitExceeded, ZeroDivisionError as Python).
A program edited by hand runs cleanly or is refused naming ``program`` (the
verifier); integers stay within MAX_INT_BITS (IntegerLimitExceeded, a ValueError
naming ``program``), so no program fills the memory within its step limit.
"""

from collections.abc import Callable

import pytest
from contract_helpers import (
    SUITE,
    Entry,
    bounded,
    check_hostile,
    hostile_values,
    names_a_parameter,
)
from hypothesis import given
from hypothesis import strategies as st

from labcode.vm import (
    BENCHMARKS,
    MAX_INT_BITS,
    IntegerLimitExceeded,
    Program,
    StepLimitExceeded,
    compile_register,
    compile_stack,
    run,
    trace,
)
from labcode.vm.instructions import Branch, Iinc, Imm, Local, Push, Reg, StackOp
from labcode.vm.verifier import verify

SOURCE = "s = 0\nwhile n > 0:\n    s += n * n\n    n -= 1\n"
STACK = compile_stack(SOURCE)
REGISTER = compile_register(SOURCE)
SIGNALS = (StepLimitExceeded, ZeroDivisionError)

ENTRIES = [
    Entry(
        "labcode.vm.compile_stack",
        compile_stack,
        {"source": SOURCE},
    ),
    Entry(
        "labcode.vm.compile_register",
        compile_register,
        {"source": SOURCE},
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
def test_hostile_arguments(entry: Entry, data: st.DataObject) -> None:
    param = data.draw(st.sampled_from(sorted(entry.kwargs)), label="param")
    value = data.draw(hostile_values(), label="value")
    check_hostile(entry, param, value)


def _python(source: str, inputs: dict[str, int]) -> dict[str, object]:
    namespace: dict[str, object] = dict(inputs)
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
def test_both_machines_compute_what_python_computes(s0: int, n: int) -> None:
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
def test_benchmarks_agree_with_python(name: str) -> None:
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
def test_operands_print_as_documented(value: int, names: list[str]) -> None:
    assert Imm(value).text(names) == f"#{value}"
    index = abs(value) % 8
    text = Reg(index).text(names)
    assert text.startswith(f"r{index}")
    if index < len(names):
        assert text == f"r{index}({names[index]})"


@pytest.mark.covers("labcode.vm.verifier.verify")
@SUITE
@given(st.sampled_from(["ADD", "SUB", "NEG", "MUL"]))
def test_verify_passes_compiled_programs_and_refuses_underflow(op: str) -> None:
    for program in (STACK, REGISTER):
        assert bounded(verify, program) is None
    broken = compile_stack("x = a + 1")
    broken.code.insert(0, StackOp(op))
    with pytest.raises(ValueError, match="program is malformed"):
        bounded(verify, broken)


@pytest.mark.covers("labcode.vm.run", "labcode.vm.trace")
@SUITE
@given(st.integers(-5, 40), st.sampled_from([STACK, REGISTER]))
def test_trace_runs_the_same_steps_as_run(n: int, program: Program) -> None:
    result = bounded(run, program, n=n)
    records = bounded(trace, program, max_steps=10_000, n=n)
    assert len(records) == result.steps
    last = records[-1][1]
    assert last == "stack []" or last.startswith("registers ")
    if program is REGISTER:  # the registers of s and n hold the final values
        shown = last.removeprefix("registers ").split(", ")
        assert f"r0={result.variables['s']}" in shown


EDITS = st.one_of(
    st.builds(StackOp, st.sampled_from(["ADD", "MUL", "DIV", "NEG", "CMP_LT", "POW"])),
    st.builds(Local, st.sampled_from(["LOAD", "STORE"]), st.integers(-1, 3)),
    st.builds(
        Push, st.just("PUSH"), st.one_of(st.integers(), st.floats(), st.booleans())
    ),
    st.builds(Iinc, st.just("IINC"), st.integers(-1, 3), st.integers(-(2**80), 2**80)),
    st.builds(
        Branch, st.sampled_from(["JUMP", "IF_FALSE", "IF_LT"]), st.integers(-1, 12)
    ),
    st.sampled_from([None, ("LOAD", 0), Reg(0), "ADD"]),
)


@pytest.mark.covers("labcode.vm.verifier.verify", "labcode.vm.run")
@SUITE
@given(at=st.integers(0, 11), record=EDITS, n=st.integers(-3, 30))
def test_edited_programs_run_cleanly_or_are_refused(
    at: int, record: object, n: int
) -> None:
    program = compile_stack(SOURCE)
    # Any record, well formed or not: the verifier must refuse the bad ones.
    program.code[min(at, len(program.code) - 1)] = record  # type: ignore[call-overload]
    message = ""
    try:
        result = bounded(run, program, max_steps=2000, n=n)
    except (StepLimitExceeded, ZeroDivisionError):
        return
    except (ValueError, TypeError) as exc:
        message = str(exc)
    else:
        assert all(isinstance(v, int) for v in result.variables.values())
        return
    assert names_a_parameter(message, ["program"]), message


@pytest.mark.covers("labcode.vm.run", "labcode.vm.trace")
@SUITE
@given(
    x=st.integers(2, 2**64), compile_=st.sampled_from([compile_stack, compile_register])
)
def test_squaring_forever_stops_at_max_int_bits(
    x: int, compile_: Callable[[str], Program]
) -> None:
    program = compile_("while 1:\n    x = x * x\n")
    for function in (run, trace):
        with pytest.raises(IntegerLimitExceeded) as caught:
            bounded(function, program, x=x)
        assert f"MAX_INT_BITS = {MAX_INT_BITS}" in str(caught.value)
        assert names_a_parameter(str(caught.value), ["program"])
