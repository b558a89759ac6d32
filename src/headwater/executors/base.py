"""The executor contract, after ``concurrent.futures.Executor``.

An executor runs the task tries the runner submits and hands back futures of
their states. Besides ``submit``/``wait``/``shutdown`` it has a few hooks the
runner calls; their defaults suit executors whose results live in this
process (local, threads, processes). An executor that keeps results elsewhere
(Dask keeps them in the cluster) overrides :meth:`as_list`, :meth:`fetch` and
:meth:`gather`.

``start()`` and ``shutdown()`` nest: the first ``start()`` acquires the
executor's resources and the matching last ``shutdown()`` releases them, so an
executor used as a context manager keeps its pool or cluster across several
flow runs (each run calls ``start()`` and ``shutdown()`` once).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from typing_extensions import Self

if TYPE_CHECKING:
    from headwater._task import Task
    from headwater.states import State

__all__ = ["Executor"]

T = TypeVar("T")
R = TypeVar("R")


class Executor:
    """Runs submitted calls and hands back futures.

    Subclasses implement :meth:`submit`, and :meth:`_open`/:meth:`_close` when
    they hold resources (:meth:`_running` hands what ``_open`` made to
    ``submit``, or refuses if not started); the runner calls :meth:`start`
    before a run and :meth:`shutdown` after it.

    Attributes:
        max_workers: how many task tries may run at once.
        synchronous: ``True`` when ``submit`` runs the call before returning
            (the runner then skips futures altogether).
        stops_timed_out_work: ``True`` when the executor can really stop a
            task that exceeds its timeout (the process executor); the runner
            then hands the timeout to :meth:`submit_try` only. Otherwise the
            try runs in a helper thread that is abandoned at the deadline.
        runs_lone_tries_inline: ``True`` when the runner may run a try in its
            own thread when it is the only work of the run (nothing else
            ready, in flight or waiting to retry): submitting it and waiting
            would give the same result later. Only for executors whose tries
            run in this process anyway (threads).
        submit_ahead: the runner keeps up to ``max_workers * submit_ahead``
            tries submitted. An executor that queues work itself and pays a
            round trip per try (Dask) takes more than one, so that a worker
            does not sit idle between one try and the next; at most
            ``max_workers`` of them run at once.
        queue_ahead: like ``submit_ahead``, but only while nothing can see
            that a submitted try has not started yet: the runner reports a
            try ``Running`` when it submits it, so it queues tries ahead only
            when the run keeps no run record, logs nothing at INFO and no task
            has state handlers. A pool whose round trip per try is a thread
            wake-up (threads) keeps its workers busy this way.
    """

    max_workers: int = 1
    submit_ahead: int = 1
    queue_ahead: int = 1
    synchronous: bool = False
    runs_lone_tries_inline: bool = False
    stops_timed_out_work: bool = False
    _users: int = 0  # how many start() calls are not matched by shutdown() yet

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Acquire resources (pools, clusters); calls nest (see the module docs)."""
        with self._lifecycle_lock():
            if self._users == 0:
                self._open()
            self._users += 1

    def shutdown(self, wait: bool = True) -> None:
        """Release resources when the last ``start()`` is matched. Idempotent.

        Args:
            wait: let running work finish first (else stop it where possible).
        """
        with self._lifecycle_lock():
            if self._users == 0:
                return
            self._users -= 1
            if self._users == 0:
                self._close(wait)

    def _lifecycle_lock(self) -> threading.Lock:
        # Made on first use: subclasses need not call Executor.__init__.
        lock: threading.Lock = self.__dict__.setdefault("_lifecycle", threading.Lock())
        return lock

    def _running(self, resource: R | None) -> R:
        """``resource`` (what :meth:`_open` made: a pool, a client), if started.

        Raises:
            RuntimeError: ``resource`` is ``None``: the executor is not started.
        """
        if resource is None:
            raise RuntimeError(
                f"{type(self).__name__} is not started: use it as a context manager or call start()"
            )
        return resource

    def _open(self) -> None:
        """Acquire resources; called by the first :meth:`start`."""

    def _close(self, wait: bool) -> None:
        """Release resources; called by the last :meth:`shutdown`."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- running -------------------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Schedule ``fn(*args)``; return a future of its result."""
        raise NotImplementedError

    def submit_try(
        self,
        fn: Callable[..., State],
        task: Task[Any],
        inputs: Mapping[str, Any],
        context_values: Mapping[str, Any],
        timeout: float | None,
    ) -> concurrent.futures.Future[State]:
        """Schedule one try of ``task``: ``fn(task, inputs, context_values, timeout)``.

        The runner calls this instead of :meth:`submit`, so that an executor
        learns which task a call runs (for messages) and its ``timeout``.
        When :attr:`stops_timed_out_work` is true, the executor must enforce
        ``timeout`` itself and call ``fn`` with ``None``.
        """
        return self.submit(fn, task, inputs, context_values, timeout)

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Block until at least one of ``futures`` is done or ``timeout`` passes.

        Returns:
            The futures that are done (possibly none, on timeout).
        """
        done, _ = concurrent.futures.wait(
            futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        return done

    # -- results kept elsewhere ----------------------------------------------

    def as_list(self, value: Any) -> list[Any]:
        """The elements of an upstream result a mapped task iterates.

        Raises:
            TypeError: the value is not iterable.
        """
        return list(value)

    def fetch(self, value: Any) -> Any:
        """``value`` with any result the executor keeps elsewhere brought here."""
        return value

    def gather(self, states: Sequence[State]) -> list[State]:
        """``states`` with the results the executor keeps elsewhere brought here."""
        return list(states)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_workers={self.max_workers})"
