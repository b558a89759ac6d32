"""Graph algorithms (topological order, paths, cycles) and the frozen view."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pytest

from headwater import Edge, Flow, Parameter, Task, task
from headwater._graph import FrozenGraph, find_cycle, find_path, topological_order


def successors_of(graph: Mapping[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda node: graph.get(node, [])


# -- topological_order -----------------------------------------------------


def test_topological_order_of_a_diamond() -> None:
    graph = {"a": ["b", "c"], "b": ["d"], "c": ["d"]}
    ordered, left_over = topological_order(["a", "b", "c", "d"], successors_of(graph))
    assert ordered == ["a", "b", "c", "d"]
    assert left_over == []


def test_topological_order_breaks_ties_by_node_order() -> None:
    ordered, _ = topological_order(["z", "y", "x"], successors_of({}))
    assert ordered == ["z", "y", "x"]
    ordered, _ = topological_order(["x", "y", "z"], successors_of({"z": ["x"]}))
    assert ordered == ["y", "z", "x"]


def test_topological_order_puts_every_edge_forward() -> None:
    graph = {"e": ["a"], "d": ["b", "a"], "c": ["e"], "b": ["e"]}
    nodes = ["a", "b", "c", "d", "e"]
    ordered, left_over = topological_order(nodes, successors_of(graph))
    assert not left_over
    position = {node: i for i, node in enumerate(ordered)}
    for upstream, downstreams in graph.items():
        for downstream in downstreams:
            assert position[upstream] < position[downstream]


def test_topological_order_reports_the_nodes_on_and_behind_a_cycle() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["b", "d"], "e": []}
    ordered, left_over = topological_order(["a", "b", "c", "d", "e"], successors_of(graph))
    assert ordered == ["a", "e"]
    assert left_over == ["b", "c", "d"]


def test_topological_order_of_nothing() -> None:
    assert topological_order([], successors_of({})) == ([], [])


# -- find_path -------------------------------------------------------------


def test_find_path_returns_a_real_path() -> None:
    graph = {"a": ["x", "b"], "b": ["c"], "x": [], "c": ["d"]}
    path = find_path("a", "d", successors_of(graph))
    assert path == ["a", "b", "c", "d"]


def test_find_path_none_when_unreachable() -> None:
    graph = {"a": ["b"], "c": ["a"]}
    assert find_path("a", "c", successors_of(graph)) is None


def test_find_path_to_itself_is_trivial() -> None:
    assert find_path("a", "a", successors_of({})) == ["a"]


def test_find_path_handles_shared_descendants_and_loops() -> None:
    graph = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": ["b", "e"]}
    path = find_path("a", "e", successors_of(graph))
    assert path is not None
    assert path[0] == "a"
    assert path[-1] == "e"
    for upstream, downstream in zip(path, path[1:]):
        assert downstream in graph[upstream]


# -- find_cycle ------------------------------------------------------------


def test_find_cycle_returns_a_closed_cycle() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    cycle = find_cycle(["d", "a", "b", "c"], successors_of(graph))
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
    for upstream, downstream in zip(cycle, cycle[1:]):
        assert downstream in graph[upstream]


def test_find_cycle_of_a_self_loop() -> None:
    assert find_cycle(["a"], successors_of({"a": ["a"]})) == ["a", "a"]


def test_find_cycle_empty_when_acyclic() -> None:
    assert find_cycle(["a", "b"], successors_of({"a": ["b"]})) == []


# -- FrozenGraph -----------------------------------------------------------


@task
def inc(x: int) -> int:
    return x + 1


@task
def pair(x: int, y: int) -> int:
    return x + y


def build_diamond() -> tuple[Flow, Parameter, Task[int], Task[int], Task[int]]:
    with Flow("diamond") as flow:
        p = Parameter("p", default=1)
        left = inc(p)
        right = inc(p)
        bottom = pair(left, y=right)
    return flow, p, left, right, bottom


def test_frozen_graph_tasks_are_topologically_ordered_and_indexed() -> None:
    flow, p, left, right, bottom = build_diamond()
    graph = flow._freeze()
    assert isinstance(graph, FrozenGraph)
    assert graph.tasks == flow.sorted_tasks() == (p, left, right, bottom)
    assert dict(graph.index) == {p: 0, left: 1, right: 2, bottom: 3}
    assert len(graph) == 4
    assert graph.flow_name == "diamond"


def test_frozen_graph_upstream_and_downstream_indices() -> None:
    flow, p, left, right, bottom = build_diamond()
    graph = flow._freeze()
    assert graph.upstream[0] == ()
    assert graph.upstream[1] == ((0, Edge(p, left, "x")),)
    assert graph.upstream[3] == ((1, Edge(left, bottom, "x")), (2, Edge(right, bottom, "y")))
    assert [tuple(fed) for fed in graph.downstream] == [(1, 2), (3,), (3,), ()]
    for position, edges in enumerate(graph.upstream):
        assert all(upstream < position for upstream, _ in edges)


def test_frozen_graph_counts_a_task_once_downstream_of_two_keyed_edges() -> None:
    with Flow("twice") as flow:
        one = inc(1)
        both = pair(one, one)
    graph = flow._freeze()
    assert len(graph.upstream[1]) == 2
    assert [tuple(fed) for fed in graph.downstream] == [(1,), ()]
    assert graph.tasks == (one, both)


def test_frozen_graph_constants_reference_and_parameters() -> None:
    flow, p, left, right, bottom = build_diamond()
    with flow:
        extra = inc(5)
    flow.set_reference_tasks([bottom, left])
    graph = flow._freeze()
    assert graph.constants[graph.index[extra]] == {"x": 5}
    assert graph.constants[graph.index[bottom]] == {}
    assert isinstance(graph.constants[graph.index[bottom]], MappingProxyType)
    # Of the ready tasks, the one added first comes first: here, the added order.
    assert graph.tasks == (p, left, right, bottom, extra)
    assert graph.reference == (graph.index[left], graph.index[bottom]) == (1, 3)
    assert graph.parameters == (0,)


def test_frozen_graph_has_fixed_slots() -> None:
    graph = build_diamond()[0]._freeze()
    with pytest.raises(AttributeError):
        graph.extra = 1  # type: ignore[attr-defined]


def test_freeze_is_cached_until_the_flow_changes() -> None:
    flow, *_ = build_diamond()
    first = flow._freeze()
    assert flow._freeze() is first
    with flow:
        inc(1)
    second = flow._freeze()
    assert second is not first
    assert len(second) == len(first) + 1
