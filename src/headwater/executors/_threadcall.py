"""The future of a call submitted to a ``ThreadExecutor``: lean, and its own work item.

A stock ``concurrent.futures.Future`` makes a ``threading.Condition`` per
future, which on trivial tasks costs more than the rest of a try's
bookkeeping. :class:`Call` is a real ``concurrent.futures.Future`` (so
``concurrent.futures.wait``, ``as_completed``, callbacks, ``result(timeout)``
and ``cancel()`` behave as usual) that guards its state with a plain lock.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from concurrent.futures._base import (
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    LOGGER,
    PENDING,
    RUNNING,
)
from typing import Any, TypeVar

__all__ = ["DONE_STATES", "LOGGER", "Call"]

T = TypeVar("T")

# concurrent.futures.wait and as_completed read ``_state``: a Call uses the
# state names of concurrent.futures itself.
CANCELLED_STATES = (CANCELLED, CANCELLED_AND_NOTIFIED)
DONE_STATES = frozenset({CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED})


class Call(concurrent.futures.Future[T]):
    """A call submitted to a :class:`ThreadExecutor`: its work item and its future.

    ``Future.__init__`` is not called: it makes a ``threading.Condition``,
    which costs more than the rest of a trivial try's bookkeeping. A plain
    lock guards the state instead (``concurrent.futures.wait`` only acquires
    and releases ``_condition``); a thread blocked in :meth:`result` or
    :meth:`exception` sleeps on a lock of its own, kept in ``_blockers``.
    """

    # Slots for every attribute, the base class's included: no instance dict.
    __slots__ = (
        "_blockers",
        "_condition",
        "_done_callbacks",
        "_exception",
        "_result",
        "_state",
        "_waiters",
        "args",
        "fn",
    )

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        # A Lock has the acquire/release/context-manager part of a Condition that
        # concurrent.futures.wait and as_completed use; nothing here calls wait/notify.
        self._condition = threading.Lock()  # type: ignore[assignment]
        self._state = PENDING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks: list[Callable[[concurrent.futures.Future[T]], object]] = []
        self._blockers: list[threading.Lock] = []
        self.fn: Callable[..., T] | None = fn
        self.args: tuple[Any, ...] = args

    # -- the worker's side ------------------------------------------------------

    def run(self) -> None:
        """Run the call in this thread, unless it was cancelled; settle the future."""
        if not self.set_running_or_notify_cancel():
            return
        fn, args = self.fn, self.args
        self.fn, self.args = None, ()  # drop the inputs as soon as they are used
        assert fn is not None
        try:
            result = fn(*args)
        except BaseException as exc:  # as ThreadPoolExecutor: the caller sees it
            self.set_exception(exc)
            return
        # set_result, inlined: this is every try's path.
        with self._condition:
            self._result = result
            self._state = FINISHED
            for waiter in self._waiters:
                waiter.add_result(self)
            if self._blockers:
                self._wake_blockers()
        if self._done_callbacks:
            self._invoke_callbacks()

    def set_running_or_notify_cancel(self) -> bool:
        """Mark the call running; ``False`` if it was cancelled (then waiters learn it)."""
        with self._condition:
            if self._state == PENDING:
                self._state = RUNNING
                return True
            if self._state == CANCELLED:
                self._state = CANCELLED_AND_NOTIFIED
                for waiter in self._waiters:
                    waiter.add_cancelled(self)
                return False
            raise RuntimeError(f"future in unexpected state: {self._state}")

    def set_result(self, result: T) -> None:
        """Finish the future with ``result``; wake whoever waits on it."""
        self._settle(result, None, raised=False)

    def set_exception(self, exception: BaseException | None) -> None:
        """Finish the future with ``exception``; wake whoever waits on it."""
        self._settle(None, exception, raised=True)

    def _settle(self, result: Any, exception: BaseException | None, *, raised: bool) -> None:
        with self._condition:
            if self._state in DONE_STATES:
                raise concurrent.futures.InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._exception = exception
            self._state = FINISHED
            for waiter in self._waiters:
                if raised:
                    waiter.add_exception(self)
                else:
                    waiter.add_result(self)
            self._wake_blockers()
        if self._done_callbacks:
            self._invoke_callbacks()

    def _wake_blockers(self) -> None:
        # Called with _condition held, so no blocker is added meanwhile.
        blockers = self._blockers
        while blockers:
            blockers.pop().release()

    def _invoke_callbacks(self) -> None:
        for callback in self._done_callbacks:
            try:
                callback(self)
            except Exception:
                LOGGER.exception("exception calling callback for %r", self)

    # -- the caller's side --------------------------------------------------------

    def cancel(self) -> bool:
        """Cancel the call if it has not started; ``True`` if it is cancelled."""
        with self._condition:
            if self._state in (RUNNING, FINISHED):
                return False
            if self._state in CANCELLED_STATES:
                return True
            self._state = CANCELLED
            self.fn, self.args = None, ()
            self._wake_blockers()
        if self._done_callbacks:
            self._invoke_callbacks()
        return True

    def cancelled(self) -> bool:
        """``True`` if the call was cancelled."""
        return self._state in CANCELLED_STATES

    def running(self) -> bool:
        """``True`` while the call runs."""
        return self._state == RUNNING

    def done(self) -> bool:
        """``True`` once the call finished or was cancelled."""
        return self._state in DONE_STATES  # one attribute read: atomic, no lock needed

    def add_done_callback(self, fn: Callable[[concurrent.futures.Future[T]], object]) -> None:
        """Call ``fn(future)`` when the future is done (now if it already is)."""
        with self._condition:
            if self._state not in DONE_STATES:
                self._done_callbacks.append(fn)
                return
        try:
            fn(self)
        except Exception:
            LOGGER.exception("exception calling callback for %r", self)

    def result(self, timeout: float | None = None) -> T:
        """The call's result; re-raises what it raised.

        Raises:
            concurrent.futures.CancelledError: the call was cancelled.
            TimeoutError: it did not finish within ``timeout`` seconds.
        """
        if self._state != FINISHED:
            self._block(timeout)
        if self._exception is not None:
            try:
                raise self._exception
            finally:
                # As Future.result: break the cycle traceback -> frame -> self -> exception.
                self = None  # type: ignore[assignment]  # noqa: PLW0642
        return self._result  # type: ignore[return-value]

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """What the call raised, or ``None``.

        Raises:
            concurrent.futures.CancelledError: the call was cancelled.
            TimeoutError: it did not finish within ``timeout`` seconds.
        """
        if self._state != FINISHED:
            self._block(timeout)
        return self._exception

    def _block(self, timeout: float | None) -> None:
        """Wait until the future is finished; raise if cancelled or timed out."""
        with self._condition:
            if self._state not in DONE_STATES:
                blocker = threading.Lock()
                blocker.acquire()
                self._blockers.append(blocker)
            else:
                blocker = None
        if blocker is not None:
            try:
                blocker.acquire(timeout=-1 if timeout is None else max(0.0, timeout))
            finally:
                with self._condition:
                    if blocker in self._blockers:
                        self._blockers.remove(blocker)
        state = self._state
        if state in CANCELLED_STATES:
            raise concurrent.futures.CancelledError()
        if state != FINISHED:
            raise TimeoutError()
