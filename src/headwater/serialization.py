"""Tasks and flows as JSON-compatible data, and back.

:func:`serialize_flow` describes a flow as plain data (``json.dumps`` works on
it); :func:`deserialize_flow` rebuilds an equivalent flow, importing each
task's function or class by its ``"module:qualname"`` path. Values that JSON
cannot hold (timedeltas, sets, callables, ...) go through one codec,
:func:`encode` / :func:`decode` (see ``headwater._codec`` for the format).

A task is described by its class (and, for ``@task`` functions, the function),
every task option, and the instance's own attributes that are not options
(such as ``Constant.value`` or ``Collect.template``), each through the codec.
A rebuilt task is made without calling the class's ``__init__``: the class is
imported, an instance is created and the recorded options and attributes are
set on it.

The flow format (``"format": "headwater.flow/1"``)::

    {"format": "headwater.flow/1", "name": ...,
     "tasks": [task, ...],                       # insertion order
     "edges": [{"upstream": slug, "downstream": slug, "key": ..., "mapped": ...}],
     "constants": {slug: {key: encoded value}},
     "reference_tasks": [slug, ...]}              # only when set explicitly

Only importable code round-trips: a lambda, a function defined inside another
function, or an object whose ``module:qualname`` imports to something else
raises :class:`~headwater.errors.SerializationError` naming the task, at
serialization time already.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from headwater._codec import decode, encode, import_path, resolve
from headwater._decorator import FunctionTask
from headwater._flow import Flow
from headwater._options import OPTIONS, check_option
from headwater._parameter import Parameter
from headwater._task import Task
from headwater.errors import SerializationError

__all__ = [
    "FORMAT",
    "decode",
    "deserialize_flow",
    "deserialize_task",
    "encode",
    "serialize_flow",
    "serialize_task",
]

FORMAT = "headwater.flow/1"
"""The ``"format"`` value of a serialized flow."""

_ORDER = (
    "name",
    "slug",
    "description",
    "group",
    "tags",
    "max_retries",
    "retry_delay",
    "timeout",
    "trigger",
    "propagate_skip",
    "cache_for",
    "cache_validator",
    "state_handlers",
    "on_failure",
    "nout",
    "cache_key",
)
# Options added later to ``_options`` are serialized too, after the known ones.
_OPTIONS = _ORDER + tuple(sorted(OPTIONS - set(_ORDER)))

# Instance attributes that are not "extra" state: options, bookkeeping, and
# what ``FunctionTask.__init__`` derives from the function.
_NOT_ATTRIBUTES = OPTIONS | {"mapped", "_explicit_slug", "_signature"}
_FUNCTION_ATTRIBUTES = frozenset(
    {"run", "__wrapped__", "__name__", "__qualname__", "__doc__", "__module__"}
)
_PARAMETER_ATTRIBUTES = frozenset({"default", "required"})


# -- tasks --------------------------------------------------------------------


def serialize_task(task: Task[Any]) -> dict[str, Any]:
    """A JSON-compatible description of ``task``.

    Args:
        task: the task; its class (and ``@task`` function) must be importable.

    Returns:
        ``{"class", ["function"], <every option>, "explicit_slug", "mapped",
        ["default", "required"], "attributes", "inputs"}``; ``inputs`` is
        informational (types as strings) and ignored when deserializing.

    Raises:
        SerializationError: the task's code is not importable, or an option or
            attribute has no JSON encoding (the message names which).

    Example:
        >>> from headwater import Task
        >>> data = serialize_task(Task(name="noop", tags={"io"}))
        >>> data["class"], data["name"], data["tags"]
        ('headwater._task:Task', 'noop', ['io'])
    """
    where = f"task {task.slug or task.name!r}"
    data: dict[str, Any] = {"class": _importable(type(task), where)}
    if isinstance(task, FunctionTask):
        function = task.__wrapped__

        def is_task_of_function(found: Any) -> bool:
            return isinstance(found, FunctionTask) and found.__wrapped__ is function

        data["function"] = _importable(function, where, accept=is_task_of_function)
    for option in _OPTIONS:
        value = getattr(task, option)
        if option == "tags":
            value = sorted(value)
        elif option == "state_handlers":
            value = list(value)
        data[option] = encode(value, f"{where}, option {option!r}")
    data["explicit_slug"] = bool(task._explicit_slug)
    data["mapped"] = bool(task.mapped)
    skipped = _skipped_attributes(task)
    if isinstance(task, Parameter):
        data["default"] = encode(task.default, f"parameter {task.name!r}, default")
        data["required"] = bool(task.required)
    data["attributes"] = {
        key: encode(value, f"{where}, attribute {key!r}")
        for key, value in vars(task).items()
        if key not in skipped
    }
    data["inputs"] = {
        name: {"required": bool(info["required"]), "type": _type_name(info["type"])}
        for name, info in task.inputs().items()
    }
    return data


def deserialize_task(data: Mapping[str, Any]) -> Task[Any]:
    """Rebuild a task from :func:`serialize_task`'s output.

    Raises:
        SerializationError: the class or function cannot be imported, or the
            data is malformed (the message names the task).

    Example:
        >>> from headwater import Task
        >>> deserialize_task(serialize_task(Task(name="noop", max_retries=1))).max_retries
        1
    """
    label = (data.get("slug") or data.get("name")) if isinstance(data, Mapping) else None
    try:
        return _build_task(data)
    except (SerializationError, KeyError, TypeError, ValueError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise SerializationError(f"cannot deserialize task {label!r}: {reason}") from exc


def _build_task(data: Mapping[str, Any]) -> Task[Any]:
    cls = resolve(data["class"])
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise SerializationError(f"{data['class']} is not a Task class")
    task: Task[Any] = object.__new__(cls)
    if "function" in data:
        if not isinstance(task, FunctionTask):
            raise SerializationError(f"{data['class']} is not a FunctionTask class")
        found = resolve(data["function"])
        function = found.__wrapped__ if isinstance(found, FunctionTask) else found
        if not callable(function):
            raise SerializationError(f"{data['function']} is not callable")
        FunctionTask.__init__(task, function)
    owner = data.get("name") or cls.__name__
    for option in _OPTIONS:
        if option == "slug" or option not in data:
            continue
        value = check_option(owner, option, decode(data[option]))
        if option == "trigger" and value is None:
            continue
        current = getattr(task, option)
        if not (value is current or (type(value) is type(current) and value == current)):
            setattr(task, option, value)
    if not isinstance(task, Parameter):
        if data.get("slug") is not None:
            task.slug = check_option(owner, "slug", data["slug"])
        if data.get("explicit_slug"):
            task._explicit_slug = True
    if data.get("mapped"):
        task.mapped = True
    state = task.__dict__
    if isinstance(task, Parameter):
        state["default"] = decode(data.get("default"))
        state["required"] = bool(data.get("required", True))
    skipped = _skipped_attributes(task)
    for key, value in (data.get("attributes") or {}).items():
        if key in skipped:
            raise SerializationError(f"attribute {key!r} is reserved and may not be set")
        state[key] = decode(value)
    return task


def _skipped_attributes(task: Task[Any]) -> frozenset[str]:
    skipped = _NOT_ATTRIBUTES
    if isinstance(task, FunctionTask):
        skipped |= _FUNCTION_ATTRIBUTES
    if isinstance(task, Parameter):
        skipped |= _PARAMETER_ATTRIBUTES
    return skipped


def _importable(obj: Any, where: str, accept: Any = None) -> str:
    try:
        return import_path(obj, accept=accept)
    except SerializationError as exc:
        raise SerializationError(f"{where} cannot be serialized: {exc}") from exc


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


# -- flows --------------------------------------------------------------------


def serialize_flow(flow: Flow) -> dict[str, Any]:
    """A JSON-compatible description of ``flow`` (see the module docs).

    Raises:
        SerializationError: a task is not importable, or a constant, option or
            attribute has no JSON encoding (the message names the task).

    Example:
        >>> import json
        >>> from headwater import Flow, Parameter
        >>> with Flow("demo") as flow:
        ...     x = Parameter("x", default=1)
        >>> data = serialize_flow(flow)
        >>> data["format"], [t["slug"] for t in data["tasks"]]
        ('headwater.flow/1', ['x'])
        >>> Flow.deserialize(json.loads(json.dumps(data))).run().is_successful()
        True
    """
    data: dict[str, Any] = {
        "format": FORMAT,
        "name": flow.name,
        "tasks": [serialize_task(task) for task in flow.tasks],
        "edges": [
            {
                "upstream": edge.upstream_task.slug,
                "downstream": edge.downstream_task.slug,
                "key": edge.key,
                "mapped": bool(edge.mapped),
            }
            for edge in flow.edges
        ],
        "constants": {
            task.slug: {
                key: encode(value, f"task {task.slug!r}, constant input {key!r}")
                for key, value in flow.constants[task].items()
            }
            for task in flow.tasks
            if flow.constants.get(task)
        },
    }
    if flow._reference_tasks:
        data["reference_tasks"] = [task.slug for task in flow._reference_tasks]
    if flow.state_handlers:
        data["state_handlers"] = encode(
            list(flow.state_handlers), f"flow {flow.name!r}, state_handlers"
        )
    if flow.on_failure is not None:
        data["on_failure"] = encode(flow.on_failure, f"flow {flow.name!r}, on_failure")
    return data


def deserialize_flow(data: Mapping[str, Any]) -> Flow:
    """Rebuild a flow from :func:`serialize_flow`'s output.

    Tasks keep their slugs; edges, constant inputs and reference tasks are
    restored. The flow's executor is not part of the data. Rebuilding imports
    the modules the data names (and running the flow runs their code): only
    deserialize data you trust.

    Raises:
        SerializationError: the data is not a serialized flow, or a task
            cannot be rebuilt (the message names its slug and why).
        CycleError: the edges form a cycle.

    Example:
        >>> from headwater import Flow, Parameter
        >>> with Flow("demo") as flow:
        ...     x = Parameter("x", default=1)
        >>> deserialize_flow(serialize_flow(flow)).get_tasks(slug="x")
        [<Parameter: x>]
    """
    if not isinstance(data, Mapping):
        raise SerializationError(
            f"expected the dict made by Flow.serialize(), got {type(data).__name__}"
        )
    if data.get("format") != FORMAT:
        raise SerializationError(
            f"unsupported flow format {data.get('format')!r}: this version of headwater "
            f"reads {FORMAT!r} (the output of Flow.serialize())"
        )
    try:
        return _build_flow(data)
    except KeyError as exc:
        raise SerializationError(f"malformed flow data: missing field {exc}") from exc


def _build_flow(data: Mapping[str, Any]) -> Flow:
    flow = Flow(
        data["name"],
        state_handlers=decode(data.get("state_handlers")),
        on_failure=decode(data.get("on_failure")),
    )
    by_slug: dict[str, Task[Any]] = {}
    for task_data in data["tasks"]:
        task = deserialize_task(task_data)
        slug = task.slug
        if slug is None or slug in by_slug:
            problem = "no slug" if slug is None else f"the duplicate slug {slug!r}"
            raise SerializationError(f"flow {flow.name!r}: task {task!r} has {problem}")
        flow.add_task(task)
        by_slug[slug] = task
    for edge in data["edges"]:
        flow.add_edge(
            _find(by_slug, edge["upstream"], "edge"),
            _find(by_slug, edge["downstream"], "edge"),
            edge.get("key"),
            validate=False,
            mapped=bool(edge.get("mapped", False)),
        )
    for slug, constants in (data.get("constants") or {}).items():
        task = _find(by_slug, slug, "constant")
        for key, value in constants.items():
            try:
                flow._set_constant(task, key, decode(value))
            except SerializationError as exc:
                raise SerializationError(f"task {slug!r}, constant input {key!r}: {exc}") from exc
    if data.get("reference_tasks"):
        flow.set_reference_tasks(
            [_find(by_slug, slug, "reference task") for slug in data["reference_tasks"]]
        )
    flow.sorted_tasks()  # raises CycleError now rather than at run()
    return flow


def _find(by_slug: Mapping[str, Task[Any]], slug: Any, what: str) -> Task[Any]:
    try:
        return by_slug[slug]
    except (KeyError, TypeError):
        raise SerializationError(
            f"a serialized {what} refers to task {slug!r}, which is not among the flow's tasks"
        ) from None
