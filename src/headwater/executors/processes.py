"""ProcessExecutor: run independent ready tasks in parallel worker processes.

Processes suit CPU-bound Python code (each worker has its own interpreter and
GIL). Each try travels to a worker pickled -- with ``cloudpickle`` when it is
installed (``pip install 'headwater[processes]'``), so tasks defined in
``__main__``, closures and lambdas work; with ``pickle`` otherwise. Its state
comes back pickled too: a result that cannot be pickled fails its task with a
message naming it.

Unlike threads, a worker process can be stopped: a try that exceeds its
``timeout`` ends ``TimedOut`` and its worker process is killed and replaced.
A worker that dies mid-task (``os._exit``, a segfault, the OOM killer) fails
that try with a message saying so -- it is retried if the task has retries
left -- and is replaced; the run goes on.

Workers are started with the ``forkserver`` method where it exists (fast, and
safe in a process that runs threads), else ``spawn``. Like any
multiprocessing code, a script that runs a flow on processes should do so
under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from headwater._taskrun import describe_task
from headwater.executors._pickling import dumps, for_worker, unpicklable_call_message
from headwater.executors._procpool import Job, ProcessPool
from headwater.executors.base import Executor
from headwater.states import Failed, State

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = ["ProcessExecutor"]

T = TypeVar("T")

_MAX_REMEMBERED_TASKS = 1024
_tokens = itertools.count(1)


class ProcessExecutor(Executor):
    """Run up to ``max_workers`` task tries at once, each in a worker process.

    Args:
        max_workers: how many worker processes; default: the CPU count.
        mp_context: the ``multiprocessing`` start method (``"forkserver"``,
            ``"spawn"`` or ``"fork"``); default ``"forkserver"`` where
            available, else ``"spawn"``.

    Use it as a context manager to keep the worker processes across several
    runs; otherwise each run starts and stops them.

    Example:
        >>> from headwater import Flow, executors, task
        >>> @task
        ... def square(x: int) -> int:
        ...     return x * x
        >>> with Flow("squares") as flow:
        ...     squares = square.map([1, 2, 3])
        >>> with executors.ProcessExecutor(2) as processes:  # doctest: +SKIP
        ...     flow.run(executor=processes).result[squares].result
        [1, 4, 9]
    """

    stops_timed_out_work = True

    def __init__(self, max_workers: int | None = None, mp_context: str | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers or os.cpu_count() or 1
        if mp_context is None:
            methods = multiprocessing.get_all_start_methods()
            mp_context = "forkserver" if "forkserver" in methods else "spawn"
        self.mp_context = mp_context
        self._pool: ProcessPool | None = None
        self._tasks: dict[int, tuple[Task[Any], int, bytes]] = {}

    @property
    def pids(self) -> list[int | None]:
        """The process ids of the current worker processes (empty when stopped)."""
        return self._pool.pids if self._pool is not None else []

    def start(self) -> None:
        """Start the worker processes (calls nest); tasks are pickled afresh per run."""
        super().start()
        self._tasks.clear()

    def _open(self) -> None:
        self._pool = ProcessPool(self.max_workers, multiprocessing.get_context(self.mp_context))

    def _close(self, wait: bool) -> None:
        pool, self._pool = self._pool, None
        self._tasks.clear()
        if pool is not None:
            pool.close(wait)

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Schedule ``fn(*args)`` in a worker process.

        Raises:
            RuntimeError: the executor is not started.
            Exception: ``fn`` or ``args`` cannot be pickled.
        """
        pool = self._running(self._pool)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        label = f"call {getattr(fn, '__qualname__', fn)!r}"
        pool.submit(Job(future, dumps((fn, args)), label))
        return future

    def submit_try(
        self,
        fn: Callable[..., State],
        task: Task[Any],
        inputs: Mapping[str, Any],
        context_values: Mapping[str, Any],
        timeout: float | None,
    ) -> concurrent.futures.Future[State]:
        """Schedule one try of ``task`` in a worker process, which is killed at
        ``timeout``. A try that cannot be pickled gives a ``Failed`` state."""
        pool = self._running(self._pool)
        future: concurrent.futures.Future[State] = concurrent.futures.Future()
        label = f"task {describe_task(task)}"
        try:
            token, task_bytes = self._pickled_task(task)
            call = dumps((fn, (inputs, context_values, None)))
        except Exception as exc:
            future.set_result(
                Failed(unpicklable_call_message(describe_task(task), task, inputs, exc), exc)
            )
            return future
        try:
            pool.submit(Job(future, call, label, timeout, token, task_bytes))
        except RuntimeError as exc:  # the pool broke (see ProcessPool._break)
            future.set_result(Failed(f"{label} could not be run: {exc}", exc))
        return future

    def _pickled_task(self, task: Task[Any]) -> tuple[int, bytes]:
        """The task's token and pickle, made once per task and run."""
        known = self._tasks.get(id(task))
        if known is not None and known[0] is task:
            return known[1], known[2]
        if len(self._tasks) >= _MAX_REMEMBERED_TASKS:
            self._tasks.clear()
        token, data = next(_tokens), dumps(for_worker(task))
        self._tasks[id(task)] = (task, token, data)
        return token, data

    def __repr__(self) -> str:
        return f"ProcessExecutor(max_workers={self.max_workers}, mp_context={self.mp_context!r})"
