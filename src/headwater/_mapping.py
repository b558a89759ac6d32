"""What a mapped task's children receive, and what triggers see of a map.

A mapped task runs once per element of its *mapped* inputs (zipped); its
unmapped inputs and constants go whole to every child. A child of a mapped
task that is itself fed by a mapped task sees, for that edge, the upstream
child with the same map index: maps chain element-wise.

A task that is not mapped but depends on a mapped one receives the list of
results. Its trigger sees the parent's ``Mapped`` state when every child
succeeded, and a ``Failed`` summary naming how many children failed
otherwise, so that a reduce step does not run on partial results unless its
trigger allows it (``all_finished``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from headwater.states import Failed, Mapped, State

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._graph import FrozenGraph

__all__ = ["child_upstream_states", "mapped_inputs", "summarize_for_trigger"]


def _summary(state: State, edge: Edge) -> State:
    if type(state) is Mapped or isinstance(state, Mapped):
        failed = sum(1 for child in state.map_states if child.is_failed())
        if failed:
            return Failed(
                f"{failed} of {len(state.map_states)} mapped children of "
                f"{edge.upstream_task.slug!r} failed",
                result=state.result,
            )
    return state


def summarize_for_trigger(
    graph: FrozenGraph, states: Sequence[State | None], index: int
) -> dict[Edge, State]:
    """The upstream states task ``index``'s trigger is given."""
    upstream = graph.upstream[index]
    if not upstream:
        return {}
    result: dict[Edge, State] = {}
    for upstream_index, edge in upstream:
        state: State = states[upstream_index]  # type: ignore[assignment]
        result[edge] = _summary(state, edge) if isinstance(state, Mapped) else state
    return result


def child_upstream_states(
    graph: FrozenGraph,
    states: Sequence[State | None],
    children: dict[int, list[State | None]],
    index: int,
    map_index: int,
) -> dict[Edge, State]:
    """The upstream states child ``map_index`` of task ``index`` is given."""
    result: dict[Edge, State] = {}
    for upstream_index, edge in graph.upstream[index]:
        state: State = states[upstream_index]  # type: ignore[assignment]
        if edge.mapped and isinstance(state, Mapped):
            result[edge] = state.map_states[map_index]
        else:
            result[edge] = _summary(state, edge)
    return result


def mapped_inputs(
    graph: FrozenGraph, states: Sequence[State | None], index: int
) -> list[dict[str, Any]] | State:
    """Each child's inputs, in order; or a ``Failed`` state saying why not."""
    task = graph.tasks[index]
    fixed: dict[str, Any] = dict(graph.constants[index])
    mapped: dict[str, list[Any]] = {}
    for upstream_index, edge in graph.upstream[index]:
        if edge.key is None:
            continue
        value = states[upstream_index].result  # type: ignore[union-attr]
        if not edge.mapped:
            fixed[edge.key] = value
            continue
        try:
            mapped[edge.key] = list(value)
        except TypeError:
            return Failed(
                f"task {task.slug!r} is mapped over input {edge.key!r}, but "
                f"{edge.upstream_task.slug!r} gave a {type(value).__name__}, which is not "
                "iterable; wrap it in unmapped(...) to pass it whole"
            )
    if not mapped:
        return Failed(
            f"task {task.slug!r} was called with .map() but none of its inputs is mapped "
            "(all are unmapped or constants); call it without .map()"
        )
    lengths = {key: len(values) for key, values in mapped.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key}={length}" for key, length in lengths.items())
        return Failed(
            f"task {task.slug!r}: mapped inputs must have the same length, got {shown}; "
            "wrap inputs that should not be iterated in unmapped(...)"
        )
    count = next(iter(lengths.values()))
    return [
        {**fixed, **{key: values[position] for key, values in mapped.items()}}
        for position in range(count)
    ]
