"""Hypothesis properties of flows built from random DAGs (see ``strategies``)."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from headwater import Edge, Flow, Task
from headwater.errors import CycleError, DuplicateEdgeKeyError
from strategies import build_flow, dag_shapes, expected_results, flow_snapshot, node

SETTINGS = settings(max_examples=100, deadline=None)


def assert_topological(flow: Flow, order: tuple[Task[Any], ...]) -> None:
    assert len(order) == len(flow.tasks)
    assert set(order) == set(flow.tasks)
    position = {task: index for index, task in enumerate(order)}
    for edge in flow.edges:
        assert position[edge.upstream_task] < position[edge.downstream_task], edge


def reaches(flow: Flow, start: Task[Any], goal: Task[Any]) -> bool:
    """A reference reachability check, independent of headwater's own."""
    seen = {start}
    frontier = [start]
    while frontier:
        current = frontier.pop()
        if current is goal:
            return True
        for edge in flow.edges:
            if edge.upstream_task is current and edge.downstream_task not in seen:
                seen.add(edge.downstream_task)
                frontier.append(edge.downstream_task)
    return False


@SETTINGS
@given(dag_shapes(max_tasks=12))
def test_sorted_tasks_is_a_stable_topological_order(shape: Any) -> None:
    flow, nodes = build_flow(shape)
    order = flow.sorted_tasks()
    assert_topological(flow, order)
    assert flow.sorted_tasks() == order
    copied = flow.copy()
    assert copied.sorted_tasks() == order
    rebuilt, _ = build_flow(shape)
    assert [task.slug for task in rebuilt.sorted_tasks()] == [task.slug for task in order]
    # the nodes themselves keep their relative order (node i only feeds nodes after it)
    node_positions = [order.index(node) for node in nodes]
    for edge in shape.edges:
        assert node_positions[edge.upstream] < node_positions[edge.downstream]


@settings(max_examples=25, deadline=None)
@given(dag_shapes(max_tasks=8))
def test_random_dags_run_to_the_expected_results(shape: Any) -> None:
    flow, nodes = build_flow(shape)
    state = flow.run()
    assert state.is_successful()
    assert [state.result[node].result for node in nodes] == expected_results(shape)


@SETTINGS
@given(
    dag_shapes(max_tasks=8),
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.integers(0, 10_000),
            st.sampled_from([None, None, None, "p", "q"]),
        ),
        max_size=25,
    ),
)
def test_random_add_edge_calls_keep_the_flow_acyclic(
    shape: Any, calls: list[tuple[int, int, str | None]]
) -> None:
    flow, _ = build_flow(shape)
    for up_index, down_index, key in calls:
        tasks = list(flow.tasks)
        upstream, downstream = tasks[up_index % len(tasks)], tasks[down_index % len(tasks)]
        edge = Edge(upstream, downstream, key)
        before = flow_snapshot(flow)
        taken_keys = {e.key for e in flow.edges_to(downstream)} | set(
            flow.constants.get(downstream, {})
        )
        closes_cycle = upstream is downstream or reaches(flow, downstream, upstream)
        if edge in flow.edges:
            event("edge already there")
            assert flow.add_edge(upstream, downstream, key) == edge
            assert flow_snapshot(flow) == before
        elif key is not None and key in taken_keys:
            event("rejected: duplicate key")
            try:
                flow.add_edge(upstream, downstream, key)
            except DuplicateEdgeKeyError:
                pass
            else:
                raise AssertionError("a duplicate key was accepted")
            assert flow_snapshot(flow) == before
        elif closes_cycle:
            event("rejected: self-loop" if upstream is downstream else "rejected: cycle")
            try:
                flow.add_edge(upstream, downstream, key)
            except CycleError as exc:
                cycle = exc.cycle
            else:
                raise AssertionError(f"{edge} closes a cycle but was accepted")
            assert flow_snapshot(flow) == before
            # the cycle is real: each step is an edge of the flow or the rejected edge
            assert cycle[0] is cycle[-1]
            assert len(cycle) >= 2
            steps = {(e.upstream_task, e.downstream_task) for e in flow.edges}
            steps.add((upstream, downstream))
            for step in zip(cycle, cycle[1:]):
                assert step in steps, step
            assert (upstream, downstream) in set(zip(cycle, cycle[1:]))
        else:
            event("accepted")
            assert flow.add_edge(upstream, downstream, key) == edge
            assert edge in flow.edges
        assert_topological(flow, flow.sorted_tasks())
    flow.validate()


def structure(flow: Flow) -> dict[str, Any]:
    """A flow's graph in slugs: comparable between flows of different task objects."""
    return {
        "order": [task.slug for task in flow.sorted_tasks()],
        "inserted": [task.slug for task in flow.tasks],
        "edges": sorted(
            (e.upstream_task.slug, e.downstream_task.slug, e.key, e.mapped) for e in flow.edges
        ),
        "constants": {task.slug: dict(values) for task, values in flow.constants.items()},
    }


@SETTINGS
@given(dag_shapes(max_tasks=12))
def test_calls_build_the_same_graph_as_explicit_binds(shape: Any) -> None:
    """Calls take a fast path (no journal, no checks); ``Task.bind`` on copies
    takes the general one. Both must build the same flow."""
    by_calls, nodes = build_flow(shape)
    by_binds = Flow("dag")
    bound: list[Task[int]] = []
    for index in range(shape.n_tasks):
        into = shape.edges_into(index)
        xs = [bound[edge.upstream] for edge in into if edge.kind == "list"]
        named = {edge.key: bound[edge.upstream] for edge in into if edge.kind == "key"}
        state_only = [bound[edge.upstream] for edge in into if edge.kind == "state"]
        bound.append(node.copy().bind(index, xs, upstream_tasks=state_only, flow=by_binds, **named))
    built = structure(by_calls)
    assert built == structure(by_binds)
    assert built["order"] == built["inserted"]  # calls keep the insertion order topological
    state = by_calls.run()
    assert [state.result[task].result for task in nodes] == expected_results(shape)
