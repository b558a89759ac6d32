"""Parameter: a flow's input, supplied to ``flow.run(parameters=...)``."""

from __future__ import annotations

from typing import Any

from headwater._building import active_flow
from headwater._task import Task
from headwater.context import context
from headwater.errors import TaskDefinitionError

__all__ = ["Parameter"]


class _NoDefault:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no default>"


_NO_DEFAULT: Any = _NoDefault()


class Parameter(Task[Any]):
    """An input of a flow: its result is the value given to ``flow.run()``.

    A parameter's slug is its name and cannot be changed, so a flow holds at
    most one parameter of a name. Created inside ``with Flow(...)``, a
    parameter joins that flow at once, even before a task uses it.

    Args:
        name: the parameter's name (and slug).
        default: the value used when the run supplies none; giving one makes
            the parameter optional.
        required: force the parameter to be required (``True``) even with a
            default (then the default is informational), or optional
            (``False``) without one (then it defaults to ``None``).
        **task_options: other :class:`Task` options (tags, description ...).

    Example:
        >>> from headwater import Flow, Parameter, task
        >>> @task
        ... def greet(who: str) -> str:
        ...     return f"hello {who}"
        >>> with Flow("greet") as flow:
        ...     who = Parameter("who", default="world")
        ...     greeting = greet(who)
        >>> flow.run(parameters={"who": "ada"}).result[greeting].result
        'hello ada'
    """

    description: str | None = None  # not this class's docstring

    def __init__(
        self,
        name: str,
        default: Any = _NO_DEFAULT,
        required: bool | None = None,
        **task_options: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a Parameter's name must be a non-empty string, got {name!r}")
        slug = task_options.pop("slug", name)
        if slug != name:
            raise TaskDefinitionError(
                f"parameter {name!r}: a Parameter's slug is its name; drop slug={slug!r}"
            )
        super().__init__(name=name, **task_options)
        self.default = None if default is _NO_DEFAULT else default
        self.required = (default is _NO_DEFAULT) if required is None else bool(required)
        flow = active_flow.get()
        if flow is not None:
            flow.add_task(self)

    @property
    def slug(self) -> str:
        """The parameter's name: a parameter's slug is fixed to it."""
        return self.name

    @slug.setter
    def slug(self, value: str | None) -> None:
        if value is not None and value != self.name:
            raise TaskDefinitionError(
                f"parameter {self.name!r}: a Parameter's slug is its name and cannot be "
                f"changed to {value!r}"
            )

    def info(self) -> dict[str, Any]:
        """``{"name": ..., "required": ..., "default": ...}``."""
        return {"name": self.name, "required": self.required, "default": self.default}

    def run(self) -> Any:
        """The value supplied to ``flow.run(parameters=...)``, else the default."""
        return context.parameters.get(self.name, self.default)

    def __repr__(self) -> str:
        return f"<Parameter: {self.name}>"
