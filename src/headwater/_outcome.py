"""How a run ends: every task's state, and the flow run's state from them.

The flow run's state comes from its reference tasks: ``Failed`` when any
failed (a ``Mapped`` reference task counts as failed when a child failed),
else ``Waiting`` when any task of the flow did not finish (it waits, or it
never ran because an upstream task waits), else ``Success``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headwater._mapping import has_unfinished_children
from headwater.states import Failed, Mapped, Pending, State, Success, Waiting

if TYPE_CHECKING:
    from headwater._graph import FrozenGraph
    from headwater._task import Task

__all__ = ["NOT_RUN", "final_flow_state", "task_states"]

NOT_RUN = "not run: the run ended before its upstream tasks finished"
INTERRUPTED = "not finished: the run was interrupted (KeyboardInterrupt) before or while it ran"


def task_states(
    graph: FrozenGraph, states: Sequence[State | None], not_run: str = NOT_RUN
) -> dict[Task[Any], State]:
    """Every task's state; tasks never resolved get ``Pending(not_run)``."""
    pending = Pending(not_run)
    return {
        task: (state if state is not None else pending)
        for task, state in zip(graph.tasks, states, strict=True)
    }


def final_flow_state(graph: FrozenGraph, states_by_task: dict[Task[Any], State]) -> State:
    """The flow run's state (see the module docs); its result is ``states_by_task``."""
    tasks = graph.tasks
    failed = [tasks[i].slug for i in graph.reference if _counts_as_failed(states_by_task[tasks[i]])]
    if failed:
        return Failed(f"reference tasks failed: {', '.join(map(str, failed))}", states_by_task)
    unfinished = [
        task.slug
        for task, state in states_by_task.items()
        if not state.is_finished() or has_unfinished_children(state)
    ]
    if unfinished:
        shown = ", ".join(map(str, unfinished[:5])) + (" ..." if len(unfinished) > 5 else "")
        return Waiting(f"{len(unfinished)} tasks did not finish: {shown}", states_by_task)
    return Success("all reference tasks succeeded", states_by_task)


def _counts_as_failed(state: State) -> bool:
    if state.is_failed():
        return True
    return isinstance(state, Mapped) and any(child.is_failed() for child in state.map_states)
