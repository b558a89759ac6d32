"""``flow.run()``: run a frozen flow to a final state, one flat loop.

The loop works on *units*: ``(task index, map index)``, where the map index is
``-1`` (``NOT_MAPPED``) for an ordinary task and ``i`` for the i-th child of
a mapped task.

State of a run (all on :class:`FlowRun`):

- ``states[i]``: task ``i``'s state; ``None`` until it is *resolved* (final
  for this run: finished, waiting, or left pending).
- ``blocked[i]``: how many distinct upstream tasks of ``i`` are unresolved.
- ``ready``: units whose upstream tasks are all resolved, in order.
- ``timeline``: a heap of ``(due, seq, unit, run_count, state)``: tries
  waiting for their retry delay, after a try that ended in ``state``. Nobody
  sleeps inside a task; other ready units go on.
- ``due``: retries whose time has come; they start before new ready units.
- ``in_flight``: future -> ``(unit, run_count, running state)``, for
  concurrent executors.
- ``seeds[i]``: the state ``task_states=`` gave task ``i``. A finished seed is
  final, except a ``Mapped`` one with a waiting child: that map runs again,
  keeping its finished children (see ``_decisions``).
- ``maps``: the children of mapped tasks (see ``_children``): per expanded
  map, its children's states and inputs and how many have not finished.
  Maps fed by maps go element by element: a map fed by a map is released
  when that map *expands* (``released``: not again when it resolves), and
  its child ``i`` starts when child ``i`` of each feeding map finished (see
  ``_elementwise``).

Each turn: move due retries to ``due``; start due, then ready units (up to
``max_workers`` times the executor's ``submit_ahead``, or its ``queue_ahead``
while nothing can see a try wait in its queue: see ``_ahead``); wait for the
first try to finish (or the next retry to be due); record the outcome, which
may resolve a task and release its downstream tasks into ``ready``. The run
ends when nothing is ready, due or in flight. Invariant: a unit is in at most
one of ready / due / timeline / in_flight, and a task is resolved exactly
once. Then the executor brings any results it kept elsewhere (Dask: in the
cluster) into the states (``executor.gather``).

A unit on its way: ``_start`` settles what needs no try (``_decisions``: a
seed, skip propagation and the trigger, a map's expansion into children;
then the cache), else runs the try (synchronous executor) or submits it.
``_after_try`` puts a retry on the timeline, and a final state into the
cache and on to ``_finish``, which reports it (run record, checkpoint, log,
``on_failure``) and records it: a child's in ``maps`` (the last child
finishes its map), a task's by ``_resolve``, which releases its downstream
tasks. What each step decides is left to the pure steps of ``_taskrun``.

Two short cuts keep small tasks cheap. With a synchronous executor and
nothing to report or seed, ready units are drained by ``_plain``'s
``drain_plain``, which runs plain tasks inline and hands any other unit to
``_start`` (see its module docs). On an executor with
``runs_lone_tries_inline`` (threads), a ready unit that is the run's only
work runs in the loop's thread, as on a synchronous executor.
"""

from __future__ import annotations

import heapq
import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from headwater._cache import CacheStore, default_cache_store, task_cache_key
from headwater._children import EXPANDED, NOT_MAPPED, MapChildren
from headwater._decisions import Decisions
from headwater._events import EventRecorder
from headwater._handlers import call_on_failure, flow_transition, task_transition
from headwater._outcome import INTERRUPTED, NOT_RUN, final_flow_state, task_states
from headwater._plain import drain_plain
from headwater._taskrun import (
    after_attempt,
    cached_state,
    failed_from_exception,
    new_cache_entry,
    run_attempt,
    with_cache_note,
)
from headwater.context import _DEFAULTS, _snapshot
from headwater.executors.base import Executor
from headwater.states import Failed, Finished, Pending, Running, State, Success

if TYPE_CHECKING:
    from headwater._checkpoint import Checkpoint
    from headwater._flow import Flow
    from headwater._graph import FrozenGraph
    from headwater._task import Task

__all__ = ["FlowRun"]

logger = logging.getLogger("headwater.runner")

