"""The small pure steps that decide one task run's state.

The runner calls them in this order for each task (or mapped child)::

    upstream_decision  -> skip propagation, then the trigger     (parent side)
    cached_state       -> a valid cache entry, if any            (parent side)
    run_attempt        -> call run() under the task's context    (worker side)
    after_attempt      -> retry or finish                        (parent side)

Each takes explicit inputs and returns a ``State`` (or ``None`` for "go on").
None of them logs or touches global state except ``run_attempt``, which sets
the task's context for the duration of the call. ``run_attempt`` never raises
an ``Exception``: failures become ``Failed`` states, so the function can run in
another thread or process and return a plain value.
"""

from __future__ import annotations

import contextvars
import reprlib
import threading
import traceback
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from headwater import cache_validators, signals, triggers
from headwater._fingerprint import fingerprint_mapping
from headwater.context import _pop, _push
from headwater.states import (
    Cached,
    Failed,
    Pending,
    Retrying,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    _success,
)

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._task import Task

__all__ = [
    "after_attempt",
    "cached_state",
    "describe_exception",
    "describe_task",
    "failed_from_exception",
    "failed_from_handler",
    "new_cache_entry",
    "run_attempt",
    "state_from_exception",
    "upstream_decision",
    "with_cache_note",
]

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40
_short.maxlist = 4
_short.maxdict = 4
_MAX_LISTED = 5


def describe_task(task: Task[Any]) -> str:
    """``'slug' (module.qualname)``: how messages name a task."""
    function = getattr(task, "__wrapped__", None) or type(task)
    module = getattr(function, "__module__", "?")
    return f"{task.slug!r} ({module}.{getattr(function, '__qualname__', '?')})"


def describe_exception(exc: BaseException) -> str:
    """``'ValueError: message'``, also for an exception whose ``str()`` fails."""
    try:
        text = str(exc)
    except Exception:
        text = "<str() of the exception failed>"
    return f"{type(exc).__name__}: {text}"


def _list_upstream(upstream_states: Mapping[Edge, State], wanted: Any = None) -> str:
    seen: dict[str, str] = {}
    for edge, state in upstream_states.items():
        if wanted is None or wanted(state):
            seen.setdefault(str(edge.upstream_task.slug), type(state).__name__)
    items = [f"{slug} ({name})" for slug, name in seen.items()]
    if len(items) > _MAX_LISTED:
        items = [*items[:_MAX_LISTED], f"and {len(items) - _MAX_LISTED} more"]
    return ", ".join(items)


def upstream_decision(
    task: Task[Any], upstream_states: Mapping[Edge, State], *, check_trigger: bool = True
) -> State | None:
    """Skip propagation, then the trigger. ``None`` means: go on and run.

    Args:
        task: the task deciding.
        upstream_states: the state of each edge into it.
        check_trigger: ``False`` for the parent of a mapped task whose
            children each ask the trigger about their own elements.

    Returns:
        ``Skipped`` when ``propagate_skip`` and an upstream task was skipped;
        ``Pending`` when the trigger refuses and some upstream task did not
        finish (it may be waiting); ``TriggerFailed`` when it refuses
        otherwise; the signal's state when the trigger raised a signal.
    """
    if not upstream_states:
        return None
    if task.propagate_skip and any(state.is_skipped() for state in upstream_states.values()):
        skipped = _list_upstream(upstream_states, State.is_skipped)
        return Skipped(f"skipped because upstream {skipped} skipped (propagate_skip=True)")
    if not check_trigger:
        return None
    trigger = task.trigger
    try:
        accepted = trigger(upstream_states)
    except signals.Signal as signal:
        return signal_state(signal)
    except Exception as exc:
        return TriggerFailed(
            f"trigger {triggers.trigger_name(trigger)} of task {task.slug!r} raised "
            f"{describe_exception(exc)}",
            result=exc,
            traceback=traceback.format_exc(),
        )
    if accepted:
        return None
    if not all(state.is_finished() for state in upstream_states.values()):
        unfinished = _list_upstream(upstream_states, lambda s: not s.is_finished())
        return Pending(f"not run: upstream {unfinished} did not finish")
    return TriggerFailed(
        f"trigger {triggers.trigger_name(trigger)} refused to run task {task.slug!r}; "
        f"upstream: {_list_upstream(upstream_states)}"
    )


def signal_state(signal: signals.Signal) -> State:
    """The state a signal stands for."""
    return signal.state(message=signal.message, result=signal.result)


def run_attempt(
    task: Task[Any],
    inputs: Mapping[str, Any],
    context_values: Mapping[str, Any],
    timeout: float | None = None,
) -> State:
    """Call ``task.run(**inputs)`` with the task's context set; return a state.

    With a ``timeout``, the call runs in a helper thread and is abandoned at
    the deadline (``TimedOut``): a Python thread cannot be stopped, so it may
    go on in the background. Executors that own processes stop it for real.
    ``KeyboardInterrupt`` and ``SystemExit`` propagate.
    """
    if timeout is not None:
        return _run_with_deadline(task, inputs, context_values, timeout)
    token = _push(context_values)
    try:
        return _success(task.run(**inputs))
    except Exception as exc:
        return state_from_exception(task, inputs, exc)
    finally:
        _pop(token)


