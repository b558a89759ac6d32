"""Maps fed by maps, element by element: the runner's bookkeeping.

Mapped task ``u`` *feeds* mapped task ``j`` element-wise when every edge from
``u`` into ``j`` is mapped: child ``i`` of ``j`` needs only child ``i`` of
``u``. So ``j`` does not wait for the whole of ``u``:

- when ``u`` expands (its children are created), ``j`` is released at once:
  it counts ``u`` as resolved, and resolving ``u`` later must not release it
  a second time (:meth:`ElementWise.released_by`, ``ElementWise.released``);
- when ``j`` expands, child ``i`` waits for child ``i`` of each feeding map
  that has not finished yet (:meth:`ElementWise.expand`), and is released
  when the last of them finishes (:meth:`ElementWise.child_finished`);
- child ``i`` of ``j`` reads its input from child ``i`` of ``u`` when it
  starts (:meth:`ElementWise.pull`).

While ``u`` is still running, the trigger of ``j``'s parent sees it as a
``Mapped`` state (:class:`RunningMaps`), as it would once ``u`` resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.states import Mapped, State

if TYPE_CHECKING:
    from headwater._graph import FrozenGraph

__all__ = ["ElementWise", "RunningMaps", "feeds_element_wise"]

_RUNNING = Mapped("mapping: the children are running")


def feeds_element_wise(graph: FrozenGraph, upstream: int, downstream: int) -> bool:
    """Whether both tasks are mapped and every edge between them is mapped."""
    if not (graph.tasks[upstream].mapped and graph.tasks[downstream].mapped):
        return False
    return all(edge.mapped for up, edge in graph.upstream[downstream] if up == upstream)


class RunningMaps(Sequence["State | None"]):
    """Task states where an unresolved task (a running map that released the
    map it feeds) reads as ``Mapped``."""

    __slots__ = ("states",)

    def __init__(self, states: Sequence[State | None]) -> None:
        self.states = states

    def __getitem__(self, index: Any) -> Any:
        state = self.states[index]
        return _RUNNING if state is None else state

    def __len__(self) -> int:
        return len(self.states)


class ElementWise:
    """Who feeds whom, and which children still wait (see the module docs)."""

    __slots__ = (
        "feeds",  # feeding map -> the expanded maps whose children wait on its children
        "graph",  # the frozen flow
        "pulled",  # expanded map -> (feeding map, input key) its children read
        "released",  # feeding map -> the maps released when it expanded
        "waiting",  # expanded map -> per child, how many feeding children are unfinished
    )

    def __init__(self, graph: FrozenGraph) -> None:
        self.graph = graph
        self.feeds: dict[int, list[int]] = {}
        self.pulled: dict[int, list[tuple[int, str | None]]] = {}
        self.released: dict[int, set[int]] = {}
        self.waiting: dict[int, list[int]] = {}

    def released_by(self, index: int) -> list[int]:
        """The maps that map ``index`` feeds: release them now that it expanded."""
        graph = self.graph
        fed = [j for j in graph.downstream[index] if feeds_element_wise(graph, index, j)]
        if fed:
            self.released[index] = set(fed)
        return fed

    def feeders(
        self,
        index: int,
        states: Sequence[State | None],
        children: Mapping[int, Sequence[State | None]],
    ) -> dict[int, int]:
        """Maps feeding mapped task ``index`` element-wise -> their number of children."""
        found: dict[int, int] = {}
        for upstream, _ in self.graph.upstream[index]:
            if upstream in found or not feeds_element_wise(self.graph, upstream, index):
                continue
            state = states[upstream]
            if upstream in children:
                found[upstream] = len(children[upstream])
            elif isinstance(state, Mapped):
                found[upstream] = len(state.map_states)
        return found

    def expand(
        self,
        index: int,
        count: int,
        feeders: Mapping[int, int],
        children: Mapping[int, Sequence[State | None]],
    ) -> list[int]:
        """Record map ``index``'s feeders; return the children that can start now."""
        if not feeders:
            return list(range(count))
        upstream = self.graph.upstream[index]
        self.pulled[index] = [(up, edge.key) for up, edge in upstream if up in feeders]
        waiting = [0] * count
        for feeder in feeders:
            feeding_children = children.get(feeder)
            if feeding_children is None or all(c is not None for c in feeding_children):
                continue
            self.feeds.setdefault(feeder, []).append(index)
            for child, state in enumerate(feeding_children):
                if state is None:
                    waiting[child] += 1
        self.waiting[index] = waiting
        return [child for child in range(count) if waiting[child] == 0]

    def child_finished(self, index: int, map_index: int) -> list[int]:
        """Maps whose child ``map_index`` can start now that ``index``'s finished."""
        released = []
        for fed in self.feeds.get(index, ()):
            waiting = self.waiting[fed]
            waiting[map_index] -= 1
            if waiting[map_index] == 0:
                released.append(fed)
        return released

    def pull(
        self,
        index: int,
        map_index: int,
        inputs: dict[str, Any],
        upstream_child: Callable[[int, int], State],
    ) -> dict[str, Any]:
        """Child ``map_index``'s inputs (its own dict, filled in place) with what
        it reads from feeding children."""
        pulled = self.pulled.get(index)
        if not pulled:
            return inputs
        for upstream, key in pulled:
            if key is not None:
                inputs[key] = upstream_child(upstream, map_index).result
        return inputs
