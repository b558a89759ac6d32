"""Hypothesis strategies for random DAGs, and a helper that builds them as flows.

A :class:`DagShape` describes a DAG abstractly: ``n_tasks`` nodes numbered
``0 .. n_tasks - 1`` and edges ``(i, j)`` with ``i < j`` (so it is acyclic by
construction). Each edge has a *kind*, one for each way a dependency is made
when a flow is built by calls:

- ``"list"``: node ``i``'s result goes into node ``j``'s list argument ``xs``
  (``node(j, [a, b, ...])``, resolved through a collection task);
- ``"key"``: node ``i``'s result is passed as the keyword argument ``k<i>``
  (a direct data edge with that key);
- ``"state"``: a state-only edge (``upstream_tasks=[...]``), no data.

:func:`build_flow` builds a shape *by calls* of the module-level task
:data:`node` inside ``with Flow(...)``; :func:`expected_results` says what each
node returns when the flow runs. Typical use (runner and executor tests)::

    from hypothesis import given
    from strategies import build_flow, dag_shapes, expected_results

    @given(dag_shapes())
    def test_runs(shape):
        flow, nodes = build_flow(shape)
        state = flow.run()
        assert [state.result[t].result for t in nodes] == expected_results(shape)

:func:`flow_snapshot` captures everything a flow holds (tasks, edges,
constants, slugs and slug counters), to check that a rejected call left a
flow exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from hypothesis import strategies as st

from headwater import Flow, Task, task

__all__ = [
    "EDGE_KINDS",
    "DagShape",
    "ShapeEdge",
    "build_flow",
    "dag_shapes",
    "expected_results",
    "flow_snapshot",
    "node",
]

EdgeKind = Literal["list", "key", "state"]
EDGE_KINDS: tuple[EdgeKind, ...] = ("list", "key", "state")


class ShapeEdge(NamedTuple):
    """One edge of a :class:`DagShape`: ``upstream < downstream`` (node indices)."""

    upstream: int
    downstream: int
    kind: EdgeKind

    @property
    def key(self) -> str | None:
        """The keyword argument a ``"key"`` edge feeds (``k<upstream>``), else None."""
        return f"k{self.upstream}" if self.kind == "key" else None


@dataclass(frozen=True)
class DagShape:
    """An abstract DAG: ``n_tasks`` nodes and edges sorted by (downstream, upstream)."""

    n_tasks: int
    edges: tuple[ShapeEdge, ...]

    def edges_into(self, index: int) -> list[ShapeEdge]:
        """The edges into node ``index``, by upstream index."""
        return [edge for edge in self.edges if edge.downstream == index]


@task
def node(index: int, xs: list[int], **named: int) -> int:
    """A DAG node: its index plus every upstream result it receives."""
    return index + sum(xs) + sum(named.values())


@st.composite
def dag_shapes(
    draw: st.DrawFn,
    min_tasks: int = 1,
    max_tasks: int = 10,
    kinds: Sequence[EdgeKind] = EDGE_KINDS,
    max_edges: int | None = None,
) -> DagShape:
    """A strategy for random :class:`DagShape` values.

    Args:
        draw: supplied by hypothesis.
        min_tasks: the fewest nodes.
        max_tasks: the most nodes.
        kinds: the edge kinds to draw from (see the module docstring).
        max_edges: the most edges (default: any number of distinct pairs).
    """
    n_tasks = draw(st.integers(min_tasks, max_tasks))
    pairs = [(i, j) for j in range(n_tasks) for i in range(j)]
    if not pairs:
        return DagShape(n_tasks, ())
    drawn = draw(
        st.lists(
            st.tuples(st.sampled_from(pairs), st.sampled_from(list(kinds))),
            unique_by=lambda item: item[0],
            max_size=max_edges if max_edges is not None else len(pairs),
        )
    )
    edges = sorted(
        (ShapeEdge(i, j, kind) for (i, j), kind in drawn),
        key=lambda edge: (edge.downstream, edge.upstream),
    )
    return DagShape(n_tasks, tuple(edges))


def build_flow(shape: DagShape, name: str = "dag") -> tuple[Flow, list[Task[int]]]:
    """Build ``shape`` by calls of :data:`node` inside ``with Flow(name)``.

    Returns:
        ``(flow, nodes)``: ``nodes[i]`` is the task made for node ``i``. The
        flow also holds the collection tasks that resolve ``"list"`` edges.
    """
    nodes: list[Task[int]] = []
    with Flow(name) as flow:
        for index in range(shape.n_tasks):
            into = shape.edges_into(index)
            xs = [nodes[edge.upstream] for edge in into if edge.kind == "list"]
            named = {edge.key: nodes[edge.upstream] for edge in into if edge.kind == "key"}
            state_only = [nodes[edge.upstream] for edge in into if edge.kind == "state"]
            nodes.append(node(index, xs, upstream_tasks=state_only, **named))
    return flow, nodes


def expected_results(shape: DagShape) -> list[int]:
    """What each node of ``build_flow(shape)`` returns when the flow runs."""
    results: list[int] = []
    for index in range(shape.n_tasks):
        data = [edge for edge in shape.edges_into(index) if edge.kind != "state"]
        results.append(index + sum(results[edge.upstream] for edge in data))
    return results


def assert_key_index_matches_edges(flow: Flow) -> None:
    """The on-demand key index of big fan-ins agrees with the edges it indexes.

    The index is made when first asked about and may outlive a rolled-back
    call, so snapshots check it for consistency rather than compare it.
    """
    for indexed, index in flow._keyed.items():
        assert indexed in flow.tasks, f"{indexed!r} is indexed but not in the flow"
        edges = flow._edges_to.get(indexed, [])
        assert index == {edge.key: edge for edge in edges if edge.key is not None}, indexed


def flow_snapshot(flow: Flow) -> dict[str, Any]:
    """Everything ``flow`` holds, as plain copies comparable with ``==``.

    Includes the private indexes and slug counters, so that two equal
    snapshots mean the flow behaves the same for every later call (for
    example, the next generated slug is the same).
    """
    assert_key_index_matches_edges(flow)
    return {
        "tasks": list(flow.tasks),
        "slugs": [task.slug for task in flow.tasks],
        "edges": list(flow.edges),
        "constants": {task: dict(values) for task, values in flow.constants.items()},
        "reference_tasks": flow.reference_tasks(),
        "edges_to": {task: list(edges) for task, edges in flow._edges_to.items()},
        "edges_from": {task: list(edges) for task, edges in flow._edges_from.items()},
        "slug_index": dict(flow._slugs),
        "slug_counts": dict(flow._slug_counts),
    }
