"""State handlers: user hooks called on state changes, kept from breaking a run.

A task's or flow's ``state_handlers`` are called in order as
``fn(task_or_flow, old_state, new_state)``; one may return a replacement
state. A handler that raises ends the task (or flow run) ``Failed`` with a
message naming the handler and the change. ``on_failure(task_or_flow, state)``
is called once when a task or flow run ends failed; its errors are logged,
not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater import triggers
from headwater._taskrun import describe_task, failed_from_handler

if TYPE_CHECKING:
    from headwater._flow import Flow
    from headwater._task import Task
    from headwater.states import State

__all__ = ["call_on_failure", "flow_transition", "task_transition"]

logger = logging.getLogger("headwater.runner")


def task_transition(task: Task[Any], old: State, new: State) -> State:
    """Run ``task``'s state handlers on a change; return the (maybe replaced) state."""
    try:
        return task._handle_state_change(old, new)
    except Exception as exc:
        return failed_from_handler(f"task {describe_task(task)}", old, new, exc)


def flow_transition(
    flow: Flow, old: State, new: State, task_states: Callable[[], dict[Task[Any], State]]
) -> State:
    """Run ``flow``'s state handlers on a change of the flow run's state.

    A raising handler ends the flow run ``Failed`` (naming the handler), with
    the task states so far (``task_states()``) as its result.
    """
    for handler in flow.state_handlers:
        try:
            replacement = handler(flow, old, new)
        except Exception as exc:
            owner = f"flow {flow.name!r} ({triggers.trigger_name(handler)})"
            return failed_from_handler(owner, old, new, exc, task_states())
        if replacement is not None:
            new = replacement
    return new


def call_on_failure(owner: Any, label: str, state: State) -> None:
    """Call ``owner.on_failure(owner, state)``; log (do not raise) its errors."""
    try:
        owner.on_failure(owner, state)
    except Exception:
        logger.exception("%s: on_failure handler raised", label)
