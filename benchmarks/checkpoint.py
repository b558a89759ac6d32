"""Checkpoint overhead per task: ``flow.run(store=LocalStore(dir))`` vs no store.

Runs a fan-out of ``n`` trivial tasks (one root, ``n - 1`` tasks fed by it;
small integer results) on the local executor, without a store, with a
durable ``LocalStore`` (each file and its directory ``fsync``-ed) and with
``LocalStore(durable=False)`` (atomic against a killed process, not against a
power loss). Prints the median of ``--repeat`` runs and the per-task
difference in microseconds. The store lives in a temporary directory (set
``TMPDIR`` to measure another disk).

Usage::

    python benchmarks/checkpoint.py              # n = 2000, 3 repeats
    python benchmarks/checkpoint.py -n 5000 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any


def inc(x: int) -> int:
    """The trivial task."""
    return x + 1


def build(n: int) -> Any:
    """A fan-out of ``n`` tasks."""
    from headwater import Flow, task

    inc_task = task(inc)
    with Flow(f"fan-out-{n}") as flow:
        root = inc_task(0)
        for _ in range(n - 1):
            inc_task(root)
    return flow


def timed_run(n: int, store: str) -> float:
    """Seconds of one ``flow.run()`` (the flow built fresh, outside the timing)."""
    from headwater.executors import LocalExecutor
    from headwater.stores import LocalStore

    flow = build(n)
    with tempfile.TemporaryDirectory() as directory:
        options: dict[str, Any] = {}
        if store != "none":
            options["store"] = LocalStore(directory, durable=store == "durable")
        started = time.perf_counter()
        state = flow.run(executor=LocalExecutor(), **options)
        seconds = time.perf_counter() - started
    assert state.is_successful(), state
    return seconds


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2_000, help="tasks in the fan-out")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (median)")
    args = parser.parse_args()
    medians = {
        store: statistics.median(timed_run(args.n, store) for _ in range(args.repeat))
        for store in ("none", "durable", "fast")
    }
    base = medians["none"]
    print(f"fan-out of {args.n} tasks, local executor, median of {args.repeat}")
    print(f"{'store':<28}{'run (s)':>10}{'per task (us)':>16}{'overhead/task (us)':>21}")
    labels = {
        "none": "no store",
        "durable": "LocalStore (fsync)",
        "fast": "LocalStore(durable=False)",
    }
    for store, seconds in medians.items():
        per_task = seconds / args.n * 1e6
        overhead = (seconds - base) / args.n * 1e6
        print(f"{labels[store]:<28}{seconds:>10.3f}{per_task:>16.1f}{overhead:>21.1f}")


if __name__ == "__main__":
    main()
