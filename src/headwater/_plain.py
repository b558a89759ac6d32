"""The runner's short path: plain tasks run inline, for small tasks to stay cheap.

With a synchronous executor and nothing to report or seed (no run record,
checkpoint, ``task_states=`` or INFO logging), the loop of
:class:`~headwater._runner.FlowRun` hands its ready units to
:func:`drain_plain`. A unit is *plain* when it is an ordinary task (not
mapped, not a mapped child) with the default trigger (``all_successful``)
and no cache, state handler or timeout, and every upstream task succeeded
(``Success`` or ``Cached``). Then none of the general path's steps can change
its fate: no seed, no skip, no trigger to ask, no cache to read, nobody to
tell it started. It is most of the tasks of big flows, and its cost is a
dict of inputs, a copy of the context, the call and its state, all inline.

Every other unit, and a plain task whose run did not succeed, goes through
the general path (``FlowRun._start``, ``FlowRun._after_try``), so the loop's
invariants hold as they do there: each unit leaves ``ready`` once, and a
task is resolved exactly once, releasing its downstream tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater import triggers
from headwater._children import NOT_MAPPED
from headwater._taskrun import state_from_exception
from headwater.context import _pop, _push
from headwater.states import Cached, Pending, State, Success, _success

if TYPE_CHECKING:
    from headwater._runner import FlowRun

__all__ = ["drain_plain"]

_PENDING = Pending()  # a unit's state before its first try
_ALL_SUCCESSFUL = triggers.all_successful


def drain_plain(run: FlowRun) -> None:
    """Run every ready unit of ``run``, plain tasks inline (see the module docs).

    Returns when ``run.ready`` is empty; the downstream tasks a unit releases
    are run in the same call.
    """
    ready, states, blocked = run.ready, run.states, run.blocked
    graph = run.graph
    tasks, constants = graph.tasks, graph.constants
    all_upstream, all_downstream = graph.upstream, graph.downstream
    base_context = run.base_context
    released = run.released
    start, after_try, resolve = run._start, run._after_try, run._resolve
    while ready:
        unit = ready.popleft()
        index, map_index = unit
        task = tasks[index]
        if (
            map_index != NOT_MAPPED
            or task.trigger is not _ALL_SUCCESSFUL
            or task.mapped
            or task.cache_for is not None
            or task.state_handlers
            or task.timeout is not None
        ):
            start(unit, 1, True)
            continue
        inputs = dict(constants[index])
        for upstream_index, edge in all_upstream[index]:
            upstream_state = states[upstream_index]
            kind = type(upstream_state)
            if kind is not Success and kind is not Cached:
                break  # skips, failures, maps: the general path decides
            key = edge.key
            if key is not None:
                inputs[key] = upstream_state.result  # type: ignore[union-attr]
        else:
            context = base_context.copy()
            context["task_name"] = task.name
            context["task_slug"] = task.slug
            context["task_tags"] = task.tags
            token = _push(context)
            state: State
            try:
                state = _success(task.run(**inputs))
            except Exception as exc:
                state = state_from_exception(task, inputs, exc)
            finally:
                _pop(token)
            if type(state) is not Success:
                after_try(unit, 1, _PENDING, state)
            elif released:  # maps expanded that released maps early
                resolve(index, state)
            else:  # FlowRun._resolve, inline
                states[index] = state
                for downstream in all_downstream[index]:
                    blocked[downstream] -= 1
                    if not blocked[downstream]:
                        ready.append((downstream, NOT_MAPPED))
            continue
        start(unit, 1, True)
