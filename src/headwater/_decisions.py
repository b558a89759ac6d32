"""What the runner decides about a ready unit before any try, and its context.

When a unit becomes ready, :meth:`Decisions.decide` settles what can be
settled without running it, in this order:

1. a finished state ``task_states=`` gave it (its *seed*) is final, unless
   it is a ``Mapped`` state with a child that did not finish;
2. the upstream decision of :mod:`headwater._taskrun`: skip propagation,
   then the task's trigger, on the upstream states the unit sees (a mapped
   child: the upstream children with its map index; see
   :mod:`headwater._mapping`). A custom trigger runs under the task's
   context, as the task would (``manual_only`` reads ``is_waiting``);
3. a mapped task that may go on is expanded into its children
   (:class:`~headwater._children.MapChildren`).

``decide`` returns the unit's state, ``EXPANDED``, or ``None``: go on to the
cache and the try. It reads the run's states and never changes them; only
expanding a map queues units (its children, and the maps it releases).
:meth:`Decisions.context_for` builds the context a unit's trigger and tries
run under.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater import triggers
from headwater._children import NOT_MAPPED
from headwater._mapping import child_upstream_states, has_unfinished_children, summarize_for_trigger
from headwater._taskrun import upstream_decision
from headwater.context import _pop, _push
from headwater.states import Finished, Mapped, State, Waiting

if TYPE_CHECKING:
    from headwater._children import MapChildren
    from headwater._graph import FrozenGraph
    from headwater._task import Task
    from headwater.executors.base import Executor

__all__ = ["Decisions"]


class Decisions:
    """A run's decisions before a unit's try (see the module docs)."""

    __slots__ = (
        "base_context",  # the context every task's is a copy of
        "executor",  # the run's executor (how a mapped input is split)
        "graph",  # the frozen flow
        "maps",  # the run's mapped children
        "seeds",  # task index -> the state task_states= gave it
        "states",  # the run's task states
    )

    def __init__(
        self,
        graph: FrozenGraph,
        states: list[State | None],
        seeds: dict[int, State],
        maps: MapChildren,
        executor: Executor,
        base_context: dict[str, Any],
    ) -> None:
        self.graph = graph
        self.states = states
        self.seeds = seeds
        self.maps = maps
        self.executor = executor
        self.base_context = base_context

    def decide(self, index: int, map_index: int, task: Task[Any]) -> State | None:
        """Unit ``(index, map_index)``'s state, ``EXPANDED``, or ``None`` to try it."""
        seed = self.seed(index, map_index) if self.seeds else None
        if seed is not None and isinstance(seed, Finished) and not has_unfinished_children(seed):
            return seed
        if map_index != NOT_MAPPED:
            upstream_states = child_upstream_states(
                self.graph, self.states, self.maps.children, index, map_index
            )
        elif task.mapped:
            return self._decide_map(index, task)
        else:
            upstream_states = summarize_for_trigger(self.graph, self.states, index)
        return self._upstream_decision(task, index, map_index, upstream_states)

    def _decide_map(self, index: int, task: Task[Any]) -> State | None:
        """A mapped task: the upstream decision, then expansion."""
        upstream_states, element_wise = self.maps.upstream_states(index)
        # A map fed by a map: each child asks the trigger about its element.
        decision = self._upstream_decision(
            task, index, NOT_MAPPED, upstream_states, check_trigger=not element_wise
        )
        if decision is not None:
            return decision
        expanded = self.maps.expand(index, self.executor.as_list)
        if not element_wise or not isinstance(expanded, Mapped) or expanded.map_states:
            return expanded
        # An empty map has no child to ask the trigger: ask it once here.
        decision = self._upstream_decision(task, index, NOT_MAPPED, upstream_states)
        return expanded if decision is None else decision

    def seed(self, index: int, map_index: int) -> State | None:
        """The state ``task_states=`` gave this unit (a child's from its parent's map)."""
        seed = self.seeds.get(index)
        if map_index == NOT_MAPPED or seed is None:
            return seed
        if isinstance(seed, Mapped) and map_index < len(seed.map_states):
            return seed.map_states[map_index]
        return None

    def _upstream_decision(
        self,
        task: Task[Any],
        index: int,
        map_index: int,
        upstream_states: Mapping[Any, State],
        check_trigger: bool = True,
    ) -> State | None:
        if task.trigger is triggers.all_successful or not upstream_states or not check_trigger:
            return upstream_decision(task, upstream_states, check_trigger=check_trigger)
        # Custom triggers may read the context (manual_only reads is_waiting).
        token = _push(self.context_for(task, map_index, 1, index))
        try:
            return upstream_decision(task, upstream_states)
        finally:
            _pop(token)

    def context_for(
        self, task: Task[Any], map_index: int, run_count: int, index: int
    ) -> dict[str, Any]:
        """The context values a unit's trigger or try runs under."""
        context = self.base_context.copy()
        context["task_name"] = task.name
        context["task_slug"] = task.slug
        context["task_tags"] = task.tags
        if map_index != NOT_MAPPED:
            context["map_index"] = map_index
        if run_count != 1:
            context["task_run_count"] = run_count
        if self.seeds and isinstance(self.seed(index, map_index), Waiting):
            context["is_waiting"] = True
        return context
