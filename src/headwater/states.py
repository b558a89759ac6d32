"""States: what a task run or a flow run is, or ended as.

A state is a small immutable value: its class says what happened, ``message``
says why in words, and ``result`` holds the task's return value (or, for a
``Failed`` state raised by an exception, the exception itself).

The classes form a tree; each ``is_*`` test is an ``isinstance`` check, so a
``Cached`` state *is* successful and a ``TimedOut`` state *is* failed::

    State
    ├── Pending ─── Retrying, Waiting
    ├── Running
    └── Finished
        ├── Success ─── Skipped, Cached, Mapped
        └── Failed ──── TriggerFailed, TimedOut

Example:
    >>> from headwater.states import Success, Failed
    >>> s = Success(result=3)
    >>> s.is_successful(), s.is_finished(), s.result
    (True, True, 3)
    >>> Failed("boom").is_successful()
    False
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "Cached",
    "Failed",
    "Finished",
    "Mapped",
    "Pending",
    "Retrying",
    "Running",
    "Skipped",
    "State",
    "Success",
    "TimedOut",
    "TriggerFailed",
    "Waiting",
]

_set = object.__setattr__
_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = 6
_short.maxdict = 6


class State:
    """The base of every state.

    Args:
        message: why the state was reached, in words.
        result: the task's return value; for a ``Failed`` state built from an
            exception, the exception.

    States are immutable: build a new one instead of changing one.
    """

    __slots__ = ("message", "result")

    message: str | None
    result: Any

    def __init__(self, message: str | None = None, result: Any = None) -> None:
        _set(self, "message", message)
        _set(self, "result", result)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"{type(self).__name__} states are immutable: build a new state instead "
            f"of setting {name!r}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Immutable slots classes need explicit pickling support.
        return (_rebuild, (type(self), self._fields()))

    def _fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for klass in type(self).__mro__:
            for name in getattr(klass, "__slots__", ()):
                fields[name] = getattr(self, name)
        return fields

    def is_pending(self) -> bool:
        """True for ``Pending`` and its subclasses (``Retrying``, ``Waiting``)."""
        return isinstance(self, Pending)

    def is_running(self) -> bool:
        """True for ``Running``."""
        return isinstance(self, Running)

    def is_finished(self) -> bool:
        """True for every ``Finished`` state: successes and failures."""
        return isinstance(self, Finished)

    def is_successful(self) -> bool:
        """True for ``Success``, ``Skipped``, ``Cached`` and ``Mapped``."""
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        """True for ``Failed``, ``TriggerFailed`` and ``TimedOut``."""
        return isinstance(self, Failed)

    def is_skipped(self) -> bool:
        """True for ``Skipped``."""
        return isinstance(self, Skipped)

    def is_retrying(self) -> bool:
        """True for ``Retrying``."""
        return isinstance(self, Retrying)

    def is_cached(self) -> bool:
        """True for ``Cached``."""
        return isinstance(self, Cached)

    def is_waiting(self) -> bool:
        """True for ``Waiting``."""
        return isinstance(self, Waiting)

    def is_mapped(self) -> bool:
        """True for ``Mapped``."""
        return isinstance(self, Mapped)

    def __repr__(self) -> str:
        parts = []
        if self.message is not None:
            parts.append(repr(self.message))
        if self.result is not None and not isinstance(self.result, BaseException):
            parts.append(f"result={_short.repr(self.result)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__


def _rebuild(cls: type[State], fields: dict[str, Any]) -> State:
    state = object.__new__(cls)
    for name, value in fields.items():
        _set(state, name, value)
    return state


class Pending(State):
    """Not run yet: waiting for upstream tasks, or left unrun when the run ended."""

    __slots__ = ()


class Retrying(Pending):
    """Failed, and due to run again at ``start_time``.

    Args:
        message: why it is retried.
        result: the failure that caused the retry (usually the exception).
        start_time: when the next try is due (``time.time()`` seconds).
        run_count: how many tries have run so far.
    """

    __slots__ = ("run_count", "start_time")

    start_time: float
    run_count: int

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        start_time: float = 0.0,
        run_count: int = 1,
    ) -> None:
        super().__init__(message, result)
        _set(self, "start_time", start_time)
        _set(self, "run_count", run_count)


class Waiting(Pending):
    """The task asked to wait (the ``WAIT`` signal); its run is not finished.

    Passing the flow run's task states back to ``flow.run(task_states=...)``
    runs a waiting task again, with ``context.is_waiting`` true.
    """

    __slots__ = ()


class Running(State):
    """The task is running now."""

    __slots__ = ()


class Finished(State):
    """The task is done, successfully or not."""

    __slots__ = ()


class Success(Finished):
    """The task finished successfully; ``result`` is its return value."""

    __slots__ = ()


_new_state = object.__new__
_set_message: Any = vars(State)["message"].__set__  # the slots' own setters
_set_result: Any = vars(State)["result"].__set__


def _success(result: Any) -> Success:
    """``Success(result=result)`` without ``__init__``'s argument handling: the
    runner makes one per task, so this is on its hot path."""
    state: Success = _new_state(Success)
    _set_message(state, None)
    _set_result(state, result)
    return state


class Skipped(Success):
    """The task was skipped (``SKIP`` signal, or an upstream skip propagated).

    A skip counts as a success for triggers of downstream tasks unless they set
    ``propagate_skip=True``.
    """

    __slots__ = ()


class Cached(Success):
    """The task's result came from the cache; ``run`` was not called.

    Args:
        message: why the state was reached.
        result: the cached result.
        cached_inputs: stable fingerprints of the inputs the result was computed
            from (``None`` when they could not be fingerprinted).
        cached_parameters: fingerprints of the flow parameters of that run.
        expiration: when the cache entry stops being valid (``None``: never).
    """

    __slots__ = ("cached_inputs", "cached_parameters", "expiration")

    cached_inputs: Mapping[str, str] | None
    cached_parameters: Mapping[str, str] | None
    expiration: datetime | None

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        cached_inputs: Mapping[str, str] | None = None,
        cached_parameters: Mapping[str, str] | None = None,
        expiration: datetime | None = None,
    ) -> None:
        super().__init__(message, result)
        _set(self, "cached_inputs", cached_inputs)
        _set(self, "cached_parameters", cached_parameters)
        _set(self, "expiration", expiration)


class Mapped(Success):
    """A mapped task's parent: one child state per element in ``map_states``.

    ``result`` is the list of the children's results, in order.
    """

    __slots__ = ("map_states",)

    map_states: tuple[State, ...]

    def __init__(
        self,
        message: str | None = None,
        result: Any = None,
        map_states: Sequence[State] = (),
    ) -> None:
        super().__init__(message, result)
        _set(self, "map_states", tuple(map_states))


class Failed(Finished):
    """The task failed.

    When built from an exception, ``result`` is the exception and ``traceback``
    its formatted traceback.
    """

    __slots__ = ("traceback",)

    traceback: str | None

    def __init__(
        self, message: str | None = None, result: Any = None, traceback: str | None = None
    ) -> None:
        super().__init__(message, result)
        _set(self, "traceback", traceback)


class TriggerFailed(Failed):
    """The task's trigger refused to run it (its message names the trigger)."""

    __slots__ = ()


class TimedOut(Failed):
    """The task ran longer than its ``timeout`` and was abandoned or stopped."""

    __slots__ = ()
