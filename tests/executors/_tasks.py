"""Module-level tasks for the executor tests.

Worker processes (``ProcessExecutor``, Dask) import this module by name, so
everything the tests run there lives here. Nothing here keeps state between
calls: a task that behaves differently on a retry reads
``context.task_run_count``, which travels with the try.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from datetime import timedelta
from typing import Any

from headwater import Task, context, signals, task

NO_DELAY = timedelta(0)
TINY_DELAY = timedelta(milliseconds=20)


class CustomError(Exception):
    """An exception class of our own (must pickle by reference)."""


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def identity(value: Any) -> Any:
    return value


@task
def total(values: list[int]) -> int:
    return sum(values)


@task
def divide(x: float, y: float) -> float:
    return x / y


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def inc(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return 2 * x


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def nap(seconds: float, value: Any = None) -> Any:
    time.sleep(seconds)
    return value


@task
def fail_on(x: int, bad: int) -> int:
    if x == bad:
        raise CustomError(f"element {x} is bad")
    return x


@task
def fail_while_file_exists(x: int, path: str) -> int:
    """Fails on element 1 while ``path`` exists: a bug the test "fixes" between runs."""
    if x == 1 and os.path.exists(path):
        raise CustomError(f"element {x}: {os.path.basename(path)} is still there")
    return 10 * x


@task
def raise_custom(message: str) -> None:
    raise CustomError(message)


@task
def where() -> dict[str, Any]:
    """The context a try sees, as plain values."""
    return {
        "flow_name": context.flow_name,
        "task_name": context.task_name,
        "task_slug": context.task_slug,
        "task_tags": sorted(context.task_tags),
        "map_index": context.map_index,
        "task_run_count": context.task_run_count,
        "parameters": dict(context.parameters),
        "region": context.get("region"),
    }


@task
def map_index_of(x: int) -> tuple[int, int | None]:
    return x, context.map_index


@task
def signal(kind: str, result: Any = None) -> str:
    """Raise the signal named ``kind`` (RETRY only on the first try)."""
    if kind == "FAIL":
        raise signals.FAIL("asked to fail", result=result)
    if kind == "SUCCESS":
        raise signals.SUCCESS("asked to succeed", result=result)
    if kind == "SKIP":
        raise signals.SKIP("asked to skip", result=result)
    if kind == "WAIT":
        raise signals.WAIT("asked to wait", result=result)
    if kind == "RETRY" and context.task_run_count == 1:
        raise signals.RETRY("asked to retry")
    return f"{kind} on try {context.task_run_count}"


@task(max_retries=3, retry_delay=TINY_DELAY)
def flaky(succeed_on: int) -> int:
    """Fail until try ``succeed_on``; return the try that succeeded."""
    if context.task_run_count < succeed_on:
        raise CustomError(f"try {context.task_run_count} failed")
    return context.task_run_count


@task
def approval(x: int) -> int:
    """WAIT on the first run; go on when resumed."""
    if not context.is_waiting:
        raise signals.WAIT("needs approval")
    return x + 1


@task
def sleep_then(seconds_first_try: float, value: Any) -> Any:
    """Sleep on the first try only (a timed-out first try succeeds when retried)."""
    if context.task_run_count == 1:
        time.sleep(seconds_first_try)
    return value


@task
def forever() -> None:
    """Never returns (well: not within any test's timeout)."""
    time.sleep(60)


@task
def pid_then_forever() -> None:
    """Report this process id (to a file named by the context), then hang."""
    path = context.get("pid_file")
    if path:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()))
    time.sleep(60)


@task
def exit_process(code: int = 1) -> None:
    """End the worker process abruptly on the first try; succeed on the next."""
    if context.task_run_count == 1:
        os._exit(code)


@task
def segfault() -> None:
    """Crash the worker process with a segmentation fault."""
    ctypes.string_at(0)


@task
def unpicklable_result() -> Any:
    return threading.Lock()


@task
def pid() -> int:
    return os.getpid()


@task
def thread_name() -> str:
    return threading.current_thread().name


@task
def cpu_spin(n: int) -> int:
    """Burn the CPU in pure Python (for the process benchmark)."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def die_at_start(conn: Any, parent_path: Any) -> None:
    """A stand-in for a pool worker's main function that dies at once."""
    os._exit(7)


class Multiply(Task[int]):
    """A ``Task`` subclass (not a function task)."""

    def run(self, x: int, by: int = 2) -> int:  # type: ignore[override]
        return x * by


def custom_trigger(upstream_states: Any) -> bool:
    """Run when at least two upstream tasks succeeded."""
    return sum(state.is_successful() for state in upstream_states.values()) >= 2
