"""The benchmark programs of the VM page and tests, written in the tiny language."""

from __future__ import annotations

__all__ = ["BENCHMARKS"]

#: Benchmark programs of the page and tests, name -> (source, inputs).
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
