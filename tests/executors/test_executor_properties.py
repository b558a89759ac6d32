"""Random DAGs with random mapped tasks give the same results on the local and
thread executors as a plain-Python reference.

Every node of a drawn DAG (``strategies.DagShape``, keyword and state-only
edges) makes a list of ``length`` ints, either as one task or as a mapped
task (one child per element); node ``j``'s element ``k`` is ``j`` plus
element ``k`` of every upstream result it receives. A node may be drawn to
fail. Mapped and plain nodes make the same values, so the reference is plain
Python; failures spread downstream (a failed mapped element fails the same
element downstream, and a failed map fails a plain task that reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from headwater import Flow, Task, task, unmapped
from headwater.executors import Executor, LocalExecutor, ThreadExecutor
from headwater.states import Mapped, State
from strategies import DagShape, ShapeEdge


@task
def combine(index: int, length: int, fail: bool, **named: list[int]) -> list[int]:
    if fail:
        raise ValueError(f"node {index} fails")
    return [index + sum(values[k] for values in named.values()) for k in range(length)]


@task
def combine_one(index: int, fail: bool, **named: int) -> int:
    if fail:
        raise ValueError(f"node {index} fails")
    return index + sum(named.values())


@dataclass(frozen=True)
class MappedDag:
    shape: DagShape
    length: int
    mapped: tuple[bool, ...]
    fails: tuple[bool, ...]


@st.composite
def mapped_dags(draw: st.DrawFn) -> MappedDag:
    n = draw(st.integers(1, 8))
    edges = []
    for downstream in range(1, n):
        for upstream in sorted(draw(st.sets(st.integers(0, downstream - 1), max_size=3))):
            kind = draw(st.sampled_from(["key", "key", "state"]))
            edges.append(ShapeEdge(upstream, downstream, kind))
    shape = DagShape(n, tuple(edges))
    length = draw(st.integers(0, 3))
    often = st.sampled_from([True, True, True, False])
    mapped = tuple(draw(st.lists(often, min_size=n, max_size=n)))
    rarely = st.sampled_from([False, False, False, True])
    fails = tuple(draw(st.lists(rarely, min_size=n, max_size=n)))
    return MappedDag(shape, length, mapped, fails)


def build(dag: MappedDag) -> tuple[Flow, list[Task[Any]]]:
    nodes: list[Task[Any]] = []
    with Flow("mapped-dag") as flow:
        for index in range(dag.shape.n_tasks):
            into = dag.shape.edges_into(index)
            named = {edge.key: nodes[edge.upstream] for edge in into if edge.kind == "key"}
            state_only = [nodes[edge.upstream] for edge in into if edge.kind == "state"]
            if dag.mapped[index] and named:
                node = combine_one.map(
                    index=unmapped(index),
                    fail=unmapped(dag.fails[index]),
                    upstream_tasks=state_only,
                    **named,
                )
            else:
                node = combine(
                    index, dag.length, dag.fails[index], upstream_tasks=state_only, **named
                )
            nodes.append(node)
    return flow, nodes


def is_mapped_node(dag: MappedDag, index: int) -> bool:
    return dag.mapped[index] and any(e.kind == "key" for e in dag.shape.edges_into(index))


def reference(dag: MappedDag) -> list[list[int] | None]:
    """Each node's value, or ``None`` when it (or an element of it) failed."""
    values: list[list[int] | None] = []
    for index in range(dag.shape.n_tasks):
        into = dag.shape.edges_into(index)
        upstream_ok = all(values[edge.upstream] is not None for edge in into)
        empty_map = is_mapped_node(dag, index) and dag.length == 0
        if not upstream_ok or (dag.fails[index] and not empty_map):
            values.append(None)
            continue
        data = [values[edge.upstream] for edge in into if edge.kind == "key"]
        values.append([index + sum(v[k] for v in data if v) for k in range(dag.length)])
    return values


def outcome(state: State) -> list[int] | None:
    if not state.is_successful():
        return None
    if isinstance(state, Mapped) and any(not c.is_successful() for c in state.map_states):
        return None
    return list(state.result)


def run(dag: MappedDag, executor: Executor) -> list[list[int] | None]:
    flow, nodes = build(dag)
    state = flow.run(executor=executor)
    return [outcome(state.result[node]) for node in nodes]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapped_dags())
def test_local_executor_matches_the_reference(dag: MappedDag) -> None:
    maps_of_maps = any(
        is_mapped_node(dag, edge.downstream) and is_mapped_node(dag, edge.upstream)
        for edge in dag.shape.edges
    )
    event(f"maps of maps: {maps_of_maps}; failures: {any(dag.fails)}")
    assert run(dag, LocalExecutor()) == reference(dag)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mapped_dags())
def test_thread_executor_matches_the_reference(dag: MappedDag) -> None:
    assert run(dag, ThreadExecutor(4)) == reference(dag)
