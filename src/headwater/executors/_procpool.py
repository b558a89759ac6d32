"""A small pool of worker processes that can stop one try for real.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker
dies, and cannot stop a call that runs too long. This pool keeps, per worker,
a process, a pipe and the job it runs, so that the parent can:

- end a job at its deadline by killing its worker, and start a replacement;
- notice a worker that died mid-job (``os._exit``, a segfault, the OOM
  killer), fail that job with a clear message, and start a replacement;
- stop the worker of a job whose future was cancelled.

One manager thread does all the pipe I/O. Its loop: hand queued jobs to idle
workers; wait (``multiprocessing.connection.wait``) for a reply, a worker's
exit, a wake-up from :meth:`ProcessPool.submit`, or the next deadline; then
complete the futures concerned. The worker side is ``_procworker``.

Tasks are sent once per worker: a job names its task by a token, and the
worker keeps the unpickled tasks it has seen (the parent tracks which).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import signal
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headwater.executors._pickling import loads
from headwater.executors._procworker import worker_main
from headwater.states import Failed, State, TimedOut

__all__ = ["Job", "ProcessPool"]

_MAX_CACHED_TASKS = 256
_STARTUP_SECONDS = 60.0
logger = logging.getLogger("headwater.executors")
_MAX_FAILED_STARTS = 3
_live_pools: weakref.WeakSet[ProcessPool] = weakref.WeakSet()


@atexit.register
def _close_live_pools() -> None:
    # Before multiprocessing joins its (non-daemon) children at exit.
    for pool in list(_live_pools):
        pool.close(wait=False)


@dataclass(eq=False)
class Job:
    """One call for a worker: ``fn(*args)``, or ``fn(task, *args)`` for a try."""

    future: concurrent.futures.Future[Any]
    call: bytes  # pickled (fn, args)
    label: str  # how messages name the job ("task 'x' (module.function)")
    timeout: float | None = None
    token: int | None = None  # the task's token, for tries
    task: bytes | None = None  # the pickled task, sent once per worker
    deadline: float | None = None


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    job: Job | None = None
    ready: bool = False  # it said it is ready (imports done)
    tokens: set[int] = field(default_factory=set)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ProcessPool:
    """``size`` worker processes, a queue of jobs, and the manager thread.

    Args:
        size: how many worker processes to keep.
        context: the ``multiprocessing`` context to start them with.
    """

    def __init__(self, size: int, context: Any) -> None:
        self._context = context
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._closing = False
        self._kill_running = False
        self._failed_starts = 0
        self._broken: str | None = None
        self._wake_reader, self._wake_writer = multiprocessing.Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._woken = False
        self._workers = [self._spawn() for _ in range(size)]
        for worker in self._workers:  # so that the first tries do not wait for imports
            if worker.conn.poll(_STARTUP_SECONDS):
                self._mark_ready(worker)
        self._thread = threading.Thread(
            target=self._manage, name="headwater-processes", daemon=True
        )
        self._thread.start()
        _live_pools.add(self)

    @property
    def pids(self) -> list[int | None]:
        """The process ids of the current workers."""
        return [worker.process.pid for worker in self._workers]

    def submit(self, job: Job) -> None:
        """Queue ``job``; its future completes when a worker has run it."""
        with self._lock:
            if self._closing:
                raise RuntimeError(self._broken or "the process pool is shut down")
            self._queue.append(job)
        job.future.add_done_callback(self._on_done)
        self._wake()

    def close(self, wait: bool) -> None:
        """Stop the workers: after the queued and running jobs when ``wait``."""
        with self._lock:
            if self._closing and not self._thread.is_alive():
                return
            self._closing = True
            if not wait:
                self._kill_running = True
                for job in self._queue:
                    job.future.cancel()
                self._queue.clear()
        self._wake()
        self._thread.join()
        self._wake_reader.close()
        self._wake_writer.close()

    # -- the manager thread ----------------------------------------------------

    def _wake(self) -> None:
        with self._wake_lock:
            if self._woken:
                return
            self._woken = True
            with contextlib.suppress(OSError):  # closed: the manager is gone
                self._wake_writer.send_bytes(b"")

    def _on_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self._wake()  # its worker, if it has one, must be stopped

    def _manage(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # never leave a future waiting forever
            logger.error("headwater process pool: stopping after an error", exc_info=True)
            self._break(exc)
            return
        self._stop_workers()

    def _break(self, exc: BaseException) -> None:
        """The pool cannot go on: fail every job, stop every worker."""
        self._broken = f"the process pool broke: {type(exc).__name__}: {exc}"
        error = RuntimeError(self._broken)
        with self._lock:
            self._closing = True
            jobs = [*self._queue, *(w.job for w in self._workers if w.job is not None)]
            self._queue.clear()
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            for worker in self._workers:
                with contextlib.suppress(Exception):
                    worker.process.kill()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._dispatch()
                busy = [worker for worker in self._workers if worker.job is not None]
                if self._closing and not busy and not self._queue:
                    break
                waitables: list[Any] = [self._wake_reader]
                for worker in self._workers:
                    waitables.append(worker.process.sentinel)
                    if worker.job is not None or not worker.ready:
                        waitables.append(worker.conn)
                deadlines = [w.job.deadline for w in busy if w.job and w.job.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            ready = multiprocessing.connection.wait(waitables, timeout)
            with self._lock:
                if self._wake_reader in ready:
                    with self._wake_lock:
                        while self._wake_reader.poll():
                            self._wake_reader.recv_bytes()
                        self._woken = False
                self._collect(set(ready))

    def _dispatch(self) -> None:
        queue = self._queue
        for worker in self._workers:
            while worker.ready and worker.job is None and queue:
                job = queue.popleft()
                if job.future.cancelled():
                    continue
                self._send(worker, job)

    def _send(self, worker: _Worker, job: Job) -> None:
        reset = job.token is not None and len(worker.tokens) >= _MAX_CACHED_TASKS
        if reset:
            worker.tokens.clear()
        task = None
        if job.token is not None and job.token not in worker.tokens:
            task = job.task
            worker.tokens.add(job.token)
        worker.job = job
        if job.timeout is not None:
            job.deadline = time.monotonic() + job.timeout
        with contextlib.suppress(OSError):  # the worker died; its sentinel reports it
            worker.conn.send((reset, job.token, task, job.call))

    def _collect(self, ready: set[Any]) -> None:
        now = time.monotonic()
        for position, worker in enumerate(self._workers):
            if not worker.ready and worker.conn in ready:
                self._mark_ready(worker)
            elif worker.job is not None and worker.conn in ready:
                self._receive(worker, worker.job)
            if worker.process.sentinel in ready:
                if worker.job is not None and worker.conn.poll():
                    self._receive(worker, worker.job)
                if not worker.ready:
                    self._failed_starts += 1
                    if self._failed_starts >= _MAX_FAILED_STARTS:
                        raise RuntimeError(
                            f"{self._failed_starts} worker processes in a row died before they "
                            f"were ready (last: {_describe_exit(worker.process.exitcode)})"
                        )
                self._replace(position, self._died_message)
                continue
            job = worker.job
            if job is None:
                continue
            if job.future.cancelled() or self._kill_running:
                self._replace(position, None)
            elif job.deadline is not None and job.deadline <= now:
                self._replace(position, self._timed_out_message)

    def _mark_ready(self, worker: _Worker) -> None:
        try:
            worker.conn.recv_bytes()
        except (EOFError, OSError):
            return  # died while starting: the sentinel reports it
        worker.ready = True
        self._failed_starts = 0

    def _receive(self, worker: _Worker, job: Job) -> None:
        try:
            kind, value = loads(worker.conn.recv_bytes())
        except (EOFError, OSError):
            return  # died while sending: the sentinel reports it
        except Exception as exc:
            kind, value = (
                "state",
                Failed(
                    f"the outcome of {job.label} could not be unpickled in the parent process: "
                    f"{type(exc).__name__}: {exc}",
                    result=exc,
                ),
            )
        worker.job = None
        if kind == "forget":  # the worker could not load the task
            worker.tokens.discard(job.token)
            kind, value = "state", Failed(f"{job.label}: {value.message}", result=value.result)
        if job.future.cancelled():
            return
        if kind == "raised":
            job.future.set_exception(value)
        else:
            job.future.set_result(value)

    def _died_message(self, worker: _Worker, job: Job) -> State:
        return Failed(
            f"{job.label}: its worker process (pid {worker.process.pid}) died while running "
            f"it ({_describe_exit(worker.process.exitcode)}); the process was replaced"
        )

    def _timed_out_message(self, worker: _Worker, job: Job) -> State:
        return TimedOut(
            f"{job.label} exceeded its timeout of {job.timeout:g}s; its worker process "
            f"(pid {worker.process.pid}) was stopped and replaced"
        )

    def _replace(self, position: int, outcome: Callable[[_Worker, Job], State] | None) -> None:
        """End worker ``position`` (failing its job with ``outcome``); start a new one."""
        worker = self._workers[position]
        job, worker.job = worker.job, None
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        try:
            self._workers[position] = self._spawn()
        finally:
            if job is not None and not job.future.done():
                if outcome is None:
                    job.future.cancel()
                else:
                    job.future.set_result(outcome(worker, job))

    def _spawn(self) -> _Worker:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(child_end, list(sys.path)),
            name="headwater-worker",
        )
        process.start()
        child_end.close()
        return _Worker(process, parent_end)

    def _stop_workers(self) -> None:
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
