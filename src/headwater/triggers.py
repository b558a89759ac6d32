"""Triggers: decide from upstream states whether a task runs.

A trigger is a plain function ``fn(upstream_states: dict[Edge, State]) -> bool``.
When it returns ``False`` the task ends ``TriggerFailed`` without running; the
state's message names the trigger and the upstream tasks concerned. A task
with no upstream tasks always passes its trigger. A trigger may also raise a
signal (``manual_only`` raises ``WAIT``) to choose the task's state itself.

Custom triggers are plain functions of the same form:

    >>> from headwater import triggers
    >>> def at_least_two_successful(upstream_states):
    ...     return sum(s.is_successful() for s in upstream_states.values()) >= 2

Skipped upstream tasks count as successful (``Skipped`` is a ``Success``)
unless the task sets ``propagate_skip=True``, in which case the runner skips
the task before its trigger is asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater import signals

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater.states import State

__all__ = [
    "Trigger",
    "all_failed",
    "all_finished",
    "all_successful",
    "always_run",
    "any_failed",
    "any_successful",
    "manual_only",
]

Trigger = Callable[[Mapping["Edge", "State"]], bool]
"""The type of a trigger function."""


def all_successful(upstream_states: Mapping[Edge, State]) -> bool:
    """Run when every upstream task succeeded (the default trigger)."""
    return all(state.is_successful() for state in upstream_states.values())


def all_failed(upstream_states: Mapping[Edge, State]) -> bool:
    """Run when every upstream task failed (e.g. a fallback task)."""
    return all(state.is_failed() for state in upstream_states.values())


def any_successful(upstream_states: Mapping[Edge, State]) -> bool:
    """Run when at least one upstream task succeeded (and all are finished)."""
    return all(s.is_finished() for s in upstream_states.values()) and any(
        s.is_successful() for s in upstream_states.values()
    )


def any_failed(upstream_states: Mapping[Edge, State]) -> bool:
    """Run when at least one upstream task failed (e.g. a notification task)."""
    return any(state.is_failed() for state in upstream_states.values())


def all_finished(upstream_states: Mapping[Edge, State]) -> bool:
    """Run once every upstream task finished, whatever its outcome (cleanup tasks)."""
    return all(state.is_finished() for state in upstream_states.values())


always_run = all_finished
"""Alias of :func:`all_finished`."""


def manual_only(upstream_states: Mapping[Edge, State]) -> bool:
    """Run only when resumed by hand.

    On the first run the task ends ``Waiting``; passing the run's task states
    back to ``flow.run(task_states=...)`` approves it and it runs (if every
    upstream task is finished).
    """
    from headwater.context import context

    if context.get("is_waiting"):
        return all_finished(upstream_states)
    raise signals.WAIT("waiting for manual approval (trigger manual_only)")


def trigger_name(trigger: Callable[..., Any]) -> str:
    """The name a message uses for ``trigger``."""
    return getattr(trigger, "__name__", None) or repr(trigger)
