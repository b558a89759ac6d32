"""Graph algorithms and the frozen view of a flow that the runner uses.

``Flow`` is the user's mutable builder. Before a run, :func:`freeze` turns it
into a :class:`FrozenGraph`: tasks in a deterministic topological order and,
per task *index*, the edges into it and the indices of the tasks after it.
The runner works only on that view (tuples and ints), never on the ``Flow``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._task import Task

__all__ = ["FrozenGraph", "find_cycle", "find_path", "is_topological", "topological_order"]

N = TypeVar("N", bound=Hashable)

_NO_CONSTANTS: Mapping[str, Any] = MappingProxyType({})


def topological_order(
    nodes: Sequence[N], successors: Callable[[N], Iterable[N]]
) -> tuple[list[N], list[N]]:
    """Kahn's algorithm, deterministic: of the ready nodes, the earliest in
    ``nodes`` comes first, so when ``nodes`` is already a topological order
    (flows built by calls almost always are) the result is ``nodes`` itself.

    Returns:
        ``(ordered, left_over)``: ``left_over`` is empty unless the graph has a
        cycle, in which case it holds the nodes on or behind cycles.
    """
    position = {node: rank for rank, node in enumerate(nodes)}
    indegree = [0] * len(nodes)
    for node in nodes:
        for successor in successors(node):
            indegree[position[successor]] += 1
    ready = [rank for rank, degree in enumerate(indegree) if degree == 0]
    heapq.heapify(ready)
    ordered: list[N] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        ordered.append(node)
        for successor in successors(node):
            rank = position[successor]
            indegree[rank] -= 1
            if indegree[rank] == 0:
                heapq.heappush(ready, rank)
    if len(ordered) == len(nodes):
        return ordered, []
    return ordered, [node for node in nodes if indegree[position[node]] > 0]


def is_topological(nodes: Sequence[N], edges: Iterable[tuple[N, N]]) -> bool:
    """Whether every edge ``(a, b)`` has ``a`` before ``b`` in ``nodes``."""
    position = {node: rank for rank, node in enumerate(nodes)}
    return all(position[a] < position[b] for a, b in edges)


def find_path(start: N, goal: N, successors: Callable[[N], Iterable[N]]) -> list[N] | None:
    """A path ``start -> ... -> goal`` following ``successors``, or ``None``."""
    if start == goal:
        return [start]
    parents: dict[N, N] = {}
    stack = [start]
    seen = {start}
    while stack:
        node = stack.pop()
        for successor in successors(node):
            if successor in seen:
                continue
            parents[successor] = node
            if successor == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                path.reverse()
                return path
            seen.add(successor)
            stack.append(successor)
    return None


def find_cycle(nodes: Iterable[N], successors: Callable[[N], Iterable[N]]) -> list[N]:
    """One cycle among ``nodes`` (first node repeated at the end), or ``[]``."""
    candidates = list(nodes)
    members = set(candidates)
    for node in candidates:
        for successor in successors(node):
            if successor not in members:
                continue
            path = find_path(successor, node, successors)
            if path is not None:
                return [node, *path]
    return []


class FrozenGraph:
    """An immutable, index-based view of a validated flow, for one run.

    Task ``i`` is ``tasks[i]``; tasks are in topological order, so every
    upstream index is smaller than its downstream index.
    """

    __slots__ = (
        "constants",  # per task: constant inputs, name -> value
        "downstream",  # per task: indices of the tasks with an edge from it
        "flow_name",  # the flow's name, for context and messages
        "index",  # task -> its index
        "parameters",  # indices of the Parameter tasks
        "reference",  # indices of the reference tasks
        "tasks",  # the tasks, in topological order
        "upstream",  # per task: the edges into it, as (upstream index, edge)
        "upstream_counts",  # per task: how many distinct tasks are upstream of it
    )

    tasks: tuple[Task[Any], ...]
    index: Mapping[Task[Any], int]
    upstream: tuple[tuple[tuple[int, Edge], ...], ...]
    downstream: tuple[Sequence[int], ...]  # lists, not to be changed
    upstream_counts: tuple[int, ...]
    constants: tuple[Mapping[str, Any], ...]
    reference: tuple[int, ...]
    parameters: tuple[int, ...]
    flow_name: str

    def __init__(
        self,
        flow_name: str,
        ordered_tasks: Sequence[Task[Any]],
        edges_to: Mapping[Task[Any], Sequence[Edge]],
        constants: Mapping[Task[Any], Mapping[str, Any]],
        reference_tasks: Iterable[Task[Any]],
        parameter_tasks: Iterable[Task[Any]] = (),
    ) -> None:
        self.flow_name = flow_name
        tasks = self.tasks = tuple(ordered_tasks)
        # One pass: in a topological order, a task's upstream tasks are indexed first.
        index: dict[Task[Any], int] = {}
        self.index = index
        all_constants: list[Mapping[str, Any]] = []
        append_constants, get_constants = all_constants.append, constants.get
        upstream: list[tuple[tuple[int, Edge], ...]] = []
        # Tasks with no downstream task share one empty tuple; a list is made
        # only for a task that has one, and kept (not copied into a tuple).
        no_downstream: Sequence[int] = ()
        downstream: list[Sequence[int]] = [no_downstream] * len(tasks)
        counts: list[int] = []
        empty: tuple[tuple[int, Edge], ...] = ()
        append_upstream, append_count = upstream.append, counts.append
        get_edges = edges_to.get
        for position, task in enumerate(tasks):
            index[task] = position
            append_constants(get_constants(task, _NO_CONSTANTS))
            edges = get_edges(task)
            if not edges:
                append_upstream(empty)
                append_count(0)
                continue
            if len(edges) == 1:
                edge = edges[0]
                upstream_index = index[edge.upstream_task]
                append_upstream(((upstream_index, edge),))
                fed = downstream[upstream_index]
                if fed is no_downstream:
                    downstream[upstream_index] = [position]
                else:
                    fed.append(position)  # type: ignore[attr-defined]
                append_count(1)
                continue
            pairs = tuple((index[edge.upstream_task], edge) for edge in edges)
            append_upstream(pairs)
            distinct = dict.fromkeys(upstream_index for upstream_index, _ in pairs)
            for upstream_index in distinct:
                fed = downstream[upstream_index]
                if fed is no_downstream:
                    downstream[upstream_index] = [position]
                else:
                    fed.append(position)  # type: ignore[attr-defined]
            append_count(len(distinct))
        self.upstream = tuple(upstream)
        self.downstream = tuple(downstream)
        self.upstream_counts = tuple(counts)
        self.constants = tuple(all_constants)
        self.reference = tuple(sorted(index[task] for task in reference_tasks))
        self.parameters = tuple(sorted(index[task] for task in parameter_tasks))

    def __len__(self) -> int:
        return len(self.tasks)
