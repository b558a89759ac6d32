"""Graph algorithms and the frozen view of a flow that the runner uses.

``Flow`` is the user's mutable builder. Before a run, :func:`freeze` turns it
into a :class:`FrozenGraph`: tasks in a deterministic topological order and,
per task *index*, the edges into it and the indices of the tasks after it.
The runner works only on that view (tuples and ints), never on the ``Flow``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._task import Task

__all__ = ["FrozenGraph", "find_cycle", "find_path", "topological_order"]

N = TypeVar("N", bound=Hashable)

_NO_CONSTANTS: Mapping[str, Any] = MappingProxyType({})


def topological_order(
    nodes: Sequence[N], successors: Callable[[N], Iterable[N]]
) -> tuple[list[N], list[N]]:
    """Kahn's algorithm, deterministic: ties are broken by the order of ``nodes``.

    Returns:
        ``(ordered, left_over)``: ``left_over`` is empty unless the graph has a
        cycle, in which case it holds the nodes on or behind cycles.
    """
    indegree: dict[N, int] = dict.fromkeys(nodes, 0)
    for node in nodes:
        for successor in successors(node):
            indegree[successor] += 1
    ready = deque(node for node in nodes if indegree[node] == 0)
    ordered: list[N] = []
    while ready:
        node = ready.popleft()
        ordered.append(node)
        for successor in successors(node):
            indegree[successor] -= 1
            if indegree[successor] == 0:
                ready.append(successor)
    if len(ordered) == len(nodes):
        return ordered, []
    return ordered, [node for node in nodes if indegree[node] > 0]


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
    )

    tasks: tuple[Task[Any], ...]
    index: Mapping[Task[Any], int]
    upstream: tuple[tuple[tuple[int, Edge], ...], ...]
    downstream: tuple[tuple[int, ...], ...]
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
        self.tasks = tuple(ordered_tasks)
        index = {task: position for position, task in enumerate(self.tasks)}
        self.index = index
        upstream: list[tuple[tuple[int, Edge], ...]] = []
        downstream: list[list[int]] = [[] for _ in self.tasks]
        empty: tuple[tuple[int, Edge], ...] = ()
        for position, task in enumerate(self.tasks):
            edges = edges_to.get(task)
            if not edges:
                upstream.append(empty)
                continue
            pairs = tuple((index[edge.upstream_task], edge) for edge in edges)
            upstream.append(pairs)
            seen: set[int] = set()
            for upstream_index, _ in pairs:
                if upstream_index not in seen:
                    seen.add(upstream_index)
                    downstream[upstream_index].append(position)
        self.upstream = tuple(upstream)
        self.downstream = tuple(tuple(items) for items in downstream)
        self.constants = tuple(constants.get(task, _NO_CONSTANTS) for task in self.tasks)
        self.reference = tuple(sorted(index[task] for task in reference_tasks))
        self.parameters = tuple(sorted(index[task] for task in parameter_tasks))

    def __len__(self) -> int:
        return len(self.tasks)
