"""The journal behind ``GraphStore``'s all-or-nothing changes.

A call that changes the graph (adding a task with its inputs, an edge, a
flow's contents) runs inside ``with AllOrNothing(store):``. While it is open,
``store._journal`` is a list and every step that changes the graph appends one
entry to it, newest last:

- ``("task", task, slug, generated)``: ``add_task`` added ``task`` under
  ``slug``; ``generated`` is ``(name, previous count)`` when the slug was
  generated (so that the count and the task's ``slug`` are restored), else
  ``None``;
- ``("fresh", task, slug, (name, previous count))``: ``_add_fresh`` added a
  new task with all its edges in and constants at once;
- ``("edge", edge)``: ``_add_edge`` added ``edge``;
- ``("constant", task, key, previous)``: ``_set_constant`` set an input,
  whose earlier value was ``previous`` (:data:`MISSING` when it had none);
- ``("slug", task, other, previous)``: ``Flow.update`` gave ``task``, a task
  of the flow ``other`` being added, a fresh generated slug in place of
  ``previous`` (in ``other``'s slug index too).

The store appends the entries itself, inline: building is hot, and outside a
call (``_journal is None``) nothing is recorded. If the block raises,
:func:`rollback` undoes the entries newest first, which leaves the graph
exactly as it was before the call (generated slugs and counts included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._graphstore import GraphStore
    from headwater._task import Task

__all__ = ["MISSING", "AllOrNothing", "rollback"]

MISSING: Any = object()  # "no value": a constant input that was not set


class AllOrNothing:
    """``with AllOrNothing(store):`` undoes the block's changes if it raises.

    Nested blocks join the outermost one: only it commits or rolls back.
    """

    __slots__ = ("owner", "store")

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.owner = store._journal is None
        if self.owner:
            store._journal = []

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if self.owner:
            if kind is not None:
                rollback(self.store)
            self.store._journal = None


def rollback(store: GraphStore) -> None:
    """Undo the entries of ``store``'s journal, newest first, and close it."""
    journal = store._journal or []
    store._journal = None
    for entry in reversed(journal):
        kind = entry[0]
        if kind == "edge":
            _undo_edge(store, entry[1])
        elif kind in ("task", "fresh"):
            _undo_task(store, entry)
        elif kind == "constant":
            _undo_constant(store, entry)
        elif kind == "slug":
            _undo_slug(entry)
    store._version += 1


def _undo_edge(store: GraphStore, edge: Edge) -> None:
    del store._edges[edge]
    # Undone newest first, so the edge is last in its lists: O(1).
    _remove_last(store._edges_to, edge.downstream_task, edge)
    _remove_last(store._edges_from, edge.upstream_task, edge)
    task = edge.downstream_task
    keyed = store._keyed.get(task)
    if keyed is None:
        return
    if task not in store._edges_to:
        # Its last edge in: drop the index (``_add_edge`` keeps an index up to
        # date only while the task has edges in; it is made again on demand).
        del store._keyed[task]
    elif edge.key is not None:
        del keyed[edge.key]


def _undo_task(store: GraphStore, entry: tuple[Any, ...]) -> None:
    kind, task, slug, generated = entry
    if kind == "fresh":
        _remove_edges_to(store, task)
    store._keyed.pop(task, None)
    del store._tasks[task]
    del store._slugs[slug]
    store.constants.pop(task, None)
    if generated is not None:
        name, count = generated
        store._slug_counts[name] = count
        if count == 0:
            del store._slug_counts[name]
        task.__dict__.pop("slug", None)


def _undo_constant(store: GraphStore, entry: tuple[Any, ...]) -> None:
    _, task, key, previous = entry
    constants = store.constants.get(task)
    if constants is not None:
        if previous is MISSING:
            constants.pop(key, None)
        else:
            constants[key] = previous
        if not constants:
            del store.constants[task]


def _undo_slug(entry: tuple[Any, ...]) -> None:
    _, task, other, previous = entry
    del other._slugs[task.slug]
    task.slug = previous
    other._slugs[previous] = task


def _remove_edges_to(store: GraphStore, task: Task[Any]) -> None:
    """Undo the edges into ``task`` (added last: each is last in its lists)."""
    for edge in reversed(store._edges_to.pop(task, ())):
        del store._edges[edge]
        _remove_last(store._edges_from, edge.upstream_task, edge)


def _remove_last(index: dict[Task[Any], list[Edge]], task: Task[Any], edge: Edge) -> None:
    """Remove ``edge`` from ``index[task]`` (fast when it is the last one)."""
    edges = index[task]
    if edges[-1] is edge:
        edges.pop()
    else:
        edges.remove(edge)
    if not edges:
        del index[task]
