"""ThreadExecutor: run independent ready tasks concurrently in a thread pool.

Threads suit tasks that wait (I/O, subprocesses, network calls, C code that
releases the GIL). Every try sets its own task context inside its worker
thread, so ``headwater.context`` is isolated per task run. A try that exceeds
its ``timeout`` ends ``TimedOut`` at the deadline, but a Python thread cannot
be killed: its code may go on in the background (use ``ProcessExecutor`` to
really stop runaway tasks).
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable
from typing import Any, TypeVar

from headwater.executors.base import Executor

__all__ = ["ThreadExecutor", "default_thread_workers"]

T = TypeVar("T")


def default_thread_workers() -> int:
    """``min(32, cpu count + 4)``, as ``concurrent.futures`` picks."""
    return min(32, (os.cpu_count() or 1) + 4)


class ThreadExecutor(Executor):
    """Run up to ``max_workers`` task tries at once, each in a pool thread.

    Args:
        max_workers: how many tries run at once; default
            ``min(32, cpu count + 4)``.

    Example:
        >>> import time
        >>> from headwater import Flow, executors, task
        >>> @task
        ... def nap(i: int) -> int:
        ...     time.sleep(0.1)
        ...     return i
        >>> with Flow("naps") as flow:
        ...     naps = [nap(i) for i in range(4)]
        >>> state = flow.run(executor=executors.ThreadExecutor(4))  # ~0.1 s, not 0.4 s
        >>> [state.result[t].result for t in naps]
        [0, 1, 2, 3]
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers or default_thread_workers()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def _open(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            self.max_workers, thread_name_prefix="headwater-task"
        )

    def _close(self, wait: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Schedule ``fn(*args)`` on a pool thread.

        Raises:
            RuntimeError: the executor is not started (use ``with`` or ``start()``).
        """
        if self._pool is None:
            raise RuntimeError(
                "ThreadExecutor is not started: use it as a context manager or call start()"
            )
        return self._pool.submit(fn, *args)
