"""What the Dask executor keeps in the cluster, and the functions its workers run.

A try is one Dask task (:func:`run_try`); what it leaves in the cluster tells
the client, by its *type* alone, how much the client must fetch (see
:func:`packed`). Dask reports the type of every finished task's value to the
client with the news that it finished, so a plain success costs no fetch: the
client makes its state from the type and a :class:`RemoteResult` handle.

A try's full state stays on a worker; the runner holds :class:`RemoteResult`
handles in its place. Before a try is submitted, handles in its inputs become
Dask futures (Dask resolves futures in arguments on the worker, so they arrive
as what the upstream tries left) plus *paths* saying where they were; the
worker (:func:`run_try`) swaps each for the result it holds. At the end of the
run the client fetches every handle's state and puts the values back
(:func:`gathered`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater._taskrun import describe_task
from headwater.executors._pickling import check_result
from headwater.states import Mapped, State, Success, _rebuild

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = [
    "Kept",
    "RemoteResult",
    "Whole",
    "gathered",
    "handles_in",
    "length",
    "listed",
    "packed",
    "replace_handles",
    "run_try",
    "settled",
    "state_of",
    "summarize",
    "to_futures",
    "with_result",
]


class RemoteResult:
    """A result kept in the Dask cluster: the future of the state holding it.

    ``index`` picks one element of that result (the elements a mapped task
    iterates). Results become real values when the run ends.
    """

    __slots__ = ("future", "index")

    def __init__(self, future: Any, index: int | None = None) -> None:
        self.future = future
        self.index = index

    def __repr__(self) -> str:
        element = "" if self.index is None else f"[{self.index}]"
        return f"<result of {self.future.key!r}{element}, kept in the Dask cluster>"


class _Wrapped:
    """A try's state, wrapped so that its type tells the client what to fetch."""

    __slots__ = ("state",)

    def __init__(self, state: State) -> None:
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.state,))


class Whole(_Wrapped):
    """A try's state that keeps no result in the cluster: the client fetches all of it.

    Failures, retries, skips and results of ``None``: the client needs each
    of them whole (a failure's exception, a retry's time) and they are small.
    """

    __slots__ = ()


class Kept(_Wrapped):
    """A success keeping a result, with more to tell than a plain ``Success``.

    A signal's message, say: the client fetches its state without the result
    (:func:`summarize`), in a second Dask task. Rare; a plain ``Success`` is
    left as it is (see :func:`packed`).
    """

    __slots__ = ()


def packed(state: State) -> Any:
    """What a try leaves in the cluster: its state, wrapped to say what the client needs.

    The client tells the three apart by the type Dask reports, before it
    fetches anything: a ``Success`` (no message, a result) needs no fetch at
    all; a :class:`Whole` is fetched; a :class:`Kept` is summarized.
    """
    if type(state) is Success and state.message is None and state.result is not None:
        return state
    if isinstance(state, Success) and state.result is not None:
        return Kept(state)
    return Whole(state)


def state_of(value: Any) -> State:
    """The state in what a try left in the cluster (see :func:`packed`)."""
    if isinstance(value, _Wrapped):
        return value.state
    state: State = value
    return state


def settled(value: Any, future: Any) -> State:
    """The client's state of a try from what it left in the cluster, fetched.

    A result worth keeping stays a :class:`RemoteResult` (handlers and the
    runner see the same on every path).
    """
    state = state_of(value)
    if isinstance(value, Whole) or not isinstance(state, Success) or state.result is None:
        return state
    return with_result(state, RemoteResult(future))


def with_result(state: State, result: Any) -> State:
    """A copy of ``state`` with another ``result``."""
    fields = state._fields()
    fields["result"] = result
    return _rebuild(type(state), fields)


def _value_of(handle: RemoteResult, fetched: Mapping[Any, State]) -> Any:
    result = fetched[handle.future].result
    return result if handle.index is None else result[handle.index]


def gathered(state: State, fetched: Mapping[Any, State]) -> State:
    """``state`` (and a map's children) with handles replaced by fetched values."""
    if isinstance(state, Mapped):
        children = [gathered(child, fetched) for child in state.map_states]
        fields = state._fields()
        fields["map_states"] = tuple(children)
        fields["result"] = [child.result for child in children]
        return _rebuild(type(state), fields)
    if isinstance(state.result, RemoteResult):
        source = fetched[state.result.future]
        if source.is_failed():  # only a lost result: what was kept is a success
            return source
        return with_result(state, _value_of(state.result, fetched))
    return state


def handles_in(value: Any) -> list[Any]:
    """The futures behind the handles in ``value``, a dict of inputs or a result."""
    found: dict[Any, None] = {}
    items = value.values() if isinstance(value, dict) else [value]
    for item in items:
        for element in item if isinstance(item, list) else [item]:
            if isinstance(element, RemoteResult):
                found[element.future] = None
    return list(found)


def replace_handles(value: Any, fetched: Mapping[Any, State]) -> Any:
    """``value`` with every handle in it replaced by its fetched value."""
    if isinstance(value, RemoteResult):
        return _value_of(value, fetched)
    if isinstance(value, list):
        return [replace_handles(element, fetched) for element in value]
    if isinstance(value, dict):
        return {key: replace_handles(element, fetched) for key, element in value.items()}
    return value


def to_futures(inputs: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Inputs with remote results replaced by their futures, and where they were.

    A path is ``(key, None, index)`` for an input that is a remote result, or
    ``(key, position, index)`` for a list element (a map's results).
    """
    arguments = dict(inputs)
    paths: list[tuple[str, Any]] = []
    for key, value in inputs.items():
        if isinstance(value, RemoteResult):
            arguments[key] = value.future
            paths.append((key, (None, value.index)))
        elif isinstance(value, list) and any(isinstance(v, RemoteResult) for v in value):
            elements = list(value)
            for position, element in enumerate(value):
                if isinstance(element, RemoteResult):
                    elements[position] = element.future
                    paths.append((key, (position, element.index)))
            arguments[key] = elements
    return arguments, paths


# -- worker-side functions (never raise) ----------------------------------------------


def run_try(
    fn: Callable[..., State],
    task: Task[Any],
    inputs: dict[str, Any],
    paths: list[tuple[str, Any]],
    context_values: Mapping[str, Any],
    timeout: float | None,
) -> Any:
    """Run one try on a worker; return its state :func:`packed`.

    The upstream futures arrive as what their tries left (full states).
    """
    for key, (position, index) in paths:
        holder = state_of(inputs[key] if position is None else inputs[key][position])
        value = holder.result if index is None else holder.result[index]
        if position is None:
            inputs[key] = value
        else:
            inputs[key][position] = value
    state = fn(task, inputs, context_values, timeout)
    return packed(check_result(describe_task(task), state))


def summarize(value: Any) -> State:
    """What the client needs of a kept success: all of its state but the result."""
    return with_result(state_of(value), None)


def listed(left: Any, index: int | None) -> State:
    """A state whose result is ``list(result)``, or the result itself if not iterable.

    ``left`` is what the try holding the result left in the cluster.
    """
    state = state_of(left)
    value = state.result if index is None else state.result[index]
    try:
        return Success(result=list(value))
    except TypeError:
        return Success(result=value)


def length(state: State) -> int | str:
    """The length of a listed result, or its type's name if it is no list."""
    value = state.result
    return len(value) if isinstance(value, list) else type(value).__name__
