"""Edge: a named tuple (upstream_task, downstream_task, key, mapped)."""

from __future__ import annotations

from headwater import Edge, Flow, Task


def test_fields_and_defaults() -> None:
    a, b = Task(name="a"), Task(name="b")
    edge = Edge(a, b)
    assert edge.upstream_task is a
    assert edge.downstream_task is b
    assert edge.key is None
    assert edge.mapped is False
    assert tuple(edge) == (a, b, None, False)
    assert Edge._fields == ("upstream_task", "downstream_task", "key", "mapped")


def test_equality_and_hash_are_by_value() -> None:
    a, b = Task(name="a"), Task(name="b")
    assert Edge(a, b, "x") == Edge(a, b, "x")
    assert hash(Edge(a, b, "x")) == hash(Edge(a, b, "x"))
    assert Edge(a, b, "x") != Edge(a, b, "y")
    assert Edge(a, b) != Edge(b, a)
    assert Edge(a, b) != Edge(a, b, mapped=True)
    assert len({Edge(a, b), Edge(a, b), Edge(a, b, "x")}) == 2


def test_repr_uses_slugs_when_set_else_names() -> None:
    a, b = Task(name="a"), Task(name="b")
    assert repr(Edge(a, b)) == "Edge(a -> b)"
    flow = Flow("f")
    edge = flow.add_edge(a, b, key="x")
    assert repr(edge) == "Edge(a-1 -> b-1, key='x')"
    assert repr(Edge(a, b, mapped=True)) == "Edge(a-1 -> b-1, mapped=True)"


def test_flow_edges_are_edge_instances() -> None:
    a, b = Task(name="a"), Task(name="b")
    flow = Flow("f", edges=[(a, b, "x")])
    (edge,) = flow.edges
    assert isinstance(edge, Edge)
    assert edge == Edge(a, b, "x")
