"""``flow.run()``: validate, set up the run's options, hand over to the loop.

Everything a run needs before its first task (the frozen graph, parameter
values, a checkpoint to resume from, the run record) is prepared here, so
that :class:`headwater._runner.FlowRun` is only the loop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater import _gc
from headwater._events import EventSink, make_recorder
from headwater._run_parameters import resolve_parameters
from headwater._runner import FlowRun
from headwater.executors.local import LocalExecutor

if TYPE_CHECKING:
    from headwater._cache import CacheStore
    from headwater._flow import Flow
    from headwater._task import Task
    from headwater.executors.base import Executor
    from headwater.states import State
    from headwater.stores import ResultStore

__all__ = ["run_flow"]


def run_flow(
    flow: Flow,
    parameters: Mapping[str, Any] | None = None,
    executor: Executor | None = None,
    task_states: Mapping[Task[Any], State] | None = None,
    *,
    cache_store: CacheStore | None = None,
    events: str | os.PathLike[str] | EventSink | None = None,
    store: ResultStore | None = None,
    resume: str | None = None,
) -> State:
    """Validate ``flow`` and its parameters, run it, return the flow state.

    Args:
        flow: the flow to run.
        parameters: parameter values by name.
        executor: how tasks run (default ``LocalExecutor``).
        task_states: states to start from; finished ones are not run again.
        cache_store: where cached results live (default: per process memory).
        events: record every state change: a path (JSON lines appended) or a
            callable given each event dict (see ``headwater._events``).
        store: checkpoint every result and final state to this result store
            (and keep ``cache_for`` entries there); see ``headwater.stores``.
        resume: with ``store``, the id of a checkpointed run (or
            ``"latest"``) to resume: its successful tasks are not run again.

    Raises:
        GraphError: the flow is not valid.
        ParameterError: missing required or unknown parameters.
        ResumeError: ``resume`` names no checkpointed run, or the flow changed.
        KeyboardInterrupt: re-raised after the states so far are attached to
            it as ``exc.flow_state`` (resume with ``task_states=``).
    """
    with _gc.holding():
        return _run(flow, parameters, executor, task_states, cache_store, events, store, resume)


def _run(
    flow: Flow,
    parameters: Mapping[str, Any] | None,
    executor: Executor | None,
    task_states: Mapping[Task[Any], State] | None,
    cache_store: CacheStore | None,
    events: str | os.PathLike[str] | EventSink | None,
    store: ResultStore | None,
    resume: str | None,
) -> State:
    graph = flow._freeze()
    _gc.refreeze()  # the frozen graph lives as long as the run
    values = resolve_parameters(graph, parameters or {})
    checkpoint = None
    if store is not None:
        from headwater._checkpoint import open_checkpoint

        checkpoint, task_states, cache_store = open_checkpoint(
            store, graph, values, resume, task_states, cache_store
        )
    elif resume is not None:
        from headwater.errors import ResumeError

        raise ResumeError("resume= needs store=: the store that holds the run's checkpoint")
    run = FlowRun(flow, graph, values, executor or LocalExecutor(), task_states, cache_store)
    run.events = make_recorder(events, graph.flow_name, run.run_id)
    if checkpoint is not None:
        run.checkpoint = checkpoint.start(run.run_id, run.executor.fetch)
    try:
        return run.run()
    finally:
        if run.events is not None:
            run.events.close()
        if run.checkpoint is not None:
            run.checkpoint.close()
