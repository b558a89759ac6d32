"""How fast, and in how much memory, flows are built by calling tasks.

Builds flows of 1,000 / 10,000 / 100,000 tasks by calls inside ``with Flow``,
in two shapes:

- ``chain``: ``x = step(x)`` repeated, each task feeding the next;
- ``fan-in``: N independent tasks whose results one task takes as a list
  (``total([leaf(0), leaf(1), ...])``, resolved through one collection task).

Every measurement runs in a fresh subprocess, so memory and garbage collection
do not leak between cases; time and memory are measured in separate
subprocesses (tracemalloc slows allocation down, so it would skew the time).
Each figure is the median of ``--repeat`` runs. Prints a Markdown table.

Usage::

    python benchmarks/build.py                    # all sizes, median of 3
    python benchmarks/build.py --sizes 1000 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

from headwater import Flow, task

SHAPES = ("chain", "fan-in")
DEFAULT_SIZES = (1_000, 10_000, 100_000)


@task
def step(x: int) -> int:
    return x + 1


@task
def leaf(i: int) -> int:
    return i


@task
def total(xs: list[int]) -> int:
    return sum(xs)


def build_chain(n: int) -> Flow:
    """``n`` tasks, each feeding the next."""
    with Flow("chain") as flow:
        x = step(0)
        for _ in range(n - 1):
            x = step(x)
    return flow


def build_fan_in(n: int) -> Flow:
    """``n`` independent tasks reduced by one task taking their list."""
    with Flow("fan-in") as flow:
        total([leaf(i) for i in range(n)])
    return flow


BUILDERS: dict[str, Callable[[int], Flow]] = {"chain": build_chain, "fan-in": build_fan_in}


def measure(shape: str, n: int, what: str) -> dict[str, float]:
    """Build one flow in this process; return its task count and time or peak memory."""
    build = BUILDERS[shape]
    if what == "time":
        start = time.perf_counter()
        flow = build(n)
        value = time.perf_counter() - start
    else:
        tracemalloc.start()
        flow = build(n)
        value = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"tasks": len(flow.tasks), "edges": len(flow.edges), "value": value}


def in_subprocess(shape: str, n: int, what: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", shape, str(n), what],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=3, metavar=("SHAPE", "N", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        shape, n, what = args.worker
        print(json.dumps(measure(shape, int(n), what)))
        return

    print(f"Python {sys.version.split()[0]}, median of {args.repeat} runs, one subprocess each.\n")
    print("| shape | tasks | edges | build time | µs / task | peak memory | bytes / task |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for shape in SHAPES:
        for n in args.sizes:
            times = [in_subprocess(shape, n, "time") for _ in range(args.repeat)]
            peaks = [in_subprocess(shape, n, "memory") for _ in range(args.repeat)]
            tasks, edges = int(times[0]["tasks"]), int(times[0]["edges"])
            seconds = statistics.median(run["value"] for run in times)
            peak = statistics.median(run["value"] for run in peaks)
            print(
                f"| {shape} | {tasks:,} | {edges:,} | {seconds * 1e3:,.1f} ms "
                f"| {seconds / tasks * 1e6:.1f} | {peak / 2**20:,.1f} MiB "
                f"| {peak / tasks:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
