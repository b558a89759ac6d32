"""The storage behind ``Flow``: tasks, edges and constants, changed all or nothing.

:class:`GraphStore` holds the graph's data and every operation that changes
it. The operations that make up one call (adding a task, its edges, its
constants) are recorded in a journal and undone if any step raises, so a
rejected call leaves the graph exactly as it was (generated slugs included);
the journal's entries and the undoing are in ``_journal``.

Building by calls cannot close a cycle: the task being bound is new, nothing
is downstream of it yet, so the cycle search runs only when an edge could
really close one, and building stays linear in the number of tasks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from headwater._edge import Edge
from headwater._gc import REFREEZE_EVERY, refreeze
from headwater._graph import find_path
from headwater._journal import MISSING, AllOrNothing
from headwater._operators import Collect, Constant, contains_task, make_template
from headwater._parameter import Parameter
from headwater._task import Task, unmapped
from headwater.errors import CycleError, DuplicateEdgeKeyError, DuplicateSlugError

__all__ = ["GraphStore"]

_COLLECTIONS = (list, tuple, set, frozenset, dict)
_SPECIAL_INPUTS = frozenset((*_COLLECTIONS, unmapped))  # inputs _add_called leaves to _bind
_new_tuple = tuple.__new__  # Edge(...) without NamedTuple's Python-level __new__
_SCANNED = 16  # a task with at most this many edges in is searched by scanning them


class GraphStore:
    """Tasks, edges and constants, with journaled all-or-nothing changes."""

    name: str

    def __init__(self) -> None:
        self.constants: dict[Task[Any], dict[str, Any]] = {}
        self._tasks: dict[Task[Any], None] = {}  # insertion-ordered set
        self._edges: dict[Edge, None] = {}  # insertion-ordered set
        self._edges_to: dict[Task[Any], list[Edge]] = {}
        self._edges_from: dict[Task[Any], list[Edge]] = {}
        # task -> {key: the data edge in}, made on demand for tasks with more
        # than _SCANNED edges in (a big fan-in); others' edges are scanned.
        self._keyed: dict[Task[Any], dict[str, Edge]] = {}
        self._slugs: dict[str, Task[Any]] = {}
        # Tasks whose inputs the next validation checks: every task added or
        # given inputs here, except those _add_fresh adds (bound like a call).
        self._unchecked: dict[Task[Any], None] = {}
        self._slug_counts: dict[str, int] = {}  # name -> last generated number
        self._journal: list[tuple[Any, ...]] | None = None  # undo records of the open call
        # True while the insertion order is known to be topological: _add_fresh
        # adds a task after its upstream tasks; an edge added by _add_edge
        # makes it unknown (sorted_tasks checks it again).
        self._in_order = True
        self._version = 0  # bumped on every change; keys cached views

    # -- building ------------------------------------------------------------

    def add_task(self, task: Task[Any]) -> Task[Any]:
        """Add ``task`` (no edges); give it a slug if it has none.

        Raises:
            TypeError: ``task`` is not a Task.
            DuplicateSlugError: another task of the flow has its slug.
        """
        if task in self._tasks:
            return task
        if not isinstance(task, Task):
            raise TypeError(f"flows hold tasks, got {task!r} ({type(task).__name__})")
        slug = task.slug
        generated: tuple[str, int] | None = None
        if slug is None:
            name = task.name
            count = self._slug_counts.get(name, 0) + 1
            slug = f"{name}-{count}"
            while slug in self._slugs:
                count += 1
                slug = f"{name}-{count}"
            generated = (name, self._slug_counts.get(name, 0))
            self._slug_counts[name] = count
            task.slug = slug
        elif slug in self._slugs:
            raise DuplicateSlugError(
                f"flow {self.name!r} already has a task with slug {slug!r} "
                f"({self._slugs[slug]!r}); cannot add {task!r}. Slugs are unique in a flow: "
                "give the task another slug (task.copy(slug=...)) or "
                + (
                    "use one Parameter object per name"
                    if isinstance(task, Parameter)
                    else "leave slug unset to have one generated"
                )
            )
        tasks = self._tasks
        tasks[task] = None
        if not len(tasks) % REFREEZE_EVERY:
            refreeze()
        self._unchecked[task] = None
        self._slugs[slug] = task
        self._version += 1
        if self._journal is not None:
            self._journal.append(("task", task, slug, generated))
        return task

    def add_edge(
        self,
        upstream_task: Task[Any],
        downstream_task: Task[Any],
        key: str | None = None,
        validate: bool = True,
        mapped: bool = False,
    ) -> Edge:
        """Add an edge (and its tasks, if new): ``downstream_task`` runs after
        ``upstream_task``; with ``key``, it receives its result as that argument.

        Raises:
            CycleError: the edge would close a cycle (checked unless
                ``validate=False``); the flow is left unchanged.
            DuplicateEdgeKeyError: ``downstream_task`` already has an input ``key``.
        """
        with AllOrNothing(self):
            return self._add_edge(upstream_task, downstream_task, key, validate, mapped)

    def _add_edge(
        self,
        upstream_task: Task[Any],
        downstream_task: Task[Any],
        key: str | None,
        validate: bool,
        mapped: bool,
    ) -> Edge:
        edge = Edge(upstream_task, downstream_task, key, mapped)
        edges = self._edges
        if edge in edges:
            return edge
        tasks = self._tasks
        if upstream_task not in tasks:
            self.add_task(upstream_task)
        if downstream_task not in tasks:
            self.add_task(downstream_task)
        all_edges_to, all_edges_from = self._edges_to, self._edges_from
        if key is not None:
            if not isinstance(key, str):
                raise TypeError(f"an edge key is an argument name (str), got {key!r}")
            self._unchecked[downstream_task] = None
            if downstream_task in all_edges_to or downstream_task in self.constants:
                self._check_key_free(downstream_task, key)
        # A task built by a call is new: nothing is downstream of it yet, so no
        # cycle is possible and the common case costs two dict lookups.
        if validate and (
            upstream_task is downstream_task
            or (all_edges_from.get(downstream_task) and all_edges_to.get(upstream_task))
        ):
            self._check_no_cycle(upstream_task, downstream_task)
        edges[edge] = None
        self._in_order = False
        if not len(edges) % REFREEZE_EVERY:
            refreeze()
        edges_to = all_edges_to.get(downstream_task)
        if edges_to is None:
            all_edges_to[downstream_task] = [edge]
        else:
            edges_to.append(edge)
            if key is not None and downstream_task in self._keyed:
                self._keyed[downstream_task][key] = edge
        edges_from = all_edges_from.get(upstream_task)
        if edges_from is None:
            all_edges_from[upstream_task] = [edge]
        else:
            edges_from.append(edge)
        self._version += 1
        if self._journal is not None:
            self._journal.append(("edge", edge))
        return edge

    def _edge_with_key(self, task: Task[Any], key: str) -> Edge | None:
        """The data edge that feeds ``task``'s input ``key``, if any."""
        edges_to = self._edges_to.get(task)
        if not edges_to:
            return None
        if len(edges_to) <= _SCANNED:
            for edge in edges_to:
                if edge.key == key:
                    return edge
            return None
        keyed = self._keyed.get(task)
        if keyed is None:  # first asked: index the task's keys from now on
            keyed = self._keyed[task] = {e.key: e for e in edges_to if e.key is not None}
        return keyed.get(key)

    def _check_key_free(self, task: Task[Any], key: str) -> None:
        existing = self._edge_with_key(task, key)
        if existing is not None:
            raise DuplicateEdgeKeyError(
                f"task {task.slug!r} already receives input {key!r} from "
                f"{existing.upstream_task.slug!r}; each argument takes one edge"
            )
        constants = self.constants.get(task)
        if constants and key in constants:
            raise DuplicateEdgeKeyError(
                f"task {task.slug!r} already has the constant input {key!r}; "
                "each argument takes one value"
            )

    def _check_no_cycle(self, upstream_task: Task[Any], downstream_task: Task[Any]) -> None:
        path = find_path(downstream_task, upstream_task, self._downstream_of)
        if path is not None:
            cycle = [upstream_task, *path] if upstream_task is not downstream_task else path * 2
            shown = " -> ".join(str(task.slug) for task in cycle)
            raise CycleError(
                f"the edge {upstream_task.slug} -> {downstream_task.slug} would close a cycle: "
                f"{shown}. Flows are acyclic; remove one of these dependencies",
                cycle,
            )

    def _downstream_of(self, task: Task[Any]) -> list[Task[Any]]:
        return [edge.downstream_task for edge in self._edges_from.get(task, ())]

    def _set_constant(self, task: Task[Any], key: str, value: Any) -> None:
        existing = self._edge_with_key(task, key)
        if existing is not None:
            raise DuplicateEdgeKeyError(
                f"task {task.slug!r} already receives input {key!r} from "
                f"{existing.upstream_task.slug!r}; each argument takes one value"
            )
        constants = self.constants.get(task)
        if constants is None:
            constants = self.constants[task] = {}
        previous = constants.get(key, MISSING)
        constants[key] = value
        self._unchecked[task] = None
        self._version += 1
        if self._journal is not None:
            self._journal.append(("constant", task, key, previous))

    def _bind(
        self,
        task: Task[Any],
        arguments: Mapping[str, Any],
        upstream_tasks: Iterable[Task[Any]] | None,
        *,
        mapped: bool,
        validate: bool = True,
    ) -> None:
        """Add ``task`` with its inputs, all or nothing (used by ``Task.bind``)."""
        with AllOrNothing(self):
            arguments = self._collected(arguments)
            self.add_task(task)
            for key, value in arguments.items():
                self._add_input(task, key, value, mapped, validate)
            for upstream in upstream_tasks or ():
                if not isinstance(upstream, Task):
                    raise TypeError(f"upstream_tasks must hold tasks, got {upstream!r}")
                self._add_edge(upstream, task, None, validate, False)

    def _add_called(self, task: Task[Any], arguments: Mapping[str, Any]) -> None:
        """Add a new task with inputs bound like a call's (the fresh copy a task
        call made, or a ``Collect``): the hot path of building, ``_bind``
        without upstream tasks."""
        if task.slug is None:
            tasks = self._tasks
            for value in arguments.values():  # each a task of this flow or plain?
                if isinstance(value, Task):
                    if value not in tasks:
                        break
                elif type(value) in _SPECIAL_INPUTS:
                    break
            else:
                self._add_fresh(task, arguments)
                return
        self._bind(task, arguments, None, mapped=False)

    def _add_fresh(self, task: Task[Any], arguments: Mapping[str, Any]) -> None:
        """Add ``task``, new and without a slug, fed by ``arguments``: tasks of
        this flow (data edges) or plain values (constants), under names its
        ``run`` takes, each once.

        Nothing here can fail (a new task closes no cycle, and its names were
        bound like a Python call's), so no step is checked or journaled one by
        one: a single journal entry, if a call is open, undoes it all.
        """
        tasks, slugs, counts = self._tasks, self._slugs, self._slug_counts
        name = task.name
        previous = counts.get(name, 0)
        count = previous + 1
        slug = f"{name}-{count}"
        while slug in slugs:  # a slug given by hand took the generated one
            count += 1
            slug = f"{name}-{count}"
        counts[name] = count
        task.slug = slug
        slugs[slug] = task
        tasks[task] = None
        if not len(tasks) % REFREEZE_EVERY:
            refreeze()
        edges, all_edges_to, all_edges_from = self._edges, self._edges_to, self._edges_from
        constants: dict[str, Any] | None = None
        edges_to: list[Edge] | None = None
        for key, value in arguments.items():
            if isinstance(value, Task):
                edge: Edge = _new_tuple(Edge, (value, task, key, False))
                edges[edge] = None
                if not len(edges) % REFREEZE_EVERY:
                    refreeze()
                if edges_to is None:
                    edges_to = all_edges_to[task] = [edge]
                else:
                    edges_to.append(edge)
                edges_from = all_edges_from.get(value)
                if edges_from is None:
                    all_edges_from[value] = [edge]
                else:
                    edges_from.append(edge)
            elif constants is None:
                constants = self.constants[task] = {key: value}
            else:
                constants[key] = value
        self._version += 1
        if self._journal is not None:
            self._journal.append(("fresh", task, slug, (name, previous)))

    def _collected(self, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        """``arguments`` with each collection that holds tasks replaced by a
        ``Collect`` task, added now: before the task it feeds, so that the
        flow's insertion order stays topological (and needs no sorting)."""
        replaced: dict[str, Any] | None = None
        for key, value in arguments.items():
            inner = value.value if type(value) is unmapped else value
            if type(inner) in _COLLECTIONS and contains_task(inner):
                collect = self._bind_collect(inner)
                if replaced is None:
                    replaced = dict(arguments)
                replaced[key] = collect if inner is value else unmapped(collect)
        return arguments if replaced is None else replaced

    def _bind_collect(self, value: Any) -> Collect:
        """Add the task that builds ``value`` (a collection holding tasks).

        The new task closes no cycle, so no ``validate`` is needed; a big
        fan-in of tasks of this flow is added by ``_add_fresh``, in one step.
        """
        items: dict[str, Task[Any]] = {}
        template = make_template(value, items)
        collect = Collect(template, name=type(value).__name__.capitalize())
        self._add_called(collect, items)
        return collect

    def _add_input(
        self, task: Task[Any], key: str, value: Any, mapped: bool, validate: bool
    ) -> None:
        """Feed ``task``'s input ``key`` with ``value``, which went through
        ``_collected`` (a collection holding tasks is a ``Collect`` by now)."""
        if isinstance(value, Task):
            self._add_edge(value, task, key, validate, mapped)
            return
        if type(value) is unmapped:
            value, mapped = value.value, False
            if isinstance(value, Task):
                self._add_edge(value, task, key, validate, False)
                return
        if mapped:
            self._add_edge(Constant(value), task, key, validate, True)
        else:
            self._set_constant(task, key, value)

    def set_dependencies(
        self,
        task: Task[Any],
        upstream_tasks: Iterable[Task[Any]] | None = None,
        downstream_tasks: Iterable[Task[Any]] | None = None,
        keyword_tasks: Mapping[str, Any] | None = None,
        validate: bool = True,
        mapped: bool = False,
    ) -> None:
        """Add ``task`` and edges around it, all or nothing.

        Args:
            task: the task to add.
            upstream_tasks: tasks ``task`` runs after (state-only edges).
            downstream_tasks: tasks that run after ``task`` (state-only edges).
            keyword_tasks: argument name -> task (a data edge) or value (a constant).
            validate: check for cycles now (else at ``validate()`` / ``run()``).
            mapped: map ``task`` over its keyword inputs (see ``Task.map``).

        Raises:
            GraphError: a cycle, duplicate slug or duplicate key; nothing changed.
        """
        with AllOrNothing(self):
            keyword_tasks = self._collected(keyword_tasks or {})
            self.add_task(task)
            for upstream in upstream_tasks or ():
                self._add_edge(upstream, task, None, validate, False)
            for downstream in downstream_tasks or ():
                self._add_edge(task, downstream, None, validate, False)
            for key, value in keyword_tasks.items():
                self._add_input(task, key, value, mapped, validate)

    def chain(self, *tasks: Task[Any]) -> list[Edge]:
        """Add state-only edges ``tasks[0] -> tasks[1] -> ...``, all or nothing."""
        with AllOrNothing(self):
            return [
                self._add_edge(upstream, downstream, None, True, False)
                for upstream, downstream in itertools.pairwise(tasks)
            ]
