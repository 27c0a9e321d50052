import textwrap

import pytest
from hypothesis import given, settings
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
from labcode.vm.instructions import Binary, Imm, Local, Push, Reg, StackOp

VARS = ["a", "b", "c", "d"]


# ------------------------------------------------------------------ generated programs
def expressions(depth=3):
    leaves = st.one_of(
        st.sampled_from(VARS),
        st.integers(-3, 9).map(str),
        st.integers(-100_000, 100_000).map(lambda v: f"({v})"),
    )
    if depth == 0:
        return leaves

    def combine(children):
        binary = st.tuples(
            children, st.sampled_from(["+", "-", "*", "//", "%"]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        compare = st.tuples(
            children, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        unary = children.map(lambda e: f"(-{e})")
        return st.one_of(binary, compare, unary)

    return st.recursive(leaves, combine, max_leaves=6)


def conditions():
    return st.one_of(
        st.tuples(
            expressions(),
            st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
            expressions(),
        ).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        expressions(),
        st.sampled_from(["a == 0", "0 < b", "c != 0"]),
    )


@st.composite
def statements(draw, depth=0, counter=None):
    counter = counter if counter is not None else [0]
    kinds = ["assign", "augassign"] + (["if", "while"] if depth < 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "assign":
        return [f"{draw(st.sampled_from(VARS))} = {draw(expressions())}"]
    if kind == "augassign":
        op = draw(st.sampled_from(["+=", "-=", "*=", "//=", "%="]))
        return [f"{draw(st.sampled_from(VARS))} {op} {draw(expressions())}"]
    body = draw(blocks(depth + 1, counter))
    if kind == "if":
        lines = [f"if {draw(conditions())}:", *[f"    {line}" for line in body]]
        if draw(st.booleans()):
            other = draw(blocks(depth + 1, counter))
            lines += ["else:", *[f"    {line}" for line in other]]
        return lines
    # A bounded loop: its counter is not touched by the body.
    counter[0] += 1
    i = f"n{counter[0]}"
    bound = draw(st.integers(0, 4))
    return [
        f"{i} = 0",
        f"while {i} < {bound}:",
        *[f"    {line}" for line in body],
        f"    {i} += 1",
    ]


@st.composite
def blocks(draw, depth=0, counter=None):
    counter = counter if counter is not None else [0]
    n = draw(st.integers(1, 3))
    lines = []
    for _ in range(n):
        lines += draw(statements(depth, counter))
    return lines


def python_result(source, inputs):
    namespace = dict(inputs)
    exec(source, {}, namespace)  # noqa: S102 - the reference semantics, on generated code
    return namespace


@settings(max_examples=200, deadline=None)
@given(
    lines=blocks(),
    inputs=st.fixed_dictionaries({v: st.integers(-50, 50) for v in VARS}),
)
def test_both_machines_compute_what_python_computes(lines, inputs):
    source = "\n".join(lines) + "\n"
    used = compile_stack(source).variables
    inputs = {name: value for name, value in inputs.items() if name in used}
    try:
        expected = python_result(source, inputs)
    except ZeroDivisionError:
        for compile_ in (compile_stack, compile_register):
            with pytest.raises(ZeroDivisionError):
                run(compile_(source), **inputs)
        return
    for compile_ in (compile_stack, compile_register):
        result = run(compile_(source), **inputs)
        assert result.variables == expected, compile_.__name__


# ------------------------------------------------------------------ benchmarks
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmarks_fewer_register_instructions(name):
    source, inputs = BENCHMARKS[name]
    stack, register = compile_stack(source), compile_register(source)
    rs, rr = run(stack, **inputs), run(register, **inputs)
    assert rs.variables == rr.variables == python_result(source, inputs)
    # Register code executes far fewer instructions...
    assert rr.steps < 0.6 * rs.steps
    # ...each of which is larger on average (the paper's trade-off).
    assert register.size_bytes / len(register.code) > stack.size_bytes / len(stack.code)


def test_copy_propagation_removes_moves():
    register = compile_register("x = a * 2 + 1\ny = x - b\n")
    assert [ins[0] for ins in register.code] == ["MUL", "ADD", "SUB"]
    stack = compile_stack("x = a * 2 + 1\ny = x - b\n")
    assert len(stack.code) == 10


def test_large_constants_come_from_the_pool():
    register = compile_register("x = a + 100000\n")
    assert [ins[0] for ins in register.code] == ["LOADK", "ADD"]
    assert register.constants == [100000]
    assert run(register, a=1).variables["x"] == 100001


def test_disassembly_is_readable():
    listing = compile_stack("i = 0\nwhile i < 3:\n    i += 1\n").disassemble()
    assert "IINC       i, 1" in listing
    assert "IF_GE" in listing
    assert str(compile_register("x = -a\n")).strip() == "0  NEG        r1(x), r0(a)"


def test_sizes_follow_the_encodings():
    stack = compile_stack("x = 3\ny = 200\nz = 70000\n")
    # iconst (1) + istore (1), sipush (3) + istore (1), ldc (2) + istore (1)
    assert stack.size_bytes == 1 + 1 + 3 + 1 + 2 + 1
    register = compile_register("x = 3\ny = x + y\nx += y\n")
    # const/4 (2), add-int (4), add-int/2addr (2)
    assert register.size_bytes == 2 + 4 + 2


def test_if_else_and_while_results():
    source = textwrap.dedent(
        """\
        s = 0
        i = 0
        while i < n:
            if i % 3 == 0:
                s += i
            elif i % 3 == 1:
                s -= 1
            else:
                s = s * 2
            i += 1
        """
    )
    expected = python_result(source, {"n": 10})
    for compile_ in (compile_stack, compile_register):
        assert run(compile_(source), n=10).variables == expected


def test_variables_assigned_only_on_the_path_taken():
    source = "if a > 0:\n    y = 1\n"
    for compile_ in (compile_stack, compile_register):
        assert run(compile_(source), a=0).variables == {"a": 0}
        assert run(compile_(source), a=5).variables == {"a": 5, "y": 1}


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = a / b", r"line 1: true division '/' \(use '//'\) is not supported"),
        ("x = 1.5", r"line 1: the constant 1\.5 \(only integers\) is not supported"),
        ("x = f(1)", r"line 1: a function call is not supported"),
        ("for i in n:\n    x = 1", r"line 1: a for loop is not supported"),
        ("x = 1\nif a and b:\n    x = 2", r"line 2: 'and'/'or' is not supported"),
        ("x = a ** 2", r"the power operator '\*\*'"),
        ("x = not a", r"'not' is not supported"),
        ("x, y = 1, 2", r"assignment to anything but one variable name"),
        ("x = y = 1", r"assignment to anything but one variable name"),
        ("x = 1 < a < 3", r"a chained comparison"),
        ("while a:\n    a -= 1\nelse:\n    b = 1", r"while \.\.\. else"),
        ("x = True", r"the constant True \(only integers\)"),
        ("def f():\n    pass", r"a function definition"),
        ("x = [1]", r"a list"),
        ("x = (", r"not valid Python syntax"),
        ("a + 1", r"an expression statement"),
        ("import os", r"import"),
        ("while a:\n    break", r"line 2: 'break'"),
    ],
    ids=lambda v: v if len(v) < 20 else v[:20],
)
def test_rejected_constructs(source, message):
    for compile_ in (compile_stack, compile_register):
        with pytest.raises(CompileError, match=message):
            compile_(source)
        with pytest.raises(ValueError, match=message):  # a CompileError is a ValueError
            compile_(source)


def test_step_limit_stops_runaway_loops():
    for compile_ in (compile_stack, compile_register):
        program = compile_("while 1:\n    a += 1\n")
        with pytest.raises(
            StepLimitExceeded, match="more than max_steps = 1000 instructions"
        ):
            run(program, a=0, max_steps=1000)


def test_run_errors():
    program = compile_stack("x = a + 1\n")
    assert program.inputs == ["a"]
    with pytest.raises(
        NameError, match=r"may read \['a'\] before assigning them; pass a=\.\.\."
    ):
        run(program)
    with pytest.raises(ValueError, match=r"input 'q' is not a variable of the program"):
        run(program, a=1, q=2)
    with pytest.raises(TypeError, match=r"input a must be an int; got 1\.5"):
        run(program, a=1.5)
    with pytest.raises(TypeError, match=r"input a must be an int; got True"):
        run(program, a=True)
    with pytest.raises(
        TypeError, match="program must come from compile_stack or compile_register"
    ):
        run("x = 1")
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        run(program, a=1, max_steps=0)
    with pytest.raises(TypeError, match="source must be a str"):
        compile_stack(b"x = 1")
    with pytest.raises(ZeroDivisionError):
        run(compile_register("x = a // b\n"), a=1, b=0)
    assert isinstance(program, Program)


def test_trace_records_every_step_and_agrees_with_run():
    source, _ = BENCHMARKS["gcd"]
    small = {"a": 48, "b": 18}
    for compile_ in (compile_stack, compile_register):
        program = compile_(source)
        records = trace(program, **small)
        assert len(records) == run(program, **small).steps
        assert all(
            isinstance(text, str) and isinstance(state, str) for text, state in records
        )
    stack_states = [state for _, state in trace(compile_stack("x = a - 3"), a=10)]
    assert stack_states == ["stack [10]", "stack [10, 3]", "stack [7]", "stack []"]
    assert len(trace(compile_stack("while 1:\n    a += 1\n"), a=0, max_steps=7)) == 7


# ------------------------------------------------------------------ typed records
def test_instructions_are_typed_records():
    stack = compile_stack("x = a * 2 + 1\n")
    assert stack.code[:3] == [Local("LOAD", 0), Push("PUSH", 2), StackOp("MUL")]
    register = compile_register("x = a * 2 + 1\n")
    assert register.code[0] == Binary("MUL", Reg(2), Reg(0), Imm(2))
    assert register.code[0].b == Imm(2)
    assert register.code[0].b != Reg(2)


def test_long_sums_compile_without_recursion():
    # A 600-term sum nests 600 deep: the compilers and the checks use no recursion.
    terms = 600
    source = "x = " + " + ".join(["a"] * terms) + "\n"
    for compile_ in (compile_stack, compile_register):
        assert run(compile_(source), a=3).variables["x"] == 3 * terms
    elifs = "x = 0\nif a == 0:\n    x = 1\n" + "".join(
        f"elif a == {i}:\n    x = {i + 1}\n" for i in range(1, 300)
    )
    for compile_ in (compile_stack, compile_register):
        assert run(compile_(elifs), a=250).variables["x"] == 251
