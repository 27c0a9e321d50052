"""Run the benchmarks, print ratios against the peers, save the results as JSON.

    python benchmarks/run.py            # every benchmark
    python benchmarks/run.py conv       # only benchmarks/bench_conv.py
    python benchmarks/run.py --quick    # tiny sizes: checks that the code runs

Every ratio compares timings measured in this same run, on this machine:
``ratio = our time / peer time`` (below 1 is faster than the peer).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
import tomllib
from pathlib import Path

# Some machines set these to force OpenBLAS onto older kernels (a workaround for
# old OpenBLAS builds); they slow a current numpy (float32 matmul about 2x on
# the machine these notes are built on). The benchmarks measure the library as
# a user's numpy runs it, so they run without them (the kernel actually used is
# printed from threadpoolctl); `--keep-blas-env` keeps them. Tests and CI never
# change them.
_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if (
    __name__ == "__main__"
    and "--keep-blas-env" not in sys.argv
    and any(var in os.environ for var in _KERNEL_VARS)
):
    env = {k: v for k, v in os.environ.items() if k not in _KERNEL_VARS}
    print(f"re-running without {', '.join(_KERNEL_VARS)} (--keep-blas-env keeps them)")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

# The benchmarks are the ones the registry of topics names (topics.toml).
with (ROOT / "topics.toml").open("rb") as _fh:
    NAMES = [t["benchmark"] for t in tomllib.load(_fh)["topic"] if t["benchmark"]]
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"


def machine() -> dict[str, object]:
    """What the numbers depend on: CPU, cores, BLAS and its kernels, versions."""
    import numpy as np
    import scipy

    info: dict[str, object] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {
                k: pool.get(k)
                for k in ("internal_api", "version", "num_threads", "architecture")
            }
            for pool in threadpool_info()
        ]
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def show(rows: list[dict[str, object]]) -> None:
    """Print the rows as an aligned table."""
    header = ("benchmark", "case", "ours ms", "peer", "peer ms", "ratio", "goal", "")
    table = [header]
    for r in rows:
        met = {True: "met", False: "NOT MET", None: ""}[r["met"]]  # type: ignore[index]
        table.append(
            (
                str(r["benchmark"]),
                str(r["case"]),
                f"{r['ours_ms']:.3f}",
                str(r["peer"]),
                f"{r['peer_ms']:.3f}",
                f"{r['ratio']:.2f}x",
                str(r["goal"]),
                met,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )
    for r in rows:
        if r["metric"]:
            print(f"  {r['benchmark']} / {r['case']}: {r['metric']}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {NAMES}")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, for a smoke test"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="JSON file to write"
    )
    parser.add_argument(
        "--keep-blas-env",
        action="store_true",
        help=f"keep {', '.join(_KERNEL_VARS)} if set (see the top of this file)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {NAMES}")
    info = machine()
    print("machine:", json.dumps(info))
    rows: list[dict[str, object]] = []
    for name in args.names or NAMES:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        new = module.run(quick=args.quick)
        show(new)
        rows += new
    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": info,
        "rows": rows,
    }
    args.output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
