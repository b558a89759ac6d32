"""Flow: the graph of tasks and edges, built by calling tasks inside ``with``.

A flow is the user's *builder*: it holds tasks, edges and constant inputs and
answers questions about them. It knows nothing of running; ``run()`` hands a
frozen view of it (see ``_graph.FrozenGraph``) to the runner.

Every change is all-or-nothing: the operations that make up one call (adding
a task, its edges, its constants) are recorded in a journal, and undone if any
step raises, so a rejected call leaves the flow exactly as it was.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from contextvars import Token
from typing import TYPE_CHECKING, Any

from headwater._building import active_flow
from headwater._edge import Edge
from headwater._graph import FrozenGraph, find_cycle, find_path, topological_order
from headwater._operators import Collect, Constant, contains_task, make_template
from headwater._parameter import Parameter
from headwater._task import Task, unmapped
from headwater.errors import (
    CycleError,
    DuplicateEdgeKeyError,
    DuplicateSlugError,
    GraphError,
)

if TYPE_CHECKING:
    from headwater.executors import Executor
    from headwater.states import State

__all__ = ["Flow"]

_COLLECTIONS = (list, tuple, set, frozenset, dict)
_MISSING: Any = object()


class Flow:
    """A graph of tasks: build it by calling tasks inside ``with Flow(...)``.

    Args:
        name: the flow's name.
        tasks: tasks to add at once.
        edges: edges (``Edge`` or ``(upstream, downstream[, key])``) to add.
        reference_tasks: the tasks whose states decide the flow run's state
            (default: the terminal tasks).
        executor: the executor ``run()`` uses when none is passed.
        state_handlers: callables ``fn(flow, old_state, new_state)`` called on
            each change of the flow run's state.
        on_failure: ``fn(flow, state)`` called once when a run ends failed.

    Example:
        >>> from headwater import Flow, Parameter, task
        >>> @task
        ... def add(x: int, y: int) -> int:
        ...     return x + y
        >>> with Flow("sum") as flow:
        ...     x = Parameter("x")
        ...     total = add(add(x, 1), 2)
        >>> state = flow.run(parameters={"x": 10})
        >>> state.is_successful(), state.result[total].result
        (True, 13)
    """

    def __init__(
        self,
        name: str,
        tasks: Iterable[Task[Any]] | None = None,
        edges: Iterable[Edge | tuple[Any, ...]] | None = None,
        reference_tasks: Iterable[Task[Any]] | None = None,
        executor: Executor | None = None,
        state_handlers: Iterable[Any] | None = None,
        on_failure: Any = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a flow's name must be a non-empty string, got {name!r}")
        self.name = name
        self.executor = executor
        self.state_handlers = tuple(state_handlers or ())
        self.on_failure = on_failure
        self.constants: dict[Task[Any], dict[str, Any]] = {}
        self._tasks: dict[Task[Any], None] = {}
        self._edges: dict[Edge, None] = {}
        self._edges_to: dict[Task[Any], list[Edge]] = {}
        self._edges_from: dict[Task[Any], list[Edge]] = {}
        self._keyed: dict[tuple[Task[Any], str], Edge] = {}  # (task, key) -> data edge in
        self._slugs: dict[str, Task[Any]] = {}
        self._slug_counts: dict[str, int] = {}
        self._reference_tasks: dict[Task[Any], None] = {}
        self._journal: list[tuple[Any, ...]] | None = None
        self._version = 0
        self._frozen: tuple[int, FrozenGraph] | None = None
        self._sorted: tuple[int, tuple[Task[Any], ...]] | None = None
        self._tokens: dict[int, list[Token[Flow | None]]] = {}
        for task in tasks or ():
            self.add_task(task)
        for edge in edges or ():
            if isinstance(edge, Edge):
                self.add_edge(
                    edge.upstream_task, edge.downstream_task, edge.key, mapped=edge.mapped
                )
            else:
                self.add_edge(*edge)
        if reference_tasks is not None:
            self.set_reference_tasks(reference_tasks)

    # -- context manager -----------------------------------------------------

    def __enter__(self) -> Flow:
        token = active_flow.set(self)
        self._tokens.setdefault(threading.get_ident(), []).append(token)
        return self

    def __exit__(self, *exc_info: object) -> None:
        tokens = self._tokens[threading.get_ident()]
        active_flow.reset(tokens.pop())
        if not tokens:
            del self._tokens[threading.get_ident()]

    # -- contents ------------------------------------------------------------

    @property
    def tasks(self) -> AbstractSet[Task[Any]]:
        """The flow's tasks, as a read-only set view (in insertion order)."""
        return self._tasks.keys()

    @property
    def edges(self) -> AbstractSet[Edge]:
        """The flow's edges, as a read-only set view (in insertion order)."""
        return self._edges.keys()

    def __repr__(self) -> str:
        return f"<Flow: {self.name!r}, {len(self._tasks)} tasks, {len(self._edges)} edges>"

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
        self._tasks[task] = None
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
        owner = self._journal is None
        if owner:
            self._journal = []
        try:
            return self._add_edge(upstream_task, downstream_task, key, validate, mapped)
        except BaseException:
            if owner:
                self._rollback()
            raise
        finally:
            if owner:
                self._journal = None

    def _add_edge(
        self,
        upstream_task: Task[Any],
        downstream_task: Task[Any],
        key: str | None,
        validate: bool,
        mapped: bool,
    ) -> Edge:
        edge = Edge(upstream_task, downstream_task, key, mapped)
        if edge in self._edges:
            return edge
        self.add_task(upstream_task)
        self.add_task(downstream_task)
        if key is not None:
            if not isinstance(key, str):
                raise TypeError(f"an edge key is an argument name (str), got {key!r}")
            self._check_key_free(downstream_task, key)
        if validate:
            self._check_no_cycle(upstream_task, downstream_task)
        self._edges[edge] = None
        edges_to = self._edges_to.get(downstream_task)
        if edges_to is None:
            self._edges_to[downstream_task] = [edge]
        else:
            edges_to.append(edge)
        edges_from = self._edges_from.get(upstream_task)
        if edges_from is None:
            self._edges_from[upstream_task] = [edge]
        else:
            edges_from.append(edge)
        if key is not None:
            self._keyed[downstream_task, key] = edge
        self._version += 1
        if self._journal is not None:
            self._journal.append(("edge", edge))
        return edge

    def _check_key_free(self, task: Task[Any], key: str) -> None:
        existing = self._keyed.get((task, key))
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
        # A task built by a call is new: nothing is downstream of it yet, so no
        # cycle is possible and the common case costs two dict lookups.
        if upstream_task is not downstream_task and (
            not self._edges_from.get(downstream_task) or not self._edges_to.get(upstream_task)
        ):
            return
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
        existing = self._keyed.get((task, key))
        if existing is not None:
            raise DuplicateEdgeKeyError(
                f"task {task.slug!r} already receives input {key!r} from "
                f"{existing.upstream_task.slug!r}; each argument takes one value"
            )
        constants = self.constants.get(task)
        if constants is None:
            constants = self.constants[task] = {}
        previous = constants.get(key, _MISSING)
        constants[key] = value
        self._version += 1
        if self._journal is not None:
            self._journal.append(("constant", task, key, previous))

    def _rollback(self) -> None:
        journal = self._journal or []
        self._journal = None
        for entry in reversed(journal):
            kind = entry[0]
            if kind == "edge":
                edge = entry[1]
                del self._edges[edge]
                # Undone newest first, so the edge is last in its lists: O(1).
                _remove_last(self._edges_to, edge.downstream_task, edge)
                _remove_last(self._edges_from, edge.upstream_task, edge)
                if edge.key is not None:
                    del self._keyed[edge.downstream_task, edge.key]
            elif kind == "task":
                _, task, slug, generated = entry
                del self._tasks[task]
                del self._slugs[slug]
                self.constants.pop(task, None)
                if generated is not None:
                    name, count = generated
                    self._slug_counts[name] = count
                    if count == 0:
                        del self._slug_counts[name]
                    task.__dict__.pop("slug", None)
            elif kind == "constant":
                _, task, key, previous = entry
                constants = self.constants.get(task)
                if constants is not None:
                    if previous is _MISSING:
                        constants.pop(key, None)
                    else:
                        constants[key] = previous
                    if not constants:
                        del self.constants[task]
        self._version += 1

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
        owner = self._journal is None
        if owner:
            self._journal = []
        try:
            self.add_task(task)
            for key, value in arguments.items():
                self._add_input(task, key, value, mapped, validate)
            for upstream in upstream_tasks or ():
                if not isinstance(upstream, Task):
                    raise TypeError(f"upstream_tasks must hold tasks, got {upstream!r}")
                self._add_edge(upstream, task, None, validate, False)
        except BaseException:
            if owner:
                self._rollback()
            raise
        finally:
            if owner:
                self._journal = None

    def _add_input(
        self, task: Task[Any], key: str, value: Any, mapped: bool, validate: bool
    ) -> None:
        if isinstance(value, Task):
            self._add_edge(value, task, key, validate, mapped)
            return
        if type(value) is unmapped:
            value, mapped = value.value, False
            if isinstance(value, Task):
                self._add_edge(value, task, key, validate, False)
                return
        if type(value) in _COLLECTIONS and contains_task(value):
            items: dict[str, Task[Any]] = {}
            template = make_template(value, items)
            collect = Collect(template, name=type(value).__name__.capitalize())
            self._bind(collect, items, None, mapped=False, validate=validate)
            self._add_edge(collect, task, key, validate, mapped)
        elif mapped:
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
        owner = self._journal is None
        if owner:
            self._journal = []
        try:
            self.add_task(task)
            for upstream in upstream_tasks or ():
                self._add_edge(upstream, task, None, validate, False)
            for downstream in downstream_tasks or ():
                self._add_edge(task, downstream, None, validate, False)
            for key, value in (keyword_tasks or {}).items():
                self._add_input(task, key, value, mapped, validate)
        except BaseException:
            if owner:
                self._rollback()
            raise
        finally:
            if owner:
                self._journal = None

    def chain(self, *tasks: Task[Any]) -> list[Edge]:
        """Add state-only edges ``tasks[0] -> tasks[1] -> ...``, all or nothing."""
        owner = self._journal is None
        if owner:
            self._journal = []
        try:
            return [
                self._add_edge(upstream, downstream, None, True, False)
                for upstream, downstream in itertools.pairwise(tasks)
            ]
        except BaseException:
            if owner:
                self._rollback()
            raise
        finally:
            if owner:
                self._journal = None

    # -- queries -------------------------------------------------------------

    def parameters(self) -> set[Parameter]:
        """The flow's parameters."""
        return {task for task in self._tasks if isinstance(task, Parameter)}

    def root_tasks(self) -> set[Task[Any]]:
        """Tasks with no upstream task."""
        return {task for task in self._tasks if not self._edges_to.get(task)}

    def terminal_tasks(self) -> set[Task[Any]]:
        """Tasks with no downstream task."""
        return {task for task in self._tasks if not self._edges_from.get(task)}

    def reference_tasks(self) -> set[Task[Any]]:
        """The tasks whose states decide the run's state (default: terminal tasks)."""
        if self._reference_tasks:
            return set(self._reference_tasks)
        return self.terminal_tasks()

    def set_reference_tasks(self, tasks: Iterable[Task[Any]]) -> None:
        """Set the reference tasks; an empty iterable restores the default.

        Raises:
            GraphError: a task is not in the flow.
        """
        chosen = list(tasks)
        missing = [task for task in chosen if task not in self._tasks]
        if missing:
            raise GraphError(
                f"reference tasks must be in flow {self.name!r}; not in it: "
                + ", ".join(repr(task) for task in missing)
            )
        self._reference_tasks = dict.fromkeys(chosen)
        self._version += 1

    def upstream_tasks(self, task: Task[Any]) -> set[Task[Any]]:
        """Tasks with an edge into ``task``."""
        return {edge.upstream_task for edge in self._edges_to.get(task, ())}

    def downstream_tasks(self, task: Task[Any]) -> set[Task[Any]]:
        """Tasks with an edge from ``task``."""
        return {edge.downstream_task for edge in self._edges_from.get(task, ())}

    def edges_to(self, task: Task[Any]) -> set[Edge]:
        """The edges into ``task``."""
        return set(self._edges_to.get(task, ()))

    def edges_from(self, task: Task[Any]) -> set[Edge]:
        """The edges from ``task``."""
        return set(self._edges_from.get(task, ()))

    def get_tasks(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[Task[Any]]:
        """Tasks matching every filter given, in the order they were added.

        Args:
            name: the task's name.
            slug: the task's slug.
            tags: tags the task must all have.
        """
        if isinstance(tags, str):
            tags = {tags}
        wanted_tags = frozenset(tags or ())
        if slug is not None:
            candidates: Iterable[Task[Any]] = [self._slugs[slug]] if slug in self._slugs else []
        else:
            candidates = self._tasks
        return [
            task
            for task in candidates
            if (name is None or task.name == name) and wanted_tags <= task.tags
        ]

    def sorted_tasks(self) -> tuple[Task[Any], ...]:
        """The tasks in a topological order: the same on every call and copy.

        Ties are broken by the order tasks were added.

        Raises:
            CycleError: the flow holds a cycle (possible with ``validate=False``).
        """
        if self._sorted is not None and self._sorted[0] == self._version:
            return self._sorted[1]
        ordered, left_over = topological_order(list(self._tasks), self._downstream_of_unique)
        if left_over:
            cycle = find_cycle(left_over, self._downstream_of)
            shown = " -> ".join(str(task.slug) for task in cycle)
            raise CycleError(f"flow {self.name!r} has a cycle: {shown}", cycle)
        result = tuple(ordered)
        self._sorted = (self._version, result)
        return result

    def _downstream_of_unique(self, task: Task[Any]) -> list[Task[Any]]:
        # Two edges between the same tasks (two keys) count once for ordering.
        edges = self._edges_from.get(task)
        if not edges:
            return []
        if len(edges) == 1:
            return [edges[0].downstream_task]
        return list(dict.fromkeys(edge.downstream_task for edge in edges))

    def validate(self) -> None:
        """Check the whole flow; see ``headwater._validation`` for the rules.

        Raises:
            CycleError: the flow holds a cycle.
            FlowValidationError: any other inconsistency (all listed).
        """
        from headwater._validation import validate_flow

        validate_flow(self)

    def _freeze(self) -> FrozenGraph:
        """The validated, immutable view of this flow the runner uses."""
        if self._frozen is not None and self._frozen[0] == self._version:
            return self._frozen[1]
        self.validate()
        graph = FrozenGraph(
            self.name,
            self.sorted_tasks(),
            self._edges_to,
            self.constants,
            self.reference_tasks(),
            self.parameters(),
        )
        self._frozen = (self._version, graph)
        return graph

    # -- copying and merging -------------------------------------------------

    def copy(self) -> Flow:
        """A new flow with the same tasks, edges, constants and reference tasks.

        The tasks themselves are shared (not copied), as in the original. The
        copy is faithful: a cycle deferred with ``validate=False`` is copied too.
        """
        new = Flow(
            self.name,
            executor=self.executor,
            state_handlers=self.state_handlers,
            on_failure=self.on_failure,
        )
        new.update(self, validate=False)
        new._reference_tasks = dict(self._reference_tasks)
        return new

    def update(self, other_flow: Flow, *, validate: bool = True) -> None:
        """Add ``other_flow``'s tasks, edges and constants to this flow.

        Args:
            other_flow: the flow whose contents are added.
            validate: check for cycles now (else at ``validate()`` / ``run()``).

        Raises:
            GraphError: the union would hold a duplicate slug, key, or a cycle;
                this flow is left unchanged.
        """
        owner = self._journal is None
        if owner:
            self._journal = []
        try:
            for task in other_flow._tasks:
                self.add_task(task)
            for edge in other_flow._edges:
                self._add_edge(
                    edge.upstream_task, edge.downstream_task, edge.key, validate, edge.mapped
                )
            for task, constants in other_flow.constants.items():
                for key, value in constants.items():
                    if self.constants.get(task, {}).get(key, _MISSING) is not value:
                        self._set_constant(task, key, value)
        except BaseException:
            if owner:
                self._rollback()
            raise
        finally:
            if owner:
                self._journal = None

    # -- running, serialization, drawing (each in its own module) ------------

    def run(
        self,
        parameters: Mapping[str, Any] | None = None,
        executor: Executor | None = None,
        task_states: Mapping[Task[Any], State] | None = None,
        **options: Any,
    ) -> State:
        """Run the flow and return the flow run's state (see the runner docs).

        Args:
            parameters: values of the flow's parameters, by name.
            executor: how ready tasks run; default: the flow's, else local.
            task_states: states to start from (to resume a run): tasks given
                a finished state are not run again.
            **options: runner options (see ``headwater._runner.run_flow``).

        Raises:
            GraphError: the flow is not valid.
            ParameterError: a required parameter is missing or one is unknown.
        """
        from headwater._runner import run_flow

        return run_flow(self, parameters, executor or self.executor, task_states, **options)

    def serialize(self) -> dict[str, Any]:
        """A JSON-compatible description of the flow (tasks, edges, constants)."""
        from headwater.serialization import serialize_flow

        return serialize_flow(self)

    @classmethod
    def deserialize(cls, data: Mapping[str, Any]) -> Flow:
        """Rebuild a flow from :meth:`serialize`'s output (tasks must be importable)."""
        from headwater.serialization import deserialize_flow

        return deserialize_flow(data)

    def to_mermaid(self, flow_state: State | None = None) -> str:
        """The flow as a Mermaid ``flowchart`` (coloured by state when given)."""
        from headwater.drawing import to_mermaid

        return to_mermaid(self, flow_state)

    def visualize(
        self,
        flow_state: State | None = None,
        filename: str | None = None,
        format: str | None = None,
    ) -> Any:
        """The flow as a ``graphviz.Digraph`` (extra ``headwater[viz]``).

        A file is written (which needs Graphviz's ``dot`` program) only when
        ``filename`` is given.
        """
        from headwater.drawing import visualize

        return visualize(self, flow_state=flow_state, filename=filename, format=format)


def _remove_last(index: dict[Task[Any], list[Edge]], task: Task[Any], edge: Edge) -> None:
    """Remove ``edge`` from ``index[task]`` (fast when it is the last one)."""
    edges = index[task]
    if edges[-1] is edge:
        edges.pop()
    else:
        edges.remove(edge)
    if not edges:
        del index[task]
