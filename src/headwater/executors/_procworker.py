"""The worker side of the process pool (see ``_procpool``).

A worker process says it is ready, then runs jobs from its pipe until told to
stop (``None``) or the parent goes away. A job is ``(reset, token, task,
call)``: the task's pickle comes once per worker (then only its token), the
call is ``(fn, args)``. The answer is a pickled ``(kind, value)``; the worker
never raises across the pipe:

- ``("state", State)``: a try's state (an unpicklable result becomes a
  ``Failed`` state naming the task);
- ``("forget", Failed)``: the task could not be loaded here (the parent
  sends it again next time);
- ``("value", value)`` / ``("raised", exception)``: a plain ``submit`` call.
"""

from __future__ import annotations

import multiprocessing.connection
import os
import signal
import sys
from typing import Any

from headwater._taskrun import describe_task, failed_from_exception
from headwater.executors._pickling import check_result, dumps, loads
from headwater.states import Failed

__all__ = ["worker_main"]


def worker_main(conn: multiprocessing.connection.Connection, parent_path: list[str]) -> None:
    """Run jobs from ``conn`` until told to stop (``None``) or the parent goes away."""
    sys.path[:0] = [entry for entry in parent_path if entry not in sys.path]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    tasks: dict[int, Any] = {}
    conn.send_bytes(b"ready")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if message is None:
            return
        reset, token, task, call = message
        if reset:
            tasks.clear()
        conn.send_bytes(_run_job(tasks, token, task, call))


def _run_job(tasks: dict[int, Any], token: int | None, task: bytes | None, call: bytes) -> bytes:
    """One job's pickled outcome: ``(kind, value)``; never raises."""
    try:
        if task is not None and token is not None:
            tasks[token] = loads(task)
        fn, args = loads(call)
    except BaseException as exc:
        what = "its task" if task is not None else "the call"
        message = (
            f"could not load {what} in the worker process (pid {os.getpid()}): "
            f"{type(exc).__name__}: {exc}; the worker must be able to import the modules "
            "the task uses"
        )
        return dumps(("forget", Failed(message, result=_plain(exc))))
    if token is None:
        try:
            value = fn(*args)
        except BaseException as exc:
            return _dumps_or_text(("raised", exc))
        try:
            return dumps(("value", value))
        except Exception as exc:
            return _dumps_or_text(("raised", exc))
    task_object = tasks.get(token)
    if task_object is None:  # never expected: the parent tracks what each worker has
        return dumps(("forget", Failed("the worker process did not have the task")))
    try:
        state = fn(task_object, *args)
    except BaseException as exc:  # SystemExit, KeyboardInterrupt from the task
        state = failed_from_exception(task_object, args[0], exc)
    try:
        return dumps(("state", state))
    except Exception:
        return dumps(("state", check_result(describe_task(task_object), state)))


def _plain(exc: BaseException) -> BaseException:
    try:
        dumps(exc)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _dumps_or_text(outcome: tuple[str, BaseException]) -> bytes:
    return dumps((outcome[0], _plain(outcome[1])))