def state_from_exception(task: Task[Any], inputs: Mapping[str, Any], exc: Exception) -> State:
    """The state a try ends in when ``task.run`` raised ``exc`` (a signal or an error)."""
    if isinstance(exc, signals.Signal):
        return signal_state(exc)
    return failed_from_exception(task, inputs, exc)


def failed_from_exception(task: Task[Any], inputs: Mapping[str, Any], exc: BaseException) -> Failed:
    """A ``Failed`` state naming the task, its function and a view of its inputs."""
    shown = ", ".join(f"{key}={_short.repr(value)}" for key, value in list(inputs.items())[:6])
    return Failed(
        f"task {describe_task(task)} failed with {describe_exception(exc)}"
        + (f" (inputs: {shown})" if shown else ""),
        result=exc,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def failed_from_handler(
    owner: str, old: State, new: State, exc: Exception, result: Any = None
) -> Failed:
    """The ``Failed`` state that replaces ``new`` when a state handler raised.

    Args:
        owner: how the message names the task or flow (``"task 'a-1' (m.f)"``).
        old: the state being left.
        new: the state the handler was given.
        exc: what the handler raised.
        result: the state's result (default: the exception).
    """
    return Failed(
        f"a state handler of {owner} raised {describe_exception(exc)} (on the change "
        f"{type(old).__name__} -> {type(new).__name__}; the handler must not raise)",
        result=exc if result is None else result,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def _run_with_deadline(
    task: Task[Any], inputs: Mapping[str, Any], context_values: Mapping[str, Any], timeout: float
) -> State:
    outcome: list[State] = []
    done = threading.Event()

    def target() -> None:
        try:
            outcome.append(run_attempt(task, inputs, context_values))
        except BaseException as exc:
            outcome.append(failed_from_exception(task, inputs, exc))
        finally:
            done.set()

    helper = threading.Thread(
        target=contextvars.copy_context().run,
        args=(target,),
        name=f"headwater-timeout-{task.slug}",
        daemon=True,
    )
    helper.start()
    if done.wait(timeout) and outcome:
        return outcome[0]
    return TimedOut(
        f"task {describe_task(task)} exceeded its timeout of {timeout:g}s; headwater stopped "
        "waiting for it (a Python thread cannot be killed, so its code may still be running)"
    )


def after_attempt(task: Task[Any], state: State, run_count: int, now: float) -> State:
    """Turn a try's state into a retry when retries remain, else keep it.

    ``RETRY`` retries even past ``max_retries``; ``TriggerFailed`` never retries.
    """
    if type(state) is Retrying:
        delay = task.retry_delay.total_seconds()
        return Retrying(state.message, state.result, now + delay, run_count)
    retryable = isinstance(state, Failed) and not isinstance(state, TriggerFailed)
    if retryable and run_count <= task.max_retries:
        delay = task.retry_delay.total_seconds()
        return Retrying(
            f"try {run_count} of {task.max_retries + 1} failed; retrying in {delay:g}s: "
            f"{state.message}",
            state.result,
            now + delay,
            run_count,
        )
    return state


def cached_state(
    task: Task[Any],
    candidates: Sequence[Cached],
    inputs: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> Cached | None:
    """The first candidate the task's validator accepts, as a new ``Cached``."""
    validator = task.cache_validator or cache_validators.duration_only
    for candidate in candidates:
        if validator(candidate, inputs, parameters):
            return Cached(
                f"result reused from the cache (validator {triggers.trigger_name(validator)})",
                candidate.result,
                candidate.cached_inputs,
                candidate.cached_parameters,
                candidate.expiration,
            )
    return None


def new_cache_entry(
    task: Task[Any], result: Any, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
) -> Cached:
    """The entry to store for a successful run of a task with ``cache_for``."""
    cache_for: timedelta = task.cache_for or timedelta(0)
    input_prints = fingerprint_mapping(inputs)
    note = _unfingerprintable_note(input_prints)
    return Cached(
        "cached result" + (f"; {note}" if note else ""),
        result,
        input_prints,  # type: ignore[arg-type]
        fingerprint_mapping(parameters),  # type: ignore[arg-type]
        cache_validators._now() + cache_for,
    )


def with_cache_note(state: State, entry: Cached) -> State:
    """``state`` (a ``Success`` being cached), saying which inputs cannot be compared.

    An input without a stable fingerprint cannot be compared with a later
    run's, so validators that compare inputs will never reuse the entry: the
    task's state says so, instead of the cache silently missing.
    """
    note = _unfingerprintable_note(entry.cached_inputs or {})
    if note is None:
        return state
    return Success(note if state.message is None else f"{state.message}; {note}", state.result)


def _unfingerprintable_note(prints: Mapping[str, str | None]) -> str | None:
    missing = [key for key, value in prints.items() if value is None]
    if not missing:
        return None
    return (
        f"input{'s' * (len(missing) > 1)} {', '.join(missing)} "
        f"{'have' if len(missing) > 1 else 'has'} no stable fingerprint, so cache "
        "validators that compare inputs (all_inputs, partial_inputs_only) will not reuse "
        "this result"
    )
