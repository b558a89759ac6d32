"""Per-task overhead of ``flow.run()`` on the local executor.

Runs chains (``t_i = inc(t_{i-1})``) and fan-outs (``n`` tasks fed by one
root) of 1,000 / 10,000 / 100,000 trivial tasks, and the same functions called
in a plain Python loop (the floor). Each measurement runs in a fresh
subprocess; the table shows the median of three.

Usage::

    python benchmarks/runner_overhead.py            # the whole table
    python benchmarks/runner_overhead.py --sizes 1000 10000
    python benchmarks/runner_overhead.py --repeat 5

Columns: ``build`` is the time to build the flow by calls inside
``with Flow(...)``; ``run`` the time of ``flow.run()``; ``per task`` is
``run / n`` in microseconds; ``plain`` the plain loop; ``ratio`` is
``run / plain``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

SHAPES = ("chain", "fan-out")
DEFAULT_SIZES = (1_000, 10_000, 100_000)


def inc(x: int) -> int:
    """The trivial task: one addition."""
    return x + 1


def measure(shape: str, n: int) -> dict[str, Any]:
    """Build and run one flow; time the plain loop too (runs in a subprocess)."""
    from headwater import Flow, task
    from headwater.executors import LocalExecutor

    inc_task = task(inc)

    started = time.perf_counter()
    with Flow(f"{shape}-{n}") as flow:
        if shape == "chain":
            last = inc_task(0)
            for _ in range(n - 1):
                last = inc_task(last)
        else:
            root = inc_task(0)
            for _ in range(n - 1):
                inc_task(root)
    build = time.perf_counter() - started

    started = time.perf_counter()
    state = flow.run(executor=LocalExecutor())
    run = time.perf_counter() - started
    if not state.is_successful() or len(state.result) != n:
        raise RuntimeError(f"{shape} {n}: unexpected run state {state!r}")

    started = time.perf_counter()
    if shape == "chain":
        value = inc(0)
        for _ in range(n - 1):
            value = inc(value)
    else:
        root_value = inc(0)
        for _ in range(n - 1):
            inc(root_value)
    plain = time.perf_counter() - started
    return {"build": build, "run": run, "plain": plain}


def run_case(shape: str, n: int) -> dict[str, Any]:
    """``measure(shape, n)`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", shape, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def table(sizes: tuple[int, ...], repeat: int) -> str:
    """The markdown table of every shape and size."""
    lines = [
        "| shape | tasks | build (s) | run (s) | per task (µs) | plain loop (µs/call) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for shape in SHAPES:
        for n in sizes:
            samples = [run_case(shape, n) for _ in range(repeat)]
            build = statistics.median(s["build"] for s in samples)
            run = statistics.median(s["run"] for s in samples)
            plain = statistics.median(s["plain"] for s in samples)
            lines.append(
                f"| {shape} | {n:,} | {build:.3f} | {run:.3f} | {run / n * 1e6:.1f} "
                f"| {plain / n * 1e6:.3f} | {run / plain:,.0f}x |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("SHAPE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        shape, n = args.worker
        print(json.dumps(measure(shape, int(n))))
        return
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"LocalExecutor, median of {args.repeat} fresh processes\n"
    )
    print(table(tuple(args.sizes), args.repeat))


if __name__ == "__main__":
    main()
