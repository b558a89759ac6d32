"""The running task's context: ``headwater.context``.

Inside a running task, ``context`` is a read-only mapping (also readable as
attributes) describing the run::

    flow_name, flow_run_id, parameters,
    task_name, task_slug, task_tags, map_index, task_run_count, is_waiting,
    logger

It is backed by a :class:`contextvars.ContextVar`, so every task run sees its
own values, also when tasks run concurrently in threads. Outside a run the
keys above read as neutral defaults (``task_run_count`` 1, ``map_index`` None,
...), so task code can be called directly in tests.

``with context(key=value):`` sets extra values for the code inside, and a flow
run started inside such a block passes them on to its tasks:

    >>> from headwater import context
    >>> with context(region="eu"):
    ...     context.region
    'eu'
    >>> context.task_run_count
    1
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

__all__ = ["Context", "context"]

_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "flow_name": None,
        "flow_run_id": None,
        "parameters": MappingProxyType({}),
        "task_name": None,
        "task_slug": None,
        "task_tags": frozenset(),
        "map_index": None,
        "task_run_count": 1,
        "is_waiting": False,
    }
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})

_current: ContextVar[Mapping[str, Any]] = ContextVar("headwater_context", default=_EMPTY)

TASK_LOGGER_PREFIX = "headwater.task"


def task_logger(task_name: str | None) -> logging.Logger:
    """The logger for a task's code: a child of the ``headwater`` logger."""
    if not task_name:
        return logging.getLogger(TASK_LOGGER_PREFIX)
    return logging.getLogger(f"{TASK_LOGGER_PREFIX}.{task_name}")


# Set and reset on every task run: the ContextVar's own methods, no wrapper.
_push = _current.set
"""Make ``values`` the current context; return the token to restore it."""
_pop = _current.reset


def _snapshot() -> Mapping[str, Any]:
    """The values set now (without defaults), for passing on to a run."""
    return _current.get()


class Context(Mapping[str, Any]):
    """A read-only view of the current context; use the ``context`` instance."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        values = _current.get()
        if key in values:
            return values[key]
        if key == "logger":
            return task_logger(values.get("task_name"))
        return _DEFAULTS[key]

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"context has no value {name!r}; set one with `with context({name}=...)`"
            ) from None

    def __iter__(self) -> Iterator[str]:
        values = _current.get()
        yield from values
        for key in (*_DEFAULTS, "logger"):
            if key not in values:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        return key in _current.get() or key in _DEFAULTS or key == "logger"

    def __repr__(self) -> str:
        return f"<headwater context {dict(_current.get())!r}>"

    @contextmanager
    def __call__(self, **values: Any) -> Iterator[Context]:
        """Set ``values`` for the code inside the ``with`` block."""
        token = _current.set(MappingProxyType({**_current.get(), **values}))
        try:
            yield self
        finally:
            _current.reset(token)


context = Context()
"""The current task run's context (see the module docs)."""
