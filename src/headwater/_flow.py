"""Flow: the graph of tasks and edges, built by calling tasks inside ``with``.

A flow is the user's *builder*: it holds tasks, edges and constant inputs and
answers questions about them. It knows nothing of running; ``run()`` hands a
frozen view of it (see ``_graph.FrozenGraph``) to the runner.

Every change is all-or-nothing (see ``_graphstore.GraphStore``, which holds
the data and the journaled operations, and ``_journal``, which undoes them): a
rejected call leaves the flow exactly as it was.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from contextvars import Token
from typing import TYPE_CHECKING, Any

from headwater import _gc
from headwater._building import active_flow
from headwater._edge import Edge
from headwater._graph import FrozenGraph, find_cycle, is_topological, topological_order
from headwater._graphstore import GraphStore
from headwater._journal import MISSING, AllOrNothing
from headwater._parameter import Parameter
from headwater._task import Task
from headwater.errors import (
    CycleError,
    GraphError,
)

if TYPE_CHECKING:
    from headwater.executors import Executor
    from headwater.states import State

__all__ = ["Flow"]


class Flow(GraphStore):
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
        super().__init__()
        self._reference_tasks: dict[Task[Any], None] = {}
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
        _gc.hold()  # see headwater._gc: big flows are not rescanned while built
        return self

    def __exit__(self, *exc_info: object) -> None:
        tokens = self._tokens[threading.get_ident()]
        active_flow.reset(tokens.pop())
        if not tokens:
            del self._tokens[threading.get_ident()]
        _gc.release()

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

        Of the tasks ready at each step, the one added first comes first; so
        a flow built by calls runs in the order its calls were written.

        Raises:
            CycleError: the flow holds a cycle (possible with ``validate=False``).
        """
        if self._sorted is not None and self._sorted[0] == self._version:
            return self._sorted[1]
        tasks = list(self._tasks)
        edges = ((edge.upstream_task, edge.downstream_task) for edge in self._edges)
        if self._in_order or is_topological(tasks, edges):
            # Built by calls, the insertion order is already the order that
            # topological_order would give: skip the sort.
            self._in_order = True
            self._sorted = (self._version, tuple(tasks))
            return self._sorted[1]
        ordered, left_over = topological_order(tasks, self._downstream_of_unique)
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
        # The frozen view allocates a few objects per task and none of them
        # can be cyclic garbage: spare the collector from scanning them.
        collecting = gc.isenabled()
        gc.disable()
        try:
            graph = self._build_frozen()
        finally:
            if collecting:
                gc.enable()
        self._frozen = (self._version, graph)
        return graph

    def _build_frozen(self) -> FrozenGraph:
        self.validate()
        return FrozenGraph(
            self.name,
            self.sorted_tasks(),
            self._edges_to,
            self.constants,
            self.reference_tasks(),
            self.parameters(),
        )

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

        A task of ``other_flow`` whose *generated* slug is taken here by
        another task gets a fresh generated slug, in both flows: two flows
        built by calls both have an ``add-1``, and that must not stop their
        union. Slugs given by hand, and parameters, still clash.

        Raises:
            GraphError: the union would hold a duplicate slug, key, or a cycle;
                both flows are left unchanged.
        """
        with AllOrNothing(self):
            self._reslug_clashes(other_flow)
            for task in other_flow._tasks:
                self.add_task(task)
            for edge in other_flow._edges:
                self._add_edge(
                    edge.upstream_task, edge.downstream_task, edge.key, validate, edge.mapped
                )
            for task, constants in other_flow.constants.items():
                for key, value in constants.items():
                    if self.constants.get(task, {}).get(key, MISSING) is not value:
                        self._set_constant(task, key, value)

    def _reslug_clashes(self, other_flow: Flow) -> None:
        """Give ``other_flow``'s tasks whose generated slug is taken here a free one.

        Each renaming is journaled (``update`` has a call open), so that a
        failed update puts the old slugs back.
        """
        taken = self._slugs
        # Per name, the first number that may be free. Free numbers only get
        # fewer here (a slug given up stays taken in this flow), so each search
        # resumes where the last one ended: linear, not quadratic, in the tasks.
        first_free: dict[str, int] = {}
        for task in other_flow._tasks:
            slug = task.slug
            if (
                slug is None
                or task._explicit_slug
                or isinstance(task, Parameter)
                or taken.get(slug, task) is task
            ):
                continue
            name = task.name
            count = first_free.get(name, 1)
            fresh = f"{name}-{count}"
            while fresh in taken or fresh in other_flow._slugs:
                count += 1
                fresh = f"{name}-{count}"
            first_free[name] = count + 1
            del other_flow._slugs[slug]
            task.slug = fresh
            other_flow._slugs[fresh] = task
            if self._journal is not None:
                self._journal.append(("slug", task, other_flow, slug))

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
            **options: runner options (see ``headwater._run.run_flow``).

        Raises:
            GraphError: the flow is not valid.
            ParameterError: a required parameter is missing or one is unknown.
        """
        from headwater._run import run_flow

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
