"""``@task``: turn a plain function into a :class:`FunctionTask`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from typing_extensions import ParamSpec

from headwater._signature import RunSignature
from headwater._task import Task

__all__ = ["FunctionTask", "task"]

P = ParamSpec("P")
R = TypeVar("R")


class FunctionTask(Task[R], Generic[P, R]):
    """A task whose ``run`` is a plain function (what ``@task`` returns).

    The task keeps the function's ``__name__``, ``__qualname__``, ``__doc__``,
    ``__module__`` and ``__wrapped__``, so ``inspect.signature(t)`` and
    documentation tools see the function, and ``t.run(...)`` is typed exactly
    like the function.

    Args:
        fn: the function; it may not take ``*args`` or a reserved argument name.
        **task_options: any :class:`Task` option.
    """

    run: Callable[P, R]
    __wrapped__: Callable[P, R]
    description: str | None = None  # the function's docstring, not this class's

    def __init__(self, fn: Callable[P, R], **task_options: Any) -> None:
        if not callable(fn):
            raise TypeError(f"@task decorates a function, got {fn!r}")
        qualname = getattr(fn, "__qualname__", repr(fn))
        self._signature = RunSignature(fn, f"@task function {qualname}", is_method=False)  # type: ignore[misc]
        task_options.setdefault("name", getattr(fn, "__name__", None) or "task")
        if "description" not in task_options and fn.__doc__:
            task_options["description"] = inspect.cleandoc(fn.__doc__)
        super().__init__(**task_options)
        self.run = fn
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", self.name)
        self.__qualname__ = qualname
        self.__doc__ = fn.__doc__
        self.__module__ = getattr(fn, "__module__", None) or __name__

    def __repr__(self) -> str:
        slug = f" ({self.slug})" if self.slug else ""
        return f"<Task: {self.name}{slug}>"


@overload
def task(fn: Callable[P, R], /) -> FunctionTask[P, R]: ...


@overload
def task(
    fn: None = None, /, **task_options: Any
) -> Callable[[Callable[P, R]], FunctionTask[P, R]]: ...


def task(
    fn: Callable[P, R] | None = None, /, **task_options: Any
) -> FunctionTask[P, R] | Callable[[Callable[P, R]], FunctionTask[P, R]]:
    """Make a task from a function; use bare or with task options.

    Options are checked when the function is decorated, as is the function's
    signature (no ``*args``, no reserved argument names).

    Example:
        >>> from datetime import timedelta
        >>> from headwater import task
        >>> @task
        ... def add(x: int, y: int = 1) -> int:
        ...     return x + y
        >>> @task(name="load", max_retries=3, retry_delay=timedelta(seconds=0), tags={"io"})
        ... def load(path: str) -> str:
        ...     return path
        >>> add.run(1, 2), load.name, sorted(load.tags)
        (3, 'load', ['io'])
    """
    if fn is not None:
        if task_options:
            raise TypeError("use @task(...) with keyword options, or bare @task")
        return FunctionTask(fn)

    def decorate(function: Callable[P, R]) -> FunctionTask[P, R]:
        return FunctionTask(function, **task_options)

    return decorate
