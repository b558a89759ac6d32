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

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.states import Failed, Mapped, Pending, State

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._graph import FrozenGraph

__all__ = [
    "child_upstream_states",
    "has_unfinished_children",
    "mapped_inputs",
    "maps_element_wise",
    "parent_state",
    "summarize_for_trigger",
]


def has_unfinished_children(state: State) -> bool:
    """True for a ``Mapped`` state with a child that did not finish (waiting)."""
    return isinstance(state, Mapped) and not all(child.is_finished() for child in state.map_states)


def _summary(state: State, edge: Edge) -> State:
    if isinstance(state, Mapped):
        failed = sum(1 for child in state.map_states if child.is_failed())
        if failed:
            return Failed(
                f"{failed} of {len(state.map_states)} mapped children of "
                f"{edge.upstream_task.slug!r} failed",
                result=state.result,
            )
        if has_unfinished_children(state):
            unfinished = sum(1 for child in state.map_states if not child.is_finished())
            return Pending(
                f"{unfinished} of {len(state.map_states)} mapped children of "
                f"{edge.upstream_task.slug!r} did not finish",
                result=state.result,
            )
    return state


def maps_element_wise(upstream_states: Mapping[Edge, State]) -> bool:
    """Whether a mapped task's children should each run its trigger.

    True when every upstream task finished, every mapped input can be
    iterated (its task succeeded) and at least one comes from a ``Mapped``
    task: then child ``i`` is judged on element ``i`` of that map (a child
    whose element is waiting is left pending). Otherwise
    every child would see the same upstream states, and the parent decides
    once for all of them.
    """
    element_wise = False
    for edge, state in upstream_states.items():
        if not state.is_finished():
            return False
        if edge.mapped:
            if not state.is_successful():
                return False
            element_wise = element_wise or isinstance(state, Mapped)
    return element_wise


def summarize_for_trigger(
    graph: FrozenGraph, states: Sequence[State | None], index: int
) -> dict[Edge, State]:
    """The upstream states task ``index``'s trigger is given.

    A mapped edge from a ``Mapped`` task keeps the ``Mapped`` state: the
    children of the mapped task decide element-wise (a failed upstream child
    fails only the child with the same map index).
    """
    upstream = graph.upstream[index]
    if not upstream:
        return {}
    result: dict[Edge, State] = {}
    for upstream_index, edge in upstream:
        state: State = states[upstream_index]  # type: ignore[assignment]
        if isinstance(state, Mapped) and not edge.mapped:
            state = _summary(state, edge)
        result[edge] = state
    return result


def child_upstream_states(
    graph: FrozenGraph,
    states: Sequence[State | None],
    children: dict[int, list[State | None]],
    index: int,
    map_index: int,
) -> dict[Edge, State]:
    """The upstream states child ``map_index`` of task ``index`` is given.

    A mapped edge from a map gives that map's child ``map_index``, read from
    ``children`` while the upstream map is still running (it fed this map
    element-wise, see the runner), else from its ``Mapped`` state.
    """
    result: dict[Edge, State] = {}
    for upstream_index, edge in graph.upstream[index]:
        state: State = states[upstream_index]  # type: ignore[assignment]
        if edge.mapped:
            upstream_children = children.get(upstream_index)
            if upstream_children is not None and upstream_children[map_index] is not None:
                result[edge] = upstream_children[map_index]  # type: ignore[assignment]
                continue
            if isinstance(state, Mapped):
                result[edge] = state.map_states[map_index]
                continue
        result[edge] = _summary(state, edge)
    return result


def mapped_inputs(
    graph: FrozenGraph,
    states: Sequence[State | None],
    index: int,
    element_wise: Mapping[int, int] | None = None,
    as_list: Callable[[Any], list[Any]] = list,
) -> list[dict[str, Any]] | State:
    """Each child's inputs, in order; or a ``Failed`` state saying why not.

    Args:
        graph: the frozen flow.
        states: the task states so far.
        index: the mapped task.
        element_wise: upstream maps whose children feed this map's children
            one by one -> how many children they have. Their inputs are left
            out here: the runner reads each from the upstream child when the
            child starts.
        as_list: how an upstream result is split into elements (the
            executor's; raises ``TypeError`` when it cannot be iterated).
    """
    task = graph.tasks[index]
    fixed: dict[str, Any] = dict(graph.constants[index])
    mapped: dict[str, list[Any]] = {}
    lengths: dict[str, int] = {}
    for upstream_index, edge in graph.upstream[index]:
        if edge.key is None:
            continue
        if element_wise and upstream_index in element_wise:
            lengths[edge.key] = element_wise[upstream_index]
            continue
        value = states[upstream_index].result  # type: ignore[union-attr]
        if not edge.mapped:
            fixed[edge.key] = value
            continue
        try:
            mapped[edge.key] = as_list(value)
        except TypeError as error:
            kind = getattr(error, "type_name", None) or type(value).__name__
            return Failed(
                f"task {task.slug!r} is mapped over input {edge.key!r}, but "
                f"{edge.upstream_task.slug!r} gave a {kind}, which is not "
                "iterable; wrap it in unmapped(...) to pass it whole"
            )
        lengths[edge.key] = len(mapped[edge.key])
    if not lengths:
        return Failed(
            f"task {task.slug!r} was called with .map() but none of its inputs is mapped "
            "(all are unmapped or constants); call it without .map()"
        )
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


def parent_state(child_states: Sequence[State]) -> Mapped:
    """A mapped task's own state once every child has one: ``Mapped``, with
    the children's results in order and a message counting failures."""
    failed = sum(1 for child in child_states if child.is_failed())
    unfinished = sum(1 for child in child_states if not child.is_finished())
    message = (
        f"mapped over {len(child_states)} elements"
        + (f"; {failed} failed" if failed else "")
        + (f"; {unfinished} did not finish" if unfinished else "")
    )
    return Mapped(message, [child.result for child in child_states], child_states)
