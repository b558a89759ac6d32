"""Task: the unit of work, and the user's handle for building graphs.

A ``Task`` holds its options (retries, timeout, trigger, cache...) and a
``run`` method. Calling a task inside ``with Flow(...)`` does not run it: it
copies the task, adds the copy to the flow, and records where its inputs come
from (upstream tasks become edges, other values become constants).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from typing_extensions import Self

from headwater import triggers
from headwater._building import active_flow
from headwater._options import OPTIONS, check_option, warn_validator_without_cache
from headwater._signature import RunSignature
from headwater.errors import NoActiveFlowError

if TYPE_CHECKING:
    from headwater._flow import Flow
    from headwater.states import State

__all__ = ["Task", "unmapped"]

R = TypeVar("R")

_DEFAULT_RETRY_DELAY = timedelta(minutes=1)


class unmapped:
    """Mark an argument of ``Task.map`` to be passed whole to every child.

    Example:
        >>> from headwater import Flow, task, unmapped
        >>> @task
        ... def scale(x: int, factor: int) -> int:
        ...     return x * factor
        >>> with Flow("m") as flow:
        ...     scaled = scale.map([1, 2, 3], factor=unmapped(10))
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"unmapped({self.value!r})"


class Task(Generic[R]):
    """A unit of work: subclass it and implement ``run``, or use ``@task``.

    Args:
        name: display name; defaults to the class name.
        slug: unique id inside a flow; generated (``name-N``) when not given.
        description: free text; defaults to the class docstring.
        group: a free-form grouping label.
        tags: a set of strings (a bare string is a ``TypeError``).
        max_retries: how many further tries a failed run gets.
        retry_delay: the wait between tries (``timedelta`` or seconds).
        timeout: seconds or ``timedelta``; a longer run ends ``TimedOut``.
        trigger: ``fn(upstream_states) -> bool``; default
            ``triggers.all_successful``.
        propagate_skip: skip this task when any upstream task was skipped.
        cache_for: how long a successful result is reused (``timedelta``).
        cache_validator: decides whether a cached result is reused; default
            ``cache_validators.duration_only`` when ``cache_for`` is set.
        state_handlers: callables ``fn(task, old_state, new_state)`` called on
            every state change; one may return a replacement state.
        on_failure: ``fn(task, state)`` called once when the task ends failed.
        nout: how many items the result has, so that ``a, b = t(...)`` unpacks.
        cache_key: share cached results between tasks (also across flows)
            that set the same key; default: one cache per flow and task slug.

    A subclass may set any option but ``name``/``slug``/``description`` in its
    class body (``max_retries = 3``); it is validated when the class is defined
    and applies unless the constructor gets a value other than ``Task``'s default.

    Example:
        >>> from headwater import Flow, Task
        >>> class Double(Task[int]):
        ...     def run(self, x: int) -> int:
        ...         return 2 * x
        >>> with Flow("double") as flow:
        ...     result = Double()(x=21)
        >>> flow.run().result[result].result
        42
    """

    # Options live on the class as defaults; instances store only what differs,
    # which keeps tasks small and ``copy()`` cheap for flows of 100,000 tasks.
    name: str = "Task"
    slug: str | None = None
    description: str | None = None
    group: str | None = None
    tags: frozenset[str] = frozenset()
    max_retries: int = 0
    retry_delay: timedelta = _DEFAULT_RETRY_DELAY
    timeout: float | None = None
    trigger: triggers.Trigger = staticmethod(triggers.all_successful)
    propagate_skip: bool = False
    cache_for: timedelta | None = None
    cache_validator: Any = None
    state_handlers: tuple[Any, ...] = ()
    on_failure: Any = None
    nout: int | None = None
    cache_key: str | None = None
    mapped: bool = False
    _explicit_slug: bool = False
    _signature: ClassVar[RunSignature]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "run" in cls.__dict__:
            cls._signature = RunSignature(cls.run, f"{cls.__qualname__}.run", is_method=True)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__
        doc = cls.__dict__.get("__doc__")
        if doc and "description" not in cls.__dict__:
            cls.description = inspect.cleandoc(doc)
        _normalize_class_options(cls)

    def __init__(
        self,
        name: str | None = None,
        slug: str | None = None,
        description: str | None = None,
        group: str | None = None,
        tags: Iterable[str] | None = None,
        max_retries: int = 0,
        retry_delay: timedelta | float = _DEFAULT_RETRY_DELAY,
        timeout: float | timedelta | None = None,
        trigger: triggers.Trigger | None = None,
        propagate_skip: bool = False,
        cache_for: timedelta | None = None,
        cache_validator: Any = None,
        state_handlers: Iterable[Any] | None = None,
        on_failure: Any = None,
        nout: int | None = None,
        cache_key: str | None = None,
    ) -> None:
        given = {
            "name": name,
            "slug": slug,
            "description": description,
            "group": group,
            "tags": tags,
            "max_retries": max_retries,
            "retry_delay": retry_delay,
            "timeout": timeout,
            "trigger": trigger,
            "propagate_skip": propagate_skip,
            "cache_for": cache_for,
            "cache_validator": cache_validator,
            "state_handlers": state_handlers,
            "on_failure": on_failure,
            "nout": nout,
            "cache_key": cache_key,
        }
        self._set_options(
            {
                key: value
                for key, value in given.items()
                if value is not None and not _is_signature_default(key, value)
            }
        )

    def _set_options(self, options: dict[str, Any]) -> None:
        owner = options.get("name") or self.name
        for option, value in options.items():
            normalized = check_option(owner, option, value)
            if option == "trigger" and normalized is None:
                continue
            if option not in self.__dict__ and _class_default(self, option) == normalized:
                continue  # the class already says so: keep the instance small
            setattr(self, option, normalized)
        if "slug" in options:
            self._explicit_slug = options["slug"] is not None
        if self.cache_validator is not None and self.cache_for is None:
            warn_validator_without_cache(owner)

    # -- the unit of work ----------------------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The work this task does; subclasses implement it.

        Its arguments are the task's inputs: each one is an upstream task's
        result or a constant given when the task was called in a flow.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")

    def inputs(self) -> dict[str, dict[str, Any]]:
        """``run()``'s argument names -> ``{"required", "default", "type"}``.

        Example:
            >>> from headwater import task
            >>> @task
            ... def add(x: int, y: int = 1) -> int:
            ...     return x + y
            >>> add.inputs()["y"]["default"]
            1
        """
        return self._signature.inputs()

    # -- copying and binding -------------------------------------------------

    def copy(self, **attribute_overrides: Any) -> Self:
        """A new task with the same options, except those overridden.

        A generated slug is not copied (the copy gets its own when added to a
        flow); a slug given explicitly is kept unless overridden.

        Raises:
            TypeError: an override names no task option or has the wrong type.
        """
        new = object.__new__(type(self))
        attributes = new.__dict__
        attributes.update(self.__dict__)
        if "slug" in attributes and not self._explicit_slug:
            del attributes["slug"]
        if attribute_overrides:
            unknown = set(attribute_overrides) - OPTIONS
            for name in unknown:
                if not hasattr(new, name):
                    raise TypeError(f"task {self.name!r}: copy() got an unknown attribute {name!r}")
            new._set_options({k: v for k, v in attribute_overrides.items() if k in OPTIONS})
            for name in unknown:
                setattr(new, name, attribute_overrides[name])
        return new

    def bind(
        self,
        *args: Any,
        upstream_tasks: Iterable[Task[Any]] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Self:
        """Add this task (not a copy) to a flow with the given inputs.

        Arguments bind to ``run()``'s arguments like a normal call: tasks
        become upstream data edges, other values constants. ``upstream_tasks``
        adds state-only edges.

        Raises:
            NoActiveFlowError: not inside ``with Flow(...)`` and no ``flow=``.
            TypeError: the arguments do not match ``run()``.
            GraphError: the edges would break the flow (it is left unchanged).
        """
        target = _resolve_flow(self, flow)
        arguments = self._signature.bind(self.name, args, kwargs, partial=False)
        target._bind(self, arguments, upstream_tasks, mapped=False)
        return self

    def __call__(
        self,
        *args: Any,
        upstream_tasks: Iterable[Task[Any]] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Self:
        """Copy this task, then bind the copy (see :meth:`bind`)."""
        target = flow or active_flow.get() or _resolve_flow(self, flow)
        signature = self._signature
        if kwargs or len(args) != signature.arity:
            arguments = signature.bind(self.name, args, kwargs, partial=False)
        else:  # the usual call, bound here: this is the hot path of building
            arguments = dict(zip(signature.positional, args, strict=True))
        new = self.copy()
        if not upstream_tasks:  # None or empty: the common call
            target._add_called(new, arguments)
        else:
            target._bind(new, arguments, upstream_tasks, mapped=False)
        return new

    def map(
        self,
        *args: Any,
        upstream_tasks: Iterable[Task[Any]] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Self:
        """A mapped copy: it runs once per element of its mapped inputs.

        Every argument is iterated (zipped with the others) unless wrapped in
        :class:`unmapped`; ``upstream_tasks`` are state-only and unmapped.
        """
        target = _resolve_flow(self, flow)
        arguments = self._signature.bind(self.name, args, kwargs, partial=False)
        new = self.copy()
        new.mapped = True
        target._bind(new, arguments, upstream_tasks, mapped=True)
        return new

    # -- dependencies --------------------------------------------------------

    def set_dependencies(
        self,
        flow: Flow | None = None,
        upstream_tasks: Iterable[Task[Any]] | None = None,
        downstream_tasks: Iterable[Task[Any]] | None = None,
        keyword_tasks: dict[str, Any] | None = None,
        validate: bool = True,
    ) -> None:
        """Add this task and the given edges to ``flow`` (or the active flow)."""
        _resolve_flow(self, flow).set_dependencies(
            self,
            upstream_tasks=upstream_tasks,
            downstream_tasks=downstream_tasks,
            keyword_tasks=keyword_tasks,
            validate=validate,
        )

    def set_upstream(
        self, task: Task[Any], key: str | None = None, flow: Flow | None = None
    ) -> None:
        """Make ``task`` upstream of this one (a data edge when ``key`` is given)."""
        if key is None:
            self.set_dependencies(flow=flow, upstream_tasks=[task])
        else:
            self.set_dependencies(flow=flow, keyword_tasks={key: task})

    def set_downstream(
        self, task: Task[Any], key: str | None = None, flow: Flow | None = None
    ) -> None:
        """Make ``task`` downstream of this one (a data edge when ``key`` is given)."""
        if key is None:
            self.set_dependencies(flow=flow, downstream_tasks=[task])
        else:
            task.set_dependencies(flow=flow, keyword_tasks={key: self})

    # -- serialization -------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """A JSON-compatible description of this task (see the docs' section 6)."""
        from headwater.serialization import serialize_task

        return serialize_task(self)

    # -- operators: each creates a task in the active flow -------------------

    def __getitem__(self, key: Any) -> Task[Any]:
        from headwater._operators import GetItem

        return GetItem().bind(self, key)

    def __iter__(self) -> Iterator[Task[Any]]:
        if self.nout is None:
            raise TypeError(
                f"task {self.name!r} is not iterable while building a flow: its result "
                "does not exist yet. Index it (t[0], t[1]) or give the task nout=N to "
                "unpack it into N tasks"
            )
        return (self[index] for index in range(self.nout))

    def is_equal(self, other: Any) -> Task[bool]:
        """A task whose result is ``self_result == other`` (``==`` itself is
        not overloaded: tasks are compared by identity, as set members)."""
        from headwater._operators import Equal

        return Equal().bind(self, other)

    def not_equal(self, other: Any) -> Task[bool]:
        """A task whose result is ``self_result != other``."""
        from headwater._operators import NotEqual

        return NotEqual().bind(self, other)

    def __repr__(self) -> str:
        slug = f" ({self.slug})" if self.slug else ""
        return f"<{type(self).__name__}: {self.name}{slug}>"

    if TYPE_CHECKING:
        # Operators are installed by headwater._operators; declared here for mypy.
        def __add__(self, other: Any) -> Task[Any]: ...
        def __radd__(self, other: Any) -> Task[Any]: ...
        def __sub__(self, other: Any) -> Task[Any]: ...
        def __rsub__(self, other: Any) -> Task[Any]: ...
        def __mul__(self, other: Any) -> Task[Any]: ...
        def __rmul__(self, other: Any) -> Task[Any]: ...
        def __truediv__(self, other: Any) -> Task[Any]: ...
        def __rtruediv__(self, other: Any) -> Task[Any]: ...
        def __floordiv__(self, other: Any) -> Task[Any]: ...
        def __rfloordiv__(self, other: Any) -> Task[Any]: ...
        def __mod__(self, other: Any) -> Task[Any]: ...
        def __rmod__(self, other: Any) -> Task[Any]: ...
        def __pow__(self, other: Any) -> Task[Any]: ...
        def __rpow__(self, other: Any) -> Task[Any]: ...
        def __lt__(self, other: Any) -> Task[bool]: ...
        def __le__(self, other: Any) -> Task[bool]: ...
        def __gt__(self, other: Any) -> Task[bool]: ...
        def __ge__(self, other: Any) -> Task[bool]: ...
        def __and__(self, other: Any) -> Task[Any]: ...
        def __rand__(self, other: Any) -> Task[Any]: ...
        def __or__(self, other: Any) -> Task[Any]: ...
        def __ror__(self, other: Any) -> Task[Any]: ...
        def __invert__(self) -> Task[bool]: ...

    # Hooks the runner calls around state changes; kept here so that task
    # subclasses can override them.
    def _handle_state_change(self, old_state: State, new_state: State) -> State:
        for handler in self.state_handlers:
            replacement = handler(self, old_state, new_state)
            if replacement is not None:
                new_state = replacement
        return new_state


def _accepts_anything(self: Any, **inputs: Any) -> None:
    """The base Task's run: accepts any keyword input (it is never called)."""


Task._signature = RunSignature(_accepts_anything, "Task.run", is_method=True)


_NO_DEFAULT = object()

# Options whose ``__init__`` default is not None. A value equal to the default is
# not applied, so that a subclass's class-level option (``max_retries = 2`` in
# the class body) is not overridden by the argument the caller never gave.
_SIGNATURE_DEFAULTS: dict[str, Any] = {
    "max_retries": 0,
    "retry_delay": _DEFAULT_RETRY_DELAY,
    "propagate_skip": False,
}

# Options holding a function: set in a class body they must stay plain
# functions, not become methods of the task.
_FUNCTION_OPTIONS = ("trigger", "cache_validator", "on_failure")


def _is_signature_default(option: str, value: Any) -> bool:
    default = _SIGNATURE_DEFAULTS.get(option, _NO_DEFAULT)
    return default is not _NO_DEFAULT and type(value) is type(default) and value == default


def _normalize_class_options(cls: type[Task[Any]]) -> None:
    """Validate the options a subclass sets in its body, as ``__init__`` would."""
    for option in OPTIONS:
        if option in ("name", "slug", "description") or option not in cls.__dict__:
            continue
        value = cls.__dict__[option]
        if isinstance(value, (property, functools.cached_property)):
            continue  # computed per instance: nothing to check here
        if isinstance(value, staticmethod):
            value = value.__func__
        normalized = check_option(cls.__qualname__, option, value)
        if option in _FUNCTION_OPTIONS and normalized is not None:
            normalized = staticmethod(normalized)
        if option == "trigger" and normalized is None:
            normalized = staticmethod(triggers.all_successful)
        setattr(cls, option, normalized)


def _class_default(task: Task[Any], option: str) -> Any:
    """The value ``option`` has on ``task``'s class (a property counts as none)."""
    value = getattr(type(task), option, _NO_DEFAULT)
    return _NO_DEFAULT if isinstance(value, property) else value


def _resolve_flow(task: Task[Any], flow: Flow | None) -> Flow:
    if flow is not None:
        return flow
    current = active_flow.get()
    if current is None:
        raise NoActiveFlowError(
            f"task {task.name!r} was called outside a flow. Calling a task builds a "
            "graph: do it inside `with Flow('name') as flow:` (or pass flow=...). To "
            f"run the function now, call {task.name}.run(...) or the original function."
        )
    return current
