"""Pickling for executors whose tasks cross a process boundary.

``cloudpickle`` is used when it is installed: it pickles functions defined in
``__main__``, closures and lambdas by value. Otherwise the standard ``pickle``
is used, and such tasks cannot be sent (the error names the task and says to
install cloudpickle). Both pickle read-only mappings (``MappingProxyType``,
e.g. ``context.parameters``) as copies.
"""

from __future__ import annotations

import copyreg
import importlib
import io
import pickle
import reprlib
import sys
import types
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from headwater.states import Failed, State, Success, _rebuild

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = [
    "PICKLER",
    "check_result",
    "dumps",
    "for_worker",
    "loads",
    "unpicklable_call_message",
]

# Options only the runner uses: a worker does not need them, and handlers
# often hold things that cannot be pickled (locks, clients, open files).
_RUNNER_ONLY = ("state_handlers", "on_failure", "trigger", "cache_validator")

try:
    import cloudpickle as _cloudpickle
except ImportError:  # pragma: no cover - exercised without the extra installed
    _cloudpickle = None

PICKLER = "cloudpickle" if _cloudpickle is not None else "pickle"
"""The name of the pickler in use, for messages."""

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


def _read_only(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    return (_read_only, (dict(proxy),))


def _decorated_function(module: str, qualname: str) -> Any:
    """The function that ``@task`` decorated, found through the task's name."""
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found.__wrapped__


class _Pickler(pickle.Pickler):
    """``pickle`` plus read-only mappings and ``@task`` functions.

    ``@task`` replaces a module's function by a task, so ``pickle`` cannot find
    the function by its name; it is found through the task instead.
    """

    dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _reduce_proxy}

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, types.FunctionType):
            return NotImplemented
        module, qualname = obj.__module__, obj.__qualname__
        found: Any = sys.modules.get(module)
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is not obj and getattr(found, "__wrapped__", None) is obj:
            return (_decorated_function, (module, qualname))
        return NotImplemented


def dumps(value: Any) -> bytes:
    """``value`` pickled with cloudpickle when installed, else ``pickle``.

    Raises:
        Exception: whatever the pickler raises for a value it cannot pickle
            (``PicklingError``, ``TypeError``, ``AttributeError``...).
    """
    if _cloudpickle is not None:
        data: bytes = _cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return data
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


loads = pickle.loads


def for_worker(task: Task[Any]) -> Task[Any]:
    """A shallow copy of ``task`` without its runner-only options, to pickle.

    Trigger, cache validator, state handlers and ``on_failure`` run in the
    runner's process; the copy keeps everything ``run`` may use.
    """
    if not any(name in task.__dict__ for name in _RUNNER_ONLY):
        return task
    copy = object.__new__(type(task))
    copy.__dict__.update(task.__dict__)
    for name in _RUNNER_ONLY:
        copy.__dict__.pop(name, None)
    return copy


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _hint() -> str:
    if _cloudpickle is None:
        return (
            "; cloudpickle is not installed, so functions must be importable by name "
            "(no lambdas, closures or functions defined in __main__): "
            "pip install 'headwater[processes]'"
        )
    return ""


def unpicklable_call_message(
    label: str, task: Task[Any], inputs: Mapping[str, Any], exc: BaseException
) -> str:
    """Why a try of ``task`` could not be sent to another process: names the culprit."""
    culprit = "the task (its function or options)"
    try:
        dumps(for_worker(task))
    except Exception as task_error:
        exc = task_error
    else:
        for key, value in inputs.items():
            try:
                dumps(value)
            except Exception as input_error:
                culprit = f"input {key!r} ({type(value).__name__}: {_short.repr(value)})"
                exc = input_error
                break
        else:
            culprit = "the task's context values"
    return (
        f"task {label} could not be sent to a worker process: {culprit} cannot be "
        f"pickled with {PICKLER} ({_error(exc)}){_hint()}"
    )


def check_result(label: str, state: State) -> State:
    """``state`` if it can be pickled; else a ``Failed`` state saying what could not.

    A result that cannot be pickled fails its task; an exception that cannot
    be pickled is replaced by a ``RuntimeError`` carrying its text.
    """
    try:
        dumps(state)
    except Exception as exc:
        if isinstance(state, Failed):
            fields = state._fields()
            fields["result"] = RuntimeError(
                f"{type(state.result).__name__}: {state.result} (the original exception "
                f"could not be pickled: {_error(exc)})"
            )
            return _rebuild(type(state), fields)
        what = "result" if isinstance(state, Success) else f"{type(state).__name__} state"
        return Failed(
            f"task {label} returned a {what} that cannot be pickled to send it back from "
            f"its worker process ({type(state.result).__name__}: {_error(exc)}); return "
            "picklable values, or run this task with ThreadExecutor or LocalExecutor",
            result=exc,
        )
    return state
