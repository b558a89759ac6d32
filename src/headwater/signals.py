"""Signals: exceptions a task raises to choose its own state.

Each signal maps onto exactly one state class (``signal.state``)::

    FAIL    -> Failed     (retried while retries remain)
    RETRY   -> Retrying   (retried even past max_retries)
    SUCCESS -> Success    (with ``result`` if given)
    SKIP    -> Skipped
    WAIT    -> Waiting    (the run does not finish; resume it later)

Example:
    >>> from headwater import signals
    >>> def run(x):
    ...     if x is None:
    ...         raise signals.SKIP("nothing to do")
    ...     return x
"""

from __future__ import annotations

from typing import Any, ClassVar

from headwater import states

__all__ = ["FAIL", "RETRY", "SKIP", "SUCCESS", "WAIT", "Signal"]


class Signal(Exception):
    """Base class of signals.

    Args:
        message: why the task chose this state; becomes the state's message.
        result: the state's result (for ``SUCCESS``, the task's return value).
    """

    state: ClassVar[type[states.State]] = states.State

    def __init__(self, message: str | None = None, result: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep ``result`` when a signal crosses a process boundary.
        return (type(self), (self.message, self.result))


class FAIL(Signal):
    """End the task ``Failed``; it is retried while retries remain."""

    state = states.Failed


class RETRY(Signal):
    """Retry the task, even when ``max_retries`` is used up."""

    state = states.Retrying


class SUCCESS(Signal):
    """End the task ``Success`` with ``result``."""

    state = states.Success


class SKIP(Signal):
    """End the task ``Skipped``; downstream tasks treat it as a success unless
    they set ``propagate_skip=True``."""

    state = states.Skipped


class WAIT(Signal):
    """Leave the task ``Waiting``: the flow run ends unfinished and can be
    resumed by passing its task states back to ``flow.run(task_states=...)``."""

    state = states.Waiting
