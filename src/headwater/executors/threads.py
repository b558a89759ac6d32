"""ThreadExecutor: run independent ready tasks concurrently in a thread pool.

Threads suit tasks that wait (I/O, subprocesses, network calls, C code that
releases the GIL). Every try sets its own task context inside its worker
thread, so ``headwater.context`` is isolated per task run. A try that exceeds
its ``timeout`` ends ``TimedOut`` at the deadline, but a Python thread cannot
be killed: its code may go on in the background (use ``ProcessExecutor`` to
really stop runaway tasks).

The pool is headwater's own rather than ``concurrent.futures.ThreadPoolExecutor``,
because on trivial tasks the bookkeeping around each try cost more than the
try itself (see ``docs/benchmarks.md``):

- a submitted call is a ``Call`` (``_threadcall.py``), a
  ``concurrent.futures.Future`` that is also its own work item and guards
  its state with a plain lock instead of a ``threading.Condition`` (the most
  expensive part of a stock future);
- workers take calls from one ``queue.SimpleQueue`` (a C queue);
- :meth:`ThreadExecutor.wait` scans the futures' states and, when none is
  done, sleeps on one lock that the next worker to finish a call releases,
  instead of installing a waiter on every future as
  ``concurrent.futures.wait`` does each turn of the runner's loop.

The futures stay real ``concurrent.futures.Future`` objects:
``concurrent.futures.wait``, ``as_completed``, ``add_done_callback``,
``result(timeout)`` and ``cancel()`` behave as usual.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from headwater.executors._threadcall import DONE_STATES, LOGGER, Call
from headwater.executors.base import Executor

__all__ = ["ThreadExecutor", "default_thread_workers"]

T = TypeVar("T")


def default_thread_workers() -> int:
    """``min(32, cpu count + 4)``, as ``concurrent.futures`` picks."""
    return min(32, (os.cpu_count() or 1) + 4)


class _Pool:
    """The worker threads of one started :class:`ThreadExecutor`.

    Workers start lazily, as ``ThreadPoolExecutor``'s do: a submit starts a
    new thread unless an idle one will take the call, up to ``max_workers``.
    A worker that finished a call drops a token in ``idle``; a submit takes
    one (``list.append``/``pop`` are atomic, so no lock is needed). A token
    may outlive its worker's idleness only when calls queue up, that is when
    every thread is already started, so it never keeps a thread from starting.

    ``sleepers`` holds the locks of threads sleeping in
    :meth:`ThreadExecutor.wait`; a worker releases them all after each call.
    """

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self.calls: queue.SimpleQueue[Call[Any] | None] = queue.SimpleQueue()
        self.idle: list[None] = []
        self.sleepers: list[threading.Lock] = []
        self.threads: list[threading.Thread] = []
        self.closed = False
        self.lock = threading.Lock()

    def submit(self, call: Call[Any]) -> None:
        # The lock orders submits against close(): no call is queued behind the
        # threads' stop signals, and no two submits start one thread too many.
        with self.lock:
            if self.closed:
                raise RuntimeError("ThreadExecutor is shut down: cannot schedule new calls")
            self.calls.put(call)
            if self.idle:  # only submits take tokens, under the lock: pop cannot fail
                self.idle.pop()
            elif len(self.threads) < self.max_workers:
                self._add_thread()

    def _add_thread(self) -> None:
        thread = threading.Thread(
            target=_work,
            args=(self.calls, self.idle, self.sleepers),
            name=f"headwater-task_{len(self.threads)}",
            # Daemon, so that a pool nobody shut down cannot keep the interpreter
            # alive; _join_at_exit still lets submitted calls finish first, as
            # ThreadPoolExecutor does.
            daemon=True,
        )
        thread.start()
        self.threads.append(thread)
        _worker_queues[thread] = self.calls

    def close(self, wait: bool, cancel: bool = True) -> None:
        """Stop the threads once their current calls end (join them if ``wait``).

        Args:
            wait: block until every thread has ended.
            cancel: cancel the calls that have not started (else they run first).
        """
        with self.lock:
            self.closed = True
        while cancel:
            try:
                call = self.calls.get_nowait()
            except queue.Empty:
                break
            if call is not None and call.cancel():
                call.set_running_or_notify_cancel()  # tell concurrent.futures waiters
        _wake(self.sleepers)
        for _ in self.threads:
            self.calls.put(None)
        if wait:
            for thread in self.threads:
                thread.join()


def _work(
    calls: queue.SimpleQueue[Call[Any] | None], idle: list[None], sleepers: list[threading.Lock]
) -> None:
    """A worker thread: run calls until a ``None`` arrives."""
    get = calls.get
    while True:
        call = get()
        if call is None:
            return
        try:
            call.run()
        except BaseException:  # a done-callback raised past Exception: keep the worker
            LOGGER.critical("exception in a headwater-task worker", exc_info=True)
        del call  # do not keep the finished call (and its result) alive while idle
        if sleepers:
            _wake(sleepers)
        idle.append(None)


def _wake(sleepers: list[threading.Lock]) -> None:
    """Release every lock in ``sleepers``, each exactly once (pop is atomic)."""
    while sleepers:  # checked first: raising IndexError each time costs a microsecond
        try:
            sleepers.pop().release()
        except IndexError:
            return  # another worker emptied it meanwhile


# Every live worker thread and its pool's queue (weak keys: ended threads drop out).
_worker_queues: weakref.WeakKeyDictionary[threading.Thread, queue.SimpleQueue[Any]] = (
    weakref.WeakKeyDictionary()
)


@atexit.register
def _join_at_exit() -> None:
    # Workers are daemon threads; like ThreadPoolExecutor, let the calls already
    # submitted (to a pool shut down without waiting, or never shut down) end
    # before the interpreter does.
    workers = list(_worker_queues.items())
    for _, calls in workers:
        calls.put(None)
    for thread, _ in workers:
        thread.join()


class ThreadExecutor(Executor):
    """Run up to ``max_workers`` task tries at once, each in a pool thread.

    A try that is the run's only work at that moment (nothing else ready, in
    flight or waiting to retry, as each step of a chain) runs in the thread
    that called ``flow.run()`` instead: a pool thread would run it no sooner,
    and the hand-off costs two thread wake-ups.

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

    runs_lone_tries_inline = True
    queue_ahead = 16  # when nothing observes Running: see Executor.queue_ahead

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self.max_workers = max_workers or default_thread_workers()
        self._pool: _Pool | None = None

    def _open(self) -> None:
        pool = self._pool = _Pool(self.max_workers)
        # An executor dropped without shutdown() lets its threads end after the
        # calls already submitted.
        self._finalizer = weakref.finalize(self, pool.close, False, False)

    def _close(self, wait: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            self._finalizer.detach()
            pool.close(wait)

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Schedule ``fn(*args)`` on a pool thread.

        Raises:
            RuntimeError: the executor is not started (use ``with`` or ``start()``).
        """
        pool = self._running(self._pool)
        call = Call(fn, args)
        pool.submit(call)
        return call

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Block until at least one of ``futures`` is done or ``timeout`` passes.

        Returns:
            Every one of ``futures`` that is done (possibly none, on timeout).
        """
        # One scan serves any futures (all have ``_state``); only sleeping needs
        # them to be ours, since only our workers release ``sleepers``.
        done = {future for future in futures if future._state in DONE_STATES}
        if done or timeout == 0:
            return done
        pool = self._pool
        if pool is None or not all(type(future) is Call for future in futures):
            return super().wait(futures, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        sleepers = pool.sleepers
        while True:
            sleeper = threading.Lock()
            sleeper.acquire()
            # Register first, then look again: a worker finishing a call after the
            # second look finds the lock in ``sleepers`` and releases it.
            sleepers.append(sleeper)
            woken = False
            try:
                done = {future for future in futures if future._state in DONE_STATES}
                if done:
                    return done
                if deadline is None:
                    woken = sleeper.acquire()
                else:
                    woken = sleeper.acquire(timeout=max(0.0, deadline - time.monotonic()))
            finally:
                if not woken:  # a worker that released the lock had taken it out already
                    with contextlib.suppress(ValueError):  # a worker took it out to release it
                        sleepers.remove(sleeper)
            done = {future for future in futures if future._state in DONE_STATES}
            if done or not woken:
                return done
            # Woken by a call that is not one of ``futures`` (another run's): sleep again.
