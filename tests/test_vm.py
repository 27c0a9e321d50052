import ast
import textwrap
from collections.abc import Callable
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labcode.vm import (
    BENCHMARKS,
    MAX_CODE_LENGTH,
    MAX_INT_BITS,
    MAX_REGISTERS,
    MAX_RUN_STEPS,
    MAX_SOURCE_CHARS,
    MAX_TRACE_CHARS,
    MAX_TRACE_STEPS,
    CompileError,
    IntegerLimitExceeded,
    MissingInputError,
    Program,
    StepLimitExceeded,
    compile_register,
    compile_stack,
    run,
    trace,
    verify,
)
from labcode.vm.instructions import (
    Binary,
    Branch,
    CompareBranch,
    Iinc,
    Imm,
    LoadK,
    Local,
    Push,
    Reg,
    StackOp,
    Unary,
)

VARS = ["a", "b", "c", "d"]


# ------------------------------------------------------------------ generated programs
def expressions(depth: int = 3) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(VARS),
        st.integers(-3, 9).map(str),
        st.integers(-100_000, 100_000).map(lambda v: f"({v})"),
    )
    if depth == 0:
        return leaves

    def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(
            children, st.sampled_from(["+", "-", "*", "//", "%"]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        compare = st.tuples(
            children, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), children
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        unary = children.map(lambda e: f"(-{e})")
        return st.one_of(binary, compare, unary)

    return st.recursive(leaves, combine, max_leaves=6)


def conditions() -> st.SearchStrategy[str]:
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
def statements(
    draw: st.DrawFn, depth: int = 0, counter: list[int] | None = None
) -> list[str]:
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
def blocks(
    draw: st.DrawFn, depth: int = 0, counter: list[int] | None = None
) -> list[str]:
    counter = counter if counter is not None else [0]
    n = draw(st.integers(1, 3))
    lines: list[str] = []
    for _ in range(n):
        lines += draw(statements(depth, counter))
    return lines


class TooLarge(Exception):
    """Python's reference reached an integer beyond the machines' range."""


def _checked(value: int) -> int:
    if abs(value).bit_length() > MAX_INT_BITS:
        raise TooLarge
    return value


class _CheckArithmetic(ast.NodeTransformer):
    """Wrap every arithmetic result in _checked(...), as the machines check it."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.Call:
        self.generic_visit(node)
        return ast.Call(ast.Name("_checked", ast.Load()), [node], [])

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.Assign:
        self.generic_visit(node)
        name = cast(ast.Name, node.target).id  # generated code augments names only
        value = ast.BinOp(ast.Name(name, ast.Load()), node.op, node.value)
        call = ast.Call(ast.Name("_checked", ast.Load()), [value], [])
        return ast.Assign([ast.Name(name, ast.Store())], call)


def python_result(source: str, inputs: dict[str, int]) -> dict[str, object]:
    """Python's own result: the reference semantics, on generated code.

    Every arithmetic result is checked against MAX_INT_BITS (TooLarge), so
    that the reference fails exactly where the machines must.
    """
    tree = ast.fix_missing_locations(_CheckArithmetic().visit(ast.parse(source)))
    namespace: dict[str, object] = dict(inputs)
    exec(compile(tree, "<generated>", "exec"), {"_checked": _checked}, namespace)  # noqa: S102
    return namespace


@settings(max_examples=200, deadline=None)
@given(
    lines=blocks(),
    inputs=st.fixed_dictionaries({v: st.integers(-50, 50) for v in VARS}),
)
def test_both_machines_compute_what_python_computes(
    lines: list[str], inputs: dict[str, int]
) -> None:
    source = "\n".join(lines) + "\n"
    used = compile_stack(source).variables
    inputs = {name: value for name, value in inputs.items() if name in used}
    try:
        expected = python_result(source, inputs)
    except (ZeroDivisionError, TooLarge) as exc:
        error = (
            ZeroDivisionError
            if isinstance(exc, ZeroDivisionError)
            else IntegerLimitExceeded
        )
        for compile_ in (compile_stack, compile_register):
            with pytest.raises(error):
                run(compile_(source), **inputs)
        return
    for compile_ in (compile_stack, compile_register):
        program = compile_(source)
        verify(program)  # what the compilers emit always passes the verifier
        result = run(program, **inputs)
        assert result.variables == expected, compile_.__name__
        assert set(program.inputs) <= set(inputs)
        # trace runs the same loop: the same number of steps, the same end state.
        records = trace(program, max_steps=MAX_TRACE_STEPS, **inputs)
        assert len(records) == min(result.steps, MAX_TRACE_STEPS)


# ------------------------------------------------------------------ benchmarks
@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmarks_fewer_register_instructions(name: str) -> None:
    source, inputs = BENCHMARKS[name]
    stack, register = compile_stack(source), compile_register(source)
    rs, rr = run(stack, **inputs), run(register, **inputs)
    assert rs.variables == rr.variables == python_result(source, inputs)
    # Register code executes far fewer instructions...
    assert rr.steps < 0.6 * rs.steps
    # ...each of which is larger on average (the paper's trade-off).
    assert register.size_bytes / len(register.code) > stack.size_bytes / len(stack.code)


def test_copy_propagation_removes_moves() -> None:
    register = compile_register("x = a * 2 + 1\ny = x - b\n")
    assert [ins[0] for ins in register.code] == ["MUL", "ADD", "SUB"]
    stack = compile_stack("x = a * 2 + 1\ny = x - b\n")
    assert len(stack.code) == 10


def test_large_constants_come_from_the_pool() -> None:
    register = compile_register("x = a + 100000\n")
    assert [ins[0] for ins in register.code] == ["LOADK", "ADD"]
    assert register.constants == [100000]
    assert run(register, a=1).variables["x"] == 100001


def test_disassembly_is_readable() -> None:
    listing = compile_stack("i = 0\nwhile i < 3:\n    i += 1\n").disassemble()
    assert "IINC       i, 1" in listing
    assert "IF_GE" in listing
    assert str(compile_register("x = -a\n")).strip() == "0  NEG        r1(x), r0(a)"


def test_sizes_follow_the_encodings() -> None:
    stack = compile_stack("x = 3\ny = 200\nz = 70000\n")
    # iconst (1) + istore (1), sipush (3) + istore (1), ldc (2) + istore (1)
    assert stack.size_bytes == 1 + 1 + 3 + 1 + 2 + 1
    register = compile_register("x = 3\ny = x + y\nx += y\n")
    # const/4 (2), add-int (4), add-int/2addr (2)
    assert register.size_bytes == 2 + 4 + 2


def test_if_else_and_while_results() -> None:
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


def test_variables_assigned_only_on_the_path_taken() -> None:
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
def test_rejected_constructs(source: str, message: str) -> None:
    for compile_ in (compile_stack, compile_register):
        with pytest.raises(CompileError, match=r"^source( line \d+)?: "):
            compile_(source)
        with pytest.raises(CompileError, match=message):
            compile_(source)
        with pytest.raises(ValueError, match=message):  # a CompileError is a ValueError
            compile_(source)


def test_step_limit_stops_runaway_loops() -> None:
    for compile_ in (compile_stack, compile_register):
        program = compile_("while 1:\n    a += 1\n")
        with pytest.raises(
            StepLimitExceeded, match="more than max_steps = 1000 instructions"
        ):
            run(program, a=0, max_steps=1000)


def test_run_errors() -> None:
    program = compile_stack("x = a + 1\n")
    assert program.inputs == ["a"]
    for error in (MissingInputError, NameError, TypeError):  # as Python, and ours
        with pytest.raises(
            error, match=r"may read \['a'\] before assigning them; pass a=\.\.\."
        ):
            run(program)
    with pytest.raises(ValueError, match=r"input 'q' is not a variable of the program"):
        run(program, a=1, q=2)
    with pytest.raises(TypeError, match=r"input a must be an integer; got 1\.5"):
        run(program, a=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"input a must be an integer; got True"):
        run(program, a=True)
    with pytest.raises(
        TypeError, match="program must come from compile_stack or compile_register"
    ):
        run("x = 1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_steps must be >= 1"):
        run(program, a=1, max_steps=0)
    with pytest.raises(TypeError, match="source must be a str"):
        compile_stack(b"x = 1")  # type: ignore[arg-type]
    with pytest.raises(ZeroDivisionError):
        run(compile_register("x = a // b\n"), a=1, b=0)
    assert isinstance(program, Program)


def test_trace_records_every_step_and_agrees_with_run() -> None:
    source, _ = BENCHMARKS["gcd"]
    small = {"a": 48, "b": 18}
    for compile_ in (compile_stack, compile_register):
        program = compile_(source)
        records = trace(program, **small)
        assert len(records) == run(program, **small).steps
        assert all(text and state for text, state in records)
    stack_states = [state for _, state in trace(compile_stack("x = a - 3"), a=10)]
    assert stack_states == ["stack [10]", "stack [10, 3]", "stack [7]", "stack []"]
    assert len(trace(compile_stack("while 1:\n    a += 1\n"), a=0, max_steps=7)) == 7


# ------------------------------------------------------------------ typed records
def test_instructions_are_typed_records() -> None:
    stack = compile_stack("x = a * 2 + 1\n")
    assert stack.code[:3] == [Local("LOAD", 0), Push("PUSH", 2), StackOp("MUL")]
    register = compile_register("x = a * 2 + 1\n")
    assert register.code[0] == Binary("MUL", Reg(2), Reg(0), Imm(2))
    assert register.code[0].b == Imm(2)
    assert register.code[0].b != Reg(2)  # type: ignore[comparison-overlap]


def test_long_sums_compile_without_recursion() -> None:
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


# ------------------------------------------------------------------ limits
def test_trace_checks_its_program() -> None:
    # It used to fail with AttributeError on None.
    for bad in (None, "x = 1", 3):
        with pytest.raises(TypeError, match="program must come from compile_stack"):
            trace(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("function", [run, trace])
@pytest.mark.parametrize(
    ("max_steps", "error", "message"),
    [
        (0, ValueError, "max_steps must be >= 1"),
        (-5, ValueError, "max_steps must be >= 1"),
        (True, TypeError, "max_steps must be an integer; got True"),
        (10.0, TypeError, "max_steps must be an integer; got 10.0"),
        (None, TypeError, "max_steps must be an integer; got None"),
        ("10", TypeError, "max_steps must be an integer"),
        (10**20, ValueError, r"max_steps must be <= \d+ \(MAX_(RUN|TRACE)_STEPS\)"),
    ],
)
def test_max_steps_is_validated(
    function: Callable[..., object],
    max_steps: object,
    error: type[Exception],
    message: str,
) -> None:
    program = compile_stack("x = a\n")
    with pytest.raises(error, match=message):
        function(program, a=1, max_steps=max_steps)


def test_step_limits_are_the_documented_ones() -> None:
    program = compile_stack("x = a\n")
    assert run(program, a=1, max_steps=MAX_RUN_STEPS).steps == 2
    assert len(trace(program, a=1, max_steps=MAX_TRACE_STEPS)) == 2
    with pytest.raises(ValueError, match="MAX_TRACE_STEPS"):
        trace(program, a=1, max_steps=MAX_TRACE_STEPS + 1)


def test_integers_stay_within_max_int_bits() -> None:
    # Squaring in a loop used to fill the memory long before the step limit.
    for compile_ in (compile_stack, compile_register):
        program = compile_("while 1:\n    x = x * x\n")
        with pytest.raises(IntegerLimitExceeded, match="MAX_INT_BITS = 4096 bits"):
            run(program, x=3)
        with pytest.raises(ValueError, match="MAX_INT_BITS"):  # it is a ValueError
            trace(program, x=3)
        # Up to the limit is fine, one past it is not, both signs (IINC too).
        top = 2**MAX_INT_BITS - 1
        assert run(compile_("x = a + 0\n"), a=top).variables["x"] == top
        assert run(compile_("x = a - 0\n"), a=-top).variables["x"] == -top
        for source, value in [
            ("x = a + 1\n", top),
            ("a += 1\n", top),
            ("a -= 1\n", -top),
        ]:
            with pytest.raises(IntegerLimitExceeded):
                run(compile_(source), a=value)
    with pytest.raises(ValueError, match="input a must be below 2\\*\\*4096"):
        run(compile_stack("x = a\n"), a=2**MAX_INT_BITS)
    with pytest.raises(CompileError, match="a constant of 4097 bits"):
        compile_stack(f"x = {hex(2**MAX_INT_BITS)}\n")


def test_source_limits() -> None:
    with pytest.raises(ValueError, match="source must be at most MAX_SOURCE_CHARS"):
        compile_stack("x = 1\n" * (MAX_SOURCE_CHARS // 6 + 1))
    # Deeper than Python's parser goes: our error, not a RecursionError.
    for source in ["x = " + "-" * 20_000 + "a\n", "x = " + "(" * 500 + "a" + ")" * 500]:
        for compile_ in (compile_stack, compile_register):
            with pytest.raises(
                CompileError, match=r"(deeper than Python's parser|nested)"
            ):
                compile_(source)
    with pytest.raises(CompileError, match="not valid Python syntax"):
        compile_stack("x = 1\0\n")
    with pytest.raises(CompileError, match="max_steps is run\\(\\)'s step limit"):
        compile_register("y = max_steps + 1\n")
    assert run(compile_stack("max_steps = 1\ny = max_steps\n")).variables["y"] == 1


def test_numpy_integers_are_inputs_as_python_ints() -> None:
    np = pytest.importorskip("numpy")
    result = run(compile_register("x = a * a\n"), a=np.int64(2**40))
    assert result.variables["x"] == 2**80  # no int64 wrap-around
    assert type(result.variables["a"]) is int


# ------------------------------------------------------------------ verifier
@pytest.mark.parametrize(
    ("kind", "edit", "message"),
    [
        (
            "stack",
            lambda p: p.code.insert(0, StackOp("ADD")),
            r"code\[0\] \(ADD\) pops 2",
        ),
        ("stack", lambda p: p.code.__setitem__(0, Local("LOAD", 9)), "slot 9, outside"),
        (
            "stack",
            lambda p: p.code.__setitem__(0, ("LOAD", 0)),
            "must be a stack instruction",
        ),
        (
            "stack",
            lambda p: p.code.__setitem__(0, Local("LAOD", 0)),
            "unknown Local opcode",
        ),
        (
            "stack",
            lambda p: p.code.__setitem__(0, Push("PUSH", 1.5)),  # type: ignore[arg-type]
            "must hold an int; got 1.5",
        ),
        (
            "stack",
            lambda p: p.code.__setitem__(0, Push("PUSH", True)),
            "must hold an int; got True",
        ),
        ("stack", lambda p: p.code.append(Branch("JUMP", 99)), "branch target 99"),
        ("stack", lambda p: p.code.append(Branch("JUMP", -1)), "branch target -1"),
        (
            "stack",
            lambda p: p.code.append(Iinc("IINC", 1, 2**5000)),
            "below 2\\*\\*4096",
        ),
        ("stack", lambda p: p.code.insert(0, Branch("IF_LT", 2)), "pops 2 operands"),
        (
            "stack",
            lambda p: p.code.insert(0, Unary("MOVE", Reg(0), Reg(1))),
            "must be a stack",
        ),
        (
            "stack",
            lambda p: setattr(p, "inputs", []),
            "reads a, which may be unassigned",
        ),
        ("stack", lambda p: setattr(p, "variables", ["a", "a"]), "distinct strings"),
        (
            "stack",
            lambda p: setattr(p, "inputs", ["q"]),
            "not variables of the program",
        ),
        ("stack", lambda p: setattr(p, "kind", "heap"), "program.kind must be one of"),
        (
            "stack",
            lambda p: setattr(p, "code", tuple(p.code)),
            "program.code must be a list",
        ),
        (
            "register",
            lambda p: setattr(p, "n_registers", 10**12),
            "n_registers must be .* got 10{12}",
        ),
        (
            "register",
            lambda p: setattr(p, "n_registers", 1),
            "n_registers must be .* got 1$",
        ),
        ("register", lambda p: p.code.insert(0, Push("PUSH", 1)), "must be a register"),
        (
            "register",
            lambda p: p.code.insert(0, Unary("MOVE", Reg(0), Imm(1))),  # type: ignore[arg-type]
            "Reg as src",
        ),
        (
            "register",
            lambda p: p.code.insert(0, Binary("ADD", Reg(1), Imm(1), Reg(0))),  # type: ignore[arg-type]
            "Reg as a",
        ),
        (
            "register",
            lambda p: p.code.insert(0, Binary("ADD", Reg(1), Reg(0), 5)),  # type: ignore[arg-type]
            "Reg or an Imm",
        ),
        (
            "register",
            lambda p: p.code.insert(0, Binary("POW", Reg(1), Reg(0), Reg(0))),
            "unknown",
        ),
        (
            "register",
            lambda p: p.code.insert(0, Unary("MOVE", Reg(1), Reg(7))),
            "register 7",
        ),
        (
            "register",
            lambda p: p.code.insert(0, LoadK("LOADK", Reg(1), 2**4096)),
            "2\\*\\*4096",
        ),
        (
            "register",
            lambda p: p.code.insert(0, Branch("IF_LT", 1)),
            "unknown Branch opcode",
        ),
        (
            "register",
            lambda p: p.code.insert(0, CompareBranch("IF_LT", Reg(1), Imm(0), 1)),
            "reads x",
        ),
    ],
)
def test_malformed_programs_are_refused(
    kind: str, edit: Callable[[Program], object], message: str
) -> None:
    compile_ = compile_stack if kind == "stack" else compile_register
    program = compile_("x = a + 1\n")
    edit(program)
    for function in (verify, run, trace):
        if function is verify:
            error = TypeError if "must be a list" in message else ValueError
            with pytest.raises(error, match=message):
                verify(program)
        else:
            with pytest.raises((ValueError, TypeError), match=message):
                function(program, a=1)  # type: ignore[call-arg]  # not verify: checked above


def test_verifier_rejects_paths_that_disagree() -> None:
    # A loop that pushes once per turn: two stack depths reach the same instruction.
    program = Program("stack", [Push("PUSH", 1), Branch("JUMP", 0)], [])
    with pytest.raises(
        ValueError, match=r"code\[0\] is reached with stack depths 0 and 1"
    ):
        run(program)
    # x is assigned on one path only, then read.
    source = "if a > 0:\n    x = 1\ny = x\n"
    program = compile_stack(source)
    assert program.inputs == ["a", "x"]
    program.inputs = ["a"]
    with pytest.raises(ValueError, match="reads x, which may be unassigned"):
        run(program, a=1)
    with pytest.raises(TypeError, match="program must be a Program"):
        verify("x = 1")  # type: ignore[arg-type]


STACK_RECORDS = st.one_of(
    st.builds(
        StackOp, st.sampled_from(["ADD", "SUB", "MUL", "DIV", "NEG", "CMP_LT", "XOR"])
    ),
    st.builds(Local, st.sampled_from(["LOAD", "STORE"]), st.integers(-2, 4)),
    st.builds(Push, st.just("PUSH"), st.integers(-(2**70), 2**70)),
    st.builds(Iinc, st.just("IINC"), st.integers(-2, 4), st.integers(-200, 200)),
    st.builds(
        Branch,
        st.sampled_from(["JUMP", "IF_FALSE", "IFZ_EQ", "IF_LT", "IF_XX"]),
        st.integers(-1, 12),
    ),
)
OPERANDS = st.one_of(
    st.builds(Reg, st.integers(-1, 8)), st.builds(Imm, st.integers(-9, 9))
)
REGISTER_RECORDS = st.one_of(
    st.builds(
        Unary,
        st.sampled_from(["MOVE", "NEG"]),
        st.builds(Reg, st.integers(-1, 8)),
        st.builds(Reg, st.integers(-1, 8)),
    ),
    st.builds(
        LoadK, st.just("LOADK"), st.builds(Reg, st.integers(-1, 8)), st.integers()
    ),
    st.builds(
        Binary,
        st.sampled_from(["ADD", "MUL", "DIV", "MOD", "CMP_GE"]),
        st.builds(Reg, st.integers(-1, 8)),
        OPERANDS,
        OPERANDS,
    ),
    st.builds(
        CompareBranch,
        st.sampled_from(["IF_LT", "IF_EQ", "IFZ_EQ"]),
        OPERANDS,
        OPERANDS,
        st.integers(-1, 12),
    ),
    st.builds(Branch, st.sampled_from(["JUMP", "IF_LT"]), st.integers(-1, 12)),
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["stack", "register"]),
    edits=st.lists(st.tuples(st.integers(0, 11), st.data()), min_size=1, max_size=3),
)
def test_edited_programs_run_or_are_refused_never_crash(
    kind: str, edits: list[tuple[int, st.DataObject]]
) -> None:
    """Hand-edited programs: a clean result or one of the documented errors, always."""
    source = "s = 0\nwhile a > 0:\n    s += a * a\n    a -= 1\n"
    program = (compile_stack if kind == "stack" else compile_register)(source)
    records = STACK_RECORDS if kind == "stack" else REGISTER_RECORDS
    for at, data in edits:
        record = data.draw(records)
        if at < len(program.code):
            program.code[at] = record
        else:
            program.code.append(record)
    message = ""
    try:
        result = run(program, max_steps=500, a=3)
    except ValueError as exc:  # includes IntegerLimitExceeded
        message = str(exc)
    except (StepLimitExceeded, ZeroDivisionError):
        return
    else:
        assert all(isinstance(v, int) for v in result.variables.values())
        assert len(trace(program, max_steps=500, a=3)) == result.steps
        return
    assert message.startswith(("program is malformed", "the program computed")), message


# ------------------------------------------------------------------ invalid arguments
NOT_STR = st.one_of(
    st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())
)
NOT_INT = st.one_of(
    st.none(), st.booleans(), st.floats(), st.text(max_size=3), st.complex_numbers()
)


@settings(max_examples=100, deadline=None)
@given(source=NOT_STR, compile_=st.sampled_from([compile_stack, compile_register]))
def test_source_must_be_a_str(
    source: object, compile_: Callable[[str], Program]
) -> None:
    with pytest.raises(TypeError, match="source must be a str"):
        compile_(source)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(
    source=st.lists(
        st.sampled_from(
            [
                *"ab=+-*/%<>()[]:.,'\"!&|^~@ \n\t0123456789",
                *["if ", "while ", "else", "lambda", "**", "//", "\n    "],
            ]
        ),
        max_size=40,
    ).map("".join),
    compile_=st.sampled_from([compile_stack, compile_register]),
)
def test_any_text_compiles_or_is_a_compile_error(
    source: str, compile_: Callable[[str], Program]
) -> None:
    try:
        program = compile_(source)
    except CompileError as exc:
        message = str(exc)
    else:
        verify(program)
        return
    assert message.startswith("source"), message  # it names the parameter


@settings(max_examples=150, deadline=None)
@given(
    value=NOT_INT,
    function=st.sampled_from([run, trace]),
    where=st.sampled_from(["max_steps", "input"]),
)
def test_non_integers_are_refused_naming_the_parameter(
    value: object, function: Callable[..., object], where: str
) -> None:
    program = compile_register("x = a + 1\n")
    if where == "max_steps":
        with pytest.raises(TypeError, match="max_steps must be an integer"):
            function(program, max_steps=value, a=1)
    else:
        with pytest.raises(TypeError, match="input a must be an integer"):
            function(program, a=value)


@settings(max_examples=100, deadline=None)
@given(
    program=st.one_of(NOT_STR, st.text(), st.tuples(st.text())),
    function=st.sampled_from([run, trace]),
)
def test_program_must_be_a_program(
    program: object, function: Callable[..., object]
) -> None:
    with pytest.raises(TypeError, match="program must come from compile_stack"):
        function(program)


@settings(max_examples=100, deadline=None)
@given(
    value=st.integers(),
    steps=st.integers(-(2**70), 2**70),
    function=st.sampled_from([run, trace]),
)
def test_integers_in_or_out_of_range(
    value: int, steps: int, function: Callable[..., object]
) -> None:
    program = compile_stack("x = a\n")
    top = MAX_RUN_STEPS if function is run else MAX_TRACE_STEPS
    if not 1 <= steps <= top:
        with pytest.raises(ValueError, match="max_steps must be"):
            function(program, max_steps=steps, a=value)
    elif abs(value).bit_length() > MAX_INT_BITS:
        with pytest.raises(ValueError, match="input a must be below"):
            function(program, max_steps=steps, a=value)
    else:
        function(program, max_steps=steps, a=value)


def test_program_size_limits() -> None:
    too_long = Program("stack", [StackOp("NEG")] * (MAX_CODE_LENGTH + 1), [])
    with pytest.raises(ValueError, match="more than MAX_CODE_LENGTH"):
        run(too_long)
    too_many = Program("register", [], [], n_registers=MAX_REGISTERS + 1)
    with pytest.raises(ValueError, match="MAX_REGISTERS"):
        run(too_many)
    # The largest sources the compilers accept stay within both limits.
    lines: list[str] = []
    size = 0
    while size < MAX_SOURCE_CHARS - 20:
        lines.append(f"v{len(lines)} = {len(lines)} + v{len(lines) // 2}\n")
        size += len(lines[-1])
    lines[0] = "v0 = 0\n"
    source = "".join(lines)
    for compile_ in (compile_stack, compile_register):
        program = compile_(source)
        verify(program)
        assert run(program).variables["v3"] == 3 + 1  # v1 = 1 + v0


def test_listing_and_size_of_an_edited_program() -> None:
    program = compile_stack("x = a + 1\n")
    program.code[1] = ("PUSH", 1)  # type: ignore[call-overload]
    assert program.disassemble().splitlines()[1].split() == ["1", "?", "('PUSH',", "1)"]
    with pytest.raises(TypeError, match=r"program.code\[1\] must be an instruction"):
        _ = program.size_bytes


def test_trace_output_is_bounded() -> None:
    # 1200-digit values on every step: the records would take gigabytes.
    program = compile_register("while 1:\n    x = x * 3\n    x = x // 3\n")
    with pytest.raises(ValueError, match="max_steps = 100000 would record more than"):
        trace(program, x=7**1400, max_steps=MAX_TRACE_STEPS)
    records = trace(program, x=7**1400, max_steps=100)
    assert len(records) == 100
    assert sum(len(state) for _, state in records) < MAX_TRACE_CHARS