_PENDING = Pending()


class FlowRun:
    """One run of a frozen flow (see the module docs for its state)."""

    def __init__(
        self,
        flow: Flow,
        graph: FrozenGraph,
        parameters: dict[str, Any],
        executor: Executor,
        seeds: Mapping[Task[Any], State] | None,
        cache_store: CacheStore | None,
    ) -> None:
        self.flow = flow
        self.graph = graph
        self.parameters = parameters
        self.executor = executor
        self.cache_store = cache_store if cache_store is not None else default_cache_store
        self.run_id = uuid.uuid4().hex
        count = len(graph.tasks)
        self.states: list[State | None] = [None] * count
        self.seeds: dict[int, State] = {}
        for task, state in (seeds or {}).items():
            if task in graph.index:
                self.seeds[graph.index[task]] = state
        self.blocked = list(graph.upstream_counts)
        self.ready: deque[tuple[int, int]] = deque(
            (index, NOT_MAPPED) for index in range(count) if self.blocked[index] == 0
        )
        self.timeline: list[tuple[float, int, tuple[int, int], int, State]] = []
        self.in_flight: dict[Any, tuple[tuple[int, int], int, State]] = {}
        self.due: deque[tuple[tuple[int, int], int, State]] = deque()
        self.maps = MapChildren(graph, self.states, self.blocked, self.ready)
        # Maps that released the maps they feed when they expanded (see _resolve).
        self.released = self.maps.element_wise.released
        self.sequence = 0
        self.events: EventRecorder | None = None
        self.checkpoint: Checkpoint | None = None  # set when run with store=
        self.log = logger.isEnabledFor(logging.INFO)
        # Every task's context is a copy of this with its own task keys set.
        self.base_context = {
            **_snapshot(),
            **_DEFAULTS,
            "flow_name": graph.flow_name,
            "flow_run_id": self.run_id,
            "parameters": MappingProxyType(parameters),
        }
        self.decisions = Decisions(
            graph, self.states, self.seeds, self.maps, executor, self.base_context
        )

    # -- the loop ------------------------------------------------------------

    def run(self) -> State:
        """Run every task; return the flow's final state."""
        flow_state: State = self._flow_transition(_PENDING, Running("flow run started"))
        if flow_state.is_finished():
            return flow_state  # a flow state handler ended the run before it began
        if self.log:
            logger.info("flow %r: run %s started", self.graph.flow_name, self.run_id)
        self.executor.start()
        try:
            self._loop()
            self._gather()
        except KeyboardInterrupt as interrupt:
            state = Failed(
                "flow run interrupted by KeyboardInterrupt", self._task_states(INTERRUPTED)
            )
            interrupt.flow_state = state  # type: ignore[attr-defined]
            raise
        finally:
            for future in self.in_flight:
                future.cancel()
            # Interrupted with tries in flight: do not wait for them to finish.
            self.executor.shutdown(wait=not self.in_flight)
        final = self._final_state()
        final = self._flow_transition(flow_state, final)
        if self.log:
            logger.info("flow %r: finished %s", self.graph.flow_name, final)
        return final

    def _loop(self) -> None:
        synchronous = self.executor.synchronous
        capacity = max(1, self.executor.max_workers * self._ahead())
        ready, timeline, in_flight, due = self.ready, self.timeline, self.in_flight, self.due
        # Nothing to report or seed: ordinary tasks may take the short path.
        plain = synchronous and self.events is None and not self.log and not self.seeds
        plain = plain and self.checkpoint is None
        inline = self.executor.runs_lone_tries_inline and not synchronous
        while ready or timeline or in_flight or due:
            if timeline:
                now = time.monotonic()
                while timeline and timeline[0][0] <= now:
                    _, _, unit, run_count, previous = heapq.heappop(timeline)
                    due.append((unit, run_count, previous))
            while due and len(in_flight) < capacity:
                unit, run_count, previous = due.popleft()
                self._start(unit, run_count, synchronous, previous)
            if plain:
                drain_plain(self)
            while ready and len(in_flight) < capacity:
                unit = ready.popleft()
                # The run's only work (a step of a chain): handing it to a pool
                # thread and waiting would only add two thread wake-ups.
                alone = inline and not (ready or in_flight or due or timeline)
                self._start(unit, 1, synchronous or alone)
            if in_flight:
                done = self.executor.wait(list(in_flight), self._time_to_next_retry())
                for future in done:
                    unit, run_count, running = in_flight.pop(future)
                    self._after_try(unit, run_count, running, _future_state(future, self, unit))
            elif timeline and not ready and not due:
                time.sleep(max(0.0, timeline[0][0] - time.monotonic()))

    def _ahead(self) -> int:
        """How many tries per worker to keep submitted (see ``Executor.queue_ahead``)."""
        executor = self.executor
        if executor.queue_ahead <= executor.submit_ahead:
            return executor.submit_ahead
        # A queued try is reported Running: queue only when nobody can see it.
        observed = self.events is not None or self.log
        if observed or any(task.state_handlers for task in self.graph.tasks):
            return executor.submit_ahead
        return executor.queue_ahead

    def _gather(self) -> None:
        """Bring the results an executor keeps elsewhere (Dask: in the cluster) here."""
        if type(self.executor).gather is Executor.gather:
            return
        resolved = [(index, state) for index, state in enumerate(self.states) if state is not None]
        gathered = self.executor.gather([state for _, state in resolved])
        for (index, _), state in zip(resolved, gathered, strict=True):
            self.states[index] = state

    def _time_to_next_retry(self) -> float | None:
        if not self.timeline:
            return None
        return max(0.0, self.timeline[0][0] - time.monotonic())

    # -- one unit ------------------------------------------------------------

    def _start(
        self, unit: tuple[int, int], run_count: int, synchronous: bool, previous: State = _PENDING
    ) -> None:
        """Decide a ready unit's fate up to its try, and start the try."""
        index, map_index = unit
        task = self.graph.tasks[index]
        if run_count == 1:
            decided = self.decisions.decide(index, map_index, task)
            if decided is EXPANDED:
                return
            if decided is not None:
                self._record(unit, _PENDING, decided)
                return
        if map_index == NOT_MAPPED:
            inputs = self._inputs(index, map_index)
        else:  # not through _inputs: one call less per child
            inputs = self.maps.child_inputs(index, map_index)
        if task.cache_for is not None and run_count == 1:
            hit = cached_state(
                task, self.cache_store.get(self._cache_key(index, map_index)),
                self.executor.fetch(inputs), self.parameters,
            )  # fmt: skip
            if hit is not None:
                self._record(unit, _PENDING, hit)
                return
        running: State = Running(f"try {run_count}")
        if task.state_handlers:  # _transition, inline on the way of every try
            running = task_transition(task, previous, running)
        if isinstance(running, Finished):
            self._finish(unit, running, previous, run_count)
            return
        if self.events is not None:
            self.events.task_event(task, unit, run_count, previous, running, final=False)
        if self.log:
            logger.info("task %r: starting try %d", task.slug, run_count)
        context_values = self.decisions.context_for(task, map_index, run_count, index)
        if synchronous:
            state = run_attempt(task, inputs, context_values, task.timeout)
            self._after_try(unit, run_count, running, state)
            return
        future = self.executor.submit_try(run_attempt, task, inputs, context_values, task.timeout)
        self.in_flight[future] = (unit, run_count, running)

    def _inputs(self, index: int, map_index: int) -> dict[str, Any]:
        if map_index != NOT_MAPPED:
            return self.maps.child_inputs(index, map_index)
        inputs = dict(self.graph.constants[index])
        states = self.states
        for upstream_index, edge in self.graph.upstream[index]:
            if edge.key is not None:
                inputs[edge.key] = states[upstream_index].result  # type: ignore[union-attr]
        return inputs

    def _cache_key(self, index: int, map_index: int) -> str:
        key = task_cache_key(self.graph.flow_name, self.graph.tasks[index])
        return key if map_index == NOT_MAPPED else f"{key}[{map_index}]"

    def _after_try(
        self, unit: tuple[int, int], run_count: int, running: State, state: State
    ) -> None:
        index, map_index = unit
        task = self.graph.tasks[index]
        state = after_attempt(task, state, run_count, time.time())
        entry = None
        if task.cache_for is not None and type(state) is Success:
            fetch = self.executor.fetch
            entry = new_cache_entry(
                task, fetch(state.result), fetch(self._inputs(index, map_index)), self.parameters
            )
            state = with_cache_note(state, entry)
        if task.state_handlers:  # _transition, inline on the way of every try
            state = task_transition(task, running, state)
        if state.is_retrying():
            due = time.monotonic() + max(0.0, state.start_time - time.time())  # type: ignore[attr-defined]
            self.sequence += 1
            heapq.heappush(self.timeline, (due, self.sequence, unit, run_count + 1, state))
            if self.events is not None:
                self.events.task_event(task, unit, run_count, running, state, final=False)
            if self.log:
                logger.info("task %r: %s", task.slug, state)
            return
        if entry is not None and type(state) is Success:
            self.cache_store.put(self._cache_key(index, map_index), entry)
        self._finish(unit, state, running, run_count)

    def _record(self, unit: tuple[int, int], old: State, state: State) -> None:
        """A unit's fate was decided without a try: report it, then finish."""
        self._finish(unit, self._transition(self.graph.tasks[unit[0]], old, state), old, 0)

    def _finish(
        self, unit: tuple[int, int], state: State, old: State = _PENDING, run_count: int = 0
    ) -> None:
        """A unit reached its final state for this run."""
        index, map_index = unit
        task = self.graph.tasks[index]
        if self.checkpoint is not None:
            state = self.checkpoint.task_finished(task, map_index, state)
        if self.events is not None:
            self.events.task_event(task, unit, run_count, old, state, final=True)
        if self.log:
            shown_index = "" if map_index < 0 else f"[{map_index}]"
            logger.info("task %r%s: %s", task.slug, shown_index, state)
        if task.on_failure is not None and state.is_failed():
            call_on_failure(task, f"task {task.slug!r}", state)
        if map_index == NOT_MAPPED:
            self._resolve(index, state)
            return
        parent = self.maps.child_finished(index, map_index, state)
        if parent is not None:  # the map's last child
            self._finish((index, NOT_MAPPED), self._transition(task, _PENDING, parent))

    def _resolve(self, index: int, state: State) -> None:
        self.states[index] = state
        blocked, ready = self.blocked, self.ready
        released = self.released
        early = released.pop(index, None) if released else None
        for downstream in self.graph.downstream[index]:
            if early is not None and downstream in early:
                continue  # released when this map expanded
            blocked[downstream] -= 1
            if blocked[downstream] == 0:
                ready.append((downstream, NOT_MAPPED))

    def _transition(self, task: Task[Any], old: State, new: State) -> State:
        return task_transition(task, old, new) if task.state_handlers else new

    # -- the end -------------------------------------------------------------

    def _task_states(self, not_run: str = NOT_RUN) -> dict[Task[Any], State]:
        return task_states(self.graph, self.states, not_run)

    def _final_state(self) -> State:
        return final_flow_state(self.graph, self._task_states())

    def _flow_transition(self, old: State, new: State) -> State:
        """Run the flow's state handlers on a change; record and return the result."""
        flow = self.flow
        if flow.state_handlers:
            new = flow_transition(flow, old, new, self._task_states)
        if self.events is not None:
            self.events.flow_event(old, new)
        if new.is_failed() and flow.on_failure is not None:
            call_on_failure(flow, f"flow {self.graph.flow_name!r}", new)
        return new


def _future_state(future: Any, run: FlowRun, unit: tuple[int, int]) -> State:
    """The state a finished future holds; an executor error becomes ``Failed``."""
    try:
        state = future.result()
    except Exception as exc:
        index, map_index = unit
        return failed_from_exception(run.graph.tasks[index], run._inputs(index, map_index), exc)
    if not isinstance(state, State):
        return Failed(f"executor returned {state!r} instead of a state")
    return state
