"""LocalExecutor: run each task in the calling thread, one at a time."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from headwater.executors.base import Executor

__all__ = ["LocalExecutor"]

T = TypeVar("T")


class LocalExecutor(Executor):
    """Run tasks one at a time in the calling thread: the default, and the
    fastest for many small tasks. A task with a ``timeout`` runs in a helper
    thread so that the run can go on at the deadline.

    Example:
        >>> from headwater import Flow, executors, task
        >>> @task
        ... def one() -> int:
        ...     return 1
        >>> with Flow("f") as flow:
        ...     t = one()
        >>> flow.run(executor=executors.LocalExecutor()).is_successful()
        True
    """

    max_workers = 1
    synchronous = True

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(*args)`` now; return a finished future."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future
