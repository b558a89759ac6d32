"""The children of mapped tasks during one run: the runner's map bookkeeping.

A mapped task *expands* when it becomes ready and its trigger lets it go on:
its children are created, one per element of its mapped inputs, and queued
as units ``(index, i)``. :class:`MapChildren` keeps, per expanded map:

- ``children[i]``: the child states of mapped task ``i`` (``None`` = not
  yet);
- ``inputs[i]``: each child's inputs, computed at expansion (an input a
  feeding map gives element-wise is read when the child starts);
- ``unfinished[i]``: how many children have no state yet. When the last
  one finishes, the parent's ``Mapped`` state is built from its children
  and handed back to the runner, which resolves the parent like any task.

It shares the run's ``states``, ``blocked`` and ``ready`` with
:class:`~headwater._runner.FlowRun`: expanding a map releases the maps it
feeds element-wise and queues its children, and a finished child queues the
children that waited for it. Who feeds whom element-wise is
:class:`~headwater._elementwise.ElementWise`'s part; what children receive
and what triggers see is :mod:`headwater._mapping`'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from headwater._elementwise import ElementWise, RunningMaps
from headwater._mapping import mapped_inputs, maps_element_wise, parent_state, summarize_for_trigger
from headwater.states import Mapped, State

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._graph import FrozenGraph

__all__ = ["EXPANDED", "NOT_MAPPED", "MapChildren"]

NOT_MAPPED = -1
"""The map index of a unit that is not the child of a mapped task."""


class _Expanded(State):
    """Internal marker: a mapped task's children were queued."""

    __slots__ = ()


EXPANDED = _Expanded()


class MapChildren:
    """The children of the run's mapped tasks (see the module docs)."""

    __slots__ = (
        "blocked",  # the run's: per task, how many upstream tasks are unresolved
        "children",  # expanded map -> its children's states (None = not yet)
        "element_wise",  # maps fed by maps: who feeds whom, which children wait
        "graph",  # the frozen flow
        "inputs",  # expanded map -> each child's inputs
        "ready",  # the run's queue of ready units
        "states",  # the run's task states
        "unfinished",  # expanded map -> how many of its children have no state yet
    )

    def __init__(
        self,
        graph: FrozenGraph,
        states: list[State | None],
        blocked: list[int],
        ready: deque[tuple[int, int]],
    ) -> None:
        self.graph = graph
        self.states = states
        self.blocked = blocked
        self.ready = ready
        self.children: dict[int, list[State | None]] = {}
        self.inputs: dict[int, list[dict[str, Any]]] = {}
        self.unfinished: dict[int, int] = {}
        self.element_wise = ElementWise(graph)

    def upstream_states(self, index: int) -> tuple[dict[Edge, State], bool]:
        """What mapped task ``index``'s trigger sees, and whether its children
        each ask theirs (a map fed by a map, see ``maps_element_wise``)."""
        states: Sequence[State | None] = self.states
        if any(states[up] is None for up, _ in self.graph.upstream[index]):
            states = RunningMaps(states)  # released early by maps that feed it
        upstream_states = summarize_for_trigger(self.graph, states, index)
        return upstream_states, maps_element_wise(upstream_states)

    def expand(self, index: int, as_list: Callable[[Any], list[Any]]) -> State:
        """Create the children of mapped task ``index`` and queue those that
        can start; return ``EXPANDED``, or the map's final state.

        An upstream map all of whose edges into this task are mapped feeds it
        element-wise: child ``i`` waits only for that map's child ``i`` and
        reads its result when it starts. Maps this one feeds that way are
        released now, without waiting for all of this map's children.

        Args:
            index: the mapped task.
            as_list: how an upstream result is split into elements (the
                executor's).
        """
        element_wise = self.element_wise
        feeders = element_wise.feeders(index, self.states, self.children)
        outcome = mapped_inputs(self.graph, self.states, index, feeders, as_list)
        if isinstance(outcome, State):
            return outcome
        if not outcome:
            return Mapped("mapped over no elements", [], ())
        count = len(outcome)
        self.children[index] = [None] * count
        self.inputs[index] = outcome
        self.unfinished[index] = count
        blocked, ready = self.blocked, self.ready
        for downstream in element_wise.released_by(index):
            blocked[downstream] -= 1
            if blocked[downstream] == 0:
                ready.append((downstream, NOT_MAPPED))
        startable = element_wise.expand(index, count, feeders, self.children)
        ready.extend((index, child) for child in startable)
        return EXPANDED

    def child_inputs(self, index: int, map_index: int) -> dict[str, Any]:
        """Child ``map_index`` of ``index``'s inputs, with what it reads from
        the children of maps that feed it element-wise."""
        inputs = self.inputs[index][map_index]
        if index not in self.element_wise.pulled:
            return inputs
        return self.element_wise.pull(index, map_index, inputs, self._upstream_child)

    def _upstream_child(self, upstream_index: int, map_index: int) -> State:
        upstream_children = self.children.get(upstream_index)
        if upstream_children is not None:
            return upstream_children[map_index]  # type: ignore[return-value]
        mapped: Mapped = self.states[upstream_index]  # type: ignore[assignment]
        return mapped.map_states[map_index]

    def child_finished(self, index: int, map_index: int, state: State) -> Mapped | None:
        """Record child ``map_index`` of ``index``'s final state and queue the
        children that waited for it; return the parent's state if it was the
        last."""
        children = self.children[index]
        children[map_index] = state
        if index in self.element_wise.feeds:
            for fed in self.element_wise.child_finished(index, map_index):
                self.ready.append((fed, map_index))
        unfinished = self.unfinished
        unfinished[index] -= 1
        if unfinished[index]:
            return None
        return parent_state([child for child in children if child is not None])
